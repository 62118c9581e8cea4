// measure_fp32_peak(): the FMA micro-benchmark behind "fraction of this
// machine's FP32 peak". Built with -O3 -ffp-contract=fast whatever the build
// type (src/bench/CMakeLists.txt): an unoptimised kernel would measure memory
// traffic of spilled accumulators, not the FMA units, and in ISO C++ mode GCC
// does not fuse a * b + c into an FMA unless told to.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <latch>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench/environment.h"

namespace inferbench::bench {
namespace {

// Independent accumulator chains: an FMA has a latency of 4-5 cycles and
// 2 issue per cycle on current x86 cores, so at least 8-10 chains are needed
// to keep both units busy; 12 leave room and still fit the 16 vector
// registers of AVX2 with the two constants.
constexpr int kChains = 12;
// Iterations per kernel call between clock reads: 8192 * 12 FMAs is about
// 50k cycles, so the clock's cost is far below 0.1%.
constexpr std::int64_t kIterations = 8192;

using V4 = float __attribute__((vector_size(16)));
using V8 = float __attribute__((vector_size(32)));
using V16 = float __attribute__((vector_size(64)));

// acc = acc * m + c converges to c / (1 - m) = 1 from every start: no
// overflow, no denormals (which would slow some cores down). Floating-point
// arithmetic is not associative, so the compiler cannot shorten the chains.
// always_inline: the body is compiled with the ISA of the function it lands in.
template <typename V>
[[gnu::always_inline]] inline float fma_chains(std::int64_t iterations, float seed) {
  constexpr int kLanes = sizeof(V) / sizeof(float);
  V acc[kChains];
  for (int i = 0; i < kChains; ++i) {
    for (int l = 0; l < kLanes; ++l) acc[i][l] = seed + static_cast<float>(i * kLanes + l) * 1e-3f;
  }
  V m, c;
  for (int l = 0; l < kLanes; ++l) {
    m[l] = 0.999f;
    c[l] = 0.001f;
  }
  for (std::int64_t n = 0; n < iterations; ++n) {
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * m + c;
  }
  // The sum is used by the caller (it lands in a volatile), so no chain is dead.
  float sum = 0;
  for (int i = 0; i < kChains; ++i) {
    for (int l = 0; l < kLanes; ++l) sum += acc[i][l];
  }
  return sum;
}

using Kernel = float (*)(std::int64_t, float);

#if defined(__x86_64__) || defined(__i386__)
[[gnu::target("avx512f")]] float kernel_avx512(std::int64_t it, float seed) { return fma_chains<V16>(it, seed); }
[[gnu::target("avx2,fma")]] float kernel_avx2(std::int64_t it, float seed) { return fma_chains<V8>(it, seed); }
#endif
float kernel_generic(std::int64_t it, float seed) { return fma_chains<V4>(it, seed); }

struct Choice {
  Kernel kernel;
  int lanes;
  const char* isa;
};

Choice choose_kernel() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {kernel_avx512, 16, "avx512f"};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {kernel_avx2, 8, "avx2+fma"};
  return {kernel_generic, 4, "sse"};
#else
  return {kernel_generic, 4, "generic"};
#endif
}

volatile float g_sink = 0;  // keeps the kernels' results alive

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct ThreadResult {
  double flops = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  float checksum = 0;
};

}  // namespace

FmaPeak measure_fp32_peak(int threads, double seconds) {
  if (threads < 1) throw std::invalid_argument("measure_fp32_peak: threads must be >= 1");
  if (!(seconds > 0)) throw std::invalid_argument("measure_fp32_peak: seconds must be positive");
  const Choice choice = choose_kernel();
  // 2 FLOP (multiply + add) per lane per FMA.
  const double flops_per_call = 2.0 * choice.lanes * kChains * static_cast<double>(kIterations);

  std::vector<ThreadResult> results(static_cast<std::size_t>(threads));
  std::latch start(threads);
  std::vector<std::thread> pool;
  pool.reserve(results.size());
  for (auto& r : results) {
    pool.emplace_back([&, out = &r] {
      start.arrive_and_wait();  // all threads compete for the cores at once
      using Clock = std::chrono::steady_clock;
      const auto t0 = Clock::now();
      const double cpu0 = thread_cpu_seconds();
      double elapsed = 0;
      std::int64_t calls = 0;
      float sum = 0;
      do {
        sum += choice.kernel(kIterations, static_cast<float>(calls & 7));
        ++calls;
        elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      } while (elapsed < seconds);
      out->checksum = sum;
      out->flops = flops_per_call * static_cast<double>(calls);
      out->seconds = elapsed;
      out->cpu_seconds = thread_cpu_seconds() - cpu0;
    });
  }
  for (auto& t : pool) t.join();

  FmaPeak peak;
  peak.threads = threads;
  peak.isa = choice.isa;
  for (const auto& r : results) {
    g_sink = g_sink + r.checksum;
    peak.gflops_total += r.flops / r.seconds / 1e9;
    if (r.cpu_seconds > 0) peak.gflops_total_on_cpu += r.flops / r.cpu_seconds / 1e9;
    peak.seconds = std::max(peak.seconds, r.seconds);
  }
  peak.gflops_per_thread = peak.gflops_total / threads;
  return peak;
}

nlohmann::json to_json(const FmaPeak& peak) {
  return {{"gflops_total", peak.gflops_total},
          {"gflops_per_thread", peak.gflops_per_thread},
          {"gflops_total_on_cpu", peak.gflops_total_on_cpu},
          {"threads", peak.threads},
          {"seconds", peak.seconds},
          {"isa", peak.isa},
          {"flop_per_fma_lane", 2}};
}

}  // namespace inferbench::bench
