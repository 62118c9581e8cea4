#include "data/tensor_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/json_number.h"
#include "common/progress.h"
#include "common/rng.h"
#include "data/loader.h"

namespace inferbench::data {

namespace fs = std::filesystem;

// The .npy data is little-endian and we write host memory as is.
static_assert(std::endian::native == std::endian::little, "inferbench assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kAlign = 64;
constexpr std::size_t kGrowthDigits = 21;

std::size_t dtype_size(std::string_view dtype) {
  if (dtype == "<f4") return 4;
  if (dtype == "<i8") return 8;
  if (dtype == "|u1") return 1;
  return 0;
}

std::string shape_repr(const std::vector<std::int64_t>& shape) {
  // Python's tuple repr: "(5,)" for one element, "()" for none.
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Product of the dimensions, or nullopt when one is negative or the byte
// count would overflow (a corrupt header must not make us allocate wildly).
std::optional<std::size_t> checked_count(const std::vector<std::int64_t>& shape, std::size_t item) {
  std::size_t n = 1;
  for (const auto d : shape) {
    if (d < 0) return std::nullopt;
    const auto du = static_cast<std::size_t>(d);
    if (du != 0 && n > SIZE_MAX / du / std::max<std::size_t>(item, 1)) return std::nullopt;
    n *= du;
  }
  return n;
}

// A parser for the one Python literal numpy writes: a flat dict of strings,
// booleans and integer tuples.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const fs::path& path) : s_(text), path_(path) {}

  struct Header {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<std::int64_t>> shape;
  };

  Header parse() {
    Header h;
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_ws();
      if (key == "descr") {
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
      } else if (key == "shape") {
        h.shape = tuple();
      } else {
        bad(fmt::format("unexpected key '{}'", key));
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != '}') bad("expected ',' or '}'");
    }
    ++pos_;
    skip_ws();
    if (pos_ != s_.size()) bad("trailing characters after the dict");
    if (!h.descr || !h.fortran_order || !h.shape) bad("missing 'descr', 'fortran_order' or 'shape'");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& why) const {
    fail(ExitCode::kInput, fmt::format("'{}': malformed .npy header: {}", path_.string(), why));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])) != 0) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(fmt::format("expected '{}' at offset {}", c, pos_));
    ++pos_;
  }
  std::string string_literal() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') bad(fmt::format("expected a string at offset {}", pos_));
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string v(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return v;
  }
  bool boolean() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad(fmt::format("expected True or False at offset {}", pos_));
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    for (;;) {
      skip_ws();
      if (peek() == ')') break;
      if (std::isdigit(static_cast<unsigned char>(peek())) == 0) {
        bad(fmt::format("expected a dimension at offset {}", pos_));
      }
      std::int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek())) != 0) {
        if (v > (INT64_MAX - 9) / 10) bad("dimension too large");
        v = v * 10 + (peek() - '0');
        ++pos_;
      }
      // numpy writes 'L' suffixes in headers made by Python 2.
      if (peek() == 'L') ++pos_;
      dims.push_back(v);
      skip_ws();
      if (peek() == ',') ++pos_;
      else if (peek() != ')') bad(fmt::format("expected ',' or ')' at offset {}", pos_));
    }
    ++pos_;
    return dims;
  }

  std::string_view s_;
  const fs::path& path_;
  std::size_t pos_ = 0;
};

// Parses a whole .npy file held in `bytes`, which it consumes.
NpyArray parse_npy(std::vector<std::uint8_t>&& bytes, const fs::path& path) {
  auto bad = [&](const std::string& why) {
    fail(ExitCode::kInput, fmt::format("'{}' is not a readable .npy file: {}", path.string(), why));
  };
  if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0) bad("bad magic");
  const int major = bytes[6];
  std::size_t header_len = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    header_len = bytes[8] | (static_cast<std::size_t>(bytes[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad("truncated preamble");
    header_len = bytes[8] | (static_cast<std::size_t>(bytes[9]) << 8) | (static_cast<std::size_t>(bytes[10]) << 16) |
                 (static_cast<std::size_t>(bytes[11]) << 24);
    prefix = 12;
  } else {
    bad(fmt::format("unsupported format version {}.{}", major, bytes[7]));
  }
  if (bytes.size() < prefix + header_len) bad("truncated header");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
  const auto h = HeaderParser(text, path).parse();
  if (*h.fortran_order) bad("Fortran order is not supported");
  const std::size_t item = dtype_size(*h.descr);
  if (item == 0) bad(fmt::format("unsupported dtype '{}' (supported: <f4, <i8, |u1)", *h.descr));
  const auto count = checked_count(*h.shape, item);
  if (!count) bad(fmt::format("impossible shape {}", shape_repr(*h.shape)));
  const std::size_t data_len = *count * item;
  const std::size_t have = bytes.size() - prefix - header_len;
  if (have != data_len) {
    bad(fmt::format("data is {} bytes but shape {} of {} needs {}{}", have, shape_repr(*h.shape), *h.descr, data_len,
                    have < data_len ? " (truncated)" : ""));
  }
  NpyArray a;
  a.dtype = *h.descr;
  a.shape = *h.shape;
  // Drop the preamble in place instead of copying what may be gigabytes of data.
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(prefix + header_len));
  a.bytes = std::move(bytes);
  return a;
}

