#include "bench/environment.h"

#include <fmt/format.h>
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "common/error.h"
#include "inferbench/build_info.h"

namespace inferbench::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return s.str();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// "key<tab>: value" lines of the first processor in /proc/cpuinfo (x86 puts
// model name and flags there; aarch64 has "Features" and no model name).
std::optional<std::string> cpuinfo_value(const std::string& cpuinfo, std::string_view key) {
  std::istringstream in(cpuinfo);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(std::string_view(line).substr(0, colon)) == key) {
      return std::string(trim(std::string_view(line).substr(colon + 1)));
    }
  }
  return std::nullopt;
}

// Flags that decide which kernels the inference libraries can use.
bool simd_relevant(std::string_view flag) {
  static constexpr std::array<std::string_view, 17> kNamed = {
      "sse",  "sse2",    "ssse3",   "sse4_1", "sse4_2", "avx",  "avx2", "fma",  "f16c",
      "fma4", "avx_vnni", "asimd",  "asimdhp", "asimddp", "sve", "sve2", "i8mm"};
  if (std::find(kNamed.begin(), kNamed.end(), flag) != kNamed.end()) return true;
  return flag.starts_with("avx512") || flag.starts_with("amx") || flag == "bf16" || flag == "neon";
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

// Unique (package, core) pairs over the CPUs /sys lists: physical cores and
// sockets of the machine (not only of this process's affinity).
std::pair<json, json> physical_cores_and_sockets() {
  std::set<std::pair<std::string, std::string>> cores;
  std::set<std::string> packages;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/devices/system/cpu", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 4 || !name.starts_with("cpu") || !std::isdigit(static_cast<unsigned char>(name[3]))) continue;
    const auto package = read_file(entry.path() / "topology/physical_package_id");
    const auto core = read_file(entry.path() / "topology/core_id");
    if (!package || !core) continue;  // offline CPUs have no topology
    cores.emplace(std::string(trim(*package)), std::string(trim(*core)));
    packages.emplace(trim(*package));
  }
  if (cores.empty()) return {json(nullptr), json(nullptr)};
  return {json(cores.size()), json(packages.size())};
}

// "MemTotal:  16318464 kB" -> bytes.
json meminfo_bytes(const std::optional<std::string>& meminfo, std::string_view key) {
  if (!meminfo) return nullptr;
  const auto value = cpuinfo_value(*meminfo, key);
  if (!value) return nullptr;
  std::uint64_t kib = 0;
  const auto [end, err] = std::from_chars(value->data(), value->data() + value->size(), kib);
  if (err != std::errc()) return nullptr;
  return kib * 1024;
}

std::string os_pretty_name() {
  const auto text = read_file("/etc/os-release");
  if (!text) return "unknown";
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("PRETTY_NAME=")) continue;
    std::string_view v = trim(std::string_view(line).substr(12));
    const bool quoted = v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front();
    if (quoted) v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return "unknown";
}

// /proc/stat's first line: busy and total jiffies of the whole machine.
// Busy counts user, nice, system, irq, softirq and steal (a hypervisor that
// gives the CPU to another guest is contention too); idle and iowait are not.
std::optional<std::pair<std::uint64_t, std::uint64_t>> machine_jiffies() {
  const auto stat = read_file("/proc/stat");
  if (!stat || !stat->starts_with("cpu ")) return std::nullopt;
  std::istringstream in(stat->substr(4, stat->find('\n') - 4));
  std::array<std::uint64_t, 8> v{};  // user nice system idle iowait irq softirq steal
  for (auto& x : v) {
    if (!(in >> x)) return std::nullopt;
  }
  const std::uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return std::make_pair(busy, busy + v[3] + v[4]);
}

// This process's own CPU time (utime + stime) in jiffies.
std::optional<std::uint64_t> own_jiffies() {
  const auto stat = read_file("/proc/self/stat");
  if (!stat) return std::nullopt;
  const auto close = stat->rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat->substr(close + 2));
  std::string field;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {  // fields 3..15 of stat(5)
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (!in) return std::nullopt;
  return utime + stime;
}

// Cores other processes kept busy over `seconds`: the load just now, where
// the 1-minute load average still remembers a job that has just finished
// (the training before a benchmark in `inferbench run`).
std::optional<double> other_busy_cores(double seconds, int online_cpus) {
  const auto m0 = machine_jiffies();
  const auto s0 = own_jiffies();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const auto m1 = machine_jiffies();
  const auto s1 = own_jiffies();
  if (!m0 || !m1 || !s0 || !s1 || m1->second <= m0->second) return std::nullopt;
  const double busy = static_cast<double>(m1->first - m0->first) - static_cast<double>(*s1 - *s0);
  const double total = static_cast<double>(m1->second - m0->second);
  return std::max(0.0, busy / total) * online_cpus;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

}  // namespace

