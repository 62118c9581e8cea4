#include "data/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "testutil/fixtures.h"

namespace inferbench::data {
namespace {

using testutil::TempDir;

// Pixel (x, y) holds (x mod 256, y mod 256, x/256 + 16*(y/256)): any output
// pixel names the input pixel it came from.
cv::Mat coordinate_image(int width, int height) {
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>(x % 256), static_cast<std::uint8_t>(y % 256),
                                          static_cast<std::uint8_t>(x / 256 + 16 * (y / 256)));
    }
  }
  return img;
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0.0;
}

template <typename F>
std::string error_message(F&& f, ExitCode expected_code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected_code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no inferbench::Error thrown";
  return {};
}

PreprocessConfig small_config(int size, Layout layout = Layout::kNCHW) {
  PreprocessConfig c;
  c.image_size = size;
  c.resize_size = size;
  c.resize_mode = ResizeMode::kDirect;
  c.layout = layout;
  return c;
}

TEST(Normalize, ImagenetValuesComputedByHand) {
  cv::Mat img(2, 2, CV_8UC3);
  img.at<cv::Vec3b>(0, 0) = {255, 0, 128};
  img.at<cv::Vec3b>(0, 1) = {10, 200, 55};
  img.at<cv::Vec3b>(1, 0) = {0, 0, 0};
  img.at<cv::Vec3b>(1, 1) = {255, 255, 255};
  const PreprocessConfig cfg = small_config(2);
  std::vector<float> out(cfg.tensor_size());
  normalize_into(img, cfg, out.data());
  // (v/255 - mean)/std with mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
  // Planes R, G, B, each row-major 2x2.
  const float expected[12] = {
      2.2489083F,  -1.9466565F, -2.1179039F, 2.2489083F,   // R: 255, 10, 0, 255
      -2.0357141F, 1.4656863F,  -2.0357141F, 2.4285715F,   // G: 0, 200, 0, 255
      0.4264926F,  -0.8458387F, -1.8044444F, 2.6400001F};  // B: 128, 55, 0, 255
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(out[static_cast<std::size_t>(i)], expected[i], 2e-6F) << "element " << i;
}

// torchvision computes ToTensor + Normalize as (v / 255 - mean) / std in
// float32; doing the same keeps our tensors bit-identical to its output.
TEST(Normalize, BitIdenticalToTorchvisionFloatOrder) {
  cv::Mat img(16, 16, CV_8UC3);
  for (int i = 0; i < 256; ++i) {
    const auto v = static_cast<std::uint8_t>(i);
    img.at<cv::Vec3b>(i / 16, i % 16) =
        cv::Vec3b(v, static_cast<std::uint8_t>(255 - v), static_cast<std::uint8_t>(v * 7));
  }
  const PreprocessConfig cfg = small_config(16, Layout::kNHWC);
  std::vector<float> out(cfg.tensor_size());
  normalize_into(img, cfg, out.data());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const float v = static_cast<float>(img.data[i]);
    ASSERT_EQ(out[i], (v / 255.0F - cfg.mean[i % 3]) / cfg.std[i % 3]) << i;
  }
}

TEST(Normalize, UnitPresetScalesToZeroOne) {
  cv::Mat img(1, 1, CV_8UC3, cv::Scalar(0, 51, 255));
  PreprocessConfig cfg = PreprocessConfig::preset("unit", 1);
  cfg.resize_mode = ResizeMode::kDirect;
  std::vector<float> out(cfg.tensor_size());
  normalize_into(img, cfg, out.data());
  EXPECT_FLOAT_EQ(out[0], 0.0F);
  EXPECT_FLOAT_EQ(out[1], 0.2F);
  EXPECT_FLOAT_EQ(out[2], 1.0F);

  cfg = PreprocessConfig::preset("symmetric", 1);
  cfg.resize_mode = ResizeMode::kDirect;
  normalize_into(img, cfg, out.data());
  EXPECT_FLOAT_EQ(out[0], -1.0F);
  EXPECT_NEAR(out[1], -0.6F, 1e-6F);
  EXPECT_FLOAT_EQ(out[2], 1.0F);
}