void write_npy_bytes(const fs::path& path, std::string_view dtype, const void* data,
                     const std::vector<std::int64_t>& shape) {
  const auto count = checked_count(shape, dtype_size(dtype));
  if (!count) throw std::logic_error(fmt::format("write_npy: bad shape {}", shape_repr(shape)));
  const std::string header = npy_header(dtype, shape);
  const std::size_t data_len = *count * dtype_size(dtype);
  std::vector<char> buf(header.size() + data_len);
  std::memcpy(buf.data(), header.data(), header.size());
  if (data_len > 0) std::memcpy(buf.data() + header.size(), data, data_len);
  write_file_atomic(path, buf.data(), buf.size());
}

[[noreturn]] void bad_meta(const fs::path& file, const std::string& why) {
  fail(ExitCode::kInput, fmt::format("'{}': {}", file.string(), why));
}

}  // namespace

std::size_t NpyArray::element_count() const {
  std::size_t n = 1;
  for (const auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

const float* NpyArray::as_f32() const {
  if (dtype != "<f4") throw std::logic_error("NpyArray::as_f32 on dtype " + dtype);
  return reinterpret_cast<const float*>(bytes.data());
}

const std::int64_t* NpyArray::as_i64() const {
  if (dtype != "<i8") throw std::logic_error("NpyArray::as_i64 on dtype " + dtype);
  return reinterpret_cast<const std::int64_t*>(bytes.data());
}

std::string npy_header(std::string_view dtype, const std::vector<std::int64_t>& shape) {
  if (dtype_size(dtype) == 0) throw std::logic_error(fmt::format("npy_header: unsupported dtype '{}'", dtype));
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", dtype, shape_repr(shape));
  // numpy (>= 1.20) leaves room for the first dimension to grow to 21 digits
  // so that appending rows can rewrite the header in place; doing the same
  // makes our files byte-identical to numpy.save's.
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    dict.append(digits < kGrowthDigits ? kGrowthDigits - digits : 0, ' ');
  }
  // numpy pads with spaces so that the data starts on a 64-byte boundary,
  // and ends the header with '\n'.
  const std::size_t unpadded = kMagicLen + 2 + 2 + dict.size() + 1;
  const std::size_t padding = (kAlign - unpadded % kAlign) % kAlign;
  const std::size_t header_len = dict.size() + padding + 1;
  if (header_len > 0xFFFF) throw std::logic_error("npy_header: header too long for format 1.0");
  std::string out(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header_len & 0xFF);
  out += static_cast<char>((header_len >> 8) & 0xFF);
  out += dict;
  out.append(padding, ' ');
  out += '\n';
  return out;
}

void write_npy(const fs::path& path, const float* data, const std::vector<std::int64_t>& shape) {
  write_npy_bytes(path, "<f4", data, shape);
}

void write_npy(const fs::path& path, const std::int64_t* data, const std::vector<std::int64_t>& shape) {
  write_npy_bytes(path, "<i8", data, shape);
}

NpyArray read_npy(const fs::path& path) { return parse_npy(read_file_bytes(path), path); }

ExportedTensors export_split_tensors(const Manifest& manifest, Split split, const PreprocessConfig& config,
                                     const fs::path& out_dir, int threads, const TensorSample& sample) {
  config.validate();
  auto entries = manifest.used_in(split);
  if (entries.empty()) {
    fail(ExitCode::kInput, fmt::format("no used images in split '{}' to export", to_string(split)));
  }
  const std::size_t split_size = entries.size();
  const bool sampled = sample.at_most > 0 && sample.at_most < split_size;
  if (sampled) {
    auto picked = draw_without_replacement(split_size, sample.at_most, sample.seed);
    std::sort(picked.begin(), picked.end());
    decltype(entries) kept;
    kept.reserve(picked.size());
    for (const std::size_t i : picked) kept.push_back(entries[i]);
    entries = std::move(kept);
  }
  std::vector<Sample> samples;
  samples.reserve(entries.size());
  for (const auto* e : entries) samples.push_back({e->path, manifest.class_index(e->label)});

  const auto n = static_cast<std::int64_t>(entries.size());
  const auto s = static_cast<std::int64_t>(config.image_size);
  const std::vector<std::int64_t> x_shape =
      config.layout == Layout::kNCHW ? std::vector<std::int64_t>{n, 3, s, s} : std::vector<std::int64_t>{n, s, s, 3};
  const std::vector<std::int64_t> y_shape{n};

  // The loader fills the file image directly behind its header, so the
  // tensors exist once in memory rather than twice.
  const std::string x_header = npy_header("<f4", x_shape);
  const std::size_t tensor = config.tensor_size();
  std::vector<std::uint8_t> x_file(x_header.size() + entries.size() * tensor * sizeof(float));
  std::memcpy(x_file.data(), x_header.data(), x_header.size());
  std::vector<std::int64_t> labels(entries.size());

  LoaderOptions opt;
  opt.preprocess = config;
  opt.batch_size = 16;
  opt.threads = threads;
  opt.shuffle = false;
  {
    Loader loader(std::move(samples), opt);
    Progress progress("export-tensors", entries.size(), "images");
    while (auto batch = loader.next()) {
      for (std::size_t i = 0; i < batch->size(); ++i) {
        const std::size_t idx = batch->indices[i];
        std::memcpy(x_file.data() + x_header.size() + idx * tensor * sizeof(float), batch->data.data() + i * tensor,
                    tensor * sizeof(float));
        labels[idx] = batch->labels[i];
      }
      progress.advance(batch->size());
    }
    progress.finish();
  }

  ExportedTensors out;
  out.x_path = out_dir / "x.npy";
  out.y_path = out_dir / "y.npy";
  out.meta_path = out_dir / "meta.json";
  out.count = entries.size();
  out.shape = x_shape;

  write_file_atomic(out.x_path, x_file.data(), x_file.size());
  out.x_hash = content_hash(std::span<const std::uint8_t>(x_file));
  const std::size_t x_bytes = x_file.size();
  x_file = {};

  const std::string y_header = npy_header("<i8", y_shape);
  std::vector<std::uint8_t> y_file(y_header.size() + labels.size() * sizeof(std::int64_t));
  std::memcpy(y_file.data(), y_header.data(), y_header.size());
  std::memcpy(y_file.data() + y_header.size(), labels.data(), labels.size() * sizeof(std::int64_t));
  write_file_atomic(out.y_path, y_file.data(), y_file.size());
  out.y_hash = content_hash(std::span<const std::uint8_t>(y_file));

  nlohmann::json images = nlohmann::json::array();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    images.push_back({{"path", entries[i]->path}, {"hash", entries[i]->hash}, {"label", labels[i]}});
  }
  nlohmann::json meta{
      {"format_version", kSplitTensorsFormatVersion},
      {"split", to_string(split)},
      {"count", entries.size()},
      {"classes", manifest.classes},
      {"preprocess", config},
      {"layout", to_string(config.layout)},
      {"dtype", "float32"},
      {"shape", x_shape},
      {"files",
       {{"x.npy", {{"hash", out.x_hash}, {"bytes", x_bytes}}},
        {"y.npy", {{"hash", out.y_hash}, {"bytes", y_file.size()}}}}},
      {"images", std::move(images)},
  };
  if (sampled) meta["sample"] = {{"at_most", sample.at_most}, {"seed", sample.seed}, {"of", split_size}};
  write_file_atomic(out.meta_path, meta.dump(2) + "\n");
  return out;
}

