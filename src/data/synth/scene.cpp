// The scene around the painted fruit: background, light, pose, drop shadows,
// occlusion and camera effects; and the dataset writer.
#include "data/synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "common/progress.h"
#include "data/synth/canvas.h"
#include "data/synth/colour.h"
#include "data/synth/noise.h"
#include "data/synth/painters.h"

namespace inferbench::data {

namespace synth {
namespace {

struct ClassLayout {
  Canvas (*make)(Rng&, double, const cv::Vec3d&);
  double unit_lo, unit_hi;              // object unit as a fraction of the image size
  std::array<double, 4> count_weights;  // 1..4 objects
  double max_angle;                     // degrees either way
};

const ClassLayout& layout(int class_index) {
  static const std::array<ClassLayout, 10> kLayouts{{
      {make_apple, 0.2, 0.34, {0.55, 0.25, 0.2, 0}, 30},
      {make_banana, 0.2, 0.3, {1, 0, 0, 0}, 180},
      {make_avocado, 0.17, 0.27, {0.65, 0.35, 0, 0}, 60},
      {make_cherry, 0.15, 0.25, {0.75, 0.25, 0, 0}, 35},
      {make_kiwi, 0.19, 0.32, {0.5, 0.3, 0.2, 0}, 180},
      {make_mango, 0.2, 0.32, {0.75, 0.25, 0, 0}, 180},
      {make_orange, 0.2, 0.34, {0.55, 0.25, 0.2, 0}, 40},
      {make_pineapple, 0.16, 0.24, {1, 0, 0, 0}, 20},
      {make_strawberry, 0.16, 0.28, {0.35, 0.3, 0.2, 0.15}, 50},
      {make_watermelon, 0.22, 0.38, {0.85, 0.15, 0, 0}, 35},
  }};
  return kLayouts.at(static_cast<std::size_t>(class_index));
}

struct Pose {
  cv::Point2d at;
  double angle = 0;  // radians
  bool flip = false;
};

cv::Matx22d pose_matrix(const Pose& p) {
  const double c = std::cos(p.angle), s = std::sin(p.angle), f = p.flip ? -1.0 : 1.0;
  return {c * f, -s, s * f, c};
}

// The scene light expressed in the canvas axes of an object placed with `pose`,
// so its highlight lands on the same side as every other object's.
cv::Vec3d local_light(const cv::Vec3d& light, const Pose& pose) {
  const cv::Vec2d l = pose_matrix(pose).inv() * cv::Vec2d(light[0], light[1]);
  return {l[0], l[1], light[2]};
}

// Draws the canvas into the image with its pose, after a soft drop shadow cast
// away from the light.
void composite(cv::Mat& img, const Canvas& cn, const Pose& pose, const cv::Vec3d& light, double shadow) {
  const cv::Matx22d m = pose_matrix(pose);
  const cv::Vec2d centre = m * cv::Vec2d(cn.c.x, cn.c.y);
  const cv::Point2d t(pose.at.x - centre[0], pose.at.y - centre[1]);
  const double flat = std::hypot(light[0], light[1]);
  const cv::Point2d off = flat > 1e-6 ? cv::Point2d(-light[0], -light[1]) * (cn.r * 0.25 * (1.0 - light[2]) / flat)
                                      : cv::Point2d(0, 0);
  const double sigma = std::max(1.0, 0.12 * cn.r);

  double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
  for (const auto& q : {cv::Vec2d(0, 0), cv::Vec2d(cn.mask.cols, 0), cv::Vec2d(0, cn.mask.rows),
                        cv::Vec2d(cn.mask.cols, cn.mask.rows)}) {
    const cv::Vec2d p = m * q;
    for (const cv::Point2d shift : {cv::Point2d(0, 0), off}) {
      x0 = std::min(x0, p[0] + t.x + shift.x), x1 = std::max(x1, p[0] + t.x + shift.x);
      y0 = std::min(y0, p[1] + t.y + shift.y), y1 = std::max(y1, p[1] + t.y + shift.y);
    }
  }
  const double pad = 3 * sigma + 2;
  cv::Rect roi(cv::Point(static_cast<int>(std::floor(x0 - pad)), static_cast<int>(std::floor(y0 - pad))),
               cv::Point(static_cast<int>(std::ceil(x1 + pad)), static_cast<int>(std::ceil(y1 + pad))));
  roi &= cv::Rect(0, 0, img.cols, img.rows);
  if (roi.empty()) return;

  // Warp premultiplied colour so the bilinear edge samples do not pull in the canvas' black.
  cv::Mat mask3, premult;
  cv::merge(std::vector<cv::Mat>{cn.mask, cn.mask, cn.mask}, mask3);
  cv::multiply(cn.rgb, mask3, premult, 1.0 / 255.0);
  cv::Matx23d warp(m(0, 0), m(0, 1), t.x - roi.x, m(1, 0), m(1, 1), t.y - roi.y);
  cv::Mat colour, alpha, shade_mask;
  cv::warpAffine(premult, colour, warp, roi.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::warpAffine(cn.mask, alpha, warp, roi.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::Matx23d shadow_warp = warp;
  shadow_warp(0, 2) += off.x;
  shadow_warp(1, 2) += off.y;
  // The shadow is soft, so it is rendered and blurred at a quarter of the
  // resolution: a wide Gaussian at full size would cost more than the fruit.
  constexpr double kShadowScale = 0.25;
  const cv::Size small_size(std::max(1, cvRound(roi.width * kShadowScale)),
                            std::max(1, cvRound(roi.height * kShadowScale)));
  cv::Matx23d small_warp = shadow_warp * kShadowScale;
  cv::Mat small;
  cv::warpAffine(cn.mask, small, small_warp, small_size, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::GaussianBlur(small, small, cv::Size(0, 0), std::max(0.5, sigma * kShadowScale));
  cv::resize(small, shade_mask, roi.size(), 0, 0, cv::INTER_LINEAR);

  cv::Mat dst = img(roi);
  for (int y = 0; y < roi.height; ++y) {
    auto* out = dst.ptr<cv::Vec3b>(y);
    const auto* col = colour.ptr<cv::Vec3b>(y);
    const auto* a = alpha.ptr<std::uint8_t>(y);
    const auto* s = shade_mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < roi.width; ++x) {
      const double keep = (1.0 - shadow * s[x] / 255.0) * (1.0 - a[x] / 255.0);
      for (int ch = 0; ch < 3; ++ch) out[x][ch] = to_u8(out[x][ch] * keep + col[x][ch]);
    }
  }
}

Rgb random_backdrop_colour(Rng& rng) {
  if (rng.bernoulli(0.5)) return hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.15), rng.uniform(0.6, 0.97));
  return hsv(rng.uniform(0, 360), rng.uniform(0.15, 0.7), rng.uniform(0.3, 0.9));
}

// Fills `img` with a linear blend between two colours along a random direction,
// mottled by low-frequency noise.
void gradient_fill(cv::Mat& img, const Rgb& a, const Rgb& b, Rng& rng) {
  const double ang = rng.uniform(0, 2 * kPi);
  const double cx = std::cos(ang), sy = std::sin(ang);
  const cv::Mat mottle = noise_map(img.size(), 3, 3, rng);
  const double size = img.cols;
  for (int y = 0; y < img.rows; ++y) {
    auto* out = img.ptr<cv::Vec3b>(y);
    const auto* n = mottle.ptr<float>(y);
    for (int x = 0; x < img.cols; ++x) {
      const double t = clamp01(0.5 + ((x - size / 2) * cx + (y - size / 2) * sy) / size);
      const Rgb c = mix(a, b, t) * (0.94 + 0.12 * n[x]);
      out[x] = cv::Vec3b(to_u8(c[0]), to_u8(c[1]), to_u8(c[2]));
    }
  }
}

cv::Mat make_background(int size, Rng& rng) {
  cv::Mat img(size, size, CV_8UC3);
  const double s = size;
  switch (choose(rng, std::array{0.3, 0.2, 0.17, 0.18, 0.15})) {
    case 0: {  // plain backdrop with a gentle gradient
      const Rgb a = random_backdrop_colour(rng);
      gradient_fill(img, a, a * rng.uniform(0.7, 1.1), rng);
      break;
    }
    case 1: {  // wood: warped grain along one direction, sometimes planks
      const Rgb base = hsv(rng.uniform(18, 36), rng.uniform(0.35, 0.7), rng.uniform(0.3, 0.75));
      const double ang = rng.uniform(0, kPi);
      const double ca = std::cos(ang), sa = std::sin(ang);
      const double freq = rng.uniform(70, 160);
      const double bend = rng.uniform(2.0, 5.0);
      const double plank = rng.bernoulli(0.5) ? rng.uniform(0.2, 0.35) : 0.0;
      const cv::Mat warp = noise_map(img.size(), 3, 3, rng);
      const std::uint64_t grain = rng.next_u64();
      for (int y = 0; y < size; ++y) {
        auto* out = img.ptr<cv::Vec3b>(y);
        const auto* w = warp.ptr<float>(y);
        for (int x = 0; x < size; ++x) {
          const double across = (-x * sa + y * ca) / s;
          const double v = 0.5 + 0.5 * std::sin(across * freq + bend * w[x]);
          const double streak = hash01(static_cast<std::int64_t>((across + 0.02 * w[x]) * 220), 0, grain);
          double f = 0.78 + 0.25 * v * v + 0.16 * (streak - 0.5);
          if (plank > 0) {
            const double k = across / plank - std::floor(across / plank);
            if (k < 0.012 * 256 / s + 0.004) f *= 0.45;
          }
          const Rgb c = base * f;
          out[x] = cv::Vec3b(to_u8(c[0]), to_u8(c[1]), to_u8(c[2]));
        }
      }
      break;
    }
    case 2: {  // cloth: gingham checks or stripes, with a faint weave
      const Rgb a = hsv(rng.uniform(0, 360), rng.uniform(0.3, 0.8), rng.uniform(0.4, 0.85));
      const Rgb b = hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.1), rng.uniform(0.85, 0.97));
      const double period = s * rng.uniform(0.05, 0.14);
      const bool checks = rng.bernoulli(0.6);
      const double ang = rng.uniform(-0.3, 0.3);
      const double ca = std::cos(ang), sa = std::sin(ang);
      for (int y = 0; y < size; ++y) {
        auto* out = img.ptr<cv::Vec3b>(y);
        for (int x = 0; x < size; ++x) {
          const double u = (x * ca + y * sa) / period, v = (-x * sa + y * ca) / period;
          const double su = u - std::floor(u) < 0.5 ? 1.0 : 0.0;
          const double sv = v - std::floor(v) < 0.5 ? 1.0 : 0.0;
          const double t = checks ? 0.5 * (su + sv) : su;
          const double weave = ((x + y) % 3 == 0) ? 0.95 : 1.0;
          const Rgb c = mix(b, a, t) * weave;
          out[x] = cv::Vec3b(to_u8(c[0]), to_u8(c[1]), to_u8(c[2]));
        }
      }
      cv::GaussianBlur(img, img, cv::Size(0, 0), std::max(0.5, s / 300.0));
      break;
    }
    case 3: {  // clutter: out-of-focus shapes, some in fruit colours
      const Rgb a = random_backdrop_colour(rng);
      gradient_fill(img, a, a * rng.uniform(0.7, 1.1), rng);
      const int n = rng.uniform_int(5, 14);
      for (int i = 0; i < n; ++i) {
        const cv::Scalar col = scalar(hsv(rng.uniform(0, 360), rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.95)));
        const cv::Point c(rng.uniform_int(0, size), rng.uniform_int(0, size));
        const int r = static_cast<int>(s * rng.uniform(0.05, 0.25));
        switch (rng.uniform_int(0, 2)) {
          case 0: cv::circle(img, c, r, col, cv::FILLED, cv::LINE_AA); break;
          case 1:
            cv::ellipse(img, c, cv::Size(r, r / 3 + 1), rng.uniform(0, 180), 0, 360, col, cv::FILLED, cv::LINE_AA);
            break;
          default:
            cv::line(img, c, cv::Point(rng.uniform_int(0, size), rng.uniform_int(0, size)), col,
                     std::max(1, r / 3), cv::LINE_AA);
            break;
        }
      }
      // Strongly defocused, so blurred at a quarter of the size for speed.
      cv::Mat small;
      cv::resize(img, small, cv::Size(), 0.25, 0.25, cv::INTER_AREA);
      cv::GaussianBlur(small, small, cv::Size(0, 0), 0.25 * s * rng.uniform(0.015, 0.04));
      cv::resize(small, img, img.size(), 0, 0, cv::INTER_LINEAR);
      break;
    }
    default: {  // table top below, wall above
      const double horizon = rng.uniform(0.2, 0.6);
      const Rgb wall = random_backdrop_colour(rng), table = random_backdrop_colour(rng) * rng.uniform(0.6, 1.0);
      cv::Mat top(size, size, CV_8UC3), bottom(size, size, CV_8UC3);
      gradient_fill(top, wall, wall * 0.85, rng);
      gradient_fill(bottom, table, table * 1.1, rng);
      const int h = static_cast<int>(horizon * s);
      bottom.copyTo(img);
      top.rowRange(0, h).copyTo(img.rowRange(0, h));
      break;
    }
  }
  if (rng.bernoulli(0.2)) {  // a plate under the fruit
    const cv::Point c(static_cast<int>(s * rng.uniform(0.4, 0.6)), static_cast<int>(s * rng.uniform(0.45, 0.65)));
    const cv::Size ax(static_cast<int>(s * rng.uniform(0.35, 0.5)), static_cast<int>(s * rng.uniform(0.25, 0.4)));
    const Rgb plate = rng.bernoulli(0.7) ? hsv(rng.uniform(0, 360), rng.uniform(0, 0.08), rng.uniform(0.85, 0.98))
                                         : hsv(rng.uniform(0, 360), rng.uniform(0.2, 0.5), rng.uniform(0.6, 0.9));
    cv::ellipse(img, c, ax, 0, 0, 360, scalar(plate * 0.8), cv::FILLED, cv::LINE_AA);
    cv::ellipse(img, c, cv::Size(ax.width * 8 / 10, ax.height * 8 / 10), 0, 0, 360, scalar(plate), cv::FILLED,
                cv::LINE_AA);
  }
  return img;
}

