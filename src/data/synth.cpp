#include "data/synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <numbers>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/progress.h"

namespace inferbench::data {

namespace {

namespace fs = std::filesystem;

constexpr double kPi = std::numbers::pi;
// OpenCV draws with fixed-point coordinates when given `shift` fraction bits:
// without them small parts (seeds, stems) snap to whole pixels and jitter.
constexpr int kShift = 4;
constexpr double kSub = 1 << kShift;

// ---------------------------------------------------------------------------
// Colour and noise helpers
// ---------------------------------------------------------------------------

using Rgb = cv::Vec3d;  // R, G, B in 0..255
using Pts = std::vector<cv::Point2d>;

double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

double smoothstep(double e0, double e1, double x) {
  const double t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3.0 - 2.0 * t);
}

// min/max rather than std::clamp: compiles to branch-free minsd/maxsd, and this
// runs for every channel of every pixel.
std::uint8_t to_u8(double v) { return static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, v + 0.5))); }

// Hue in degrees (any value, wraps), saturation and value in 0..1.
Rgb hsv(double h, double s, double v) {
  h = std::fmod(h, 360.0);
  if (h < 0) h += 360.0;
  s = clamp01(s);
  v = clamp01(v);
  const double c = v * s;
  const double x = c * (1.0 - std::abs(std::fmod(h / 60.0, 2.0) - 1.0));
  const double m = v - c;
  double r = 0, g = 0, b = 0;
  if (h < 60) {
    r = c, g = x;
  } else if (h < 120) {
    r = x, g = c;
  } else if (h < 180) {
    g = c, b = x;
  } else if (h < 240) {
    g = x, b = c;
  } else if (h < 300) {
    r = x, b = c;
  } else {
    r = c, b = x;
  }
  return {(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0};
}

Rgb mix(const Rgb& a, const Rgb& b, double t) { return a * (1.0 - t) + b * t; }

cv::Scalar scalar(const Rgb& c) { return {c[0], c[1], c[2]}; }

// Index drawn with the given relative weights.
template <std::size_t N>
int choose(Rng& rng, const std::array<double, N>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double u = rng.uniform() * total;
  for (std::size_t i = 0; i < N; ++i) {
    if (u < weights[i]) return static_cast<int>(i);
    u -= weights[i];
  }
  return static_cast<int>(N - 1);
}

// Lattice value noise evaluated from a hash, so textures are defined in fruit
// units (independent of the output resolution) and need no tables.
double hash01(std::int64_t x, std::int64_t y, std::uint64_t seed) {
  std::uint64_t h = seed + static_cast<std::uint64_t>(x) * 0x9E3779B97F4A7C15ULL +
                    static_cast<std::uint64_t>(y) * 0xC2B2AE3D27D4EB4FULL;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

double value_noise(double x, double y, std::uint64_t seed) {
  const double fx = std::floor(x);
  const double fy = std::floor(y);
  const auto ix = static_cast<std::int64_t>(fx);
  const auto iy = static_cast<std::int64_t>(fy);
  double tx = x - fx;
  double ty = y - fy;
  tx = tx * tx * (3.0 - 2.0 * tx);
  ty = ty * ty * (3.0 - 2.0 * ty);
  const double a = hash01(ix, iy, seed);
  const double b = hash01(ix + 1, iy, seed);
  const double c = hash01(ix, iy + 1, seed);
  const double d = hash01(ix + 1, iy + 1, seed);
  return a + (b - a) * tx + (c - a) * ty + (a - b - c + d) * tx * ty;
}

double fbm(double x, double y, std::uint64_t seed, int octaves) {
  double sum = 0, amp = 0.5, norm = 0;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * value_noise(x, y, seed + static_cast<std::uint64_t>(o) * 0x51ED27ULL);
    norm += amp;
    x *= 2.03;
    y *= 2.03;
    amp *= 0.5;
  }
  return sum / norm;
}

// Smooth noise over a whole image: a small random grid scaled up. Much cheaper
// per pixel than value_noise, which matters for full-frame backgrounds.
cv::Mat noise_map(cv::Size size, int cells_x, int cells_y, Rng& rng) {
  cv::Mat grid(cells_y + 1, cells_x + 1, CV_32F);
  for (int y = 0; y < grid.rows; ++y) {
    for (int x = 0; x < grid.cols; ++x) grid.at<float>(y, x) = static_cast<float>(rng.uniform());
  }
  cv::Mat out;
  cv::resize(grid, out, size, 0, 0, cv::INTER_CUBIC);
  return out;
}

// ---------------------------------------------------------------------------
// Canvas: one object drawn upright around its own centre, in "units" (1 unit =
// `r` pixels). Pose, shadow and placement in the scene come later, so each
// class renderer only knows its own canonical shape.
// ---------------------------------------------------------------------------

struct Canvas {
  cv::Mat rgb;   // CV_8UC3, colour where mask > 0 (not premultiplied)
  cv::Mat mask;  // CV_8U coverage
  cv::Point2d c;
  double r = 1.0;
  cv::Vec3d light;  // unit vector towards the light, canvas axes (y down, z towards the viewer)

  Canvas(double unit_px, double x0, double x1, double y0, double y1, const cv::Vec3d& light_dir)
      : r(unit_px), light(light_dir) {
    constexpr int kMargin = 3;
    const int w = static_cast<int>(std::ceil((x1 - x0) * r)) + 2 * kMargin;
    const int h = static_cast<int>(std::ceil((y1 - y0) * r)) + 2 * kMargin;
    c = {kMargin - x0 * r, kMargin - y0 * r};
    rgb = cv::Mat::zeros(h, w, CV_8UC3);
    mask = cv::Mat::zeros(h, w, CV_8U);
  }

  [[nodiscard]] cv::Point pt(double x, double y) const {
    return {cvRound((c.x + x * r) * kSub), cvRound((c.y + y * r) * kSub)};
  }
  [[nodiscard]] cv::Point pt(const cv::Point2d& p) const { return pt(p.x, p.y); }
  [[nodiscard]] int len(double units) const { return cvRound(units * r * kSub); }
  [[nodiscard]] cv::Mat blank() const { return cv::Mat::zeros(mask.size(), CV_8U); }
};

void fill_poly(cv::Mat& m, const Canvas& cn, const Pts& pts) {
  std::vector<cv::Point> p;
  p.reserve(pts.size());
  for (const auto& q : pts) p.push_back(cn.pt(q));
  const std::vector<std::vector<cv::Point>> polys{p};
  cv::fillPoly(m, polys, cv::Scalar(255), cv::LINE_AA, kShift);
}

void fill_ellipse(cv::Mat& m, const Canvas& cn, cv::Point2d centre, double ax, double ay, double angle_deg) {
  cv::ellipse(m, cn.pt(centre), cv::Size(std::max(1, cn.len(ax)), std::max(1, cn.len(ay))), angle_deg, 0, 360,
              cv::Scalar(255), cv::FILLED, cv::LINE_AA, kShift);
}

void fill_circle(cv::Mat& m, const Canvas& cn, cv::Point2d centre, double radius) {
  cv::circle(m, cn.pt(centre), std::max(1, cn.len(radius)), cv::Scalar(255), cv::FILLED, cv::LINE_AA, kShift);
}

Pts ellipse_pts(cv::Point2d centre, double ax, double ay, int n) {
  Pts p;
  for (int i = 0; i < n; ++i) {
    const double t = 2.0 * kPi * i / n;
    p.emplace_back(centre.x + ax * std::cos(t), centre.y + ay * std::sin(t));
  }
  return p;
}

Pts bezier(cv::Point2d p0, cv::Point2d p1, cv::Point2d p2, int n) {
  Pts out;
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / (n - 1);
    out.push_back(p0 * ((1 - t) * (1 - t)) + p1 * (2 * (1 - t) * t) + p2 * (t * t));
  }
  return out;
}

