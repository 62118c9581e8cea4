#include "data/synth/painters.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "data/synth/canvas.h"
#include "data/synth/colour.h"
#include "data/synth/noise.h"

namespace inferbench::data::synth {

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

}  // namespace inferbench::data::synth