SplitTensors load_split_tensors(const fs::path& dir) {
  const fs::path meta_path = dir / "meta.json";
  const fs::path x_path = dir / "x.npy";
  const fs::path y_path = dir / "y.npy";

  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_file_text(meta_path));
  } catch (const nlohmann::json::exception& e) {
    bad_meta(meta_path, fmt::format("not valid JSON: {}", e.what()));
  }

  SplitTensors t;
  std::vector<std::int64_t> shape;
  std::string x_hash;
  std::string y_hash;
  try {
    // Whole numbers checked (common/json_number.h): get<>() casts a float
    // unchecked, undefined for "shape": [2, 3.9e19, 4, 4] (fuzz/split_tensors.cpp).
    const auto whole = [&](const char* key) {
      const auto v = whole_number<std::int64_t>(meta.at(key));
      if (!v || *v < 0) bad_meta(meta_path, fmt::format("'{}' is not a whole number >= 0: {}", key, meta.at(key).dump().substr(0, 80)));
      return *v;
    };
    const auto version = whole("format_version");
    if (version != kSplitTensorsFormatVersion) {
      bad_meta(meta_path, fmt::format("format_version {} is not supported (expected {})", version,
                                      kSplitTensorsFormatVersion));
    }
    const auto split = parse_split(meta.at("split").get<std::string>());
    if (!split) bad_meta(meta_path, fmt::format("unknown split '{}'", meta.at("split").get<std::string>()));
    t.split = *split;
    t.count = static_cast<std::size_t>(whole("count"));
    t.classes = meta.at("classes").get<std::vector<std::string>>();
    try {
      t.preprocess = meta.at("preprocess").get<PreprocessConfig>();
    } catch (const Error& e) {
      bad_meta(meta_path, e.what());
    }
    const auto dims = whole_numbers<std::int64_t>(meta.at("shape"));
    if (!dims) bad_meta(meta_path, fmt::format("'shape' is not a list of whole numbers: {}", meta.at("shape").dump().substr(0, 80)));
    shape = *dims;
    x_hash = meta.at("files").at("x.npy").at("hash").get<std::string>();
    y_hash = meta.at("files").at("y.npy").at("hash").get<std::string>();
    for (const auto& img : meta.at("images")) {
      t.image_paths.push_back(img.at("path").get<std::string>());
      t.image_hashes.push_back(img.at("hash").get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    bad_meta(meta_path, fmt::format("missing or bad field: {}", e.what()));
  }

  const auto n = static_cast<std::int64_t>(t.count);
  const auto s = static_cast<std::int64_t>(t.preprocess.image_size);
  const std::vector<std::int64_t> expected = t.preprocess.layout == Layout::kNCHW
                                                 ? std::vector<std::int64_t>{n, 3, s, s}
                                                 : std::vector<std::int64_t>{n, s, s, 3};
  if (shape != expected) bad_meta(meta_path, "shape does not match count and preprocessing config");
  if (t.image_paths.size() != t.count) {
    bad_meta(meta_path, fmt::format("lists {} images but count is {}", t.image_paths.size(), t.count));
  }

  auto load = [](const fs::path& path, const std::string& want_hash, const char* dtype,
                 const std::vector<std::int64_t>& want_shape) {
    auto bytes = read_file_bytes(path);
    const std::string hash = content_hash(std::span<const std::uint8_t>(bytes));
    if (hash != want_hash) {
      bad_meta(path, fmt::format("content hash {} does not match meta.json ({}): the file changed after export", hash,
                                 want_hash));
    }
    NpyArray a = parse_npy(std::move(bytes), path);
    if (a.dtype != dtype) bad_meta(path, fmt::format("dtype is {}, expected {}", a.dtype, dtype));
    if (a.shape != want_shape) {
      bad_meta(path, fmt::format("shape {} does not match meta.json {}", shape_repr(a.shape), shape_repr(want_shape)));
    }
    return a;
  };
  t.x = load(x_path, x_hash, "<f4", expected);
  t.y = load(y_path, y_hash, "<i8", {n});
  const auto* labels = t.y.as_i64();
  for (std::size_t i = 0; i < t.count; ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= t.classes.size()) {
      bad_meta(y_path,
               fmt::format("label {} at position {} is outside the {} classes", labels[i], i, t.classes.size()));
    }
  }
  return t;
}