// A polygon around a centre line, `half_width(t)` units wide at fraction t
// along it: stems, banana bodies, leaves, crown blades.
template <class W>
Pts tube(const Pts& line, W&& half_width) {
  const auto n = line.size();
  Pts left, right;
  for (std::size_t i = 0; i < n; ++i) {
    cv::Point2d d = line[std::min(i + 1, n - 1)] - line[i == 0 ? 0 : i - 1];
    const double l = std::hypot(d.x, d.y);
    if (l > 1e-9) d *= 1.0 / l;
    const cv::Point2d normal(-d.y, d.x);
    const double w = half_width(static_cast<double>(i) / static_cast<double>(n - 1));
    left.push_back(line[i] + normal * w);
    right.push_back(line[i] - normal * w);
  }
  left.insert(left.end(), right.rbegin(), right.rend());
  return left;
}

struct At {
  double x, y;  // units
  int px, py;   // canvas pixel
};

// Colours every pixel under `m` with colour(At) and merges `m` into the canvas
// mask. Blends over what the canvas already holds, never over its empty black,
// so anti-aliased edges carry no dark fringe.
template <class F>
void paint(Canvas& cn, const cv::Mat& m, F&& colour) {
  const cv::Rect box = cv::boundingRect(m);
  for (int py = box.y; py < box.y + box.height; ++py) {
    const auto* mrow = m.ptr<std::uint8_t>(py);
    auto* out = cn.rgb.ptr<cv::Vec3b>(py);
    auto* cov = cn.mask.ptr<std::uint8_t>(py);
    const double y = (py - cn.c.y) / cn.r;
    for (int px = box.x; px < box.x + box.width; ++px) {
      const int a = mrow[px];
      if (a == 0) continue;
      const Rgb col = colour(At{(px - cn.c.x) / cn.r, y, px, py});
      const double t = cov[px] == 0 ? 1.0 : a / 255.0;
      for (int ch = 0; ch < 3; ++ch) out[px][ch] = to_u8(out[px][ch] * (1.0 - t) + col[ch] * t);
      cov[px] = std::max(cov[px], static_cast<std::uint8_t>(a));
    }
  }
}

void paint_flat(Canvas& cn, const cv::Mat& m, const Rgb& col) {
  paint(cn, m, [&](const At&) { return col; });
}

// The bounding box of `m`'s non-zero pixels, grown by `pad` and kept inside it.
// Per-part work stays proportional to the part, not to the whole canvas.
cv::Rect support(const cv::Mat& m, int pad) {
  cv::Rect box = cv::boundingRect(m);
  box = cv::Rect(box.x - pad, box.y - pad, box.width + 2 * pad, box.height + 2 * pad);
  return box & cv::Rect(0, 0, m.cols, m.rows);
}

