#include "data/image.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/files.h"
#include "testutil/fixtures.h"

namespace inferbench::data {
namespace {

using testutil::encode_image;
using testutil::pattern_image;

DecodedImage decode(const std::vector<std::uint8_t>& b) { return decode_image(b); }

TEST(ImageTest, SniffsFormatsByContentNotExtension) {
  const auto img = pattern_image(40, 30, 1);
  EXPECT_EQ(sniff_format(encode_image(".jpg", img)), ImageFormat::kJpeg);
  EXPECT_EQ(sniff_format(encode_image(".png", img)), ImageFormat::kPng);
  EXPECT_EQ(sniff_format(encode_image(".bmp", img)), ImageFormat::kBmp);
  EXPECT_EQ(sniff_format(encode_image(".webp", img)), ImageFormat::kWebp);
  const std::string text = "hello, I am not an image";
  EXPECT_EQ(sniff_format(std::vector<std::uint8_t>(text.begin(), text.end())), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_format({}), ImageFormat::kUnknown);
}

TEST(ImageTest, DecodesEveryFormatToRgbWithTheSamePixels) {
  const cv::Mat bgr = pattern_image(40, 30, 2);
  cv::Mat expected_rgb;
  cv::cvtColor(bgr, expected_rgb, cv::COLOR_BGR2RGB);
  for (const char* ext : {".png", ".bmp"}) {  // lossless
    const auto d = decode(encode_image(ext, bgr));
    ASSERT_TRUE(d.ok()) << ext << ": " << d.message;
    EXPECT_EQ(d.rgb.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(d.rgb, expected_rgb, cv::NORM_INF), 0.0) << ext;
    EXPECT_EQ(d.source_color, "rgb") << ext;
    EXPECT_FALSE(d.converted()) << ext;
  }
  for (const char* ext : {".jpg", ".webp"}) {  // lossy: close, and channel order right
    const auto d = decode(encode_image(ext, bgr));
    ASSERT_TRUE(d.ok()) << ext << ": " << d.message;
    EXPECT_EQ(d.rgb.size(), expected_rgb.size());
    EXPECT_LT(cv::norm(d.rgb, expected_rgb, cv::NORM_L1) / static_cast<double>(expected_rgb.total() * 3), 12.0) << ext;
  }
}

// The direct libjpeg path must give exactly OpenCV's pixels (which is what
// the rest of the pipeline was validated against).
TEST(ImageTest, JpegFastPathMatchesOpenCvExactly) {
  cv::Mat gray(33, 47, CV_8UC1);
  cv::randu(gray, 0, 255);
  for (const cv::Mat& img : {pattern_image(61, 37, 9), gray}) {
    const auto bytes = encode_image(".jpg", img);
    const auto d = decode(bytes);
    ASSERT_TRUE(d.ok()) << d.message;
    cv::Mat reference;
    cv::cvtColor(cv::imdecode(bytes, cv::IMREAD_COLOR), reference, cv::COLOR_BGR2RGB);
    EXPECT_EQ(cv::norm(d.rgb, reference, cv::NORM_INF), 0.0);
    EXPECT_EQ(d.source_color, img.channels() == 1 ? "gray" : "rgb");
  }
}

TEST(ImageTest, ConvertsGrayRgbaAnd16BitAndSaysSo) {
  cv::Mat gray(20, 30, CV_8UC1, cv::Scalar(77));
  auto d = decode(encode_image(".png", gray));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.source_color, "gray");
  EXPECT_TRUE(d.converted());
  EXPECT_EQ(d.rgb.at<cv::Vec3b>(5, 5), cv::Vec3b(77, 77, 77));

  cv::Mat bgra(20, 30, CV_8UC4, cv::Scalar(10, 20, 30, 128));
  d = decode(encode_image(".png", bgra));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.source_color, "rgba");
  EXPECT_EQ(d.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));  // alpha dropped, RGB order

  cv::Mat deep(20, 30, CV_16UC3, cv::Scalar(0, 32896, 65535));  // 32896 = 128 * 257
  d = decode(encode_image(".png", deep));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.source_bit_depth, 16);
  EXPECT_TRUE(d.converted());
  EXPECT_EQ(d.rgb.at<cv::Vec3b>(3, 3), cv::Vec3b(255, 128, 0));
}

