#pragma once
// Image decoding: the one place that turns file bytes into 8-bit RGB pixels.
//
// Format is decided by content (magic bytes), never by file extension.
// Grayscale, RGBA, CMYK and 16-bit images are converted to 8-bit RGB and the
// original colour form is reported, so the scan can mark them. Every failure
// is a value (DecodeStatus + message), not an exception: one bad file must
// never stop a scan or a loader.
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>
#include <string_view>

namespace inferbench::data {

enum class ImageFormat { kUnknown, kJpeg, kPng, kBmp, kWebp };
std::string_view to_string(ImageFormat format);

// By magic bytes: JPEG FF D8 FF, PNG \x89PNG\r\n\x1a\n, BMP "BM", WebP "RIFF....WEBP".
ImageFormat sniff_format(std::span<const std::uint8_t> bytes);

enum class DecodeStatus {
  kOk,
  kZeroBytes,    // the file is empty
  kNotAnImage,   // no known image signature
  kTruncated,    // a known format whose data ends early (e.g. JPEG without EOI)
  kUndecodable,  // a known signature, but the decoder rejected the data
};
std::string_view to_string(DecodeStatus status);

struct DecodedImage {
  DecodeStatus status = DecodeStatus::kNotAnImage;
  std::string message;        // why, when status != kOk
  ImageFormat format = ImageFormat::kUnknown;
  cv::Mat rgb;                // CV_8UC3, RGB channel order, when status == kOk
  std::string source_color;   // "rgb", "gray", "gray+alpha", "rgba", "cmyk", "palette", ...
  int source_bit_depth = 8;   // 8 or 16
  // True when the pixels were converted to reach 8-bit RGB (anything but
  // plain 8-bit RGB/BGR in the file).
  [[nodiscard]] bool converted() const { return source_color != "rgb" || source_bit_depth != 8; }
  [[nodiscard]] bool ok() const { return status == DecodeStatus::kOk; }
};

// Decodes bytes to 8-bit RGB. Thread-safe.
DecodedImage decode_image(std::span<const std::uint8_t> bytes);

}  // namespace inferbench::data
