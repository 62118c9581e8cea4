#include "train/pth_reader.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>

#include <any>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "train/pickle.h"

namespace inferbench::train {

namespace {

using pickle::describe;
using pickle::Rejected;
using pickle::Value;
using pickle::ValuePtr;

// What a persistent id stands for: one storage, by its record key.
struct StorageRef {
  std::string key;
  torch::ScalarType dtype = torch::kFloat;
};

// Where a tensor's elements lie in a storage; resolved against the storage's
// bytes only once all of them are known (the legacy format stores them after
// the pickle that references them).
struct TensorRef {
  std::string storage_key;
  torch::ScalarType dtype = torch::kFloat;
  std::int64_t offset = 0;
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
};

// Storages and tensors travel through the pickle reader as extension values.
template <typename T>
ValuePtr make_extension(std::string description, T payload) {
  auto v = pickle::make(Value::Kind::kExtension);
  v->description = std::move(description);
  v->payload = std::move(payload);
  return v;
}

// The storage or tensor `v` holds; nullptr when it is something else.
template <typename T>
const T* payload(const Value& v) {
  return v.kind == Value::Kind::kExtension ? std::any_cast<T>(&v.payload) : nullptr;
}

// The element type of a torch.<Type>Storage global; Undefined for anything else.
torch::ScalarType storage_dtype(const std::string& global) {
  static const std::unordered_map<std::string, torch::ScalarType> kTypes = {
      {"torch.FloatStorage", torch::kFloat},   {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},     {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},     {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},     {"torch.BoolStorage", torch::kBool}};
  const auto it = kTypes.find(global);
  return it == kTypes.end() ? torch::ScalarType::Undefined : it->second;
}

std::int64_t as_int(const Value& v, const char* what) {
  if (v.kind != Value::Kind::kInt) throw Rejected(fmt::format("{} is {}, not an int", what, describe(v)));
  return v.i;
}

std::vector<std::int64_t> as_ints(const Value& v, const char* what) {
  if (v.kind != Value::Kind::kTuple && v.kind != Value::Kind::kList) {
    throw Rejected(fmt::format("{} is {}, not a tuple", what, describe(v)));
  }
  std::vector<std::int64_t> out;
  for (const auto& item : v.items) {
    const std::int64_t x = as_int(*item, what);
    if (x < 0) throw Rejected(fmt::format("{} has a negative entry {}", what, x));
    out.push_back(x);
  }
  return out;
}

// torch._utils._rebuild_tensor(storage, offset, size, stride) and _v2, which
// adds requires_grad, backward hooks and sometimes metadata (all irrelevant here).
ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args) {
  if (args.size() < 4) {
    throw Rejected(fmt::format("tensor rebuilt from {} arguments, 4 or more expected", args.size()));
  }
  const auto* storage = payload<StorageRef>(*args[0]);
  if (storage == nullptr) throw Rejected(fmt::format("tensor rebuilt from {}", describe(*args[0])));
  TensorRef t;
  t.storage_key = storage->key;
  t.dtype = storage->dtype;
  t.offset = as_int(*args[1], "tensor storage offset");
  t.sizes = as_ints(*args[2], "tensor size");
  t.strides = as_ints(*args[3], "tensor stride");
  if (t.offset < 0) throw Rejected("negative tensor storage offset");
  if (t.sizes.size() != t.strides.size()) {
    throw Rejected(
        fmt::format("tensor size has {} dimensions but stride {}", t.sizes.size(), t.strides.size()));
  }
  // An empty tensor's other dimensions address nothing, but LibTorch still
  // multiplies them; keep that product in range too.
  std::int64_t count = 1;
  for (const auto size : t.sizes) {
    if (size != 0 && __builtin_mul_overflow(count, size, &count)) throw Rejected("tensor size overflows");
  }
  return make_extension("a tensor", std::move(t));
}

// The torch globals torch.save's pickles call; nullptr for any other, which
// the pickle reader handles (OrderedDict) or keeps as an opaque object.
ValuePtr reduce_torch(const std::string& name, const std::vector<ValuePtr>& args) {
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args);
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    // A Parameter pickles as its data tensor plus requires_grad and hooks: the data is what we want.
    if (args.empty() || payload<TensorRef>(*args[0]) == nullptr) {
      throw Rejected("parameter without a tensor");
    }
    return args[0];
  }
  if (storage_dtype(name) != torch::ScalarType::Undefined) {
    throw Rejected(fmt::format("{} called directly instead of via a persistent id", name));
  }
  return nullptr;
}