TEST(Normalize, NchwAndNhwcAreTransposes) {
  const cv::Mat img = testutil::pattern_image(7, 7, 3);
  const PreprocessConfig nchw = small_config(7, Layout::kNCHW);
  const PreprocessConfig nhwc = small_config(7, Layout::kNHWC);
  std::vector<float> a(nchw.tensor_size());
  std::vector<float> b(nhwc.tensor_size());
  normalize_into(img, nchw, a.data());
  normalize_into(img, nhwc, b.data());
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t y = 0; y < 7; ++y) {
      for (std::size_t x = 0; x < 7; ++x) {
        ASSERT_EQ(a[(c * 7 + y) * 7 + x], b[(y * 7 + x) * 3 + c]) << c << "," << y << "," << x;
      }
    }
  }
}

TEST(Normalize, RejectsWrongSize) {
  const PreprocessConfig cfg = small_config(4);
  std::vector<float> out(cfg.tensor_size());
  EXPECT_THROW(normalize_into(testutil::pattern_image(5, 4, 1), cfg, out.data()), std::logic_error);
}

// Shorter side equal to resize_size, so only the crop acts.
TEST(ResizeAndCrop, CentreCropOffsetsOnAsymmetricImages) {
  struct Case {
    int w, h, top, left;
  };
  // Offsets round half to even like torchvision's CenterCrop: 50.5 -> 50, 51.5 -> 52.
  for (const Case& c : {Case{300, 200, 50, 100}, Case{200, 300, 100, 50}, Case{301, 200, 50, 100},
                        Case{303, 200, 50, 102}, Case{200, 301, 100, 50}, Case{200, 303, 102, 50}}) {
    PreprocessConfig cfg;
    cfg.image_size = 100;
    cfg.resize_size = 200;
    const cv::Mat src = coordinate_image(c.w, c.h);
    const cv::Mat out = resize_and_crop(src, cfg);
    ASSERT_EQ(out.size(), cv::Size(100, 100));
    EXPECT_TRUE(same_pixels(out, src(cv::Rect(c.left, c.top, 100, 100)))) << c.w << "x" << c.h;
  }
}

TEST(ResizeAndCrop, ShorterSideResizeThenCrop) {
  // 250x125 -> shorter side 100 -> 200x100 (scale 1.25), crop 100 at left 50.
  PreprocessConfig cfg;
  cfg.image_size = 100;
  cfg.resize_size = 100;
  cfg.interpolation = Interpolation::kNearest;
  const cv::Mat src = coordinate_image(250, 125);
  const cv::Mat out = resize_and_crop(src, cfg);
  ASSERT_EQ(out.size(), cv::Size(100, 100));
  // OpenCV nearest: source = floor(dest * scale).
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(62, 0, 0));      // x = floor(50 * 1.25)
  EXPECT_EQ(out.at<cv::Vec3b>(0, 99), cv::Vec3b(186, 0, 0));    // x = floor(149 * 1.25)
  EXPECT_EQ(out.at<cv::Vec3b>(99, 0), cv::Vec3b(62, 123, 0));   // y = floor(99 * 1.25)

  // Portrait, and the longer side truncated as torchvision does: 125x333 ->
  // 100 x int(266.4) = 266, crop top round((266-100)/2) = 83.
  const cv::Mat portrait = coordinate_image(125, 333);
  cv::Mat resized;
  cv::resize(portrait, resized, cv::Size(100, 266), 0, 0, cv::INTER_NEAREST);
  EXPECT_TRUE(same_pixels(resize_and_crop(portrait, cfg), resized(cv::Rect(0, 83, 100, 100))));
}

TEST(ResizeAndCrop, DirectResizeIgnoresAspect) {
  PreprocessConfig cfg = small_config(50);
  cfg.interpolation = Interpolation::kNearest;
  const cv::Mat src = coordinate_image(300, 100);
  const cv::Mat out = resize_and_crop(src, cfg);
  ASSERT_EQ(out.size(), cv::Size(50, 50));
  for (int y = 0; y < 50; ++y) {
    for (int x = 0; x < 50; ++x) {
      ASSERT_EQ(out.at<cv::Vec3b>(y, x), src.at<cv::Vec3b>(y * 2, x * 6)) << x << "," << y;
    }
  }
}

