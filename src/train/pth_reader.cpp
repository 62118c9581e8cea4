#include "train/pth_reader.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"

namespace inferbench::train {

namespace {

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

struct Value;
// Shared, as Python references are: a container stored in the memo and
// filled later (BINPUT, then SETITEMS) must be the same object both ways.
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { kNone, kBool, kInt, kBigInt, kFloat, kString, kBytes, kTuple, kList, kDict, kGlobal, kObject,
                    kStorage, kTensor };
  Kind kind = Kind::kNone;
  std::int64_t i = 0;                                  // bool, int; storage: element count
  double f = 0.0;                                      // float
  std::string s;                                       // str, bytes, big int (raw); global/object: "module.name";
                                                       // storage: key
  std::vector<ValuePtr> items;                         // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // dict, in insertion order
  torch::ScalarType dtype = torch::kFloat;             // storage
  TensorRef tensor;                                    // tensor

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  // Tears nested containers down iteratively: a pickle of a million nested
  // lists must not overflow the stack through recursive destructors.
  ~Value() {
    std::vector<ValuePtr> pending;
    const auto take = [&pending](Value& v) {
      for (auto& item : v.items) pending.push_back(std::move(item));
      for (auto& [key, value] : v.entries) {
        pending.push_back(std::move(key));
        pending.push_back(std::move(value));
      }
      v.items.clear();
      v.entries.clear();
    };
    take(*this);
    while (!pending.empty()) {
      ValuePtr v = std::move(pending.back());
      pending.pop_back();
      if (v && v.use_count() == 1) take(*v);  // the last owner: empty it before it dies
    }
  }
};

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

ValuePtr make_int(std::int64_t i) {
  auto v = make(Value::Kind::kInt);
  v->i = i;
  return v;
}

ValuePtr make_string(Value::Kind kind, std::string s) {
  auto v = make(kind);
  v->s = std::move(s);
  return v;
}

// For error messages: what a value is, in Python's terms.
std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return "a bool";
    case Value::Kind::kInt:
    case Value::Kind::kBigInt: return "an int";
    case Value::Kind::kFloat: return "a float";
    case Value::Kind::kString: return "a str";
    case Value::Kind::kBytes: return "bytes";
    case Value::Kind::kTuple: return "a tuple";
    case Value::Kind::kList: return "a list";
    case Value::Kind::kDict: return "a dict";
    case Value::Kind::kGlobal: return fmt::format("the global {}", v.s);
    case Value::Kind::kObject:
      if (v.s.starts_with("torch._utils._rebuild_")) {
        return fmt::format("a tensor of a kind not supported here (quantized, sparse, ...: {})", v.s);
      }
      return fmt::format("a {} object", v.s);
    case Value::Kind::kStorage: return "a storage";
    case Value::Kind::kTensor: return "a tensor";
  }
  return "an unknown value";
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

// The pickle subset that torch.save writes (protocol 2; the protocol-4 framing
// and memo opcodes are accepted too). Only builds data: a REDUCE of a class it
// does not know yields an opaque object rather than running anything.
class Unpickler {
 public:
  // Called on BINPERSID with the persistent id; returns what it stands for,
  // or nullptr with `error` set when the id makes no sense.
  using PersistentLoad = std::function<ValuePtr(const Value& pid, std::string& error)>;

  // `where` names the byte stream in messages ("data.pkl", or "" for the file itself).
  Unpickler(std::string file, std::string where, std::span<const std::uint8_t> data, std::size_t pos,
            PersistentLoad persistent_load)
      : file_(std::move(file)), where_(std::move(where)), data_(data), pos_(pos),
        persistent_load_(std::move(persistent_load)) {}

  // Runs to STOP; afterwards pos() is just past it.
  ValuePtr load();
  [[nodiscard]] std::size_t pos() const { return pos_; }