// Opaque objects keep the default description, but for the tensors rebuilt
// by a torch._utils function this reader does not know.
std::string describe_torch_object(const std::string& name) {
  if (name.starts_with("torch._utils._rebuild_")) {
    return fmt::format("a tensor of a kind not supported here (quantized, sparse, ...: {})", name);
  }
  return "";
}

// What every pickle of a torch.save file is read with; persistent ids
// (storages) are added only where they belong (StorageIndex::hooks).
pickle::Hooks torch_hooks() {
  pickle::Hooks hooks;
  hooks.reduce = reduce_torch;
  hooks.object_description = describe_torch_object;
  return hooks;
}

// The element type of every storage the persistent ids of one file refer to,
// by storage key (the legacy format needs it to step over the storage data).
struct StorageIndex {
  std::map<std::string, torch::ScalarType> dtypes;

  // torch_hooks() plus the persistent ids, which are
  // ('storage', torch.<Type>Storage, key, location, numel[, view_metadata]).
  pickle::Hooks hooks() {
    pickle::Hooks hooks = torch_hooks();
    hooks.persistent_load = [this](const Value& pid) { return resolve(pid); };
    return hooks;
  }

  ValuePtr resolve(const Value& pid) {
    if (pid.kind != Value::Kind::kTuple || pid.items.size() < 5 || pid.items[0]->kind != Value::Kind::kString ||
        pid.items[0]->s != "storage") {
      throw Rejected(fmt::format("persistent id is {}, not a storage reference", describe(pid)));
    }
    const Value& type = *pid.items[1];
    const Value& key = *pid.items[2];
    const Value& numel = *pid.items[4];
    const auto dtype = type.kind == Value::Kind::kGlobal ? storage_dtype(type.s) : torch::ScalarType::Undefined;
    if (dtype == torch::ScalarType::Undefined) {
      throw Rejected(
          fmt::format("unsupported storage type {}", type.kind == Value::Kind::kGlobal ? type.s : describe(type)));
    }
    if (key.kind != Value::Kind::kString) throw Rejected(fmt::format("storage key is {}, not a str", describe(key)));
    if (numel.kind != Value::Kind::kInt || numel.i < 0) throw Rejected("storage size is not a count");
    if (pid.items.size() > 5 && pid.items[5]->kind != Value::Kind::kNone) {
      // Only the pre-1.0 legacy writer filled view_metadata (storage views).
      throw Rejected("storage views are not supported");
    }
    const auto [it, inserted] = dtypes.emplace(key.s, dtype);
    if (!inserted && it->second != dtype) {
      throw Rejected(fmt::format("storage '{}' referenced with two element types", key.s));
    }
    return make_extension("a storage", StorageRef{key.s, dtype});
  }
};

// One storage as a flat tensor that owns a copy of the bytes.
torch::Tensor storage_tensor(const std::string& file, const std::string& key, torch::ScalarType dtype,
                             const std::uint8_t* bytes, std::size_t nbytes) {
  const auto element = static_cast<std::size_t>(c10::elementSize(dtype));
  if (nbytes % element != 0) {
    fail(ExitCode::kInput, fmt::format("'{}': storage '{}' holds {} bytes, not a whole number of {}-byte elements",
                                       file, key, nbytes, element));
  }
  auto t = torch::empty({static_cast<std::int64_t>(nbytes / element)}, torch::TensorOptions().dtype(dtype));
  if (nbytes == 0) return t;
  std::memcpy(t.data_ptr(), bytes, nbytes);
  // A bool byte other than 0 or 1 is undefined behaviour in C++; normalise it.
  if (dtype == torch::kBool) {
    auto* p = static_cast<std::uint8_t*>(t.data_ptr());
    for (std::size_t k = 0; k < nbytes; ++k) p[k] = p[k] != 0 ? 1 : 0;
  }
  return t;
}

