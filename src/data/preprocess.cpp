#include "data/preprocess.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "common/files.h"
#include "data/image.h"

namespace inferbench::data {

namespace {

template <typename E, std::size_t N>
struct EnumNames {
  std::array<std::pair<E, std::string_view>, N> names;

  [[nodiscard]] std::string_view name(E v) const {
    for (const auto& [value, text] : names) {
      if (value == v) return text;
    }
    return "?";
  }
  [[nodiscard]] std::string accepted() const {
    std::string s;
    for (const auto& [value, text] : names) {
      if (!s.empty()) s += ", ";
      s += text;
    }
    return s;
  }
  E parse(std::string_view s, std::string_view what) const {
    for (const auto& [value, text] : names) {
      if (text == s) return value;
    }
    fail(ExitCode::kUsage, fmt::format("unknown {} '{}' (accepted: {})", what, s, accepted()));
  }
};

constexpr EnumNames<ResizeMode, 2> kResizeModes{{{
    {ResizeMode::kShorterSideCrop, "shorter-side-crop"},
    {ResizeMode::kDirect, "direct"},
}}};
constexpr EnumNames<Interpolation, 5> kInterpolations{{{
    {Interpolation::kNearest, "nearest"},
    {Interpolation::kBilinear, "bilinear"},
    {Interpolation::kBicubic, "bicubic"},
    {Interpolation::kArea, "area"},
    {Interpolation::kLanczos, "lanczos"},
}}};
constexpr EnumNames<Layout, 2> kLayouts{{{
    {Layout::kNCHW, "nchw"},
    {Layout::kNHWC, "nhwc"},
}}};

// Python's round(): half to even. torchvision computes crop offsets with it,
// and matching it keeps our crops pixel-aligned with the reference recipe.
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

int cv_interpolation(Interpolation interp) {
  switch (interp) {
    case Interpolation::kNearest: return cv::INTER_NEAREST;
    case Interpolation::kBilinear: return cv::INTER_LINEAR;
    case Interpolation::kBicubic: return cv::INTER_CUBIC;
    case Interpolation::kArea: return cv::INTER_AREA;
    case Interpolation::kLanczos: return cv::INTER_LANCZOS4;
  }
  return cv::INTER_LINEAR;
}

cv::Mat resize_to(const cv::Mat& src, int width, int height, Interpolation interp) {
  if (src.cols == width && src.rows == height) return src;
  cv::Mat dst;
  cv::resize(src, dst, cv::Size(width, height), 0, 0, cv_interpolation(interp));
  return dst;
}

void require_rgb8(const cv::Mat& m, const char* where) {
  if (m.type() != CV_8UC3) {
    throw std::logic_error(fmt::format("{}: expected a CV_8UC3 image, got type {}", where, m.type()));
  }
}

// Clamps to [0,1] after every jitter step, as torchvision's blend does, so a
// brightness boost that saturates is not undone by a later contrast cut.
void clamp01(cv::Mat& m) {
  cv::min(m, 1.0, m);
  cv::max(m, 0.0, m);
}

cv::Mat grayscale(const cv::Mat& rgb_f32) {
  // ITU-R 601 luma weights, as torchvision's rgb_to_grayscale uses.
  cv::Mat gray;
  cv::transform(rgb_f32, gray, cv::Matx13f(0.2989F, 0.587F, 0.114F));
  return gray;
}

void adjust_brightness(cv::Mat& img, double factor) {
  img *= factor;
  clamp01(img);
}

void adjust_contrast(cv::Mat& img, double factor) {
  const double mean = cv::mean(grayscale(img))[0];
  img.convertTo(img, CV_32FC3, factor, (1.0 - factor) * mean);
  clamp01(img);
}

void adjust_saturation(cv::Mat& img, double factor) {
  cv::Mat gray3;
  cv::cvtColor(grayscale(img), gray3, cv::COLOR_GRAY2RGB);
  cv::addWeighted(img, factor, gray3, 1.0 - factor, 0.0, img);
  clamp01(img);
}

void adjust_hue(cv::Mat& img, double shift) {
  if (shift == 0.0) return;
  cv::Mat hsv;
  cv::cvtColor(img, hsv, cv::COLOR_RGB2HSV);  // float: H in [0,360), S and V in [0,1]
  const auto delta = static_cast<float>(shift * 360.0);
  for (int y = 0; y < hsv.rows; ++y) {
    auto* row = hsv.ptr<cv::Vec3f>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      float h = row[x][0] + delta;
      h -= 360.0F * std::floor(h / 360.0F);
      row[x][0] = h;
    }
  }
  cv::cvtColor(hsv, img, cv::COLOR_HSV2RGB);
  clamp01(img);
}

struct CropBox {
  int top, left, height, width;
};

// torchvision.transforms.RandomResizedCrop.get_params: up to 10 tries at a
// crop of random area and log-uniform aspect ratio that fits, else a centre
// crop clamped to the ratio range.
CropBox random_resized_crop_box(int height, int width, const AugmentConfig& aug, Rng& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(aug.min_ratio);
  const double log_hi = std::log(aug.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(aug.min_scale, aug.max_scale);
    const double ratio = std::exp(rng.uniform(log_lo, log_hi));
    const int w = round_half_even(std::sqrt(target_area * ratio));
    const int h = round_half_even(std::sqrt(target_area / ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = rng.uniform_int(0, height - h);
      const int left = rng.uniform_int(0, width - w);
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width;
  int h = height;
  if (in_ratio < aug.min_ratio) {
    h = std::clamp(round_half_even(w / aug.min_ratio), 1, height);
  } else if (in_ratio > aug.max_ratio) {
    w = std::clamp(round_half_even(h * aug.max_ratio), 1, width);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

// ColorJitter with torchvision's semantics: the four adjustments run in a
// random order drawn per image (so no order is baked into the data), each
// with a factor drawn uniformly from its range. Works in float so that the
// chain rounds to 8 bits once, at the end.
void color_jitter(cv::Mat& rgb8, const AugmentConfig& aug, Rng& rng) {
  const bool any = aug.brightness > 0 || aug.contrast > 0 || aug.saturation > 0 || aug.hue > 0;
  if (!any) return;
  std::array<int, 4> order{0, 1, 2, 3};
  for (int i = 3; i > 0; --i) {
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(rng.uniform_int(0, i))]);
  }
  auto factor = [&](double f) { return rng.uniform(std::max(0.0, 1.0 - f), 1.0 + f); };
  const double brightness = aug.brightness > 0 ? factor(aug.brightness) : 1.0;
  const double contrast = aug.contrast > 0 ? factor(aug.contrast) : 1.0;
  const double saturation = aug.saturation > 0 ? factor(aug.saturation) : 1.0;
  const double hue = aug.hue > 0 ? rng.uniform(-aug.hue, aug.hue) : 0.0;

  cv::Mat img;
  rgb8.convertTo(img, CV_32FC3, 1.0 / 255.0);
  for (const int op : order) {
    switch (op) {
      case 0: if (aug.brightness > 0) adjust_brightness(img, brightness); break;
      case 1: if (aug.contrast > 0) adjust_contrast(img, contrast); break;
      case 2: if (aug.saturation > 0) adjust_saturation(img, saturation); break;
      default: if (aug.hue > 0) adjust_hue(img, hue); break;
    }
  }
  img.convertTo(rgb8, CV_8UC3, 255.0);
}

cv::Mat decode_file(const std::filesystem::path& path) {
  const auto bytes = read_file_bytes(path);
  DecodedImage decoded = decode_image(bytes);
  if (!decoded.ok()) {
    fail(ExitCode::kInput, fmt::format("cannot decode '{}': {} ({})", path.string(), to_string(decoded.status),
                                       decoded.message));
  }
  return decoded.rgb;
}

template <typename T>
T json_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) fail(ExitCode::kInput, fmt::format("preprocessing config: missing field '{}'", key));
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("preprocessing config: bad field '{}': {}", key, e.what()));
  }
}

}  // namespace