// Distance (pixels) from each pixel under `m` to the outside of `m` (CV_32F,
// canvas-sized, zero outside the part).
cv::Mat edge_distance(const cv::Mat& m) {
  cv::Mat dist = cv::Mat::zeros(m.size(), CV_32F);
  const cv::Rect box = support(m, 2);
  if (box.empty()) return dist;
  cv::Mat bin, part;
  cv::threshold(m(box), bin, 127, 255, cv::THRESH_BINARY);
  cv::distanceTransform(bin, part, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  part.copyTo(dist(box));
  return dist;
}

struct Shading {
  double depth;      // units over which the surface curves away at the rim (radius for a sphere)
  double ambient;    // light reaching surfaces facing away
  double gloss;      // specular strength
  double shininess;  // specular exponent
};

// Lights the pixels under `m` as a surface that bulges from its outline: the
// normal tilts outwards within `depth` of the edge like a sphere of that
// radius, so round fruit look round and long ones (banana) look cylindrical
// without each renderer building its own geometry.
void shade(Canvas& cn, const cv::Mat& m, const Shading& s) {
  const cv::Rect box = support(m, 2);
  if (box.empty()) return;
  cv::Mat bin, dist, smooth;
  cv::threshold(m(box), bin, 127, 255, cv::THRESH_BINARY);
  cv::distanceTransform(bin, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  const double depth = std::max(1.0, s.depth * cn.r);
  // Normals come from a smoothed copy: the raw distance field has a crease
  // along the medial axis that would show as a ridge on every oval.
  const int k = 2 * std::max(1, static_cast<int>(0.2 * depth)) + 1;
  cv::blur(dist, smooth, cv::Size(k, k));
  cv::blur(smooth, smooth, cv::Size(k, k));
  const cv::Vec3d l = cn.light;
  cv::Vec3d half = l + cv::Vec3d(0, 0, 1);
  half /= cv::norm(half);
  const double lz = std::max(0.3, l[2]);
  const int w = dist.cols, h = dist.rows;
  for (int y = 0; y < h; ++y) {
    const auto* mrow = m.ptr<std::uint8_t>(box.y + y) + box.x;
    const auto* drow = dist.ptr<float>(y);
    const auto* srow = smooth.ptr<float>(y);
    const auto* up = smooth.ptr<float>(std::max(0, y - 1));
    const auto* down = smooth.ptr<float>(std::min(h - 1, y + 1));
    auto* out = cn.rgb.ptr<cv::Vec3b>(box.y + y) + box.x;
    for (int x = 0; x < w; ++x) {
      if (mrow[x] == 0) continue;
      const double tilt = clamp01(1.0 - drow[x] / depth);
      const double gx = srow[std::min(w - 1, x + 1)] - srow[std::max(0, x - 1)];
      const double gy = down[x] - up[x];
      const double gl = std::hypot(gx, gy);
      cv::Vec3d n(0, 0, 1);
      if (gl > 1e-6) n = cv::Vec3d(-gx / gl * tilt, -gy / gl * tilt, std::sqrt(std::max(0.0, 1.0 - tilt * tilt)));
      const double lambert = std::max(0.0, n.dot(l)) / lz;
      const double f = std::min(1.3, s.ambient + (1.0 - s.ambient) * lambert);
      const double nh = n.dot(half);
      const double spec = nh > 0.7 ? s.gloss * 255.0 * std::pow(nh, s.shininess) : 0.0;
      for (int ch = 0; ch < 3; ++ch) out[x][ch] = to_u8(out[x][ch] * f + spec);
    }
  }
}

// Darkens or tints the canvas towards `col` inside a soft ellipse (dimples,
// cavities, ground spots).
void soft_tint(Canvas& cn, cv::Point2d centre, double ax, double ay, double angle_deg, const Rgb& col,
               double alpha) {
  cv::Mat m = cn.blank();
  fill_ellipse(m, cn, centre, ax, ay, angle_deg);
  const double sigma = std::max(0.8, 0.35 * std::min(ax, ay) * cn.r);
  const cv::Rect box = support(m, static_cast<int>(3 * sigma) + 1);
  if (box.empty()) return;
  cv::GaussianBlur(m(box), m(box), cv::Size(0, 0), sigma);
  for (int py = box.y; py < box.y + box.height; ++py) {
    const auto* mrow = m.ptr<std::uint8_t>(py);
    const auto* cov = cn.mask.ptr<std::uint8_t>(py);
    auto* out = cn.rgb.ptr<cv::Vec3b>(py);
    for (int px = box.x; px < box.x + box.width; ++px) {
      if (mrow[px] == 0 || cov[px] == 0) continue;
      const double t = alpha * mrow[px] / 255.0;
      for (int ch = 0; ch < 3; ++ch) out[px][ch] = to_u8(out[px][ch] * (1.0 - t) + col[ch] * t);
    }
  }
}

// A leaf from `base` towards `angle` (radians): lit half and shaded half
// either side of a pale midrib, the way leaves read even when tiny.
void draw_leaf(Canvas& cn, cv::Point2d base, double angle, double length, double width, const Rgb& col) {
  const cv::Point2d dir(std::cos(angle), std::sin(angle));
  const cv::Point2d side(-dir.y, dir.x);
  const Pts line = bezier(base, base + dir * (0.5 * length) + side * (0.08 * length), base + dir * length, 16);
  cv::Mat m = cn.blank();
  fill_poly(m, cn, tube(line, [&](double t) { return width * std::pow(std::sin(kPi * t), 0.7) * (1.0 - 0.3 * t); }));
  const double lit = side.x * cn.light[0] + side.y * cn.light[1];
  paint(cn, m, [&](const At& p) {
    const cv::Point2d rel(p.x - base.x, p.y - base.y);
    const double across = rel.x * side.x + rel.y * side.y;
    const double along = rel.x * dir.x + rel.y * dir.y;
    double f = (across > 0) == (lit > 0) ? 1.1 : 0.8;
    if (std::abs(across) < 0.012 + 0.01 * (1.0 - along / length)) f = 1.3;
    return col * f;
  });
}

// A stem or stalk along a quadratic curve, thinner at the end.
void draw_stem(Canvas& cn, cv::Point2d a, cv::Point2d ctrl, cv::Point2d b, double w0, double w1, const Rgb& col) {
  cv::Mat m = cn.blank();
  fill_poly(m, cn, tube(bezier(a, ctrl, b, 14), [&](double t) { return w0 + (w1 - w0) * t; }));
  paint(cn, m, [&](const At& p) {
    const double t = clamp01(std::hypot(p.x - a.x, p.y - a.y) / std::max(1e-6, std::hypot(b.x - a.x, b.y - a.y)));
    return col * (0.8 + 0.35 * t);
  });
  shade(cn, m, {w0, 0.45, 0.1, 8});
}

// Points of a closed outline given its radius as a function of the angle phi
// measured from the top (phi = 0 points up, +pi/2 right).
template <class F>
Pts polar(int n, F&& radius, double sx = 1.0, double sy = 1.0, cv::Point2d centre = {0, 0}) {
  Pts p;
  for (int i = 0; i < n; ++i) {
    const double phi = -kPi + 2.0 * kPi * i / n;
    const double rr = radius(phi);
    p.emplace_back(centre.x + rr * std::sin(phi) * sx, centre.y - rr * std::cos(phi) * sy);
  }
  return p;
}

// ---------------------------------------------------------------------------
// The ten classes. Each returns its object drawn upright with unit = `unit`
// pixels; the apple, orange and kiwi are about 2 units across.
// ---------------------------------------------------------------------------

Canvas make_apple(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.35, 1.35, -1.55, 1.15, light);
  const double aspect = rng.uniform(0.92, 1.1);
  const double squash = rng.uniform(0.86, 0.98);
  const double dimple = rng.uniform(0.05, 0.13);
  const Pts body = polar(
      96,
      [&](double phi) {
        const double bottom = std::abs(phi) - kPi;
        return 1.0 + 0.06 * std::cos(phi) - dimple * std::exp(-phi * phi / (2 * 0.2 * 0.2)) -
               0.6 * dimple * std::exp(-bottom * bottom / (2 * 0.25 * 0.25));
      },
      aspect, squash);

  Rgb base, second;
  double amount = 0;
  switch (choose(rng, std::array{0.45, 0.25, 0.18, 0.12})) {
    case 0:  // red, with a little yellow showing through the streaks
      base = hsv(rng.uniform(350, 366), rng.uniform(0.75, 0.95), rng.uniform(0.5, 0.78));
      second = hsv(rng.uniform(20, 45), rng.uniform(0.7, 0.9), rng.uniform(0.75, 0.9));
      amount = rng.uniform(0.0, 0.35);
      break;
    case 1:  // yellow-green with a red blush on one side (Gala-like)
      base = hsv(rng.uniform(40, 60), rng.uniform(0.6, 0.8), rng.uniform(0.75, 0.92));
      second = hsv(rng.uniform(352, 368), rng.uniform(0.75, 0.9), rng.uniform(0.6, 0.8));
      amount = rng.uniform(0.5, 0.9);
      break;
    case 2:  // green
      base = hsv(rng.uniform(75, 100), rng.uniform(0.55, 0.8), rng.uniform(0.55, 0.8));
      second = hsv(rng.uniform(55, 70), rng.uniform(0.6, 0.8), rng.uniform(0.75, 0.9));
      amount = rng.uniform(0.0, 0.35);
      break;
    default:  // golden
      base = hsv(rng.uniform(46, 56), rng.uniform(0.65, 0.85), rng.uniform(0.8, 0.95));
      second = hsv(rng.uniform(70, 85), 0.6, 0.75);
      amount = rng.uniform(0.0, 0.25);
      break;
  }
  const double blush = rng.uniform(0, 2 * kPi);
  const std::uint64_t s1 = rng.next_u64(), s2 = rng.next_u64(), s3 = rng.next_u64();
  const cv::Point2d top(0, -(1.06 - dimple) * squash + 0.04);
  const bool cut = rng.bernoulli(0.12);

  cv::Mat m = cn.blank();
  fill_poly(m, cn, body);
  paint(cn, m, [&](const At& p) {
    const double ang = std::atan2(p.x, p.y + 1.1);  // streaks radiate from the stem
    const double streak = value_noise(ang * 14.0, std::hypot(p.x, p.y + 1.1) * 2.5, s1);
    const double blotch = fbm(p.x * 2.2, p.y * 2.2, s2, 2);
    const double side = 0.5 + 0.5 * (p.x * std::cos(blush) + p.y * std::sin(blush));
    const double t = clamp01(amount * (0.4 + 1.2 * (side - 0.5) + 0.6 * (streak - 0.5) + 0.5 * (blotch - 0.5)) * 1.6);
    Rgb col = mix(base, second, t);
    if (value_noise(p.x * 28.0, p.y * 28.0, s3) > 0.9) col = mix(col, Rgb(235, 225, 190), 0.3);
    return col;
  });
  if (cut) {
    // Halved: cream flesh inside a thin skin, a darker star-shaped core with seeds.
    cv::Mat flesh = cn.blank();
    Pts inner = body;
    for (auto& q : inner) q *= 0.93;
    fill_poly(flesh, cn, inner);
    const Rgb cream = hsv(rng.uniform(40, 52), rng.uniform(0.15, 0.3), rng.uniform(0.86, 0.96));
    paint(cn, flesh, [&](const At& p) {
      const double rr = std::hypot(p.x, p.y);
      const double star = 0.28 + 0.07 * std::cos(5.0 * std::atan2(p.y, p.x));
      return rr < star ? cream * 0.9 : cream;
    });
    cv::Mat seeds = cn.blank();
    const int n = rng.uniform_int(2, 5);
    for (int i = 0; i < n; ++i) {
      const double a = 2 * kPi * i / n + rng.uniform(-0.3, 0.3);
      fill_ellipse(seeds, cn, {0.15 * std::cos(a), 0.15 * std::sin(a)}, 0.09, 0.045, a * 180 / kPi);
    }
    paint_flat(cn, seeds, hsv(rng.uniform(20, 30), 0.7, 0.3));
    shade(cn, m, {0.2, 0.55, 0.12, 20});
  } else {
    shade(cn, m, {1.0, 0.3, rng.uniform(0.2, 0.45), 20});
    soft_tint(cn, top + cv::Point2d(0, 0.05), 0.28 * aspect, 0.12, 0, base * 0.45, 0.55);
  }
  const Rgb brown = hsv(rng.uniform(20, 35), rng.uniform(0.45, 0.7), rng.uniform(0.22, 0.42));
  const double lean = rng.uniform(-0.25, 0.25);
  const cv::Point2d stem_end(top.x + lean, top.y - rng.uniform(0.3, 0.45));
  if (!cut || rng.bernoulli(0.5)) {
    draw_stem(cn, top, {top.x, (top.y + stem_end.y) / 2}, stem_end, 0.05, 0.035, brown);
  }
  if (rng.bernoulli(0.35)) {
    const double a = rng.uniform(-kPi * 0.9, -kPi * 0.1);
    draw_leaf(cn, stem_end * 0.5 + top * 0.5, a, rng.uniform(0.5, 0.8), rng.uniform(0.18, 0.26),
              hsv(rng.uniform(85, 115), rng.uniform(0.55, 0.8), rng.uniform(0.35, 0.6)));
  }
  return cn;
}

Canvas make_banana(Rng& rng, double unit, const cv::Vec3d& light) {
  struct Arc {
    cv::Point2d o;
    double rc, theta0, length, hw;
  };
  const int n = 1 + choose(rng, std::array{0.45, 0.15, 0.2, 0.12, 0.08});
  const double ripeness = rng.uniform();
  std::vector<Arc> arcs;
  Pts all;
  const double spread = rng.uniform(0.1, 0.2);
  for (int i = 0; i < n; ++i) {
    // Every banana of a bunch starts at the shared crown (0, 0) and curves up.
    const double beta = (i - (n - 1) / 2.0) * spread + rng.uniform(-0.05, 0.05) + (n == 1 ? -0.45 : -0.35);
    Arc a{};
    a.rc = rng.uniform(1.3, 2.2);
    a.length = rng.uniform(1.7, 2.2);
    a.hw = rng.uniform(0.16, 0.22);
    const cv::Point2d normal(std::sin(beta), -std::cos(beta));
    a.o = normal * a.rc;
    a.theta0 = std::atan2(-normal.y, -normal.x);
    arcs.push_back(a);
    for (int k = 0; k <= 8; ++k) {
      const double th = a.theta0 - k / 8.0 * a.length / a.rc;
      all.emplace_back(a.o.x + a.rc * std::cos(th), a.o.y + a.rc * std::sin(th));
    }
  }
  double x0 = -0.3, x1 = 0.3, y0 = -0.3, y1 = 0.3;
  for (const auto& p : all) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  // Recentre so the bunch's middle is the canvas origin the pose rotates about.
  const cv::Point2d mid((x0 + x1) / 2, (y0 + y1) / 2);
  Canvas cn(unit, x0 - mid.x - 0.4, x1 - mid.x + 0.4, y0 - mid.y - 0.4, y1 - mid.y + 0.4, light);
  const cv::Point2d crown = -mid;

  const Rgb green = hsv(rng.uniform(80, 100), rng.uniform(0.6, 0.8), rng.uniform(0.45, 0.6));
  const Rgb yellow = hsv(rng.uniform(47, 56), rng.uniform(0.75, 0.92), rng.uniform(0.85, 0.97));
  const Rgb base = ripeness < 0.6 ? mix(green, yellow, ripeness / 0.6) : yellow;
  const double spots = std::max(0.0, (ripeness - 0.72) / 0.28);
  const Rgb spot = hsv(rng.uniform(20, 30), 0.7, rng.uniform(0.2, 0.35));
  const Rgb end_col = hsv(rng.uniform(60, 80), 0.5, 0.35);

  for (const auto& a0 : arcs) {
    Arc a = a0;
    a.o += crown;
    const std::uint64_t seed = rng.next_u64();
    const Rgb own = base * rng.uniform(0.93, 1.05);
    Pts line;
    for (int k = 0; k <= 40; ++k) {
      const double th = a.theta0 - k / 40.0 * a.length / a.rc;
      line.emplace_back(a.o.x + a.rc * std::cos(th), a.o.y + a.rc * std::sin(th));
    }
    cv::Mat m = cn.blank();
    fill_poly(m, cn, tube(line, [&](double t) { return a.hw * std::pow(std::sin(kPi * (0.03 + 0.94 * t)), 0.45); }));
    paint(cn, m, [&](const At& p) {
      const double dx = p.x - a.o.x, dy = p.y - a.o.y;
      double th = a.theta0 - std::atan2(dy, dx);
      th = std::remainder(th, 2 * kPi);
      const double s = th * a.rc / a.length;                // 0 at the crown end, 1 at the tip
      const double across = (std::hypot(dx, dy) - a.rc) / a.hw;  // -1..1 across the body
      Rgb col = own;
      if (std::abs(std::abs(across) - 0.4) < 0.07) col *= 0.9;  // the ridges of the angular peel
      col = mix(col, end_col, smoothstep(0.16, 0.0, s) * 0.8);
      col = mix(col, Rgb(40, 30, 20), smoothstep(0.93, 1.0, s));
      if (spots > 0 && value_noise(p.x * 20.0, p.y * 20.0, seed) > 1.0 - 0.3 * spots) col = spot;
      return col;
    });
    shade(cn, m, {a.hw, 0.35, rng.uniform(0.12, 0.3), 10});
  }
  // The crown stalks, drawn over the bodies where they meet.
  for (const auto& a : arcs) {
    const cv::Point2d start(a.o.x + crown.x + a.rc * std::cos(a.theta0), a.o.y + crown.y + a.rc * std::sin(a.theta0));
    const double th = a.theta0 - 0.22 / a.rc;
    const cv::Point2d end(a.o.x + crown.x + a.rc * std::cos(th), a.o.y + crown.y + a.rc * std::sin(th));
    draw_stem(cn, start + (start - end) * 0.4, start, end, 0.07, 0.06, mix(end_col, Rgb(90, 70, 40), 0.5));
  }
  return cn;
}

Canvas make_avocado(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.0, 1.0, -1.25, 1.2, light);
  const cv::Point2d c1(rng.uniform(-0.08, 0.08), -0.5);
  const double r1 = rng.uniform(0.42, 0.55);
  const cv::Point2d c2(0, 0.28);
  const double r2 = rng.uniform(0.72, 0.82);
  std::vector<cv::Point2f> cloud;
  for (const auto& p : ellipse_pts(c1, r1, r1, 48)) cloud.emplace_back(p);
  for (const auto& p : ellipse_pts(c2, r2, r2 * 0.95, 64)) cloud.emplace_back(p);
  std::vector<cv::Point2f> hull;
  cv::convexHull(cloud, hull);
  Pts body;
  for (const auto& p : hull) body.emplace_back(p.x, p.y);
  cv::Mat m = cn.blank();
  fill_poly(m, cn, body);
  const std::uint64_t s1 = rng.next_u64(), s2 = rng.next_u64();

  if (rng.bernoulli(0.35)) {
    // Halved lengthwise: dark rind, green-to-yellow flesh, a big pit or its hollow.
    paint_flat(cn, m, hsv(rng.uniform(90, 110), 0.6, rng.uniform(0.15, 0.3)));
    cv::Mat flesh = cn.blank();
    Pts inner = body;
    for (auto& q : inner) q = (q - cv::Point2d(0, 0.05)) * 0.94 + cv::Point2d(0, 0.05);
    fill_poly(flesh, cn, inner);
    const cv::Mat dist = edge_distance(flesh);
    const Rgb edge = hsv(rng.uniform(72, 90), rng.uniform(0.65, 0.85), rng.uniform(0.5, 0.7));
    const Rgb centre = hsv(rng.uniform(50, 60), rng.uniform(0.35, 0.55), rng.uniform(0.88, 0.97));
    const double band = rng.uniform(0.12, 0.3);
    paint(cn, flesh, [&](const At& p) {
      return mix(edge, centre, smoothstep(0.0, band, dist.at<float>(p.py, p.px) / cn.r));
    });
    shade(cn, flesh, {0.12, 0.6, 0.15, 24});
    const cv::Point2d pit(c2.x, c2.y - 0.05);
    const double pr = rng.uniform(0.3, 0.4) * r2 / 0.75;
    cv::Mat pm = cn.blank();
    fill_circle(pm, cn, pit, pr);
    if (rng.bernoulli(0.7)) {
      const Rgb seed = hsv(rng.uniform(18, 30), rng.uniform(0.5, 0.7), rng.uniform(0.3, 0.5));
      paint(cn, pm, [&](const At& p) { return seed * (0.85 + 0.3 * fbm(p.x * 6, p.y * 6, s1, 2)); });
      shade(cn, pm, {pr, 0.3, 0.35, 20});
    } else {
      paint_flat(cn, pm, centre * 0.92);
      soft_tint(cn, pit + cv::Point2d(cn.light[0], cn.light[1]) * (0.3 * pr), pr * 0.8, pr * 0.8, 0, centre * 0.6, 0.5);
    }
    return cn;
  }
  Rgb base;
  double bumps = 0, gloss = 0;
  switch (choose(rng, std::array{0.35, 0.4, 0.25})) {
    case 0:  // ripe Hass: almost black, purple tinge
      base = hsv(rng.uniform(290, 350), rng.uniform(0.25, 0.45), rng.uniform(0.12, 0.22));
      bumps = rng.uniform(0.3, 0.45), gloss = rng.uniform(0.1, 0.2);
      break;
    case 1:  // unripe Hass: dark green, pebbly
      base = hsv(rng.uniform(85, 110), rng.uniform(0.5, 0.7), rng.uniform(0.22, 0.36));
      bumps = rng.uniform(0.3, 0.45), gloss = rng.uniform(0.1, 0.25);
      break;
    default:  // smooth-skinned green
      base = hsv(rng.uniform(72, 95), rng.uniform(0.6, 0.8), rng.uniform(0.38, 0.55));
      bumps = rng.uniform(0.05, 0.12), gloss = rng.uniform(0.25, 0.4);
      break;
  }
  paint(cn, m, [&](const At& p) {
    const double b = value_noise(p.x * 16.0, p.y * 16.0, s1) - 0.5;
    Rgb col = base * (1.0 + 2.0 * bumps * b) * (0.85 + 0.3 * fbm(p.x * 2, p.y * 2, s2, 2));
    if (value_noise(p.x * 30.0, p.y * 30.0, s2) > 0.86) col = mix(col, hsv(70, 0.5, 0.55), 0.35);
    return col;
  });
  shade(cn, m, {0.9, 0.3, gloss, 10});
  cv::Mat nub = cn.blank();
  fill_circle(nub, cn, {c1.x, c1.y - r1 + 0.02}, 0.06);
  paint_flat(cn, nub, hsv(rng.uniform(20, 35), 0.5, 0.3));
  return cn;
}