void to_layout(SplitTensors& t, Layout layout) {
  if (t.preprocess.layout == layout) return;
  if (t.x.shape.size() != 4 || t.x.dtype != "<f4") {
    fail(ExitCode::kInput, fmt::format("images of shape [{}] ({}) cannot be transposed to {}",
                                       fmt::join(t.x.shape, ", "), t.x.dtype, to_string(layout)));
  }
  const bool to_nhwc = layout == Layout::kNHWC;
  const std::int64_t n = t.x.shape[0];
  const std::int64_t c = to_nhwc ? t.x.shape[1] : t.x.shape[3];
  const std::int64_t h = to_nhwc ? t.x.shape[2] : t.x.shape[1];
  const std::int64_t w = to_nhwc ? t.x.shape[3] : t.x.shape[2];
  std::vector<std::uint8_t> out(t.x.bytes.size());
  const float* src = t.x.as_f32();
  float* dst = reinterpret_cast<float*>(out.data());
  const std::int64_t plane = h * w, image = c * plane;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* s_img = src + i * image;
    float* d_img = dst + i * image;
    for (std::int64_t ch = 0; ch < c; ++ch) {
      for (std::int64_t p = 0; p < plane; ++p) {
        if (to_nhwc) {
          d_img[p * c + ch] = s_img[ch * plane + p];
        } else {
          d_img[ch * plane + p] = s_img[p * c + ch];
        }
      }
    }
  }
  t.x.bytes = std::move(out);
  t.x.shape = to_nhwc ? std::vector<std::int64_t>{n, h, w, c} : std::vector<std::int64_t>{n, c, h, w};
  t.preprocess.layout = layout;
}

}  // namespace inferbench::data
