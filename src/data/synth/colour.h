#pragma once
// Colour helpers shared by the painters and the scene (internal to synth).
//
// Colours are RGB doubles on the 0..255 scale, unclamped until to_u8. Defined
// inline: most of these run for every pixel inside the painters' colour
// functions and the scene's per-pixel loops.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>

#include "common/rng.h"

namespace inferbench::data::synth {

using Rgb = cv::Vec3d;  // R, G, B in 0..255

inline double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

inline double smoothstep(double e0, double e1, double x) {
  const double t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3.0 - 2.0 * t);
}

// min/max rather than std::clamp: compiles to branch-free minsd/maxsd, and this
// runs for every channel of every pixel.
inline std::uint8_t to_u8(double v) {
  return static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, v + 0.5)));
}

// Hue in degrees (any value, wraps), saturation and value in 0..1.
inline Rgb hsv(double h, double s, double v) {
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

inline Rgb mix(const Rgb& a, const Rgb& b, double t) { return a * (1.0 - t) + b * t; }

inline cv::Scalar scalar(const Rgb& c) { return {c[0], c[1], c[2]}; }

// Index drawn with the given relative weights (one rng draw).
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

}  // namespace inferbench::data::synth
