#include "bench/environment.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"

namespace inferbench::bench {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

EnvFacts quiet_release() {
  return {.build_type = "Release", .sanitizers = "", .load_average_1min = 0.1, .other_busy_cores = -1, .usable_cores = 4,
          .governor = "performance", .blas_library = ""};
}

// --- environment_warnings: the rules with given inputs ---

TEST(EnvironmentWarningsTest, QuietReleaseMachineHasNone) {
  EXPECT_TRUE(environment_warnings(quiet_release()).empty());
}

TEST(EnvironmentWarningsTest, UnknownLoadAndGovernorAreNotWarnings) {
  EnvFacts f = quiet_release();
  f.load_average_1min = -1;
  f.governor = "unknown";
  EXPECT_TRUE(environment_warnings(f).empty());
}

TEST(EnvironmentWarningsTest, DebugBuild) {
  EnvFacts f = quiet_release();
  f.build_type = "Debug";
  EXPECT_EQ(environment_warnings(f), std::vector<std::string>{"Debug build: timings are not representative"});
}

TEST(EnvironmentWarningsTest, OtherNonReleaseBuilds) {
  EnvFacts f = quiet_release();
  f.build_type = "RelWithDebInfo";
  EXPECT_EQ(environment_warnings(f),
            std::vector<std::string>{"RelWithDebInfo build (not Release): timings are not representative"});
  f.build_type = "";
  ASSERT_EQ(environment_warnings(f).size(), 1U);
  EXPECT_NE(environment_warnings(f)[0].find("unoptimised"), std::string::npos);
}

TEST(EnvironmentWarningsTest, SanitizerBuild) {
  EnvFacts f = quiet_release();
  f.sanitizers = "address,undefined";
  EXPECT_EQ(environment_warnings(f),
            std::vector<std::string>{"sanitizer build (address,undefined): timings are not representative"});
}

TEST(EnvironmentWarningsTest, LoadAboveHalfTheCores) {
  EnvFacts f = quiet_release();
  f.load_average_1min = 2.0;  // exactly half of 4: not flagged
  EXPECT_TRUE(environment_warnings(f).empty());
  f.load_average_1min = 2.5;
  EXPECT_EQ(environment_warnings(f),
            std::vector<std::string>{"load average 2.50 on 4 cores: another process is using the CPU"});
}

// The sampled CPU use of other processes, when known, decides alone: the
// 1-minute load average of a job that has just finished is not blamed.
TEST(EnvironmentWarningsTest, OtherProcessesBusyRatherThanLoadAverage) {
  EnvFacts f = quiet_release();
  f.usable_cores = 2;
  f.load_average_1min = 2.0;  // the training that has just ended
  f.other_busy_cores = 0.05;
  EXPECT_TRUE(environment_warnings(f).empty());
  f.other_busy_cores = 0.5;  // exactly a quarter of 2 cores: not flagged
  EXPECT_TRUE(environment_warnings(f).empty());
  f.other_busy_cores = 0.9;
  EXPECT_EQ(environment_warnings(f),
            std::vector<std::string>{"other processes kept 0.90 of 2 cores busy when the study started: another "
                                     "process is using the CPU"});
  f.other_busy_cores = -1;  // not sampled: the load average rule
  EXPECT_EQ(environment_warnings(f).size(), 1U);
}

TEST(EnvironmentWarningsTest, Governor) {
  EnvFacts f = quiet_release();
  f.governor = "powersave";
  EXPECT_EQ(environment_warnings(f), std::vector<std::string>{"CPU frequency governor is powersave (not performance)"});
}

TEST(EnvironmentWarningsTest, ReferenceBlasIsFlaggedOptimisedIsNot) {
  EnvFacts f = quiet_release();
  f.blas_library = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0";
  const auto w = environment_warnings(f);
  ASSERT_EQ(w.size(), 1U);
  EXPECT_EQ(w[0].rfind("libblas.so.3 is the reference BLAS (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0)", 0), 0U)
      << w[0];
  EXPECT_NE(w[0].find("libopenblas0-openmp"), std::string::npos) << "names the fix: " << w[0];
  for (const char* optimised : {"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3",
                                "/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3", "/opt/intel/mkl/lib/libmkl_rt.so", ""}) {
    f.blas_library = optimised;
    EXPECT_TRUE(environment_warnings(f).empty()) << optimised;
  }
}

TEST(EnvironmentWarningsTest, BlasKindFromThePath) {
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"), "reference");
  EXPECT_EQ(blas_kind("/usr/lib/aarch64-linux-gnu/blas/libblas.so.3.11.0"), "reference");
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"), "openblas");
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/libopenblasp-r0.3.21.so"), "openblas");
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"), "blis");
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3"), "atlas");
  EXPECT_EQ(blas_kind("/usr/local/lib/libblas.so.3"), "other");
  EXPECT_EQ(blas_kind(""), "unknown");
}

TEST(EnvironmentWarningsTest, AllAtOnceInFixedOrder) {
  const EnvFacts f{.build_type = "Debug", .sanitizers = "thread", .load_average_1min = 3, .other_busy_cores = -1,
                   .usable_cores = 2,
                   .governor = "ondemand", .blas_library = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"};
  const auto w = environment_warnings(f);
  ASSERT_EQ(w.size(), 5U);
  EXPECT_EQ(w[0], "Debug build: timings are not representative");
  EXPECT_EQ(w[1].rfind("sanitizer build", 0), 0U);
  EXPECT_EQ(w[2], "load average 3.00 on 2 cores: another process is using the CPU");
  EXPECT_EQ(w[3], "CPU frequency governor is ondemand (not performance)");
  EXPECT_EQ(w[4].rfind("libblas.so.3 is the reference BLAS", 0), 0U);
}

// --- capture_environment: fields present and plausible on this machine ---

TEST(CaptureEnvironmentTest, FieldsPresentAndPlausible) {
  const auto env = capture_environment();
  for (const char* key : {"captured_at", "hostname", "cpu", "memory", "os", "load_average", "build", "blas", "warnings"}) {
    EXPECT_TRUE(env.contains(key)) << key;
  }
  const auto& cpu = env.at("cpu");
  EXPECT_GE(cpu.at("usable_cores").get<int>(), 1);
  EXPECT_FALSE(cpu.at("model").get<std::string>().empty());
  EXPECT_TRUE(cpu.at("flags").is_array());
  EXPECT_TRUE(cpu.at("simd_flags").is_array());
  EXPECT_LE(cpu.at("simd_flags").size(), cpu.at("flags").size());
  for (const auto& f : cpu.at("simd_flags")) {
    EXPECT_TRUE(std::find(cpu.at("flags").begin(), cpu.at("flags").end(), f) != cpu.at("flags").end()) << f;
  }
  if (!cpu.at("physical_cores").is_null()) {
    EXPECT_GE(cpu.at("physical_cores").get<int>(), 1);
    EXPECT_GE(cpu.at("sockets").get<int>(), 1);
  }
  EXPECT_TRUE(cpu.at("hypervisor").is_boolean());
  EXPECT_FALSE(cpu.at("governor").get<std::string>().empty());

  EXPECT_GT(env.at("memory").at("total_bytes").get<double>(), 0);
  EXPECT_GT(env.at("memory").at("available_bytes").get<double>(), 0);
  EXPECT_FALSE(env.at("os").at("kernel").get<std::string>().empty());
  EXPECT_NE(env.at("os").at("kernel").get<std::string>(), "unknown");
  EXPECT_FALSE(env.at("os").at("machine").get<std::string>().empty());
  EXPECT_FALSE(env.at("os").at("pretty_name").get<std::string>().empty());
  // libblas.so.3 is there wherever LibTorch is (Debian's libtorch links it).
  if (!env.at("blas").is_null()) {
    EXPECT_TRUE(std::filesystem::exists(env["blas"].at("library").get<std::string>())) << env["blas"];
    EXPECT_EQ(env["blas"].at("kind"), blas_kind(env["blas"].at("library").get<std::string>()));
  }
  if (!env.at("other_busy_cores").is_null()) {
    EXPECT_GE(env["other_busy_cores"].get<double>(), 0.0);
    EXPECT_LE(env["other_busy_cores"].get<double>(), static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) + 1e-9);
  }
  ASSERT_TRUE(env.at("load_average").is_array());
  EXPECT_EQ(env.at("load_average").size(), 3U);

  const auto& build = env.at("build");
  EXPECT_EQ(build.at("build_type").get<std::string>(), INFERBENCH_TEST_BUILD_TYPE);
  EXPECT_EQ(build.at("sanitizers").get<std::string>(), INFERBENCH_TEST_SANITIZE);
  EXPECT_FALSE(build.at("git_commit").get<std::string>().empty());
  EXPECT_FALSE(build.at("compiler").get<std::string>().empty());
  const std::vector<std::string> warnings = env.at("warnings");
  EXPECT_EQ(contains(warnings, "Debug build: timings are not representative"),
            std::string(INFERBENCH_TEST_BUILD_TYPE) == "Debug");
}

// --- measure_fp32_peak: brief, positive and bounded ---

// cores x 3 GHz x 2 FMA units x 16 lanes x 2 FLOP, x 2 for slack (turbo, newer cores).
double upper_bound_gflops(int threads) { return threads * 3.0 * 2 * 16 * 2 * 2; }

TEST(Fp32PeakTest, OneThreadPositiveAndBounded) {
  const auto p = measure_fp32_peak(1, 0.2);
  EXPECT_EQ(p.threads, 1);
  EXPECT_GT(p.gflops_total, 0);
  EXPECT_LT(p.gflops_total, upper_bound_gflops(1));
  EXPECT_DOUBLE_EQ(p.gflops_per_thread, p.gflops_total);
  // CPU time <= wall time, so the on-CPU rate is at least the wall-clock rate (1% for clock granularity).
  EXPECT_GE(p.gflops_total_on_cpu, 0.99 * p.gflops_total);
  EXPECT_LT(p.gflops_total_on_cpu, upper_bound_gflops(1));
  EXPECT_GE(p.seconds, 0.2);
  EXPECT_TRUE(p.isa == "avx512f" || p.isa == "avx2+fma" || p.isa == "sse" || p.isa == "generic") << p.isa;
  const auto j = to_json(p);
  EXPECT_EQ(j.at("isa"), p.isa);
  EXPECT_EQ(j.at("threads"), 1);
}

TEST(Fp32PeakTest, TwoThreadsPositiveAndBounded) {
  const auto p = measure_fp32_peak(2, 0.2);
  EXPECT_EQ(p.threads, 2);
  EXPECT_GT(p.gflops_total, 0);
  EXPECT_LT(p.gflops_total, upper_bound_gflops(2));
  EXPECT_NEAR(p.gflops_per_thread * 2, p.gflops_total, 1e-9 * p.gflops_total);
  EXPECT_GE(p.gflops_total_on_cpu, 0.99 * p.gflops_total);
  EXPECT_LT(p.gflops_total_on_cpu, upper_bound_gflops(2));
}

TEST(Fp32PeakTest, BadArgumentsThrow) {
  EXPECT_THROW(measure_fp32_peak(0, 0.1), std::invalid_argument);
  EXPECT_THROW(measure_fp32_peak(1, 0.0), std::invalid_argument);
  EXPECT_THROW(measure_fp32_peak(1, -1.0), std::invalid_argument);
}

// A child process spinning on a core while the environment is captured is
// seen as another process using the CPU (our own CPU time is not counted).
TEST(CaptureEnvironmentTest, SeesAnotherProcessSpinning) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    volatile std::uint64_t n = 0;
    for (;;) n = n + 1;  // until killed
  }
  const auto env = capture_environment();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_FALSE(env.at("other_busy_cores").is_null()) << "/proc/stat not readable";
  // A whole core on an idle machine; at least ~0.6 even with two other
  // processes (ctest -j2) sharing two cores with it.
  EXPECT_GT(env["other_busy_cores"].get<double>(), 0.4) << env["other_busy_cores"];
}

