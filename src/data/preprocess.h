#pragma once
// Preprocessing: the single implementation used by training, calibration and
// benchmarking, so that every framework sees bit-identical input tensors.
//
//   decoded RGB (8-bit) -> resize -> [centre crop] -> float, scale to [0,1]
//   -> (x - mean) / std per channel -> NCHW or NHWC
//
// Training augmentations (random resized crop, horizontal flip, colour jitter)
// are separate, seeded steps that replace resize+crop; normalisation and
// layout are shared.
#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <opencv2/core/mat.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/rng.h"

namespace inferbench::data {

enum class ResizeMode {
  kShorterSideCrop,  // resize the shorter side to resize_size, then centre-crop image_size
  kDirect,           // resize straight to image_size x image_size (aspect not kept)
};
enum class Interpolation { kNearest, kBilinear, kBicubic, kArea, kLanczos };
enum class Layout { kNCHW, kNHWC };

std::string_view to_string(ResizeMode v);
std::string_view to_string(Interpolation v);
std::string_view to_string(Layout v);
// Parsers throw Error(kUsage) naming the value and the accepted ones.
ResizeMode parse_resize_mode(std::string_view s);
Interpolation parse_interpolation(std::string_view s);
Layout parse_layout(std::string_view s);

struct PreprocessConfig {
  int image_size = 224;   // output height = width
  int resize_size = 256;  // shorter side before the crop (kShorterSideCrop only)
  ResizeMode resize_mode = ResizeMode::kShorterSideCrop;
  Interpolation interpolation = Interpolation::kBilinear;
  // Applied to values already scaled to [0,1]. mean 0 / std 1 = "scale to [0,1]".
  std::array<float, 3> mean{0.485F, 0.456F, 0.406F};
  std::array<float, 3> std{0.229F, 0.224F, 0.225F};
  Layout layout = Layout::kNCHW;

  // Named presets: "imagenet" (torchvision mean/std), "unit" ([0,1]),
  // "symmetric" ([-1,1], mean 0.5 / std 0.5, as Keras MobileNetV2/TF uses).
  // resize_size defaults to round(image_size * 256 / 224). Throws Error(kUsage).
  static PreprocessConfig preset(std::string_view normalization, int image_size);

  // Validates ranges; throws Error(kUsage) naming the field and value.
  void validate() const;
  [[nodiscard]] std::size_t tensor_size() const { return static_cast<std::size_t>(3) * image_size * image_size; }
};
void to_json(nlohmann::json& j, const PreprocessConfig& c);
void from_json(const nlohmann::json& j, PreprocessConfig& c);  // throws Error(kInput) on bad fields

// Deterministic geometry: resize (+ centre crop) to image_size x image_size, CV_8UC3 RGB.
cv::Mat resize_and_crop(const cv::Mat& rgb, const PreprocessConfig& cfg);

// Scale, normalise and lay out an image_size x image_size CV_8UC3 RGB image
// into `out` (cfg.tensor_size() floats).
void normalize_into(const cv::Mat& rgb_sized, const PreprocessConfig& cfg, float* out);

// resize_and_crop + normalize_into.
void preprocess_into(const cv::Mat& rgb, const PreprocessConfig& cfg, float* out);

// Reads, decodes and preprocesses one file. Throws Error(kInput) naming the
// file and the decode failure.
std::vector<float> preprocess_file(const std::filesystem::path& path, const PreprocessConfig& cfg);

struct AugmentConfig {
  // RandomResizedCrop: area fraction and aspect-ratio range of the crop.
  double min_scale = 0.08;
  double max_scale = 1.0;
  double min_ratio = 3.0 / 4.0;
  double max_ratio = 4.0 / 3.0;
  bool horizontal_flip = true;
  // ColorJitter factors (0 = off): brightness/contrast/saturation in
  // [1-f, 1+f], hue shift in [-h, h] of a full turn (h <= 0.5).
  double brightness = 0.0;
  double contrast = 0.0;
  double saturation = 0.0;
  double hue = 0.0;

  // Presets by strength: "none", "light", "standard", "strong". Throws Error(kUsage).
  static AugmentConfig preset(std::string_view strength);
};
void to_json(nlohmann::json& j, const AugmentConfig& c);

// Random resized crop + flip + colour jitter to image_size x image_size
// (CV_8UC3 RGB). The same rng state gives the same output.
cv::Mat augment(const cv::Mat& rgb, const AugmentConfig& aug, const PreprocessConfig& cfg, Rng& rng);

}  // namespace inferbench::data