std::string_view to_string(ResizeMode v) { return kResizeModes.name(v); }
std::string_view to_string(Interpolation v) { return kInterpolations.name(v); }
std::string_view to_string(Layout v) { return kLayouts.name(v); }
ResizeMode parse_resize_mode(std::string_view s) { return kResizeModes.parse(s, "resize mode"); }
Interpolation parse_interpolation(std::string_view s) { return kInterpolations.parse(s, "interpolation"); }
Layout parse_layout(std::string_view s) { return kLayouts.parse(s, "layout"); }

PreprocessConfig PreprocessConfig::preset(std::string_view normalization, int image_size) {
  PreprocessConfig c;
  c.image_size = image_size;
  c.resize_size = static_cast<int>(std::lround(image_size * 256.0 / 224.0));
  if (normalization == "imagenet") {
    // Defaults already hold torchvision's ImageNet mean/std.
  } else if (normalization == "unit") {
    c.mean = {0.0F, 0.0F, 0.0F};
    c.std = {1.0F, 1.0F, 1.0F};
  } else if (normalization == "symmetric") {
    c.mean = {0.5F, 0.5F, 0.5F};
    c.std = {0.5F, 0.5F, 0.5F};
  } else {
    fail(ExitCode::kUsage,
         fmt::format("unknown normalization '{}' (accepted: imagenet, unit, symmetric)", normalization));
  }
  c.validate();
  return c;
}