// The tensor a TensorRef describes, copied out of its storage after checking
// that every element it addresses lies inside.
torch::Tensor materialize(const std::string& file, const std::string& name, const TensorRef& ref,
                          const torch::Tensor& storage) {
  const std::int64_t available = storage.numel();
  bool empty = false;
  std::int64_t last = ref.offset;  // the highest element index addressed
  bool overflow = false;
  for (std::size_t d = 0; d < ref.sizes.size(); ++d) {
    if (ref.sizes[d] == 0) empty = true;
    std::int64_t span = 0;
    overflow = overflow || __builtin_mul_overflow(ref.sizes[d] > 0 ? ref.sizes[d] - 1 : 0, ref.strides[d], &span) ||
               __builtin_add_overflow(last, span, &last);
  }
  if (overflow || (!empty && last >= available) || (empty && ref.offset > available)) {
    fail(ExitCode::kInput, fmt::format("'{}': tensor '{}' (size [{}], stride [{}], offset {}) reaches past the end "
                                       "of its storage '{}' of {} elements",
                                       file, name, fmt::join(ref.sizes, ", "), fmt::join(ref.strides, ", "),
                                       ref.offset, ref.storage_key, available));
  }
  if (empty) return torch::empty(ref.sizes, storage.options());
  return storage.as_strided(ref.sizes, ref.strides, ref.offset).clone(at::MemoryFormat::Contiguous);
}

std::string quoted(const std::filesystem::path& path) { return fmt::format("'{}'", path.string()); }

// The state_dict inside the unpickled object, keys with "module." removed;
// values are still TensorRefs.
std::vector<std::pair<std::string, const TensorRef*>> find_state_dict(const std::string& file, const Value& top) {
  if (top.kind != Value::Kind::kDict) {
    fail(ExitCode::kInput, fmt::format("'{}': holds {}, not a state_dict (a dict of tensors)", file, describe(top)));
  }
  const auto all_tensors = [](const Value& dict) {
    for (const auto& [k, v] : dict.entries) {
      if (payload<TensorRef>(*v) == nullptr) return false;
    }
    return true;
  };
  const Value* dict = &top;
  std::string where;
  if (!all_tensors(top)) {
    for (const char* wrapper : {"state_dict", "model"}) {
      for (const auto& [k, v] : top.entries) {
        if (k->kind == Value::Kind::kString && k->s == wrapper && v->kind == Value::Kind::kDict) {
          dict = v.get();
          where = fmt::format(" in '{}'", wrapper);
          break;
        }
      }
      if (dict != &top) break;
    }
  }
  std::vector<std::pair<std::string, const TensorRef*>> out;
  for (const auto& [k, v] : dict->entries) {
    if (k->kind != Value::Kind::kString) {
      fail(ExitCode::kInput, fmt::format("'{}': a key{} is {}, not a parameter name", file, where, describe(*k)));
    }
    const auto* tensor = payload<TensorRef>(*v);
    if (tensor == nullptr) {
      fail(ExitCode::kInput,
           fmt::format("'{}': entry '{}'{} is {}, not a tensor (expected a state_dict, or a checkpoint holding one "
                       "under \"state_dict\" or \"model\")",
                       file, k->s, where, describe(*v)));
    }
    std::string name = k->s;
    if (name.starts_with("module.")) name.erase(0, 7);  // saved from nn.DataParallel
    out.emplace_back(std::move(name), tensor);
  }
  if (out.empty()) fail(ExitCode::kInput, fmt::format("'{}': the state_dict{} holds no tensors", file, where));
  return out;
}

