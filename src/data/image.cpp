#include "data/image.h"

#include <fmt/format.h>

#include <jpeglib.h>
#include <webp/decode.h>

#include <csetjmp>
#include <cstdlib>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace inferbench::data {

std::string_view to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "jpeg";
    case ImageFormat::kPng: return "png";
    case ImageFormat::kBmp: return "bmp";
    case ImageFormat::kWebp: return "webp";
    case ImageFormat::kUnknown: break;
  }
  return "";
}

std::string_view to_string(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kOk: return "ok";
    case DecodeStatus::kZeroBytes: return "zero-bytes";
    case DecodeStatus::kNotAnImage: return "not-an-image";
    case DecodeStatus::kTruncated: return "truncated";
    case DecodeStatus::kUndecodable: return "undecodable";
  }
  return "?";
}

namespace {

using Bytes = std::span<const std::uint8_t>;

bool starts_with(Bytes b, std::initializer_list<std::uint8_t> magic, std::size_t offset = 0) {
  if (b.size() < offset + magic.size()) return false;
  std::size_t i = offset;
  for (auto m : magic) {
    if (b[i++] != m) return false;
  }
  return true;
}

std::uint32_t le32(Bytes b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
         static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}
std::uint16_t le16(Bytes b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | b[at + 1] << 8);
}
std::uint16_t be16(Bytes b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t be32(Bytes b, std::size_t at) {
  return static_cast<std::uint32_t>(be16(b, at)) << 16 | be16(b, at + 2);
}

// The most pixels an image may declare. Decoders allocate what the header
// declares before reading any pixel, so a few hundred bytes claiming 60000 x
// 60000 would take 10 GB (found by fuzz/image.cpp). The limit is set by the
// worst decoder, not by RGB size: a progressive CMYK JPEG keeps 8 bytes of
// coefficients per pixel besides OpenCV's BGR image and our RGB copy, so a
// 705-byte file declaring 11585 x 11585 peaked at 1.6 GB (fuzz/regressions/
// image/jpeg-progressive-cmyk-declares-11585x11585, found by CI's fuzz smoke).
// 2^26 = 8192 x 8192 (a 64 MP photo fits) keeps every decoder under 1 GB.
constexpr std::uint64_t kMaxPixels = std::uint64_t{1} << 26;

// What the container says before any pixel is decoded: colour form, and
// whether the data is complete. Decoders (libjpeg in particular) often return
// a partially grey image for a truncated file instead of failing, so
// completeness is checked on the container itself.
struct ContainerInfo {
  bool complete = true;
  std::string why_incomplete;
  std::string color;   // empty = decide from the decoded channels
  int bit_depth = 8;
  std::uint64_t width = 0;   // as the header declares them; 0 = not found
  std::uint64_t height = 0;
};

ContainerInfo inspect_jpeg(Bytes b) {
  ContainerInfo info;
  std::size_t pos = 2;
  bool found_sos = false;
  // Walk marker segments up to the first start-of-scan.
  while (pos + 4 <= b.size()) {
    if (b[pos] != 0xFF) {
      info.complete = false;
      info.why_incomplete = fmt::format("bad JPEG marker at byte {}", pos);
      return info;
    }
    const std::uint8_t marker = b[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      pos += 2;
      continue;
    }
    const std::uint16_t len = be16(b, pos + 2);
    const bool is_sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_sof && pos + 9 < b.size()) {
      const int components = b[pos + 9];
      info.bit_depth = b[pos + 4];
      info.color = components == 1 ? "gray" : components == 4 ? "cmyk" : "rgb";
      info.height = be16(b, pos + 5);
      info.width = be16(b, pos + 7);
    }
    if (marker == 0xDA) {
      found_sos = true;
      pos += 2 + len;
      break;
    }
    pos += 2 + len;
  }
  if (!found_sos) {
    info.complete = false;
    info.why_incomplete = "JPEG ends before its image data (no start-of-scan marker)";
    return info;
  }
  // Inside entropy-coded data 0xFF is always followed by 0x00 or a restart
  // marker, so the first FF D9 after the scan starts is the end-of-image.
  for (std::size_t i = pos; i + 1 < b.size(); ++i) {
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return info;
  }
  info.complete = false;
  info.why_incomplete = "JPEG has no end-of-image marker (file cut short)";
  return info;
}

