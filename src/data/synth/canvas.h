#pragma once
// The canvas the fruit painters draw on, and the drawing primitives they share
// (internal to synth).
//
// A Canvas holds one object drawn upright around its own centre, in "units"
// (1 unit = `r` pixels). Pose, shadow and placement in the scene come later
// (scene.cpp), so each painter only knows its own canonical shape. Points and
// sizes passed to the functions here are in units from the canvas centre, x
// right and y down; a "mask" is a canvas-sized CV_8U coverage image (0..255),
// usually made with Canvas::blank().
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "data/synth/colour.h"

namespace inferbench::data::synth {

inline constexpr double kPi = std::numbers::pi;
// OpenCV draws with fixed-point coordinates when given `shift` fraction bits:
// without them small parts (seeds, stems) snap to whole pixels and jitter.
inline constexpr int kShift = 4;
inline constexpr double kSub = 1 << kShift;

using Pts = std::vector<cv::Point2d>;

// Spans x0..x1, y0..y1 units plus a 3-pixel margin, all black and uncovered.
struct Canvas {
  cv::Mat rgb;      // CV_8UC3, colour where mask > 0 (not premultiplied)
  cv::Mat mask;     // CV_8U coverage
  cv::Point2d c;    // the pixel position of the unit origin
  double r = 1.0;   // pixels per unit
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

  // A point (units) or a length (units) as OpenCV fixed-point pixels with
  // kShift fraction bits; blank() is an empty canvas-sized mask.
  [[nodiscard]] cv::Point pt(double x, double y) const {
    return {cvRound((c.x + x * r) * kSub), cvRound((c.y + y * r) * kSub)};
  }
  [[nodiscard]] cv::Point pt(const cv::Point2d& p) const { return pt(p.x, p.y); }
  [[nodiscard]] int len(double units) const { return cvRound(units * r * kSub); }
  [[nodiscard]] cv::Mat blank() const { return cv::Mat::zeros(mask.size(), CV_8U); }
};

// Add a filled shape to mask `m` at full coverage, anti-aliased at sub-pixel
// precision: a polygon, an ellipse (semi-axes ax, ay, rotated angle_deg
// degrees) or a circle. A shape smaller than a pixel still covers one.
void fill_poly(cv::Mat& m, const Canvas& cn, const Pts& pts);
void fill_ellipse(cv::Mat& m, const Canvas& cn, cv::Point2d centre, double ax, double ay, double angle_deg);
void fill_circle(cv::Mat& m, const Canvas& cn, cv::Point2d centre, double radius);

// `n` points evenly spaced around an ellipse, starting on its +x axis.
Pts ellipse_pts(cv::Point2d centre, double ax, double ay, int n);

// `n` (at least 2) points along the quadratic Bezier curve p0, p1, p2, both
// ends included.
Pts bezier(cv::Point2d p0, cv::Point2d p1, cv::Point2d p2, int n);

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

// Where paint() asks for a colour.
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

// paint() with one colour everywhere.
void paint_flat(Canvas& cn, const cv::Mat& m, const Rgb& col);

// Distance (pixels) from each pixel under `m` to the outside of `m` (CV_32F,
// canvas-sized, zero outside the part).
cv::Mat edge_distance(const cv::Mat& m);

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
void shade(Canvas& cn, const cv::Mat& m, const Shading& s);

// Darkens or tints the canvas towards `col` inside a soft ellipse (dimples,
// cavities, ground spots).
void soft_tint(Canvas& cn, cv::Point2d centre, double ax, double ay, double angle_deg, const Rgb& col,
               double alpha);

// A leaf from `base` towards `angle` (radians): lit half and shaded half
// either side of a pale midrib, the way leaves read even when tiny.
void draw_leaf(Canvas& cn, cv::Point2d base, double angle, double length, double width, const Rgb& col);

// A stem or stalk along a quadratic curve, thinner at the end.
void draw_stem(Canvas& cn, cv::Point2d a, cv::Point2d ctrl, cv::Point2d b, double w0, double w1, const Rgb& col);

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

}  // namespace inferbench::data::synth