TEST(ResizeAndCrop, InterpolationIsApplied) {
  const cv::Mat src = testutil::pattern_image(97, 61, 5);
  PreprocessConfig cfg = small_config(40);
  cfg.interpolation = Interpolation::kNearest;
  const cv::Mat nearest = resize_and_crop(src, cfg);
  cfg.interpolation = Interpolation::kArea;
  const cv::Mat area = resize_and_crop(src, cfg);
  EXPECT_FALSE(same_pixels(nearest, area));
}

TEST(Augment, SameSeedSameOutputDifferentSeedDifferent) {
  const cv::Mat src = testutil::pattern_image(120, 90, 9);
  const PreprocessConfig cfg = small_config(32);
  const AugmentConfig aug = AugmentConfig::preset("strong");
  Rng r1(42);
  Rng r2(42);
  Rng r3(43);
  const cv::Mat a = augment(src, aug, cfg, r1);
  const cv::Mat b = augment(src, aug, cfg, r2);
  const cv::Mat c = augment(src, aug, cfg, r3);
  ASSERT_EQ(a.size(), cv::Size(32, 32));
  ASSERT_EQ(a.type(), CV_8UC3);
  EXPECT_TRUE(same_pixels(a, b));
  EXPECT_FALSE(same_pixels(a, c));
}

TEST(Augment, FlipMirrorsTheImage) {
  const cv::Mat src = coordinate_image(64, 64);
  const PreprocessConfig cfg = small_config(64);
  AugmentConfig aug;
  aug.min_scale = aug.max_scale = 1.0;
  aug.min_ratio = aug.max_ratio = 1.0;  // the whole (square) image: only the flip varies
  int flipped = 0;
  int kept = 0;
  cv::Mat mirror;
  cv::flip(src, mirror, 1);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    const cv::Mat out = augment(src, aug, cfg, rng);
    if (same_pixels(out, src)) ++kept;
    else if (same_pixels(out, mirror)) ++flipped;
    else ADD_FAILURE() << "seed " << seed << ": neither the image nor its mirror";
  }
  EXPECT_GT(flipped, 0);
  EXPECT_GT(kept, 0);
  EXPECT_FALSE(same_pixels(src, mirror));
}

TEST(Augment, RandomResizedCropTakesPartOfTheImage) {
  const cv::Mat src = coordinate_image(200, 160);
  const PreprocessConfig cfg = small_config(32);
  AugmentConfig aug;
  aug.horizontal_flip = false;
  aug.min_scale = 0.1;
  aug.max_scale = 0.3;
  const cv::Mat whole = resize_and_crop(src, cfg);
  Rng rng(7);
  const cv::Mat out = augment(src, aug, cfg, rng);
  ASSERT_EQ(out.size(), cv::Size(32, 32));
  EXPECT_FALSE(same_pixels(out, whole));
  // At most 30% of the area: the crop spans well under the full coordinate range.
  double lo = 0;
  double hi = 0;
  cv::Mat xs;
  cv::extractChannel(out, xs, 0);
  cv::minMaxLoc(xs, &lo, &hi);
  EXPECT_LT(hi - lo, 0.8 * 200);
}

TEST(Augment, FallsBackToCentreCropWhenNoAttemptFits) {
  // 1000x10 with ratio in [3/4, 4/3] and scale >= 0.9: no crop fits, so the
  // fallback is the centre 13x10 (10 * 4/3 rounded), at left (1000-13)/2 = 493.
  const cv::Mat src = coordinate_image(1000, 10);
  const PreprocessConfig cfg = small_config(16);
  AugmentConfig aug;
  aug.horizontal_flip = false;
  aug.min_scale = 0.9;
  Rng rng(1);
  const cv::Mat out = augment(src, aug, cfg, rng);
  cv::Mat expected;
  cv::resize(src(cv::Rect(493, 0, 13, 10)), expected, cv::Size(16, 16), 0, 0, cv::INTER_LINEAR);
  EXPECT_TRUE(same_pixels(out, expected));
}