Canvas make_cherry(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.3, 1.3, -1.8, 1.2, light);
  const int n = 1 + choose(rng, std::array{0.2, 0.55, 0.25});
  const double rc = rng.uniform(0.38, 0.46);
  std::vector<cv::Point2d> at;
  if (n == 1) {
    at.emplace_back(0, 0.6);
  } else {
    const double gap = rc * rng.uniform(0.9, 1.25);
    if (n == 3) at.emplace_back(rng.uniform(-0.2, 0.2), 0.55 - rc * rng.uniform(0.6, 0.9));  // behind, drawn first
    at.emplace_back(-gap, 0.6 + rng.uniform(-0.1, 0.1));
    at.emplace_back(gap, 0.6 + rng.uniform(-0.1, 0.1));
  }
  const cv::Point2d join(rng.uniform(-0.25, 0.25), -rng.uniform(1.0, 1.4));
  const Rgb stem_col = hsv(rng.uniform(70, 95), rng.uniform(0.4, 0.6), rng.uniform(0.35, 0.55));
  for (const auto& p : at) {
    const cv::Point2d top(p.x, p.y - 0.8 * rc);
    const cv::Point2d ctrl((p.x + join.x) / 2 + rng.uniform(-0.25, 0.25), (p.y + join.y) / 2);
    draw_stem(cn, top, ctrl, join, 0.032, 0.024, stem_col);
  }
  if (rng.bernoulli(0.5)) {
    draw_stem(cn, join, join + cv::Point2d(0.05, -0.1), join + cv::Point2d(rng.uniform(-0.1, 0.1), -0.25), 0.05, 0.04,
              hsv(25, 0.5, 0.35));
  }
  if (rng.bernoulli(0.2)) {
    draw_leaf(cn, join, rng.uniform(-kPi, 0), rng.uniform(0.6, 0.9), rng.uniform(0.18, 0.25),
              hsv(rng.uniform(85, 115), 0.65, 0.45));
  }
  const int variety = choose(rng, std::array{0.45, 0.35, 0.1, 0.1});
  const double gloss = rng.uniform(0.4, 0.7);
  for (const auto& p : at) {
    Rgb base, second;
    switch (variety) {
      case 0: base = hsv(rng.uniform(340, 356), rng.uniform(0.75, 0.95), rng.uniform(0.25, 0.45)); break;
      case 1: base = hsv(rng.uniform(352, 364), rng.uniform(0.8, 0.95), rng.uniform(0.6, 0.8)); break;
      case 2: base = hsv(rng.uniform(330, 345), rng.uniform(0.5, 0.7), rng.uniform(0.12, 0.2)); break;
      default:  // Rainier: yellow with a red blush
        base = hsv(rng.uniform(40, 50), 0.6, 0.9);
        second = hsv(rng.uniform(350, 362), 0.75, 0.8);
        break;
    }
    const double aspect = rng.uniform(0.95, 1.08);
    cv::Mat m = cn.blank();
    fill_poly(m, cn,
              polar(48, [&](double phi) { return rc * (1.0 - 0.09 * std::exp(-phi * phi / (2 * 0.28 * 0.28))); },
                    aspect, 1.0, p));
    paint(cn, m, [&](const At& q) {
      if (variety != 3) return base;
      return mix(base, second, smoothstep(-0.6, 0.6, (q.x - p.x + q.y - p.y) / rc));
    });
    shade(cn, m, {rc, 0.2, gloss, 28});
    soft_tint(cn, {p.x, p.y - 0.78 * rc}, 0.1, 0.06, 0, base * 0.4, 0.6);
  }
  return cn;
}