// Resolves every TensorRef against the storages that `load_storage` returns.
std::map<std::string, torch::Tensor> assemble(const std::string& file, const Value& top,
                                              const std::function<torch::Tensor(const std::string&)>& load_storage) {
  std::map<std::string, torch::Tensor> storages;
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, ref] : find_state_dict(file, top)) {
    auto it = storages.find(ref->storage_key);
    if (it == storages.end()) it = storages.emplace(ref->storage_key, load_storage(ref->storage_key)).first;
    if (!out.emplace(name, materialize(file, name, *ref, it->second)).second) {
      fail(ExitCode::kInput, fmt::format("'{}': parameter '{}' appears twice (once with a \"module.\" prefix?)", file,
                                         name));
    }
  }
  return out;
}

std::string first_line(const char* what) {
  std::string s(what);
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

std::map<std::string, torch::Tensor> read_zip(const std::filesystem::path& path) {
  const std::string file = path.string();
  try {
    caffe2::serialize::PyTorchStreamReader reader(file);
    if (reader.hasRecord("constants.pkl")) {
      fail(ExitCode::kInput, fmt::format("'{}': a TorchScript module (torch.jit.save), not a state_dict saved with "
                                         "torch.save",
                                         file));
    }
    if (!reader.hasRecord("data.pkl")) {
      fail(ExitCode::kInput, fmt::format("'{}': a zip archive without data.pkl, not a torch.save file", file));
    }
    if (reader.hasRecord("byteorder")) {
      auto [ptr, size] = reader.getRecord("byteorder");
      const std::string order(static_cast<const char*>(ptr.get()), size);
      if (order != "little") fail(ExitCode::kInput, fmt::format("'{}': byte order '{}' is not supported", file, order));
    }
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    StorageIndex index;
    const pickle::Input in{file, "data.pkl",
                           std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(pkl.get()), pkl_size)};
    std::size_t pos = 0;
    const ValuePtr top = pickle::load(in, pos, index.hooks());
    return assemble(file, *top, [&](const std::string& key) {
      const std::string record = "data/" + key;
      if (!reader.hasRecord(record)) {
        fail(ExitCode::kInput, fmt::format("'{}': storage record '{}' is missing from the archive", file, record));
      }
      auto [data, size] = reader.getRecord(record);
      return storage_tensor(file, key, index.dtypes.at(key), static_cast<const std::uint8_t*>(data.get()),
                            size);
    });
  } catch (const c10::Error& e) {
    fail(ExitCode::kInput,
         fmt::format("'{}': unreadable PyTorch zip archive ({})", file, first_line(e.what_without_backtrace())));
  }
}