TEST(Augment, BrightnessScalesWithinItsRange) {
  const cv::Mat src(40, 40, CV_8UC3, cv::Scalar(100, 100, 100));
  const PreprocessConfig cfg = small_config(40);
  AugmentConfig aug = AugmentConfig::preset("none");
  aug.brightness = 0.5;
  bool changed = false;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(seed);
    const cv::Mat out = augment(src, aug, cfg, rng);
    const cv::Scalar m = cv::mean(out);
    EXPECT_GE(m[0], 50.0);
    EXPECT_LE(m[0], 150.0);
    EXPECT_EQ(m[0], m[1]);  // brightness keeps grey grey
    changed = changed || m[0] != 100.0;
  }
  EXPECT_TRUE(changed);
}

TEST(Augment, HueAndSaturationChangeColour) {
  const cv::Mat src = testutil::pattern_image(48, 48, 2);
  const PreprocessConfig cfg = small_config(48);
  AugmentConfig aug = AugmentConfig::preset("none");
  aug.hue = 0.3;
  aug.saturation = 0.8;
  Rng rng(11);
  EXPECT_FALSE(same_pixels(augment(src, aug, cfg, rng), resize_and_crop(src, cfg)));
}

TEST(Parse, RoundTripsEveryName) {
  for (auto v : {ResizeMode::kShorterSideCrop, ResizeMode::kDirect}) EXPECT_EQ(parse_resize_mode(to_string(v)), v);
  for (auto v : {Interpolation::kNearest, Interpolation::kBilinear, Interpolation::kBicubic, Interpolation::kArea,
                 Interpolation::kLanczos}) {
    EXPECT_EQ(parse_interpolation(to_string(v)), v);
  }
  for (auto v : {Layout::kNCHW, Layout::kNHWC}) EXPECT_EQ(parse_layout(to_string(v)), v);
}

TEST(Parse, ErrorsNameTheValueAndTheChoices) {
  std::string msg = error_message([] { parse_interpolation("bilinaer"); }, ExitCode::kUsage);
  EXPECT_NE(msg.find("bilinaer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bilinear"), std::string::npos) << msg;
  msg = error_message([] { parse_layout("chw"); }, ExitCode::kUsage);
  EXPECT_NE(msg.find("'chw'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nhwc"), std::string::npos) << msg;
  msg = error_message([] { parse_resize_mode("crop"); }, ExitCode::kUsage);
  EXPECT_NE(msg.find("'crop'"), std::string::npos) << msg;
  msg = error_message([] { PreprocessConfig::preset("imagenette", 224); }, ExitCode::kUsage);
  EXPECT_NE(msg.find("imagenette"), std::string::npos) << msg;
  msg = error_message([] { AugmentConfig::preset("wild"); }, ExitCode::kUsage);
  EXPECT_NE(msg.find("wild"), std::string::npos) << msg;
}

TEST(Config, PresetsAndValidation) {
  const PreprocessConfig c = PreprocessConfig::preset("imagenet", 224);
  EXPECT_EQ(c.resize_size, 256);
  EXPECT_EQ(PreprocessConfig::preset("unit", 299).resize_size, 342);  // round(299 * 256 / 224)
  PreprocessConfig bad;
  bad.std[1] = 0.0F;
  EXPECT_NE(error_message([&] { bad.validate(); }, ExitCode::kUsage).find("std[1]"), std::string::npos);
  bad = {};
  bad.image_size = 0;
  EXPECT_NE(error_message([&] { bad.validate(); }, ExitCode::kUsage).find("image_size"), std::string::npos);
  bad = {};
  bad.resize_size = 100;  // smaller than the crop
  EXPECT_NE(error_message([&] { bad.validate(); }, ExitCode::kUsage).find("100"), std::string::npos);
}