TEST(ImageTest, DecodesCmykJpeg) {
  testutil::TempDir dir;
  testutil::write_cmyk_jpeg(dir / "cmyk.jpg", 32, 24);
  const auto d = decode(read_file_bytes(dir / "cmyk.jpg"));
  ASSERT_TRUE(d.ok()) << d.message;
  EXPECT_EQ(d.source_color, "cmyk");
  EXPECT_TRUE(d.converted());
  EXPECT_EQ(d.rgb.cols, 32);
  EXPECT_EQ(d.rgb.rows, 24);
  EXPECT_EQ(d.rgb.type(), CV_8UC3);
}

TEST(ImageTest, ReportsBrokenFilesWithoutThrowing) {
  EXPECT_EQ(decode({}).status, DecodeStatus::kZeroBytes);
  const std::string text = "just text";
  EXPECT_EQ(decode(std::vector<std::uint8_t>(text.begin(), text.end())).status, DecodeStatus::kNotAnImage);

  const auto jpg = encode_image(".jpg", pattern_image(64, 64, 3));
  const auto cut_jpg = std::vector<std::uint8_t>(jpg.begin(), jpg.begin() + static_cast<long>(jpg.size() / 2));
  auto d = decode(cut_jpg);
  EXPECT_EQ(d.status, DecodeStatus::kTruncated);
  EXPECT_NE(d.message.find("end-of-image"), std::string::npos) << d.message;

  const auto png = encode_image(".png", pattern_image(64, 64, 4));
  d = decode(std::vector<std::uint8_t>(png.begin(), png.begin() + static_cast<long>(png.size() / 2)));
  EXPECT_EQ(d.status, DecodeStatus::kTruncated);

  const auto bmp = encode_image(".bmp", pattern_image(64, 64, 5));
  d = decode(std::vector<std::uint8_t>(bmp.begin(), bmp.begin() + 100));
  EXPECT_EQ(d.status, DecodeStatus::kTruncated);

  // A JPEG signature followed by garbage: complete markers, undecodable data.
  std::vector<std::uint8_t> junk = {0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x13, 0x37, 0xFF, 0xD9};
  d = decode(junk);
  EXPECT_EQ(d.status, DecodeStatus::kUndecodable) << d.message;
  // A PNG whose image data is corrupted but whose chunks are intact.
  auto bad_png = png;
  for (std::size_t i = 60; i < 200 && i < bad_png.size() - 20; ++i) bad_png[i] ^= 0x5A;
  d = decode(bad_png);
  EXPECT_NE(d.status, DecodeStatus::kOk);
}

// Found by fuzz/image.cpp (fuzz/regressions/image/): a small file whose header
// declares a huge image made the decoder allocate all of it first (a 732-byte
// JPEG asked for 12.5 GB; a 705-byte progressive CMYK JPEG declaring 11585 x
// 11585 peaked at 1.6 GB). Refused from the header, naming the size and the
// limit, 8192 x 8192.
TEST(ImageTest, RefusesHeadersThatDeclareHugeImages) {
  auto jpg = encode_image(".jpg", pattern_image(16, 16, 6));
  std::size_t sof = 0;
  for (std::size_t i = 2; i + 9 < jpg.size(); ++i) {
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
      sof = i;
      break;
    }
  }
  ASSERT_NE(sof, 0U);
  const auto declare = [&](std::uint16_t height, std::uint16_t width) {
    auto bytes = jpg;
    bytes[sof + 5] = static_cast<std::uint8_t>(height >> 8);
    bytes[sof + 6] = static_cast<std::uint8_t>(height & 0xFF);
    bytes[sof + 7] = static_cast<std::uint8_t>(width >> 8);
    bytes[sof + 8] = static_cast<std::uint8_t>(width & 0xFF);
    return decode(bytes);
  };
  auto d = declare(12000, 12000);
  EXPECT_EQ(d.status, DecodeStatus::kUndecodable);
  EXPECT_NE(d.message.find("declares 12000 x 12000 pixels"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("(8192 x 8192)"), std::string::npos) << d.message;
  // One row past the limit is refused; at the limit the decoder is asked (and
  // here fails on the 16 x 16 file's data, not on its size).
  d = declare(8193, 8192);
  EXPECT_NE(d.message.find("declares 8192 x 8193 pixels"), std::string::npos) << d.message;
  d = declare(1024, 65535);
  EXPECT_EQ(d.message.find("pixels, more than"), std::string::npos) << d.message;

  auto bmp = encode_image(".bmp", pattern_image(64, 64, 7));
  const std::int32_t width = 12000;
  const std::int32_t height = -12000;  // top-down
  std::memcpy(bmp.data() + 18, &width, 4);
  std::memcpy(bmp.data() + 22, &height, 4);
  d = decode(bmp);
  EXPECT_EQ(d.status, DecodeStatus::kUndecodable);
  EXPECT_NE(d.message.find("declares 12000 x 12000 pixels"), std::string::npos) << d.message;
}