 private:
  [[noreturn]] void malformed(const std::string& what) const {
    fail(ExitCode::kInput, fmt::format("'{}': malformed pickle ({}byte {}): {}", file_,
                                       where_.empty() ? "" : where_ + " ", op_pos_, what));
  }
  // A well-formed pickle asking for something this reader does not support.
  [[noreturn]] void unsupported(const std::string& what) const {
    fail(ExitCode::kInput,
         fmt::format("'{}': {} ({}byte {})", file_, what, where_.empty() ? "" : where_ + " ", op_pos_));
  }
  void need(std::uint64_t n) const {
    if (n > data_.size() - pos_) {
      malformed(fmt::format("truncated: {} more bytes needed, {} left", n, data_.size() - pos_));
    }
  }
  std::uint64_t read_le(std::size_t n) {
    need(n);
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) v |= static_cast<std::uint64_t>(data_[pos_ + k]) << (8 * k);
    pos_ += n;
    return v;
  }
  std::string read_bytes(std::uint64_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::string read_line() {
    const std::size_t start = pos_;
    while (pos_ < data_.size() && data_[pos_] != '\n') ++pos_;
    if (pos_ == data_.size()) malformed("truncated: unterminated line");
    std::string s(reinterpret_cast<const char*>(data_.data() + start), pos_ - start);
    ++pos_;
    return s;
  }

  // Python's C unpickler refuses to pop below the innermost MARK; so do we.
  std::size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  ValuePtr pop() {
    if (stack_.size() <= fence()) malformed("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= fence()) malformed("stack underflow");
    return *stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) malformed("no MARK to pop to");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) malformed("stack underflow");
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  void push_tuple(std::vector<ValuePtr> items) {
    auto t = make(Value::Kind::kTuple);
    t->items = std::move(items);
    push(std::move(t));
  }
  void memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) malformed(fmt::format("memo entry {} read before it was written", index));
    push(it->second);
  }
  void memo_put(std::uint64_t index) {
    if (stack_.empty()) malformed("memo write with an empty stack");
    memo_[index] = stack_.back();
  }
  void push_int_bytes(const std::string& raw);
  void set_items(Value& target, std::vector<ValuePtr> items);
  ValuePtr call(const Value& callable, const Value& args);
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args);
  std::int64_t as_int(const Value& v, const char* what) const;
  std::vector<std::int64_t> as_ints(const Value& v, const char* what) const;

  std::string file_;
  std::string where_;
  std::span<const std::uint8_t> data_;
  std::size_t pos_;
  std::size_t op_pos_ = 0;
  PersistentLoad persistent_load_;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValuePtr> memo_;
};

// LONG1/LONG4: little-endian two's complement of any length.
void Unpickler::push_int_bytes(const std::string& raw) {
  if (raw.size() > 8) {
    push(make_string(Value::Kind::kBigInt, raw));  // only ever compared byte for byte (the magic number)
    return;
  }
  std::uint64_t u = 0;
  for (std::size_t k = 0; k < raw.size(); ++k) {
    u |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(raw[k])) << (8 * k);
  }
  if (!raw.empty() && raw.size() < 8 && (static_cast<std::uint8_t>(raw.back()) & 0x80U) != 0) {
    u |= ~std::uint64_t{0} << (8 * raw.size());  // sign-extend
  }
  push(make_int(static_cast<std::int64_t>(u)));
}

void Unpickler::set_items(Value& target, std::vector<ValuePtr> items) {
  if (items.size() % 2 != 0) malformed("SETITEMS with an odd number of items");
  if (target.kind == Value::Kind::kObject) return;  // an opaque object's __setitem__: nothing we need
  if (target.kind != Value::Kind::kDict) malformed(fmt::format("SETITEM on {}", describe(target)));
  for (std::size_t k = 0; k < items.size(); k += 2) target.entries.emplace_back(items[k], items[k + 1]);
}

std::int64_t Unpickler::as_int(const Value& v, const char* what) const {
  if (v.kind != Value::Kind::kInt) malformed(fmt::format("{} is {}, not an int", what, describe(v)));
  return v.i;
}

std::vector<std::int64_t> Unpickler::as_ints(const Value& v, const char* what) const {
  if (v.kind != Value::Kind::kTuple && v.kind != Value::Kind::kList) {
    malformed(fmt::format("{} is {}, not a tuple", what, describe(v)));
  }
  std::vector<std::int64_t> out;
  for (const auto& item : v.items) {
    const std::int64_t x = as_int(*item, what);
    if (x < 0) malformed(fmt::format("{} has a negative entry {}", what, x));
    out.push_back(x);
  }
  return out;
}