ContainerInfo inspect_png(Bytes b) {
  ContainerInfo info;
  if (b.size() < 33) {
    info.complete = false;
    info.why_incomplete = "PNG shorter than its header";
    return info;
  }
  info.width = be32(b, 16);
  info.height = be32(b, 20);
  info.bit_depth = b[24];
  switch (b[25]) {
    case 0: info.color = "gray"; break;
    case 2: info.color = "rgb"; break;
    case 3: info.color = "palette"; break;
    case 4: info.color = "gray+alpha"; break;
    case 6: info.color = "rgba"; break;
    default: info.color = "unknown"; break;
  }
  // Walk the chunks: each is length(4) type(4) data crc(4); the last is IEND.
  std::size_t pos = 8;
  while (pos + 12 <= b.size()) {
    const std::size_t len = static_cast<std::size_t>(b[pos]) << 24 | static_cast<std::size_t>(b[pos + 1]) << 16 |
                            static_cast<std::size_t>(b[pos + 2]) << 8 | b[pos + 3];
    const bool iend = b[pos + 4] == 'I' && b[pos + 5] == 'E' && b[pos + 6] == 'N' && b[pos + 7] == 'D';
    if (pos + 12 + len > b.size()) break;
    if (iend) return info;
    pos += 12 + len;
  }
  info.complete = false;
  info.why_incomplete = "PNG has no IEND chunk (file cut short)";
  return info;
}

ContainerInfo inspect_bmp(Bytes b) {
  ContainerInfo info;
  if (b.size() < 30) {
    info.complete = false;
    info.why_incomplete = "BMP shorter than its header";
    return info;
  }
  const std::uint32_t declared = le32(b, 2);
  if (declared > b.size()) {
    info.complete = false;
    info.why_incomplete = fmt::format("BMP declares {} bytes but has {}", declared, b.size());
  }
  if (le32(b, 14) == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
    info.width = le16(b, 18);
    info.height = le16(b, 20);
  } else {  // the height is negative for a top-down bitmap
    info.width = static_cast<std::uint64_t>(std::abs(static_cast<std::int64_t>(static_cast<std::int32_t>(le32(b, 18)))));
    info.height = static_cast<std::uint64_t>(std::abs(static_cast<std::int64_t>(static_cast<std::int32_t>(le32(b, 22)))));
  }
  const int bpp = le16(b, 28);
  info.color = bpp == 32 ? "rgba" : bpp <= 8 ? "palette" : "rgb";
  return info;
}

ContainerInfo inspect_webp(Bytes b) {
  ContainerInfo info;
  const std::uint64_t declared = static_cast<std::uint64_t>(le32(b, 4)) + 8;
  if (declared > b.size()) {
    info.complete = false;
    info.why_incomplete = fmt::format("WebP declares {} bytes but has {}", declared, b.size());
  }
  // The first chunk's canvas size: VP8X (24-bit sizes - 1), VP8L (14-bit
  // sizes - 1 after its 0x2f signature), VP8 (14-bit sizes after its start code).
  if (starts_with(b, {'V', 'P', '8', 'X'}, 12) && b.size() >= 30) {
    info.width = 1 + (le32(b, 24) & 0xFFFFFF);
    info.height = 1 + (le32(b, 26) >> 8);
  } else if (starts_with(b, {'V', 'P', '8', 'L'}, 12) && b.size() >= 25 && b[20] == 0x2F) {
    const std::uint32_t bits = le32(b, 21);
    info.width = 1 + (bits & 0x3FFF);
    info.height = 1 + ((bits >> 14) & 0x3FFF);
  } else if (starts_with(b, {'V', 'P', '8', ' '}, 12) && b.size() >= 30) {
    info.width = le16(b, 26) & 0x3FFF;
    info.height = le16(b, 28) & 0x3FFF;
  }
  return info;
}

// Direct libjpeg-turbo decoding to RGB for the common case (8-bit YCbCr or
// gray JPEG): the same pixels as OpenCV's imdecode + BGR->RGB, without its
// two per-pixel channel swaps, which cost ~40% of the decode (see
// benchmarks/preprocess.md). libjpeg reports errors by longjmp, so the two
// phases below own no C++ objects between setjmp and a possible longjmp.
struct JpegErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