void PreprocessConfig::validate() const {
  // 4096 bounds the tensor at 3*4096^2 floats (200 MB), far past any classifier input.
  if (image_size < 1 || image_size > 4096) {
    fail(ExitCode::kUsage, fmt::format("image_size must be in [1, 4096], got {}", image_size));
  }
  if (resize_mode == ResizeMode::kShorterSideCrop && (resize_size < image_size || resize_size > 16384)) {
    fail(ExitCode::kUsage,
         fmt::format("resize_size must be in [image_size={}, 16384] for shorter-side-crop, got {}", image_size,
                     resize_size));
  }
  for (std::size_t c = 0; c < 3; ++c) {
    if (!std::isfinite(mean[c])) fail(ExitCode::kUsage, fmt::format("mean[{}] must be finite, got {}", c, mean[c]));
    if (!std::isfinite(std[c]) || std[c] <= 0.0F) {
      fail(ExitCode::kUsage, fmt::format("std[{}] must be positive and finite, got {}", c, std[c]));
    }
  }
}

void to_json(nlohmann::json& j, const PreprocessConfig& c) {
  j = nlohmann::json{
      {"image_size", c.image_size},
      {"resize_size", c.resize_size},
      {"resize_mode", to_string(c.resize_mode)},
      {"interpolation", to_string(c.interpolation)},
      {"mean", c.mean},
      {"std", c.std},
      {"layout", to_string(c.layout)},
  };
}

void from_json(const nlohmann::json& j, PreprocessConfig& c) {
  if (!j.is_object()) fail(ExitCode::kInput, "preprocessing config: expected a JSON object");
  // Every field is required: a recorded config that silently took a default
  // would no longer describe the tensors it sits beside.
  static constexpr std::array<std::string_view, 7> kKeys{"image_size", "resize_size", "resize_mode", "interpolation",
                                                         "mean",       "std",         "layout"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      fail(ExitCode::kInput, fmt::format("preprocessing config: unknown field '{}'", key));
    }
  }
  PreprocessConfig r;
  r.image_size = json_field<int>(j, "image_size");
  r.resize_size = json_field<int>(j, "resize_size");
  for (const char* key : {"mean", "std"}) {
    if (!j.contains(key) || !j.at(key).is_array() || j.at(key).size() != 3) {
      fail(ExitCode::kInput, fmt::format("preprocessing config: field '{}' must be an array of 3 numbers", key));
    }
  }
  r.mean = json_field<std::array<float, 3>>(j, "mean");
  r.std = json_field<std::array<float, 3>>(j, "std");
  try {
    r.resize_mode = parse_resize_mode(json_field<std::string>(j, "resize_mode"));
    r.interpolation = parse_interpolation(json_field<std::string>(j, "interpolation"));
    r.layout = parse_layout(json_field<std::string>(j, "layout"));
    r.validate();
  } catch (const Error& e) {
    fail(ExitCode::kInput, fmt::format("preprocessing config: {}", e.what()));
  }
  c = r;
}

cv::Mat resize_and_crop(const cv::Mat& rgb, const PreprocessConfig& cfg) {
  require_rgb8(rgb, "resize_and_crop");
  if (rgb.empty()) throw std::logic_error("resize_and_crop: empty image");
  const int size = cfg.image_size;
  if (cfg.resize_mode == ResizeMode::kDirect) return resize_to(rgb, size, size, cfg.interpolation);

  // torchvision Resize(int): the shorter side becomes resize_size, the longer
  // one is scaled and truncated (int(), not round()).
  const int w = rgb.cols;
  const int h = rgb.rows;
  const int shorter = std::min(w, h);
  const int longer = std::max(w, h);
  const int new_long = static_cast<int>(static_cast<std::int64_t>(cfg.resize_size) * longer / shorter);
  const int new_w = w <= h ? cfg.resize_size : new_long;
  const int new_h = w <= h ? new_long : cfg.resize_size;
  const cv::Mat resized = resize_to(rgb, new_w, new_h, cfg.interpolation);
  // torchvision CenterCrop: offsets rounded half to even.
  const int top = round_half_even((new_h - size) / 2.0);
  const int left = round_half_even((new_w - size) / 2.0);
  return resized(cv::Rect(left, top, size, size));
}