// torch._utils._rebuild_tensor(storage, offset, size, stride) and _v2, which
// adds requires_grad, backward hooks and sometimes metadata (all irrelevant here).
ValuePtr Unpickler::rebuild_tensor(const std::vector<ValuePtr>& args) {
  if (args.size() < 4) malformed(fmt::format("tensor rebuilt from {} arguments, 4 or more expected", args.size()));
  const Value& storage = *args[0];
  if (storage.kind != Value::Kind::kStorage) malformed(fmt::format("tensor rebuilt from {}", describe(storage)));
  auto t = make(Value::Kind::kTensor);
  t->tensor.storage_key = storage.s;
  t->tensor.dtype = storage.dtype;
  t->tensor.offset = as_int(*args[1], "tensor storage offset");
  t->tensor.sizes = as_ints(*args[2], "tensor size");
  t->tensor.strides = as_ints(*args[3], "tensor stride");
  if (t->tensor.offset < 0) malformed("negative tensor storage offset");
  if (t->tensor.sizes.size() != t->tensor.strides.size()) {
    malformed(fmt::format("tensor size has {} dimensions but stride {}", t->tensor.sizes.size(),
                          t->tensor.strides.size()));
  }
  // An empty tensor's other dimensions address nothing, but LibTorch still
  // multiplies them; keep that product in range too.
  std::int64_t count = 1;
  for (const auto size : t->tensor.sizes) {
    if (size != 0 && __builtin_mul_overflow(count, size, &count)) malformed("tensor size overflows");
  }
  return t;
}

ValuePtr Unpickler::call(const Value& callable, const Value& args) {
  if (callable.kind != Value::Kind::kGlobal) malformed(fmt::format("call of {}", describe(callable)));
  if (args.kind != Value::Kind::kTuple) malformed(fmt::format("call arguments are {}, not a tuple", describe(args)));
  const std::string& name = callable.s;
  if (name == "collections.OrderedDict") {
    // pickle passes OrderedDict's items by SETITEMS after the call, never as arguments.
    if (!args.items.empty()) malformed("OrderedDict called with arguments");
    return make(Value::Kind::kDict);
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args.items);
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    // A Parameter pickles as its data tensor plus requires_grad and hooks: the data is what we want.
    if (args.items.empty() || args.items[0]->kind != Value::Kind::kTensor) malformed("parameter without a tensor");
    return args.items[0];
  }
  if (storage_dtype(name) != torch::ScalarType::Undefined) {
    malformed(fmt::format("{} called directly instead of via a persistent id", name));
  }
  // Anything else (argparse.Namespace, numpy scalars, torch.Size, ...) may sit
  // in a checkpoint beside the state_dict: keep a placeholder, never run it.
  return make_string(Value::Kind::kObject, name);
}