Canvas make_kiwi(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.1, 1.1, -1.05, 1.05, light);
  const std::uint64_t s1 = rng.next_u64(), s2 = rng.next_u64(), s3 = rng.next_u64();
  const Rgb skin = hsv(rng.uniform(25, 40), rng.uniform(0.45, 0.65), rng.uniform(0.3, 0.5));
  if (!rng.bernoulli(0.45)) {
    const double ay = rng.uniform(0.72, 0.86);
    // The outline jitters a little: the fuzz makes the silhouette ragged.
    Pts body;
    for (int i = 0; i < 160; ++i) {
      const double t = 2 * kPi * i / 160;
      const double rr = 1.0 + 0.02 * (value_noise(i * 0.9, 0.5, s3) - 0.5) + 0.03 * (fbm(i * 0.05, 1.5, s3, 2) - 0.5);
      body.emplace_back(rr * std::cos(t), rr * ay * std::sin(t));
    }
    cv::Mat m = cn.blank();
    fill_poly(m, cn, body);
    paint(cn, m, [&](const At& p) {
      const double fuzz = value_noise(p.x * 40.0, p.y * 40.0, s1);
      return skin * ((0.8 + 0.35 * fbm(p.x * 3, p.y * 3, s2, 2)) * (0.88 + 0.24 * fuzz));
    });
    shade(cn, m, {0.85, 0.35, 0.04, 6});
    const double end = rng.bernoulli(0.5) ? 0.96 : -0.96;
    soft_tint(cn, {end, 0}, 0.08, 0.07, 0, skin * 0.4, 0.8);
    return cn;
  }
  // Cut across: thin brown rim, green flesh with pale rays, a ring of black seeds, a pale core.
  const double ay = rng.uniform(0.82, 0.96);
  const double rim = rng.uniform(0.03, 0.05);
  cv::Mat m = cn.blank();
  fill_poly(m, cn, ellipse_pts({0, 0}, 1.0, ay, 96));
  paint_flat(cn, m, skin);
  cv::Mat flesh = cn.blank();
  fill_poly(flesh, cn, ellipse_pts({0, 0}, 1.0 - rim, ay - rim, 96));
  const bool gold = rng.bernoulli(0.15);
  const Rgb green = gold ? hsv(rng.uniform(48, 58), rng.uniform(0.75, 0.9), rng.uniform(0.8, 0.92))
                         : hsv(rng.uniform(72, 95), rng.uniform(0.7, 0.9), rng.uniform(0.5, 0.72));
  const Rgb pale = hsv(rng.uniform(55, 75), 0.3, 0.95);
  const double rays = rng.uniform(20, 36);
  paint(cn, flesh, [&](const At& p) {
    const double rho = std::hypot(p.x, p.y / ay);
    const double a = std::atan2(p.y, p.x);
    const double ray = std::pow(0.5 + 0.5 * std::cos(a * rays + 3.0 * value_noise(rho * 4, a * 3, s1)), 24.0);
    Rgb col = mix(green, pale, 0.18 * ray * smoothstep(0.9, 0.4, rho));
    col = mix(col, pale, 0.6 * smoothstep(0.5, 0.15, rho));
    return col;
  });
  cv::Mat core = cn.blank();
  fill_ellipse(core, cn, {0, 0}, rng.uniform(0.16, 0.23), rng.uniform(0.09, 0.15) * ay, rng.uniform(-15, 15));
  cv::GaussianBlur(core, core, cv::Size(0, 0), std::max(0.6, 0.03 * cn.r));
  paint_flat(cn, core, hsv(rng.uniform(50, 60), rng.uniform(0.12, 0.3), rng.uniform(0.9, 0.97)));
  cv::Mat seeds = cn.blank();
  const int n = rng.uniform_int(45, 75);
  for (int i = 0; i < n; ++i) {
    const double a = 2 * kPi * (i + rng.uniform(-0.3, 0.3)) / n;
    const double rho = rng.uniform(0.28, 0.42);
    const cv::Point2d p(rho * std::cos(a), rho * ay * std::sin(a));
    fill_ellipse(seeds, cn, p, 0.055, 0.022, a * 180 / kPi);
  }
  paint_flat(cn, seeds, hsv(30, 0.5, 0.06));
  shade(cn, m, {0.15, 0.55, 0.25, 30});
  return cn;
}