// Found by the CI fuzz smoke (fuzz/regressions/image/): a RIFF/WEBP file
// whose bitstream header libwebp rejects was passed on by cv::imdecode to the
// next decoder that claimed it, GDCM's DICOM reader, which aborted the
// process on an assert. It is a named WebP decoding error now.
TEST(ImageTest, AWebpWhoseBitstreamLibwebpRejectsIsAWebpErrorNotAnotherDecodersCrash) {
  const auto bytes = read_file_bytes(std::filesystem::path(INFERBENCH_SOURCE_DIR) /
                                     "fuzz/regressions/image/webp-bad-bitstream-header-reaches-gdcm");
  ASSERT_EQ(sniff_format(bytes), ImageFormat::kWebp);
  const auto d = decode(bytes);
  EXPECT_EQ(d.status, DecodeStatus::kUndecodable);
  EXPECT_NE(d.message.find("webp decoder failed: libwebp rejected the bitstream header"), std::string::npos)
      << d.message;

  // The same for a RIFF/WEBP header over a chunk that is no VP8 at all.
  const std::string riff = std::string("RIFF") + std::string("\x2c\0\0\0", 4) + "WEBPXXXX" +
                           std::string("\x20\0\0\0", 4) + std::string(32, 'z');
  const auto e = decode(std::vector<std::uint8_t>(riff.begin(), riff.end()));
  EXPECT_EQ(e.status, DecodeStatus::kUndecodable) << e.message;
  EXPECT_NE(e.message.find("webp decoder failed"), std::string::npos) << e.message;
}

// Lossless WebP: exact pixels in RGB order, alpha dropped (as PIL's
// convert("RGB")) and reported.
TEST(ImageTest, DecodesLosslessWebpExactlyAndReportsItsAlpha) {
  const cv::Mat bgr = pattern_image(37, 23, 8);
  std::vector<std::uint8_t> bytes;
  ASSERT_TRUE(cv::imencode(".webp", bgr, bytes, {cv::IMWRITE_WEBP_QUALITY, 101}));
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok()) << d.message;
  cv::Mat expected;
  cv::cvtColor(bgr, expected, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(d.rgb, expected, cv::NORM_INF), 0.0);
  EXPECT_EQ(d.source_color, "rgb");

  cv::Mat bgra(20, 30, CV_8UC4, cv::Scalar(10, 20, 30, 128));
  ASSERT_TRUE(cv::imencode(".webp", bgra, bytes, {cv::IMWRITE_WEBP_QUALITY, 101}));
  d = decode(bytes);
  ASSERT_TRUE(d.ok()) << d.message;
  EXPECT_EQ(d.source_color, "rgba");
  EXPECT_EQ(d.rgb.at<cv::Vec3b>(4, 7), cv::Vec3b(30, 20, 10));

  // Lossy WebP: libwebp's RGB output is OpenCV's BGR output, channel-swapped
  // (the pixels every earlier study was decoded to).
  ASSERT_TRUE(cv::imencode(".webp", pattern_image(45, 31, 9), bytes, {cv::IMWRITE_WEBP_QUALITY, 80}));
  d = decode(bytes);
  ASSERT_TRUE(d.ok()) << d.message;
  cv::cvtColor(cv::imdecode(bytes, cv::IMREAD_COLOR), expected, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(d.rgb, expected, cv::NORM_INF), 0.0);
}

}  // namespace
}  // namespace inferbench::data
