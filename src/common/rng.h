#pragma once
// A deterministic random number generator whose output is the same on every
// compiler and standard library (std::uniform_real_distribution and friends
// are implementation-defined, so seeded results could differ between builds).
#include <cmath>
#include <cstdint>
#include <numbers>
#include <numeric>
#include <vector>

namespace inferbench {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  // SplitMix64: passes BigCrush, one multiply-xorshift chain per draw.
  std::uint64_t next_u64() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi] (inclusive). Slight modulo bias is irrelevant
  // for the ranges used here (all far below 2^32).
  int uniform_int(int lo, int hi) {
    const auto span = static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo + 1);
    return lo + static_cast<int>(next_u64() % span);
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Standard normal by Box-Muller (one value per call; simplicity over speed).
  double normal(double mean = 0.0, double stddev = 1.0) {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  // An independent stream for a sub-task (e.g. image i of a class).
  [[nodiscard]] Rng fork(std::uint64_t salt) const {
    Rng r(state_ ^ (salt * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
    r.next_u64();
    return r;
  }

 private:
  std::uint64_t state_;
};

// `count` distinct indices of [0, available), uniformly drawn without
// replacement (the first `count` places of a Fisher-Yates shuffle seeded
// with `seed`), in draw order; all of them when count >= available. The same
// arguments give the same indices on every machine.
inline std::vector<std::size_t> draw_without_replacement(std::size_t available, std::size_t count,
                                                         std::uint64_t seed) {
  std::vector<std::size_t> order(available);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed);
  for (std::size_t i = 0; i < count && i + 1 < available; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(rng.next_u64() % (available - i));
    std::swap(order[i], order[j]);
  }
  if (count < available) order.resize(count);
  return order;
}

}  // namespace inferbench
