// decode_image (src/data/image.cpp): the wrapper around libjpeg and OpenCV's
// decoders that every scanned and loaded file goes through. Its contract: any
// bytes give a status, never an exception; an ok image is 8-bit RGB.
#include <opencv2/core.hpp>

#include "data/image.h"
#include "fuzz.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const data::DecodedImage img = data::decode_image(std::span<const std::uint8_t>(data, size));
  if (img.ok()) {
    if (img.rgb.empty() || img.rgb.type() != CV_8UC3) fuzz::finding("decode_image: ok but not 8-bit RGB");
    if (img.format == data::ImageFormat::kUnknown) fuzz::finding("decode_image: ok but the format is unknown");
    volatile int sum = 0;
    for (int y = 0; y < img.rgb.rows; y += 7) sum = sum + img.rgb.ptr<std::uint8_t>(y)[0];
  } else if (img.message.empty() && img.status != data::DecodeStatus::kZeroBytes) {
    fuzz::finding("decode_image: failed without a message");
  }
  return 0;
}