Canvas make_mango(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.1, 1.1, -1.25, 1.15, light);
  const double ax = rng.uniform(0.62, 0.78);
  const double bend = rng.uniform(0.08, 0.22);
  Pts body;
  for (int i = 0; i < 96; ++i) {
    const double t = 2 * kPi * i / 96;
    const double s = std::sin(t);
    double x = ax * std::cos(t) + bend * s * s - bend * 0.5;
    const double y = s;
    x *= 1.0 - 0.12 * y;
    body.emplace_back(x, y);
  }
  cv::Mat m = cn.blank();
  fill_poly(m, cn, body);
  const std::uint64_t s1 = rng.next_u64(), s2 = rng.next_u64();
  std::array<Rgb, 3> stops;
  switch (choose(rng, std::array{0.4, 0.3, 0.3})) {
    case 0:  // green through yellow to a red blush
      stops = {hsv(rng.uniform(80, 100), 0.65, 0.5), hsv(rng.uniform(35, 48), 0.85, 0.85),
               hsv(rng.uniform(350, 375), 0.8, 0.72)};
      break;
    case 1:  // yellow, slightly orange
      stops = {hsv(rng.uniform(55, 65), 0.7, 0.8), hsv(rng.uniform(45, 52), 0.8, 0.88),
               hsv(rng.uniform(36, 44), 0.85, 0.9)};
      break;
    default:  // green with a yellow flush
      stops = {hsv(rng.uniform(85, 105), 0.65, 0.5), hsv(rng.uniform(70, 85), 0.6, 0.6),
               hsv(rng.uniform(55, 70), 0.65, 0.75)};
      break;
  }
  const double g = rng.uniform(0, 2 * kPi);
  if (rng.bernoulli(0.07)) {
    // A cheek cut into a grid and pushed out ("hedgehog"): skin rim, orange cubes.
    paint_flat(cn, m, stops[0]);
    cv::Mat flesh = cn.blank();
    Pts inner = body;
    for (auto& q : inner) q *= 0.92;
    fill_poly(flesh, cn, inner);
    const Rgb orange = hsv(rng.uniform(28, 40), rng.uniform(0.8, 0.95), rng.uniform(0.88, 0.98));
    const double cell = rng.uniform(0.22, 0.32);
    paint(cn, flesh, [&](const At& p) {
      const double u = (p.x + p.y) / (std::numbers::sqrt2 * cell);
      const double v = (p.x - p.y) / (std::numbers::sqrt2 * cell);
      const double fu = u - std::floor(u), fv = v - std::floor(v);
      const double edge = std::min({fu, 1 - fu, fv, 1 - fv});
      return orange * (0.6 + 0.4 * smoothstep(0.0, 0.18, edge) + 0.1 * (0.5 - fu));
    });
    shade(cn, m, {0.35, 0.45, 0.35, 24});
    return cn;
  }
  paint(cn, m, [&](const At& p) {
    const double along = p.x * std::cos(g) + p.y * std::sin(g);
    const double t = clamp01(0.5 + 0.55 * along + 0.5 * (fbm(p.x * 2.5, p.y * 2.5, s1, 2) - 0.5));
    Rgb col = t < 0.5 ? mix(stops[0], stops[1], 2 * t) : mix(stops[1], stops[2], 2 * t - 1);
    if (value_noise(p.x * 30.0, p.y * 30.0, s2) > 0.92) col = mix(col, Rgb(240, 230, 160), 0.35);
    return col;
  });
  shade(cn, m, {0.9, 0.3, rng.uniform(0.2, 0.45), 14});
  // The outline's top is at t = -pi/2, shifted right by half the bend.
  cv::Mat scar = cn.blank();
  fill_circle(scar, cn, {bend * 0.5 * 1.12, -0.97}, 0.06);
  paint_flat(cn, scar, hsv(rng.uniform(20, 40), 0.6, 0.3));
  return cn;
}

Canvas make_orange(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.5, 1.5, -1.5, 1.1, light);
  const std::uint64_t s1 = rng.next_u64(), s2 = rng.next_u64(), s3 = rng.next_u64();
  const Rgb peel = hsv(rng.uniform(20, 36), rng.uniform(0.85, 1.0), rng.uniform(0.82, 1.0));
  if (rng.bernoulli(0.25)) {
    // Cut across: peel, white pith, segments with pale membranes.
    cv::Mat m = cn.blank();
    fill_poly(m, cn, ellipse_pts({0, 0}, 1.0, 1.0, 96));
    const int segs = rng.uniform_int(8, 12);
    const double a0 = rng.uniform(0, 2 * kPi);
    const double peel_w = rng.uniform(0.05, 0.09), pith_w = rng.uniform(0.04, 0.08);
    const Rgb flesh = rng.bernoulli(0.1) ? hsv(rng.uniform(350, 360), 0.75, rng.uniform(0.55, 0.7))
                                         : hsv(rng.uniform(22, 34), rng.uniform(0.75, 0.95), rng.uniform(0.88, 0.98));
    const Rgb pith = hsv(rng.uniform(35, 50), rng.uniform(0.1, 0.25), 0.95);
    const double step = 2 * kPi / segs;
    paint(cn, m, [&](const At& p) {
      const double rho = std::hypot(p.x, p.y);
      if (rho > 1.0 - peel_w) return peel;
      if (rho > 1.0 - peel_w - pith_w) return pith;
      const double a = std::atan2(p.y, p.x) - a0;
      const double f = a / step;
      const double border = std::abs(f - std::round(f)) * step * rho;
      if (border < 0.018 + 0.012 * (1 - rho) || rho < 0.07) return pith;
      const double vesicle = value_noise(rho * 18.0, f * 2.5, s1);
      return flesh * (0.86 + 0.24 * vesicle);
    });
    shade(cn, m, {0.1, 0.6, 0.25, 30});
    return cn;
  }
  const double ay = rng.uniform(0.92, 1.0);
  cv::Mat m = cn.blank();
  fill_poly(m, cn, ellipse_pts({0, 0}, 1.0, ay, 96));
  const bool greenish = rng.bernoulli(0.12);
  const Rgb green = hsv(rng.uniform(60, 80), 0.7, 0.6);
  paint(cn, m, [&](const At& p) {
    Rgb col = peel * (0.9 + 0.16 * value_noise(p.x * 45.0, p.y * 45.0, s1));
    if (value_noise(p.x * 25.0, p.y * 25.0, s2) > 0.8) col *= 0.88;
    if (greenish) col = mix(col, green, smoothstep(0.5, 0.7, fbm(p.x * 2, p.y * 2, s3, 2)));
    return col;
  });
  shade(cn, m, {1.0, 0.3, rng.uniform(0.18, 0.4), 16});
  const cv::Point2d scar = rng.bernoulli(0.3) ? cv::Point2d(rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2))
                                              : cv::Point2d(rng.uniform(-0.3, 0.3), -rng.uniform(0.45, 0.85) * ay);
  soft_tint(cn, scar, 0.1, 0.08, 0, peel * 0.55, 0.6);
  cv::Mat button = cn.blank();
  fill_circle(button, cn, scar, 0.045);
  paint_flat(cn, button, hsv(rng.uniform(60, 90), 0.5, 0.35));
  if (rng.bernoulli(0.15)) {
    const int leaves = rng.uniform_int(1, 2);
    for (int i = 0; i < leaves; ++i) {
      draw_leaf(cn, scar, rng.uniform(-kPi * 0.95, -kPi * 0.05), rng.uniform(0.6, 0.9), rng.uniform(0.2, 0.28),
                hsv(rng.uniform(95, 125), rng.uniform(0.6, 0.8), rng.uniform(0.25, 0.45)));
    }
  }
  return cn;
}