TEST(Config, JsonRoundTrip) {
  PreprocessConfig c = PreprocessConfig::preset("symmetric", 192);
  c.resize_mode = ResizeMode::kDirect;
  c.interpolation = Interpolation::kBicubic;
  c.layout = Layout::kNHWC;
  const nlohmann::json j = c;
  EXPECT_EQ(j.at("interpolation"), "bicubic");
  EXPECT_EQ(j.at("layout"), "nhwc");
  EXPECT_EQ(j.at("resize_mode"), "direct");
  const auto back = nlohmann::json::parse(j.dump()).get<PreprocessConfig>();
  EXPECT_EQ(back.image_size, c.image_size);
  EXPECT_EQ(back.resize_size, c.resize_size);
  EXPECT_EQ(back.resize_mode, c.resize_mode);
  EXPECT_EQ(back.interpolation, c.interpolation);
  EXPECT_EQ(back.mean, c.mean);
  EXPECT_EQ(back.std, c.std);
  EXPECT_EQ(back.layout, c.layout);

  // ImageNet's float constants survive the text form bit for bit.
  const auto imagenet = nlohmann::json::parse(nlohmann::json(PreprocessConfig{}).dump()).get<PreprocessConfig>();
  EXPECT_EQ(imagenet.std, PreprocessConfig{}.std);

  const nlohmann::json aug = AugmentConfig::preset("strong");
  EXPECT_DOUBLE_EQ(aug.at("color_jitter").at("hue").get<double>(), 0.1);
}

TEST(Config, JsonErrorsNameTheField) {
  nlohmann::json j = PreprocessConfig{};
  j["interpolation"] = "cubicle";
  std::string msg = error_message([&] { (void)j.get<PreprocessConfig>(); }, ExitCode::kInput);
  EXPECT_NE(msg.find("cubicle"), std::string::npos) << msg;

  j = PreprocessConfig{};
  j.erase("mean");
  msg = error_message([&] { (void)j.get<PreprocessConfig>(); }, ExitCode::kInput);
  EXPECT_NE(msg.find("'mean'"), std::string::npos) << msg;

  j = PreprocessConfig{};
  j["image_size"] = "big";
  msg = error_message([&] { (void)j.get<PreprocessConfig>(); }, ExitCode::kInput);
  EXPECT_NE(msg.find("image_size"), std::string::npos) << msg;

  j = PreprocessConfig{};
  j["std"] = {0.5, 0.5};
  msg = error_message([&] { (void)j.get<PreprocessConfig>(); }, ExitCode::kInput);
  EXPECT_NE(msg.find("'std'"), std::string::npos) << msg;

  j = PreprocessConfig{};
  j["colour"] = true;
  msg = error_message([&] { (void)j.get<PreprocessConfig>(); }, ExitCode::kInput);
  EXPECT_NE(msg.find("colour"), std::string::npos) << msg;
}

TEST(PreprocessFile, MatchesInMemoryPipeline) {
  TempDir dir;
  const auto path = testutil::write_image(dir / "a.png", testutil::pattern_image(80, 60, 4));
  const PreprocessConfig cfg = PreprocessConfig::preset("imagenet", 32);
  const std::vector<float> from_file = preprocess_file(path, cfg);
  cv::Mat rgb;
  cv::cvtColor(testutil::pattern_image(80, 60, 4), rgb, cv::COLOR_BGR2RGB);
  std::vector<float> expected(cfg.tensor_size());
  preprocess_into(rgb, cfg, expected.data());
  EXPECT_EQ(from_file, expected);
}

TEST(PreprocessFile, BadFileNamesIt) {
  TempDir dir;
  testutil::write_text(dir / "broken.jpg", "not a jpeg at all");
  const std::string msg =
      error_message([&] { preprocess_file(dir / "broken.jpg", PreprocessConfig{}); }, ExitCode::kInput);
  EXPECT_NE(msg.find("broken.jpg"), std::string::npos) << msg;
  const std::string missing =
      error_message([&] { preprocess_file(dir / "missing.jpg", PreprocessConfig{}); }, ExitCode::kInput);
  EXPECT_NE(missing.find("missing.jpg"), std::string::npos) << missing;
}

}  // namespace
}  // namespace inferbench::data