std::vector<std::string> environment_warnings(const EnvFacts& facts) {
  std::vector<std::string> w;
  if (facts.build_type != "Release") {
    if (facts.build_type == "Debug") {
      w.emplace_back("Debug build: timings are not representative");
    } else if (facts.build_type.empty()) {
      w.emplace_back("build without CMAKE_BUILD_TYPE (unoptimised): timings are not representative");
    } else {
      w.push_back(fmt::format("{} build (not Release): timings are not representative", facts.build_type));
    }
  }
  if (!facts.sanitizers.empty()) {
    w.push_back(fmt::format("sanitizer build ({}): timings are not representative", facts.sanitizers));
  }
  // Other processes' CPU use, sampled just before the study: above a quarter
  // of the usable cores something competes with the measurements. When it
  // could not be sampled, the 1-minute load average (runnable tasks, ours
  // included, over a minute) above half the cores, a cruder test that also
  // blames a job that has just finished. A warning, not a refusal.
  if (facts.other_busy_cores >= 0) {
    if (facts.other_busy_cores > 0.25 * facts.usable_cores) {
      w.push_back(fmt::format("other processes kept {:.2f} of {} cores busy when the study started: another process "
                              "is using the CPU",
                              facts.other_busy_cores, facts.usable_cores));
    }
  } else if (facts.load_average_1min >= 0 && facts.load_average_1min > 0.5 * facts.usable_cores) {
    w.push_back(fmt::format("load average {:.2f} on {} cores: another process is using the CPU",
                            facts.load_average_1min, facts.usable_cores));
  }
  if (facts.governor != "unknown" && facts.governor != "performance") {
    w.push_back(fmt::format("CPU frequency governor is {} (not performance)", facts.governor));
  }
  // Measured on the project's VM: LibTorch eager ResNet50 at 64x64, batch 1,
  // 161 ms on Debian's reference BLAS against 18 ms on OpenBLAS (the small
  // late-stage convolutions take the im2col + GEMM path, not oneDNN).
  if (blas_kind(facts.blas_library) == "reference") {
    w.push_back(fmt::format(
        "libblas.so.3 is the reference BLAS ({}): LibTorch eager runs its convolutions outside oneDNN and its linear "
        "layers on it, 5-10x slower; install an optimised BLAS (Debian: apt-get install libopenblas0-openmp)",
        facts.blas_library));
  }
  return w;
}

std::string blas_kind(const std::string& library) {
  if (library.empty()) return "unknown";
  std::string lower = library;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string file = std::filesystem::path(lower).filename().string();
  if (lower.find("openblas") != std::string::npos) return "openblas";
  if (lower.find("blis") != std::string::npos) return "blis";
  if (lower.find("mkl") != std::string::npos) return "mkl";
  if (lower.find("atlas") != std::string::npos) return "atlas";
  // Debian's netlib build: /usr/lib/<triplet>/blas/libblas.so.3[.x.y]
  if (file.rfind("libblas.so", 0) == 0 && std::filesystem::path(lower).parent_path().filename() == "blas") {
    return "reference";
  }
  return "other";
}

std::string describe_machine(const nlohmann::json& env) {
  std::vector<std::string> parts;
  const json cpu = env.value("cpu", json::object());
  if (cpu.is_object()) {
    if (cpu.contains("model") && cpu["model"].is_string()) parts.push_back(cpu["model"].get<std::string>());
    if (cpu.contains("usable_cores") && cpu["usable_cores"].is_number_integer()) {
      parts.push_back(fmt::format("{} cores", cpu["usable_cores"].get<int>()));
    }
  }
  const json memory = env.value("memory", json::object());
  if (memory.is_object() && memory.contains("total_bytes") && memory["total_bytes"].is_number()) {
    parts.push_back(fmt::format("{:.1f} GiB", memory["total_bytes"].get<double>() / (1024.0 * 1024 * 1024)));
  }
  if (cpu.is_object() && cpu.contains("simd_flags") && cpu["simd_flags"].is_array()) {
    std::string simd;
    for (const auto& f : cpu["simd_flags"]) {
      if (!f.is_string()) continue;
      if (!simd.empty()) simd += ' ';
      simd += f.get<std::string>();
    }
    if (!simd.empty()) parts.push_back(simd);
  }
  std::string out = parts.empty() ? std::string("an unknown machine") : parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i) out += ", " + parts[i];
  if (env.contains("hostname") && env["hostname"].is_string()) {
    out += fmt::format(" (host {})", env["hostname"].get<std::string>());
  }
  return out;
}