// Camera and light: uneven illumination, white balance, exposure, blur, noise.
void camera_effects(cv::Mat& img, Rng& rng) {
  const double s = img.cols;
  const double ga = rng.uniform(0, 2 * kPi);
  const double gs = rng.uniform(0.0, 0.4);
  const double gx = gs * std::cos(ga), gy = gs * std::sin(ga);
  const double vig = rng.bernoulli(0.35) ? rng.uniform(0.1, 0.35) : 0.0;
  const cv::Vec3d gain(rng.uniform(0.88, 1.12), rng.uniform(0.94, 1.06), rng.uniform(0.88, 1.12));
  const double contrast = rng.uniform(0.8, 1.2), bright = rng.uniform(-25, 20);
  // out = ((in * gain * light) - 128) * contrast + 128 + bright, in one pass
  // and in place: a float copy of the frame would cost more in page faults.
  const double offset = 128.0 * (1.0 - contrast) + bright;
  const cv::Vec3d g = gain * contrast;
  for (int y = 0; y < img.rows; ++y) {
    auto* p = img.ptr<cv::Vec3b>(y);
    const double dy = y / s - 0.5;
    for (int x = 0; x < img.cols; ++x) {
      const double dx = x / s - 0.5;
      const double f = (1.0 + gx * dx + gy * dy) * (1.0 - vig * (dx * dx + dy * dy) * 2.0);
      for (int ch = 0; ch < 3; ++ch) p[x][ch] = to_u8(p[x][ch] * g[ch] * f + offset);
    }
  }
  if (rng.bernoulli(0.1)) {  // a low-resolution camera
    cv::Mat small;
    cv::resize(img, small, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
    cv::resize(small, img, img.size(), 0, 0, cv::INTER_LINEAR);
  }
  if (rng.bernoulli(0.3)) cv::GaussianBlur(img, img, cv::Size(0, 0), rng.uniform(0.5, 1.6) * s / 256.0);
  // Triangular noise from two random bytes (their sum has a standard deviation
  // of 104.5), looked up as integers: cheap, and at a few levels it looks like
  // sensor noise.
  const double k = rng.uniform(1.0, 7.0) / 104.5;
  std::array<int, 511> table{};
  for (int b = 0; b < 511; ++b) table[static_cast<std::size_t>(b)] = static_cast<int>(std::lround(k * (b - 255)));
  std::uint64_t bits = 0;
  int left = 0;
  for (int y = 0; y < img.rows; ++y) {
    auto* p = img.ptr<std::uint8_t>(y);
    for (int i = 0; i < img.cols * 3; ++i) {
      if (left == 0) bits = rng.next_u64(), left = 4;
      const auto b = static_cast<std::size_t>((bits & 0xFF) + ((bits >> 8) & 0xFF));
      bits >>= 16;
      --left;
      p[i] = static_cast<std::uint8_t>(std::min(255, std::max(0, p[i] + table[b])));
    }
  }
}

// Object centres for `n` objects of about `radius` pixels, kept apart so that
// they overlap a little at most.
std::vector<cv::Point2d> place(int n, double radius, int size, Rng& rng) {
  const double s = size;
  std::vector<cv::Point2d> at;
  for (int i = 0; i < n; ++i) {
    cv::Point2d best;
    double best_gap = -1;
    for (int attempt = 0; attempt < 12; ++attempt) {
      const double spread = n == 1 ? 0.16 : 0.3;
      const cv::Point2d p(s * (0.5 + rng.uniform(-spread, spread)), s * (0.5 + rng.uniform(-spread, spread)));
      double gap = 1e9;
      for (const auto& q : at) gap = std::min(gap, std::hypot(p.x - q.x, p.y - q.y));
      if (gap > best_gap) best = p, best_gap = gap;
      if (gap > 1.6 * radius) break;
    }
    at.push_back(best);
  }
  // Higher in the frame is further away: draw those first.
  std::sort(at.begin(), at.end(), [](const auto& a, const auto& b) { return a.y < b.y; });
  return at;
}

// render_fruit, once its arguments are known to be valid.
cv::Mat render_scene(int class_index, int size, Rng& rng) {
  const ClassLayout& lay = layout(class_index);
  cv::Mat img = make_background(size, rng);

  // Light mostly from above, from either side.
  const double la = -kPi / 2 + rng.uniform(-1.3, 1.3);
  const double lz = rng.uniform(0.5, 0.85);
  const double lxy = std::sqrt(1.0 - lz * lz);
  const cv::Vec3d light(std::cos(la) * lxy, std::sin(la) * lxy, lz);
  const double shadow = rng.uniform(0.2, 0.5);

  const int n = 1 + choose(rng, lay.count_weights);
  // Objects fill a good part of the frame, as in the product-style photos of
  // the fruit data sets, so that the class survives downscaling to 64 pixels.
  constexpr double kObjectScale = 1.35;
  const double unit = size * kObjectScale * rng.uniform(lay.unit_lo, lay.unit_hi) / (1.0 + 0.3 * (n - 1));
  const auto centres = place(n, unit, size, rng);
  for (const auto& at : centres) {
    Pose pose{at, rng.uniform(-lay.max_angle, lay.max_angle) * kPi / 180.0, rng.bernoulli(0.5)};
    const Canvas cn = lay.make(rng, unit * rng.uniform(0.9, 1.1), local_light(light, pose));
    composite(img, cn, pose, light, shadow);
  }
  if (rng.bernoulli(0.22)) {
    const cv::Point2d& target = centres[static_cast<std::size_t>(rng.uniform_int(0, n - 1))];
    const double a = rng.uniform(0, 2 * kPi);
    Pose pose{target + cv::Point2d(std::cos(a), std::sin(a)) * (unit * rng.uniform(1.1, 1.6)), a + kPi,
              rng.bernoulli(0.5)};
    const Canvas cn = make_occluder(rng, unit * rng.uniform(0.5, 0.8), local_light(light, pose));
    composite(img, cn, pose, light, shadow);
  }
  camera_effects(img, rng);
  return img;
}

}  // namespace
}  // namespace synth

