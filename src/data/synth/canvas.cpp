#include "data/synth/canvas.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

namespace inferbench::data::synth {

namespace {

// The bounding box of `m`'s non-zero pixels, grown by `pad` and kept inside it.
// Per-part work stays proportional to the part, not to the whole canvas.
cv::Rect support(const cv::Mat& m, int pad) {
  cv::Rect box = cv::boundingRect(m);
  box = cv::Rect(box.x - pad, box.y - pad, box.width + 2 * pad, box.height + 2 * pad);
  return box & cv::Rect(0, 0, m.cols, m.rows);
}

}  // namespace

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

void paint_flat(Canvas& cn, const cv::Mat& m, const Rgb& col) {
  paint(cn, m, [&](const At&) { return col; });
}

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

void draw_stem(Canvas& cn, cv::Point2d a, cv::Point2d ctrl, cv::Point2d b, double w0, double w1, const Rgb& col) {
  cv::Mat m = cn.blank();
  fill_poly(m, cn, tube(bezier(a, ctrl, b, 14), [&](double t) { return w0 + (w1 - w0) * t; }));
  paint(cn, m, [&](const At& p) {
    const double t = clamp01(std::hypot(p.x - a.x, p.y - a.y) / std::max(1e-6, std::hypot(b.x - a.x, b.y - a.y)));
    return col * (0.8 + 0.35 * t);
  });
  shade(cn, m, {w0, 0.45, 0.1, 8});
}

}  // namespace inferbench::data::synth