nlohmann::json capture_environment() {
  namespace b = inferbench::build;
  json env;
  env["captured_at"] = utc_now_iso8601();

  std::array<char, 256> host{};
  env["hostname"] = gethostname(host.data(), host.size() - 1) == 0 ? std::string(host.data()) : "unknown";

  // CPU: /proc/cpuinfo (first processor), affinity, /sys topology and cpufreq.
  const std::string cpuinfo = read_file("/proc/cpuinfo").value_or("");
  std::vector<std::string> flags = split_words(cpuinfo_value(cpuinfo, "flags").value_or(""));
  if (flags.empty()) flags = split_words(cpuinfo_value(cpuinfo, "Features").value_or(""));  // aarch64
  std::vector<std::string> simd;
  std::copy_if(flags.begin(), flags.end(), std::back_inserter(simd),
               [](const std::string& f) { return simd_relevant(f); });
  const int cores = usable_cores();
  const auto [physical, sockets] = physical_cores_and_sockets();
  std::string governor = "unknown";
  if (const auto g = read_file("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"); g && !trim(*g).empty()) {
    governor = std::string(trim(*g));
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  env["cpu"] = {
      {"model", cpuinfo_value(cpuinfo, "model name").value_or("unknown")},
      {"vendor", cpuinfo_value(cpuinfo, "vendor_id").value_or("unknown")},
      {"simd_flags", simd},
      {"flags", flags},
      {"usable_cores", cores},  // sched_getaffinity: what this process may run on
      {"online_cores", online > 0 ? json(online) : json(nullptr)},
      {"physical_cores", physical},
      {"sockets", sockets},
      // The "hypervisor" flag is set by the hypervisor in CPUID: we run in a VM.
      {"hypervisor", std::find(flags.begin(), flags.end(), "hypervisor") != flags.end()},
      {"governor", governor},
  };

  const auto meminfo = read_file("/proc/meminfo");
  env["memory"] = {{"total_bytes", meminfo_bytes(meminfo, "MemTotal")},
                   {"available_bytes", meminfo_bytes(meminfo, "MemAvailable")}};

  utsname u{};
  const bool have_uname = uname(&u) == 0;
  env["os"] = {{"pretty_name", os_pretty_name()},
               {"kernel", have_uname ? std::string(u.release) : "unknown"},
               {"kernel_version", have_uname ? std::string(u.version) : "unknown"},
               {"machine", have_uname ? std::string(u.machine) : "unknown"}};

  double load1 = -1;
  std::array<double, 3> loads{};
  if (getloadavg(loads.data(), 3) == 3) {
    load1 = loads[0];
    env["load_average"] = loads;
  } else {
    env["load_average"] = nullptr;
  }

  env["build"] = {{"version", b::kVersion},
                  {"git_commit", b::kGitCommit},
                  {"build_type", b::kBuildType},
                  {"compiler", b::kCompiler},
                  {"sanitizers", b::kSanitizers}};

  // The BLAS LibTorch (and any other client of libblas.so.3) gets here: the
  // dynamic linker's choice, which Debian's alternatives system makes.
  std::string blas;
  if (void* handle = dlopen("libblas.so.3", RTLD_LAZY | RTLD_LOCAL)) {
    link_map* map = nullptr;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr) {
      std::error_code ec;
      const auto real = std::filesystem::canonical(map->l_name, ec);
      blas = ec ? std::string(map->l_name) : real.string();
    }
    dlclose(handle);
  }
  env["blas"] = blas.empty() ? json(nullptr) : json{{"library", blas}, {"kind", blas_kind(blas)}};

  const auto others = other_busy_cores(0.5, online > 0 ? static_cast<int>(online) : cores);
  env["other_busy_cores"] = others ? json(*others) : json(nullptr);

  env["warnings"] = environment_warnings({.build_type = b::kBuildType,
                                          .sanitizers = b::kSanitizers,
                                          .load_average_1min = load1,
                                          .other_busy_cores = others.value_or(-1.0),
                                          .usable_cores = cores,
                                          .governor = governor,
                                          .blas_library = blas});
  return env;
}

std::vector<artifact::Precision> machine_precisions(const std::vector<std::string>& cpu_flags) {
  auto has = [&](const char* f) { return std::find(cpu_flags.begin(), cpu_flags.end(), f) != cpu_flags.end(); };
  std::vector<artifact::Precision> out{artifact::Precision::kFP32};
  if (has("avx512_fp16") || has("amx_fp16")) out.push_back(artifact::Precision::kFP16);
  if (has("avx512_bf16") || has("amx_bf16")) out.push_back(artifact::Precision::kBF16);
  return out;
}

std::vector<artifact::Precision> machine_precisions() {
  const std::string cpuinfo = read_file("/proc/cpuinfo").value_or("");
  return machine_precisions(split_words(cpuinfo_value(cpuinfo, "flags").value_or("")));
}

std::vector<artifact::Precision> parse_precisions(const std::vector<std::string>& names, std::string_view what) {
  std::vector<artifact::Precision> asked;
  for (const auto& n : names) {
    if (n == "auto") {
      for (auto p : machine_precisions()) asked.push_back(p);
    } else {
      const auto known = artifact::all_precisions();
      const auto it = std::find_if(known.begin(), known.end(), [&](auto p) { return artifact::to_string(p) == n; });
      if (it == known.end()) {
        fail(ExitCode::kUsage, fmt::format("{}: unknown precision '{}' (expected {} or auto)", what, n,
                                           artifact::join(known)));
      }
      asked.push_back(*it);
    }
  }
  std::vector<artifact::Precision> out;
  for (auto p : artifact::all_precisions()) {
    if (std::find(asked.begin(), asked.end(), p) != asked.end()) out.push_back(p);
  }
  return out;
}

}  // namespace inferbench::bench