const std::vector<std::string>& fruit_classes() {
  static const std::vector<std::string> kClasses{"Apple", "Banana",    "Avocado",      "Cherry",    "Kiwi",
                                                 "Mango", "Orange",    "Pineapple",    "Strawberries", "Watermelon"};
  return kClasses;
}

cv::Mat render_fruit(int class_index, int size, Rng& rng) {
  if (class_index < 0 || class_index >= static_cast<int>(fruit_classes().size())) {
    throw std::out_of_range(fmt::format("render_fruit: class index {} is not in 0..9", class_index));
  }
  if (size < 8) throw std::invalid_argument(fmt::format("render_fruit: size {} is below 8", size));
  return synth::render_scene(class_index, size, rng);
}

namespace {

namespace fs = std::filesystem;

void validate(const SynthConfig& c) {
  if (c.out_dir.empty()) fail(ExitCode::kUsage, "synth: out_dir must not be empty");
  if (c.images_per_class < 1) {
    fail(ExitCode::kUsage, fmt::format("synth: images_per_class must be at least 1 (got {})", c.images_per_class));
  }
  if (c.image_size < 32 || c.image_size > 4096) {
    fail(ExitCode::kUsage, fmt::format("synth: image_size must be between 32 and 4096 (got {})", c.image_size));
  }
  if (c.jpeg_quality < 1 || c.jpeg_quality > 100) {
    fail(ExitCode::kUsage, fmt::format("synth: jpeg_quality must be between 1 and 100 (got {})", c.jpeg_quality));
  }
  if (c.format != "jpeg" && c.format != "png" && c.format != "mixed") {
    fail(ExitCode::kUsage, fmt::format("synth: format must be 'jpeg', 'png' or 'mixed' (got '{}')", c.format));
  }
  if (c.threads < 0) fail(ExitCode::kUsage, fmt::format("synth: threads must be 0 (all) or more (got {})", c.threads));
}

std::string lowercase(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

SynthReport synthesize_dataset(const SynthConfig& config) {
  validate(config);
  const auto start = std::chrono::steady_clock::now();
  const auto& classes = fruit_classes();
  const auto per_class = static_cast<std::int64_t>(config.images_per_class);
  const std::int64_t total = per_class * static_cast<std::int64_t>(classes.size());

  std::vector<std::string> stems;
  for (const auto& name : classes) {
    std::error_code ec;
    fs::create_directories(config.out_dir / name, ec);
    if (ec) {
      fail(ExitCode::kOutput, fmt::format("cannot create '{}': {}", (config.out_dir / name).string(), ec.message()));
    }
    stems.push_back(lowercase(name));
  }

  unsigned threads = config.threads > 0 ? static_cast<unsigned>(config.threads) : std::thread::hardware_concurrency();
  threads = static_cast<unsigned>(std::clamp<std::int64_t>(threads, 1, total));

  const Rng root(config.seed);
  const std::vector<int> jpeg_params{cv::IMWRITE_JPEG_QUALITY, config.jpeg_quality};
  std::atomic<std::int64_t> next{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  Progress progress("synth", static_cast<std::uint64_t>(total), "images");

  auto work = [&] {
    try {
      std::vector<std::uint8_t> buf;
      cv::Mat bgr;
      for (std::int64_t k = next++; k < total && !stop.load(); k = next++) {
        const auto cls = static_cast<std::size_t>(k / per_class);
        const std::int64_t i = k % per_class;
        // Seeded by (class, index) alone: the same image whatever the thread
        // count, the scheduling, or how many images per class were asked for.
        Rng rng = root.fork(cls).fork(static_cast<std::uint64_t>(i));
        const cv::Mat rgb = render_fruit(static_cast<int>(cls), config.image_size, rng);
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
        const bool png = config.format == "png" || (config.format == "mixed" && i % 5 == 4);
        const fs::path path =
            config.out_dir / classes[cls] / fmt::format("{}_{:05}.{}", stems[cls], i, png ? "png" : "jpg");
        if (!cv::imencode(png ? ".png" : ".jpg", bgr, buf, png ? std::vector<int>{} : jpeg_params)) {
          fail(ExitCode::kOutput, fmt::format("cannot encode '{}'", path.string()));
        }
        write_file_atomic(path, buf.data(), buf.size());
        bytes += buf.size();
        progress.advance();
      }
    } catch (...) {
      const std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  if (threads == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);
  progress.finish();

  SynthReport report;
  report.classes = classes;
  report.counts.assign(classes.size(), config.images_per_class);
  report.bytes_written = bytes.load();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace inferbench::data
