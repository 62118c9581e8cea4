#pragma once
// The machine and build a run happened on, and the machine's measured FP32
// peak: the "Context" and "Physical limit" rules of /work/shared/METHODOLOGY.md.
//
// Contract: capture_environment() never throws for a fact it cannot read (a
// missing /proc or /sys file, a container that hides them): the field is then
// null, or "unknown" for strings, so a result is never lost for lack of a
// fact. Library versions of the backends are recorded by the backends
// themselves, and the run's configuration by the caller, not here.
// measure_fp32_peak() throws std::invalid_argument for threads < 1 or
// seconds not positive (programmer errors).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/precision.h"

namespace inferbench::bench {

// The facts environment_warnings() judges, apart so that the rules can be
// tested with given inputs.
struct EnvFacts {
  std::string build_type;           // CMAKE_BUILD_TYPE ("" when none was set)
  std::string sanitizers;           // INFERBENCH_SANITIZE ("" when off)
  double load_average_1min = -1;    // /proc/loadavg; negative: unknown
  double other_busy_cores = -1;     // cores other processes used just now (/proc/stat); negative: unknown
  int usable_cores = 1;             // logical CPUs this process may run on
  std::string governor = "unknown";  // cpufreq scaling governor; "unknown" when not readable
  std::string blas_library;         // the file libblas.so.3 resolves to ("" when unknown)
};

// What kind of BLAS a library file is, from its path: "reference" (Debian's
// netlib build, .../blas/libblas.so.3), "openblas", "blis", "mkl", "atlas",
// "other", or "unknown" for an empty path.
std::string blas_kind(const std::string& library);

// Warnings that make timings suspect, in a fixed order (build type,
// sanitizers, load, governor); empty when none apply. The texts start with:
//   "Debug build: timings are not representative"      (build type Debug;
//       another non-Release type or none is named in the same words)
//   "sanitizer build (...)"                            (sanitizers on)
//   "other processes kept X of N cores busy when the study started: ..."
//       (other_busy_cores > 0.25 * usable cores)
//   "load average X on N cores: another process is using the CPU"
//       (only when other_busy_cores is unknown: load average over 1 minute
//       > 0.5 * usable cores)
//   "CPU frequency governor is X (not performance)"    (readable and not performance)
//   "libblas.so.3 is the reference BLAS (PATH): ..."   (blas_kind() == "reference":
//       LibTorch's convolutions that do not go through oneDNN and its linear
//       layers run on it, 5-10x slower in eager mode; names the fix)
std::vector<std::string> environment_warnings(const EnvFacts& facts);

// The machine, OS and build, read at call time. Keys (see environment.cpp for
// where each comes from):
//   captured_at (UTC, ISO 8601), hostname,
//   cpu {model, vendor, simd_flags [..], flags [..], usable_cores,
//        online_cores, physical_cores, sockets, hypervisor, governor},
//   memory {total_bytes, available_bytes},
//   os {pretty_name, kernel, kernel_version, machine},
//   load_average [1, 5, 15 min],
//   other_busy_cores (CPU other processes used over 0.5 s of sampling; null when /proc/stat is unreadable),
//   build {version, git_commit, build_type, compiler, sanitizers},
//   blas {library, kind} (what libblas.so.3 resolves to; null when it does not load),
//   warnings [..] (environment_warnings of the above).
nlohmann::json capture_environment();

// One line naming the machine an environment (capture_environment()'s) was
// captured on, from what stays the same between its runs: "AMD EPYC, 2
// cores, 23.4 GiB, avx avx2 fma (host ib-1)". What the environment lacks is
// left out; runs of one machine give one line, runs of two machines two.
std::string describe_machine(const nlohmann::json& env);

// FP32 fused multiply-add throughput of this machine.
struct FmaPeak {
  double gflops_total = 0;       // sum over threads of each thread's rate
  double gflops_per_thread = 0;  // gflops_total / threads
  // Sum over threads of FLOP / the thread's own CPU time: what the cores did
  // while they ran, insensitive to other processes taking turns on them.
  // Far above gflops_total means the machine was busy during the measurement.
  double gflops_total_on_cpu = 0;
  int threads = 0;
  double seconds = 0;  // measured duration of the longest thread
  std::string isa;     // "avx512f", "avx2+fma", "sse" (x86 without AVX2/FMA) or "generic"
};

// Runs `threads` std::threads (not pinned), each for about `seconds`, doing
// independent chains of vector FMAs with the widest ISA the CPU supports
// (checked at run time: the kernels are compiled for their ISA whatever the
// build's flags). One FMA on one lane counts 2 FLOP (a multiply and an add),
// as vendors' peak figures do; the SSE path, which has no FMA, counts its
// multiply + add pair the same. Threads beyond the cores share them, so the
// total then stops growing. Cost: `seconds` of wall time on `threads` cores.
FmaPeak measure_fp32_peak(int threads, double seconds);

nlohmann::json to_json(const FmaPeak& peak);

// The precisions this CPU has arithmetic for, from its flags: FP32, then BF16
// with avx512_bf16 or amx_bf16, FP16 with avx512_fp16 or amx_fp16 (x86; other
// CPUs: FP32 only). What a study's precisions "auto" asks for: a reduced
// precision the CPU can only emulate is left out (asking anyway is allowed,
// and the runtime's own answer then shows what ran).
std::vector<artifact::Precision> machine_precisions(const std::vector<std::string>& cpu_flags);
std::vector<artifact::Precision> machine_precisions();  // this machine's /proc/cpuinfo

// Precision names as `--precision` and the plan's "precisions" take them:
// fp32, fp16, bf16, int8 and "auto" (machine_precisions()), without repeats,
// in table order. Error(kUsage) naming `what` and the value otherwise.
std::vector<artifact::Precision> parse_precisions(const std::vector<std::string>& names, std::string_view what);

}  // namespace inferbench::bench