extern "C" void jpeg_on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}
extern "C" void jpeg_on_message(j_common_ptr /*cinfo*/, int /*level*/) {}  // warnings: corrupt data is judged by the container

bool jpeg_start(jpeg_decompress_struct* cinfo, JpegErrorManager* err, const std::uint8_t* data, std::size_t size) {
  if (setjmp(err->jump)) return false;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  cinfo->out_color_space = JCS_RGB;
  jpeg_start_decompress(cinfo);
  return true;
}

bool jpeg_read_rows(jpeg_decompress_struct* cinfo, JpegErrorManager* err, std::uint8_t* dst, std::size_t stride) {
  if (setjmp(err->jump)) return false;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = dst + static_cast<std::size_t>(cinfo->output_scanline) * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

// Decodes into `out` (CV_8UC3, RGB). Returns an error message, empty on success.
std::string decode_jpeg_rgb(Bytes bytes, cv::Mat& out) {
  jpeg_decompress_struct cinfo{};
  JpegErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jpeg_on_error;
  err.pub.emit_message = jpeg_on_message;
  jpeg_create_decompress(&cinfo);
  std::string error;
  if (!jpeg_start(&cinfo, &err, bytes.data(), bytes.size())) {
    error = err.message;
  } else if (cinfo.output_components != 3) {
    error = "unexpected component count";
  } else {
    out.create(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width), CV_8UC3);
    if (!jpeg_read_rows(&cinfo, &err, out.data, out.step[0])) error = err.message;
  }
  jpeg_destroy_decompress(&cinfo);
  if (!error.empty()) out.release();
  return error;
}

}  // namespace

ImageFormat sniff_format(Bytes bytes) {
  if (starts_with(bytes, {0xFF, 0xD8, 0xFF})) return ImageFormat::kJpeg;
  if (starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) return ImageFormat::kPng;
  if (starts_with(bytes, {'B', 'M'}) && bytes.size() >= 26) return ImageFormat::kBmp;
  if (starts_with(bytes, {'R', 'I', 'F', 'F'}) && starts_with(bytes, {'W', 'E', 'B', 'P'}, 8)) {
    return ImageFormat::kWebp;
  }
  return ImageFormat::kUnknown;
}

// WebP goes to libwebp directly, never through cv::imdecode: imdecode picks
// its decoder by asking each one in turn whether it takes the bytes, and
// OpenCV's WebP decoder says no to a RIFF/WEBP file whose bitstream header
// libwebp rejects, so the bytes went on to the decoders after it, among them
// GDCM's DICOM reader, which aborts the process on some of them (an assert;
// fuzz/regressions/image/webp-bad-bitstream-header-reaches-gdcm). Decoding to
// RGB here also drops alpha as PIL's convert("RGB") does (no compositing),
// as the BGRA -> RGB conversion of OpenCV's output did.
std::string decode_webp_rgb(Bytes bytes, cv::Mat& rgb, bool& has_alpha) {
  WebPBitstreamFeatures features;
  const VP8StatusCode status = WebPGetFeatures(bytes.data(), bytes.size(), &features);
  if (status != VP8_STATUS_OK) {
    return fmt::format("libwebp rejected the bitstream header (VP8 status {})", static_cast<int>(status));
  }
  if (features.width <= 0 || features.height <= 0 ||
      static_cast<std::uint64_t>(features.width) * static_cast<std::uint64_t>(features.height) > kMaxPixels) {
    return fmt::format("bitstream declares {} x {} pixels, more than the {} (8192 x 8192) an image may have",
                       features.width, features.height, kMaxPixels);
  }
  has_alpha = features.has_alpha != 0;
  rgb.create(features.height, features.width, CV_8UC3);
  if (WebPDecodeRGBInto(bytes.data(), bytes.size(), rgb.data, rgb.total() * rgb.elemSize(),
                        static_cast<int>(rgb.step[0])) == nullptr) {
    rgb.release();
    return "libwebp could not decode the bitstream";
  }
  return {};
}