void normalize_into(const cv::Mat& rgb_sized, const PreprocessConfig& cfg, float* out) {
  require_rgb8(rgb_sized, "normalize_into");
  const int size = cfg.image_size;
  if (rgb_sized.cols != size || rgb_sized.rows != size) {
    throw std::logic_error(fmt::format("normalize_into: expected {}x{}, got {}x{}", size, size, rgb_sized.cols,
                                       rgb_sized.rows));
  }
  // A pixel has only 256 values per channel, so a 3x256 table holds every
  // possible output: one load per value (measured 2x faster than the
  // multiply-add form, which GCC cannot vectorise across the interleaved
  // channels), and the table entries use torchvision's exact float32 order
  // of operations, (v / 255 - mean) / std, so the values match it bit for bit.
  float table[3][256];
  for (std::size_t c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) table[c][v] = (static_cast<float>(v) / 255.0F - cfg.mean[c]) / cfg.std[c];
  }
  const auto plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  const auto width = static_cast<std::size_t>(size);
  for (int y = 0; y < size; ++y) {
    const std::uint8_t* __restrict src = rgb_sized.ptr<std::uint8_t>(y);
    const std::size_t row = static_cast<std::size_t>(y) * width;
    if (cfg.layout == Layout::kNCHW) {
      float* __restrict r = out + row;
      float* __restrict g = out + plane + row;
      float* __restrict b = out + 2 * plane + row;
      for (std::size_t x = 0; x < width; ++x) {
        r[x] = table[0][src[3 * x]];
        g[x] = table[1][src[3 * x + 1]];
        b[x] = table[2][src[3 * x + 2]];
      }
    } else {
      float* __restrict dst = out + 3 * row;
      for (std::size_t x = 0; x < 3 * width; x += 3) {
        dst[x] = table[0][src[x]];
        dst[x + 1] = table[1][src[x + 1]];
        dst[x + 2] = table[2][src[x + 2]];
      }
    }
  }
}

void preprocess_into(const cv::Mat& rgb, const PreprocessConfig& cfg, float* out) {
  normalize_into(resize_and_crop(rgb, cfg), cfg, out);
}

std::vector<float> preprocess_file(const std::filesystem::path& path, const PreprocessConfig& cfg) {
  const cv::Mat rgb = decode_file(path);
  std::vector<float> out(cfg.tensor_size());
  try {
    preprocess_into(rgb, cfg, out.data());
  } catch (const cv::Exception& e) {
    fail(ExitCode::kInput, fmt::format("cannot preprocess '{}': {}", path.string(), e.what()));
  }
  return out;
}

AugmentConfig AugmentConfig::preset(std::string_view strength) {
  AugmentConfig a;
  if (strength == "none") {
    // Centre of the image at full scale, no flip, no jitter: the crop box is
    // still drawn, but with scale and ratio pinned it is deterministic.
    a.min_scale = a.max_scale = 1.0;
    a.min_ratio = a.max_ratio = 1.0;
    a.horizontal_flip = false;
  } else if (strength == "light") {
    a.min_scale = 0.35;
  } else if (strength == "standard") {
    a.brightness = a.contrast = a.saturation = 0.2;
  } else if (strength == "strong") {
    a.brightness = a.contrast = a.saturation = 0.4;
    a.hue = 0.1;
  } else {
    fail(ExitCode::kUsage,
         fmt::format("unknown augmentation '{}' (accepted: none, light, standard, strong)", strength));
  }
  return a;
}

void to_json(nlohmann::json& j, const AugmentConfig& c) {
  j = nlohmann::json{
      {"random_resized_crop", {{"scale", {c.min_scale, c.max_scale}}, {"ratio", {c.min_ratio, c.max_ratio}}}},
      {"horizontal_flip", c.horizontal_flip},
      {"color_jitter",
       {{"brightness", c.brightness}, {"contrast", c.contrast}, {"saturation", c.saturation}, {"hue", c.hue}}},
  };
}

cv::Mat augment(const cv::Mat& rgb, const AugmentConfig& aug, const PreprocessConfig& cfg, Rng& rng) {
  require_rgb8(rgb, "augment");
  if (rgb.empty()) throw std::logic_error("augment: empty image");
  const CropBox box = random_resized_crop_box(rgb.rows, rgb.cols, aug, rng);
  cv::Mat out = resize_to(rgb(cv::Rect(box.left, box.top, box.width, box.height)), cfg.image_size, cfg.image_size,
                          cfg.interpolation);
  // When no resize was needed, out is a view of the caller's pixels; the steps below write in place.
  if (out.datastart == rgb.datastart) out = out.clone();
  if (aug.horizontal_flip && rng.bernoulli(0.5)) cv::flip(out, out, 1);
  color_jitter(out, aug, rng);
  return out;
}

}  // namespace inferbench::data