ValuePtr Unpickler::load() {
  stack_.clear();
  marks_.clear();
  memo_.clear();
  while (true) {
    op_pos_ = pos_;
    need(1);
    const std::uint8_t op = data_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        const auto proto = read_le(1);
        if (proto > 5) malformed(fmt::format("pickle protocol {} (at most 5 known)", proto));
        break;
      }
      case 0x95: read_le(8); break;  // FRAME: a read-ahead hint only
      case '.': {                    // STOP
        if (stack_.size() != 1 || !marks_.empty()) {
          malformed(fmt::format("STOP with {} values and {} marks left", stack_.size(), marks_.size()));
        }
        return stack_.back();
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                            // POP
      case '1': pop_mark(); break;                       // POP_MARK
      case '2': {  // DUP
        top();
        push(stack_.back());
        break;
      }
      case 'N': push(make(Value::Kind::kNone)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        auto v = make(Value::Kind::kBool);
        v->i = op == 0x88 ? 1 : 0;
        push(std::move(v));
        break;
      }
      case 'J': push(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4))))); break;  // BININT
      case 'K': push(make_int(static_cast<std::int64_t>(read_le(1)))); break;                              // BININT1
      case 'M': push(make_int(static_cast<std::int64_t>(read_le(2)))); break;                              // BININT2
      case 0x8a: push_int_bytes(read_bytes(read_le(1))); break;                                            // LONG1
      case 0x8b: {                                                                                         // LONG4
        const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
        if (n < 0) malformed("negative LONG4 length");
        push_int_bytes(read_bytes(static_cast<std::uint64_t>(n)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        need(8);
        std::uint64_t bits = 0;
        for (std::size_t k = 0; k < 8; ++k) bits = (bits << 8) | data_[pos_ + k];
        pos_ += 8;
        auto v = make(Value::Kind::kFloat);
        v->f = std::bit_cast<double>(bits);
        push(std::move(v));
        break;
      }
      case 'X': push(make_string(Value::Kind::kString, read_bytes(read_le(4)))); break;   // BINUNICODE
      case 0x8c: push(make_string(Value::Kind::kString, read_bytes(read_le(1)))); break;  // SHORT_BINUNICODE
      case 0x8d: push(make_string(Value::Kind::kString, read_bytes(read_le(8)))); break;  // BINUNICODE8
      case 'U': push(make_string(Value::Kind::kString, read_bytes(read_le(1)))); break;   // SHORT_BINSTRING
      case 'T': {                                                                         // BINSTRING
        const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
        if (n < 0) malformed("negative BINSTRING length");
        push(make_string(Value::Kind::kString, read_bytes(static_cast<std::uint64_t>(n))));
        break;
      }
      case 'C': push(make_string(Value::Kind::kBytes, read_bytes(read_le(1)))); break;   // SHORT_BINBYTES
      case 'B': push(make_string(Value::Kind::kBytes, read_bytes(read_le(4)))); break;   // BINBYTES
      case 0x8e: push(make_string(Value::Kind::kBytes, read_bytes(read_le(8)))); break;  // BINBYTES8
      case ')': push_tuple({}); break;                                                    // EMPTY_TUPLE
      case 't': push_tuple(pop_mark()); break;                                            // TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const std::size_t n = op - 0x84U;
        std::vector<ValuePtr> items(n);
        for (std::size_t k = n; k-- > 0;) items[k] = pop();
        push_tuple(std::move(items));
        break;
      }
      case ']': push(make(Value::Kind::kList)); break;  // EMPTY_LIST
      case 'l': {                                       // LIST
        auto v = make(Value::Kind::kList);
        v->items = pop_mark();
        push(std::move(v));
        break;
      }
      case 'a': {  // APPEND
        ValuePtr item = pop();
        Value& list = top();
        if (list.kind == Value::Kind::kList) {
          list.items.push_back(std::move(item));
        } else if (list.kind != Value::Kind::kObject) {
          malformed(fmt::format("APPEND to {}", describe(list)));
        }
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_mark();
        Value& list = top();
        if (list.kind == Value::Kind::kList) {
          for (auto& item : items) list.items.push_back(std::move(item));
        } else if (list.kind != Value::Kind::kObject) {
          malformed(fmt::format("APPENDS to {}", describe(list)));
        }
        break;
      }
      case '}': push(make(Value::Kind::kDict)); break;  // EMPTY_DICT
      case 'd': {                                       // DICT
        auto items = pop_mark();
        auto v = make(Value::Kind::kDict);
        set_items(*v, std::move(items));
        push(std::move(v));
        break;
      }
      case 's': {  // SETITEM
        ValuePtr value = pop();
        ValuePtr key = pop();
        set_items(top(), {std::move(key), std::move(value)});
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        set_items(top(), std::move(items));
        break;
      }
      case 'h': memo_get(read_le(1)); break;     // BINGET
      case 'j': memo_get(read_le(4)); break;     // LONG_BINGET
      case 'q': memo_put(read_le(1)); break;     // BINPUT
      case 'r': memo_put(read_le(4)); break;     // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'c': {                                // GLOBAL
        std::string module = read_line();
        std::string name = read_line();
        push(make_string(Value::Kind::kGlobal, module + "." + name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (name->kind != Value::Kind::kString || module->kind != Value::Kind::kString) {
          malformed("STACK_GLOBAL needs two strings");
        }
        push(make_string(Value::Kind::kGlobal, module->s + "." + name->s));
        break;
      }
      case 'R': {  // REDUCE
        ValuePtr args = pop();
        ValuePtr callable = pop();
        push(call(*callable, *args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        ValuePtr args = pop();
        ValuePtr cls = pop();
        if (cls->kind != Value::Kind::kGlobal) malformed(fmt::format("NEWOBJ of {}", describe(*cls)));
        push(cls->s == "collections.OrderedDict" ? make(Value::Kind::kDict)
                                                 : make_string(Value::Kind::kObject, cls->s));
        break;
      }
      case 'b':  // BUILD: sets an object's state. OrderedDict's is `_metadata`, which we do not need.
        pop();
        top();
        break;
      case 'Q': {  // BINPERSID
        ValuePtr pid = pop();
        if (!persistent_load_) malformed("persistent id where none is expected");
        std::string error;
        ValuePtr v = persistent_load_(*pid, error);
        if (!v) unsupported(error);
        push(std::move(v));
        break;
      }
      default: malformed(fmt::format("unknown or unsupported opcode 0x{:02x}", op));
    }
  }
}

// The element type of every storage the persistent ids of one file refer to,
// by storage key (the legacy format needs it to step over the storage data).
struct StorageIndex {
  std::map<std::string, torch::ScalarType> dtypes;

  // ('storage', torch.<Type>Storage, key, location, numel[, view_metadata]).
  Unpickler::PersistentLoad loader() {
    return [this](const Value& pid, std::string& error) -> ValuePtr {
      if (pid.kind != Value::Kind::kTuple || pid.items.size() < 5 || pid.items[0]->kind != Value::Kind::kString ||
          pid.items[0]->s != "storage") {
        error = fmt::format("persistent id is {}, not a storage reference", describe(pid));
        return nullptr;
      }
      const Value& type = *pid.items[1];
      const Value& key = *pid.items[2];
      const Value& numel = *pid.items[4];
      const auto dtype = type.kind == Value::Kind::kGlobal ? storage_dtype(type.s) : torch::ScalarType::Undefined;
      if (dtype == torch::ScalarType::Undefined) {
        error = fmt::format("unsupported storage type {}", type.kind == Value::Kind::kGlobal ? type.s : describe(type));
      } else if (key.kind != Value::Kind::kString) {
        error = fmt::format("storage key is {}, not a str", describe(key));
      } else if (numel.kind != Value::Kind::kInt || numel.i < 0) {
        error = "storage size is not a count";
      } else if (pid.items.size() > 5 && pid.items[5]->kind != Value::Kind::kNone) {
        // Only the pre-1.0 legacy writer filled view_metadata (storage views).
        error = "storage views are not supported";
      }
      if (!error.empty()) return nullptr;
      const auto [it, inserted] = dtypes.emplace(key.s, dtype);
      if (!inserted && it->second != dtype) {
        error = fmt::format("storage '{}' referenced with two element types", key.s);
        return nullptr;
      }
      auto v = make_string(Value::Kind::kStorage, key.s);
      v->dtype = dtype;
      v->i = numel.i;
      return v;
    };
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
      if (v->kind != Value::Kind::kTensor) return false;
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
    if (v->kind != Value::Kind::kTensor) {
      fail(ExitCode::kInput,
           fmt::format("'{}': entry '{}'{} is {}, not a tensor (expected a state_dict, or a checkpoint holding one "
                       "under \"state_dict\" or \"model\")",
                       file, k->s, where, describe(*v)));
    }
    std::string name = k->s;
    if (name.starts_with("module.")) name.erase(0, 7);  // saved from nn.DataParallel
    out.emplace_back(std::move(name), &v->tensor);
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
    Unpickler unpickler(file, "data.pkl",
                        std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(pkl.get()), pkl_size), 0,
                        index.loader());
    const ValuePtr top = unpickler.load();
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
  std::size_t pos = 0;
  const auto next = [&](Unpickler::PersistentLoad persistent_load = {}) {
    Unpickler u(file, "", data, pos, std::move(persistent_load));
    ValuePtr v = u.load();
    pos = u.pos();
    return v;
  };
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
  const ValuePtr top = next(index.loader());
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