// The legacy stream: pickles of the magic number, the protocol version and
// sys_info, then the object, then the sorted list of storage keys, then each
// storage as an int64 element count and its raw bytes.
std::map<std::string, torch::Tensor> read_legacy(const std::filesystem::path& path,
                                                 const std::vector<std::uint8_t>& bytes) {
  const std::string file = path.string();
  const std::span<const std::uint8_t> data(bytes);
  const pickle::Input in{file, "", data};
  std::size_t pos = 0;
  const auto next = [&](const pickle::Hooks& hooks = torch_hooks()) { return pickle::load(in, pos, hooks); };
  // 0x1950a86a20f9469cfc6c, as LONG1 writes it.
  static constexpr std::array<std::uint8_t, 10> kMagic = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  const ValuePtr magic = next();
  if (magic->kind != Value::Kind::kBigInt || magic->s.size() != kMagic.size() ||
      std::memcmp(magic->s.data(), kMagic.data(), kMagic.size()) != 0) {
    fail(ExitCode::kInput,
         fmt::format("'{}': not a PyTorch checkpoint (no zip archive and no pickle magic number)", file));
  }
  const ValuePtr version = next();
  if (version->kind != Value::Kind::kInt || version->i != 1001) {
    fail(ExitCode::kInput, fmt::format("'{}': legacy checkpoint of unsupported protocol version", file));
  }
  const ValuePtr sys_info = next();
  if (sys_info->kind == Value::Kind::kDict) {
    for (const auto& [k, v] : sys_info->entries) {
      if (k->kind == Value::Kind::kString && k->s == "little_endian" && v->kind == Value::Kind::kBool && v->i == 0) {
        fail(ExitCode::kInput, fmt::format("'{}': written on a big-endian machine, which is not supported", file));
      }
    }
  }
  StorageIndex index;
  const ValuePtr top = next(index.hooks());
  const ValuePtr keys = next();
  if (keys->kind != Value::Kind::kList) {
    fail(ExitCode::kInput, fmt::format("'{}': storage key list is {}, not a list", file, describe(*keys)));
  }
  std::map<std::string, torch::Tensor> storages;
  for (const auto& key : keys->items) {
    if (key->kind != Value::Kind::kString) {
      fail(ExitCode::kInput, fmt::format("'{}': a storage key is {}, not a str", file, describe(*key)));
    }
    const auto entry = index.dtypes.find(key->s);
    if (entry == index.dtypes.end()) {
      fail(ExitCode::kInput, fmt::format("'{}': storage '{}' is listed but never referenced", file, key->s));
    }
    if (data.size() - pos < 8) {
      fail(ExitCode::kInput, fmt::format("'{}': truncated: the data of storage '{}' is missing", file, key->s));
    }
    std::uint64_t count = 0;
    for (std::size_t k = 0; k < 8; ++k) count |= static_cast<std::uint64_t>(data[pos + k]) << (8 * k);
    pos += 8;
    const auto element = static_cast<std::uint64_t>(c10::elementSize(entry->second));
    const std::uint64_t left = data.size() - pos;
    if (count > left / element) {
      fail(ExitCode::kInput, fmt::format("'{}': truncated: storage '{}' needs {} elements of {} bytes, {} bytes left",
                                         file, key->s, count, element, left));
    }
    const auto nbytes = static_cast<std::size_t>(count * element);
    storages[key->s] = storage_tensor(file, key->s, entry->second, data.data() + pos, nbytes);
    pos += nbytes;
  }
  return assemble(file, *top, [&](const std::string& key) {
    const auto it = storages.find(key);
    if (it == storages.end()) {
      fail(ExitCode::kInput, fmt::format("'{}': the data of storage '{}' is missing", file, key));
    }
    return it->second;
  });
}

}  // namespace

std::map<std::string, torch::Tensor> read_state_dict(const std::filesystem::path& path) {
  if constexpr (std::endian::native != std::endian::little) {
    fail(ExitCode::kInput, fmt::format("{}: reading PyTorch checkpoints needs a little-endian machine", quoted(path)));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    fail(ExitCode::kInput, fmt::format("{}: {}", quoted(path),
                                       std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  }
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) fail(ExitCode::kInput, fmt::format("{}: cannot be opened", quoted(path)));
  if (size == 0) fail(ExitCode::kInput, fmt::format("{}: empty file, not a PyTorch checkpoint", quoted(path)));
  if (size >= 4) {
    std::array<char, 4> head{};
    in.read(head.data(), 4);
    if (in && head == std::array<char, 4>{'P', 'K', 3, 4}) return read_zip(path);
    in.seekg(0);
  }
  // The legacy stream is read whole: its storages follow the pickle that describes them.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    fail(ExitCode::kInput, fmt::format("{}: could not be read", quoted(path)));
  }
  if (bytes[0] != 0x80) {  // every torch.save pickle starts with PROTO
    fail(ExitCode::kInput,
         fmt::format("{}: not a PyTorch checkpoint (no zip archive and no pickle magic number)", quoted(path)));
  }
  return read_legacy(path, bytes);
}

}  // namespace inferbench::train