Canvas make_pineapple(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.35, 1.35, -2.2, 1.1, light);
  const double ax = rng.uniform(0.58, 0.7);
  Pts body;
  for (int i = 0; i < 96; ++i) {
    const double t = 2 * kPi * i / 96;
    const double y = std::sin(t);
    body.emplace_back(ax * std::cos(t) * (1.0 + 0.07 * y), y);
  }
  const double ripe = rng.uniform();
  const Rgb base = mix(hsv(rng.uniform(60, 78), 0.6, 0.45), hsv(rng.uniform(32, 42), 0.8, 0.8), ripe);
  const Rgb line = hsv(rng.uniform(20, 32), 0.7, rng.uniform(0.2, 0.32));
  const Rgb eye = mix(hsv(90, 0.5, 0.3), hsv(25, 0.7, 0.25), ripe);
  const std::uint64_t s1 = rng.next_u64();
  const double ku = rng.uniform(2.8, 3.6), kv = rng.uniform(3.8, 4.8);

  // Crown first: back (long, dark) blades, then the front ones over the body top.
  const int blades = rng.uniform_int(10, 16);
  const Rgb leaf = hsv(rng.uniform(95, 140), rng.uniform(0.45, 0.7), rng.uniform(0.32, 0.55));
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < blades / (pass + 1); ++i) {
      const double off = rng.uniform(-1.0, 1.0);
      const double a = -kPi / 2 + off * (pass == 0 ? 0.9 : 1.25);
      const double len = (pass == 0 ? rng.uniform(0.7, 1.15) : rng.uniform(0.35, 0.6)) * (1.0 - 0.3 * std::abs(off));
      const cv::Point2d b(rng.uniform(-0.2, 0.2), -0.88);
      const cv::Point2d dir(std::cos(a), std::sin(a));
      const cv::Point2d tip = b + dir * len + cv::Point2d(off * 0.2 * len, 0.12 * len * std::abs(off));
      const double w = rng.uniform(0.07, 0.11);
      cv::Mat m = cn.blank();
      const Pts blade = bezier(b, b + dir * (0.5 * len), tip, 12);
      fill_poly(m, cn, tube(blade, [&](double t) { return w * std::pow(1.0 - t, 0.9); }));
      const Rgb col = leaf * (pass == 0 ? rng.uniform(0.7, 0.9) : rng.uniform(0.95, 1.2));
      paint(cn, m, [&](const At& p) { return col * (0.85 + 0.35 * clamp01((b.y - p.y) / len)); });
    }
    if (pass == 0) {
      cv::Mat m = cn.blank();
      fill_poly(m, cn, body);
      paint(cn, m, [&](const At& p) {
        const double wy = ax * (1.0 + 0.07 * p.y) * std::sqrt(std::max(1e-3, 1.0 - p.y * p.y));
        // Cells shrink towards the sides as they wrap round the cylinder.
        const double xs = std::asin(std::clamp(p.x / wy, -1.0, 1.0)) / (kPi / 2);
        const double u = xs * ku + p.y * kv, v = -xs * ku + p.y * kv;
        const double fu = u - std::floor(u), fv = v - std::floor(v);
        const double edge = std::min({fu, 1 - fu, fv, 1 - fv});
        const auto cell_u = static_cast<std::int64_t>(std::floor(u)), cell_v = static_cast<std::int64_t>(std::floor(v));
        const double cellv = hash01(cell_u, cell_v, s1);
        Rgb col = base * (0.85 + 0.3 * cellv);
        col = mix(col, col * 1.2, clamp01(1.0 - 2.0 * std::hypot(fu - 0.5, fv - 0.5)) * 0.5);
        col = mix(col, line, smoothstep(0.1, 0.0, edge));
        if (std::hypot(fu - 0.5, fv - 0.35) < 0.1) col = eye;
        return col;
      });
      shade(cn, m, {0.7, 0.3, 0.12, 8});
    }
  }
  return cn;
}

Canvas make_strawberry(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.3, 1.3, -1.45, 1.2, light);
  const double W = rng.uniform(0.75, 0.95);
  const double y0 = -0.72, y1 = rng.uniform(0.9, 1.05);
  const double H = y1 - y0;
  const double shoulder = rng.uniform(0.22, 0.34);
  auto width = [&](double u) {
    const double s = std::sqrt(std::max(0.0, 1.0 - std::pow(1.0 - std::min(u / shoulder, 1.0), 2.0)));
    const double below = std::max(0.0, (u - shoulder) / (1.0 - shoulder));
    const double taper = std::pow(std::max(0.0, 1.0 - std::pow(below, 1.6)), 0.7);
    return W * (0.4 + 0.6 * s) * taper;
  };
  Pts body;
  for (int i = 0; i <= 40; ++i) body.emplace_back(width(i / 40.0), y0 + H * i / 40.0);
  for (int i = 40; i >= 0; --i) body.emplace_back(-width(i / 40.0), y0 + H * i / 40.0);
  for (int i = 1; i < 12; ++i) {
    const double x = -width(0) + 2 * width(0) * i / 12.0;
    body.emplace_back(x, y0 - 0.1 * (1.0 - std::pow(x / width(0), 2.0)));
  }
  cv::Mat m = cn.blank();
  fill_poly(m, cn, body);
  const Rgb red = hsv(rng.uniform(350, 362), rng.uniform(0.8, 0.95), rng.uniform(0.65, 0.88));
  const double unripe = rng.bernoulli(0.3) ? rng.uniform(0.15, 0.45) : 0.0;
  const Rgb pale = hsv(rng.uniform(55, 80), 0.35, 0.9);
  const std::uint64_t s1 = rng.next_u64();
  paint(cn, m, [&](const At& p) {
    const double u = (p.y - y0) / H;
    Rgb col = red * (0.9 + 0.2 * fbm(p.x * 3, p.y * 3, s1, 2));
    if (unripe > 0) col = mix(col, pale, smoothstep(unripe, unripe - 0.15, u));
    return col;
  });
  // Seeds (achenes) in staggered rows, each in a small dimple; squeezed at the sides as the surface turns away.
  cv::Mat dimples = cn.blank(), seeds = cn.blank();
  int row = 0;
  for (double u = 0.1; u < 0.94; u += 0.1, ++row) {
    const double w = width(u);
    const int k = std::max(2, static_cast<int>(std::lround(2 * w / 0.19)));
    for (int j = 0; j < k; ++j) {
      const double th = ((j + (row % 2 ? 0.5 : 0.0) + rng.uniform(-0.15, 0.15)) / k * 2.0 - 1.0) * 0.92;
      if (std::abs(th) > 0.95) continue;
      const double x = w * std::sin(th * kPi / 2);
      const double y = y0 + u * H + rng.uniform(-0.015, 0.015);
      const double squeeze = std::max(0.35, std::cos(th * kPi / 2));
      // Small on purpose: seeds and dimples must not shift the berry's overall colour when downscaled.
      fill_ellipse(dimples, cn, {x, y}, 0.035 * squeeze, 0.045, 0);
      fill_ellipse(seeds, cn, {x, y + 0.004}, 0.018 * squeeze, 0.028, 0);
    }
  }
  paint_flat(cn, dimples & m, red * 0.62);
  paint_flat(cn, seeds & m, hsv(rng.uniform(40, 55), rng.uniform(0.55, 0.8), rng.uniform(0.75, 0.92)));
  shade(cn, m, {0.85, 0.28, rng.uniform(0.3, 0.55), 24});
  // Calyx: pointed sepals fanning from the top, and often a short stalk.
  const cv::Point2d c(0, y0 - 0.02);
  const int sepals = rng.uniform_int(5, 9);
  const Rgb green = hsv(rng.uniform(85, 115), rng.uniform(0.55, 0.75), rng.uniform(0.3, 0.5));
  const double a0 = rng.uniform(0, 2 * kPi);
  for (int i = 0; i < sepals; ++i) {
    double a = a0 + 2 * kPi * (i + rng.uniform(-0.2, 0.2)) / sepals;
    // Sepals seen from the side spread sideways and droop over the shoulders.
    const cv::Point2d dir(std::cos(a), 0.45 * std::sin(a) - 0.15);
    a = std::atan2(dir.y, dir.x);
    draw_leaf(cn, c, a, rng.uniform(0.35, 0.6) * std::hypot(dir.x, dir.y + 0.3), rng.uniform(0.07, 0.11),
              green * rng.uniform(0.85, 1.15));
  }
  if (rng.bernoulli(0.6)) {
    const double a = -kPi / 2 + rng.uniform(-0.4, 0.4);
    draw_stem(cn, c, c + cv::Point2d(std::cos(a), std::sin(a)) * 0.15,
              c + cv::Point2d(std::cos(a) * 0.32, std::sin(a) * 0.32), 0.035, 0.03, green * 1.1);
  }
  return cn;
}