DecodedImage decode_image(Bytes bytes) {
  DecodedImage out;
  if (bytes.empty()) {
    out.status = DecodeStatus::kZeroBytes;
    out.message = "file is empty";
    return out;
  }
  out.format = sniff_format(bytes);
  ContainerInfo info;
  switch (out.format) {
    case ImageFormat::kJpeg: info = inspect_jpeg(bytes); break;
    case ImageFormat::kPng: info = inspect_png(bytes); break;
    case ImageFormat::kBmp: info = inspect_bmp(bytes); break;
    case ImageFormat::kWebp: info = inspect_webp(bytes); break;
    case ImageFormat::kUnknown:
      out.status = DecodeStatus::kNotAnImage;
      out.message = "no JPEG, PNG, BMP or WebP signature";
      return out;
  }
  if (!info.complete) {
    out.status = DecodeStatus::kTruncated;
    out.message = info.why_incomplete;
    return out;
  }
  if (info.width * info.height > kMaxPixels) {
    out.status = DecodeStatus::kUndecodable;
    out.message = fmt::format("{} header declares {} x {} pixels, more than the {} (8192 x 8192) an image may have",
                              to_string(out.format), info.width, info.height, kMaxPixels);
    return out;
  }

  if (out.format == ImageFormat::kJpeg && info.color != "cmyk" && info.bit_depth == 8) {
    const std::string error = decode_jpeg_rgb(bytes, out.rgb);
    if (!error.empty()) {
      out.status = DecodeStatus::kUndecodable;
      out.message = fmt::format("jpeg decoder failed: {}", error);
      return out;
    }
    out.source_color = info.color;
    out.status = DecodeStatus::kOk;
    return out;
  }

  if (out.format == ImageFormat::kWebp) {
    bool has_alpha = false;
    const std::string error = decode_webp_rgb(bytes, out.rgb, has_alpha);
    if (!error.empty()) {
      out.status = DecodeStatus::kUndecodable;
      out.message = fmt::format("webp decoder failed: {}", error);
      return out;
    }
    out.source_color = has_alpha ? "rgba" : "rgb";
    out.status = DecodeStatus::kOk;
    return out;
  }

  // PNG, BMP and the JPEG the fast path above leaves (CMYK, 12-bit) go to
  // cv::imdecode, whose decoder for each of them is the first to accept its
  // signature (BMP's "BM" is asked first; no decoder before PNG's or JPEG's
  // takes their signatures), so those bytes never reach another decoder.
  // IMREAD_UNCHANGED keeps 16-bit depth and alpha so they can be reported; it
  // also leaves EXIF orientation alone, as PIL (and so torchvision's
  // ImageFolder) does.
  cv::Mat raw;
  try {
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data()));
    raw = cv::imdecode(buf, cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH);
  } catch (const cv::Exception& e) {
    out.status = DecodeStatus::kUndecodable;
    out.message = fmt::format("{} decoder failed: {}", to_string(out.format), e.what());
    return out;
  }
  if (raw.empty() || raw.rows == 0 || raw.cols == 0) {
    out.status = DecodeStatus::kUndecodable;
    out.message = fmt::format("{} decoder rejected the data", to_string(out.format));
    return out;
  }

  out.source_bit_depth = raw.depth() == CV_16U ? 16 : 8;
  if (raw.depth() == CV_16U) {
    raw.convertTo(raw, CV_8U, 1.0 / 257.0);  // 65535 -> 255 exactly, rounding to nearest
  } else if (raw.depth() != CV_8U) {
    out.status = DecodeStatus::kUndecodable;
    out.message = fmt::format("unsupported pixel depth (OpenCV depth {})", raw.depth());
    return out;
  }
  switch (raw.channels()) {
    case 1: cv::cvtColor(raw, out.rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(raw, out.rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(raw, out.rgb, cv::COLOR_BGRA2RGB); break;  // alpha dropped, as PIL's convert("RGB")
    default:
      out.status = DecodeStatus::kUndecodable;
      out.message = fmt::format("unsupported channel count {}", raw.channels());
      return out;
  }
  if (!info.color.empty() && info.color != "unknown") {
    out.source_color = info.color;
  } else {
    out.source_color = raw.channels() == 1 ? "gray" : raw.channels() == 4 ? "rgba" : "rgb";
  }
  if (info.bit_depth == 16) out.source_bit_depth = 16;
  out.status = DecodeStatus::kOk;
  return out;
}

}  // namespace inferbench::data