TEST(MachinePrecisions, FromTheCpuFlags) {
  using artifact::Precision;
  EXPECT_EQ(machine_precisions({"sse2", "avx2", "fma"}), (std::vector<Precision>{Precision::kFP32}));
  // An AMD EPYC of the Zen 4 kind: BF16 dot products, no FP16 arithmetic.
  EXPECT_EQ(machine_precisions({"avx512f", "avx512_bf16"}), (std::vector<Precision>{Precision::kFP32, Precision::kBF16}));
  // The Intel Xeon of this project's figures: both.
  EXPECT_EQ(machine_precisions({"avx512_vnni", "avx512_bf16", "avx512_fp16"}),
            (std::vector<Precision>{Precision::kFP32, Precision::kFP16, Precision::kBF16}));
  EXPECT_EQ(machine_precisions({"amx_bf16", "amx_fp16", "amx_tile"}),
            (std::vector<Precision>{Precision::kFP32, Precision::kFP16, Precision::kBF16}));
  // A flag that only contains the name is not it.
  EXPECT_EQ(machine_precisions({"avx512_bf16x"}), (std::vector<Precision>{Precision::kFP32}));
}

TEST(MachinePrecisions, ParsedNamesAreTableOrderedWithoutRepeatsAndAutoIsThisMachine) {
  using artifact::Precision;
  EXPECT_EQ(parse_precisions({"bf16", "fp32", "bf16"}, "--precision"),
            (std::vector<Precision>{Precision::kFP32, Precision::kBF16}));
  const auto mine = machine_precisions();
  ASSERT_FALSE(mine.empty());
  EXPECT_EQ(mine.front(), Precision::kFP32);
  EXPECT_EQ(parse_precisions({"auto"}, "--precision"), mine);
  try {
    (void)parse_precisions({"fp32", "fp8"}, "--precision");
    ADD_FAILURE() << "fp8 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_EQ(std::string(e.what()), "--precision: unknown precision 'fp8' (expected fp32, fp16, bf16, int8 or auto)");
  }
}

}  // namespace
}  // namespace inferbench::bench