Canvas make_watermelon(Rng& rng, double unit, const cv::Vec3d& light) {
  const int kind = choose(rng, std::array{0.45, 0.4, 0.15});
  const Rgb light_green = hsv(rng.uniform(80, 100), rng.uniform(0.35, 0.55), rng.uniform(0.55, 0.72));
  const Rgb dark_green = hsv(rng.uniform(100, 130), rng.uniform(0.6, 0.8), rng.uniform(0.18, 0.33));
  const std::uint64_t s1 = rng.next_u64(), s2 = rng.next_u64();
  if (kind == 0) {
    Canvas cn(unit, -1.1, 1.1, -0.95, 0.95, light);
    const double ay = rng.uniform(0.68, 0.85);
    cv::Mat m = cn.blank();
    fill_poly(m, cn, ellipse_pts({0, 0}, 1.0, ay, 96));
    const int style = choose(rng, std::array{0.7, 0.2, 0.1});
    const double stripes = rng.uniform(8, 14);
    const double thr = style == 1 ? 0.15 : rng.uniform(0.35, 0.55);
    const Rgb dark = style == 2 ? mix(light_green, dark_green, 0.4) : dark_green;
    const bool spot = rng.bernoulli(0.3);
    paint(cn, m, [&](const At& p) {
      // Stripes run pole to pole, bunching towards the poles like meridians.
      const double yn = p.y / (ay * std::sqrt(std::max(0.02, 1.0 - p.x * p.x)));
      const double phase = std::asin(std::clamp(yn, -1.0, 1.0)) / kPi * stripes + 0.25 * std::sin(p.x * 9.0) +
                           0.6 * (fbm(p.x * 3, p.y * 3, s1, 2) - 0.5);
      const double stripe = 0.5 + 0.5 * std::cos(2 * kPi * phase) + 0.3 * (value_noise(p.x * 22, p.y * 7, s2) - 0.5);
      Rgb col = mix(light_green, dark, smoothstep(thr - 0.08, thr + 0.08, stripe));
      if (spot) col = mix(col, hsv(50, 0.5, 0.8), smoothstep(0.55, 0.85, p.y / ay) * 0.7);
      return col;
    });
    shade(cn, m, {0.95, 0.3, 0.25, 14});
    soft_tint(cn, {-0.97, 0}, 0.06, 0.06, 0, hsv(30, 0.5, 0.3), 0.8);
    return cn;
  }
  // A wedge (point up, rind arc below) or a half-round slice (flat cut on top).
  const bool wedge = kind == 1;
  const double rs = wedge ? rng.uniform(1.8, 2.1) : rng.uniform(1.1, 1.3);
  const double half = wedge ? rng.uniform(22, 34) * kPi / 180 : kPi / 2;
  const cv::Point2d o(0, wedge ? -1.05 : -0.45);
  const double x_ext = rs * std::sin(half) + 0.1;
  Canvas cn(unit, -x_ext, x_ext, o.y - 0.1, o.y + rs + 0.1, light);
  Pts shape{o};
  for (int i = 0; i <= 48; ++i) {
    const double a = kPi / 2 - half + 2 * half * i / 48;
    shape.emplace_back(o.x + rs * std::cos(a), o.y + rs * std::sin(a));
  }
  cv::Mat m = cn.blank();
  fill_poly(m, cn, shape);
  const double t1 = rng.uniform(0.06, 0.1), t2 = rng.uniform(0.08, 0.18);
  const Rgb flesh = rng.bernoulli(0.08) ? hsv(rng.uniform(45, 55), 0.7, 0.95)
                                        : hsv(rng.uniform(348, 360), rng.uniform(0.6, 0.8), rng.uniform(0.82, 0.95));
  const Rgb white = hsv(rng.uniform(70, 95), rng.uniform(0.15, 0.35), rng.uniform(0.82, 0.95));
  paint(cn, m, [&](const At& p) {
    const double rho = std::hypot(p.x - o.x, p.y - o.y);
    if (rho > rs - t1) {
      return mix(dark_green, light_green, 0.3 * value_noise(std::atan2(p.y - o.y, p.x - o.x) * 30, 0, s1));
    }
    const Rgb inside = flesh * (0.92 + 0.16 * value_noise(p.x * 25, p.y * 25, s2));
    return mix(inside, white, smoothstep(rs - t1 - t2, rs - t1 - 0.02, rho));
  });
  cv::Mat seeds = cn.blank();
  const bool seedless = rng.bernoulli(0.2);
  const int n = rng.uniform_int(wedge ? 8 : 10, wedge ? 18 : 22);
  for (int i = 0; i < n; ++i) {
    const double a = kPi / 2 - half * 0.85 + 1.7 * half * rng.uniform();
    const double rho = rs * rng.uniform(0.4, 0.78);
    fill_ellipse(seeds, cn, {o.x + rho * std::cos(a), o.y + rho * std::sin(a)}, seedless ? 0.03 : 0.055,
                 seedless ? 0.02 : 0.032, a * 180 / kPi);
  }
  paint_flat(cn, seeds, seedless ? hsv(40, 0.2, 0.92) : hsv(20, 0.5, 0.08));
  shade(cn, m, {0.08, 0.6, 0.2, 20});
  return cn;
}

// Something that is not a fruit and hides part of one: a leaf, a bowl rim or
// box edge, a finger, or a blob of some other colour.
Canvas make_occluder(Rng& rng, double unit, const cv::Vec3d& light) {
  Canvas cn(unit, -1.2, 1.2, -1.2, 1.2, light);
  cv::Mat m = cn.blank();
  switch (choose(rng, std::array{0.3, 0.3, 0.2, 0.2})) {
    case 0:
      draw_leaf(cn, {-1.0, 0.2}, rng.uniform(-0.4, 0.2), rng.uniform(1.4, 2.0), rng.uniform(0.3, 0.45),
                hsv(rng.uniform(80, 130), rng.uniform(0.5, 0.8), rng.uniform(0.3, 0.6)));
      return cn;
    case 1: {
      const double w = rng.uniform(0.25, 0.5);
      fill_poly(m, cn, {{-1.1, -w}, {1.1, -w}, {1.1, w}, {-1.1, w}});
      paint_flat(cn, m, hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.6), rng.uniform(0.3, 0.95)));
      shade(cn, m, {w * 0.5, 0.45, 0.2, 12});
      return cn;
    }
    case 2: {
      const double w = rng.uniform(0.2, 0.3);
      fill_poly(m, cn, tube(Pts{{-1.1, 0}, {0, rng.uniform(-0.1, 0.1)}, {0.8, 0}}, [&](double) { return w; }));
      fill_circle(m, cn, {0.8, 0}, w);
      paint_flat(cn, m, hsv(rng.uniform(15, 30), rng.uniform(0.3, 0.5), rng.uniform(0.55, 0.9)));
      shade(cn, m, {w, 0.4, 0.15, 10});
      return cn;
    }
    default:
      fill_ellipse(m, cn, {0, 0}, rng.uniform(0.5, 1.0), rng.uniform(0.4, 0.8), rng.uniform(0, 180));
      paint_flat(cn, m, hsv(rng.uniform(0, 360), rng.uniform(0.2, 0.9), rng.uniform(0.3, 0.95)));
      shade(cn, m, {0.6, 0.35, 0.25, 14});
      return cn;
  }
}

// ---------------------------------------------------------------------------
// Scene: background, pose, shadows, occlusion, camera effects
// ---------------------------------------------------------------------------

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

}  // namespace

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

namespace {

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
