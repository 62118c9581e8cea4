#include "worker/worker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <thread>
#include <atomic>
#include <mutex>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "data/tensor_file.h"

namespace inferbench::worker {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

nlohmann::json to_json(const BenchSpec& b) {
  return {{"scenario", b.scenario},         {"batch", b.batch},
          {"warmup_count", b.warmup_count}, {"warmup_seconds", b.warmup_seconds},
          {"min_count", b.min_count},       {"min_seconds", b.min_seconds},
          {"max_count", b.max_count},       {"max_seconds", b.max_seconds},
          {"concurrency", b.concurrency}};
}

BenchSpec bench_from_json(const nlohmann::json& j) {
  BenchSpec b;
  b.scenario = j.value("scenario", b.scenario);
  b.batch = j.value("batch", b.batch);
  b.warmup_count = j.value("warmup_count", b.warmup_count);
  b.warmup_seconds = j.value("warmup_seconds", b.warmup_seconds);
  b.min_count = j.value("min_count", b.min_count);
  b.min_seconds = j.value("min_seconds", b.min_seconds);
  b.max_count = j.value("max_count", b.max_count);
  b.max_seconds = j.value("max_seconds", b.max_seconds);
  b.concurrency = j.value("concurrency", b.concurrency);
  if (b.scenario != "single-stream" && b.scenario != "batch" && b.scenario != "offline" && b.scenario != "cold-start") {
    fail(ExitCode::kInput, fmt::format("worker job: unknown scenario '{}'", b.scenario));
  }
  if (b.batch < 1 || b.concurrency < 1 || b.warmup_count < 0 || b.min_count < 1 || b.max_seconds <= 0) {
    fail(ExitCode::kInput, "worker job: batch, concurrency and min_count must be >= 1, max_seconds > 0");
  }
  return b;
}

nlohmann::json to_json(const Job& job) {
  return {{"mode", job.mode}, {"bench", to_json(job.bench)}, {"backend", job.backend}, {"artifact", job.artifact.string()}, {"options", job.options},
          {"tensors", job.tensors.string()}, {"dir", job.dir.string()}, {"threads", job.threads},
          {"batch", job.batch}, {"write_logits", job.write_logits}};
}

Job job_from_json(const nlohmann::json& j) {
  Job job;
  try {
    job.mode = j.value("mode", "verify");
    if (j.contains("bench")) job.bench = bench_from_json(j["bench"]);
    job.backend = j.at("backend").get<std::string>();
    job.artifact = j.at("artifact").get<std::string>();
    job.options = j.value("options", backends::Options{});
    job.tensors = j.at("tensors").get<std::string>();
    job.dir = j.at("dir").get<std::string>();
    job.threads = j.value("threads", 1);
    job.batch = j.value("batch", 32);
    job.write_logits = j.value("write_logits", true);
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("malformed worker job: {}", e.what()));
  }
  if (job.threads < 1 || job.batch < 1) fail(ExitCode::kInput, "worker job: threads and batch must be at least 1");
  if (job.mode != "verify" && job.mode != "bench") fail(ExitCode::kInput, "worker job: mode must be verify or bench");
  return job;
}

std::string_view to_string(Status s) {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kFailed: return "failed";
    case Status::kCrashed: return "crashed";
    case Status::kTimedOut: return "timed-out";
    case Status::kOutOfMemory: return "out-of-memory";
    case Status::kSpawnFailed: return "spawn-failed";
  }
  return "unknown";
}

fs::path self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) fail(ExitCode::kInternal, "cannot read /proc/self/exe: " + ec.message());
  return p;
}

namespace {

std::string tail_of(const fs::path& file, std::size_t max_lines, std::size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_bytes) s = s.substr(s.size() - max_bytes);
  std::size_t pos = s.size();
  std::size_t lines = 0;
  while (pos > 0) {
    const std::size_t nl = s.rfind('\n', pos - 1);
    if (nl == std::string::npos) break;
    if (nl + 1 < s.size() && ++lines > max_lines) {
      s = s.substr(nl + 1);
      break;
    }
    pos = nl;
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Waits for `pid` up to `timeout_s`; returns false on timeout. pidfd + poll:
// no polling loop, no signal handler.
bool wait_exit(pid_t pid, double timeout_s) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    // Old kernel: fall back to a blocking wait (no timeout enforcement).
    return true;
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  bool exited = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (r > 0) {
      exited = true;
      break;
    }
    if (r < 0 && errno != EINTR) {
      exited = true;  // cannot wait with a timeout; wait4 below blocks
      break;
    }
  }
  close(fd);
  return exited;
}

}  // namespace

Outcome run_worker(const fs::path& exe, const Job& job, const Limits& limits) {
  std::error_code ec;
  fs::create_directories(job.dir, ec);
  if (ec) fail(ExitCode::kOutput, fmt::format("cannot create worker folder '{}': {}", job.dir.string(), ec.message()));
  const fs::path job_file = job.dir / "job.json";
  const fs::path err_file = job.dir / "stderr.txt";
  const fs::path result_file = job.dir / "result.json";
  fs::remove(result_file, ec);
  write_file_atomic(job_file, dump_json(to_json(job), 2) + "\n");

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls until exec.
  const std::string exe_s = exe.string(), job_s = job_file.string(), err_s = err_file.string();
  std::vector<std::string> args{exe_s, "--quiet", "worker", "--job", job_s};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  Outcome out;
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    out.status = Status::kSpawnFailed;
    out.reason = fmt::format("fork failed: {}", std::strerror(errno));
    return out;
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own group, so a timeout kills the worker's children too
    const int err = open(err_s.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (err >= 0) dup2(err, STDERR_FILENO);
    if (null >= 0) dup2(null, STDOUT_FILENO), dup2(null, STDIN_FILENO);
    rlimit core{0, 0};
    setrlimit(RLIMIT_CORE, &core);
    if (limits.memory_bytes > 0) {
      rlimit as{limits.memory_bytes, limits.memory_bytes};
      setrlimit(RLIMIT_AS, &as);
    }
    execv(exe_s.c_str(), argv.data());
    const char msg[] = "inferbench: cannot start the worker executable\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }

  const bool exited = wait_exit(pid, limits.timeout_s);
  if (!exited) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.max_rss_kb = ru.ru_maxrss;
  out.stderr_tail = tail_of(err_file, 20, 4000);

  if (!exited) {
    out.status = Status::kTimedOut;
    out.reason = fmt::format("no result after {:.0f} s: killed", limits.timeout_s);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
    const bool oom_hint = out.stderr_tail.find("bad_alloc") != std::string::npos ||
                          out.stderr_tail.find("Cannot allocate memory") != std::string::npos;
    if (out.signal == SIGKILL || (limits.memory_bytes > 0 && oom_hint)) {
      out.status = Status::kOutOfMemory;
      out.reason = fmt::format("killed by signal {} ({}){}", out.signal, strsignal(out.signal),
                               out.signal == SIGKILL ? ": most likely the kernel's out-of-memory killer" : "");
    } else {
      out.status = Status::kCrashed;
      out.reason = fmt::format("crashed: signal {} ({})", out.signal, strsignal(out.signal));
    }
  } else {
    out.exit_code = WEXITSTATUS(status);
    if (out.exit_code == kWorkerOutOfMemory) {
      out.status = Status::kOutOfMemory;
      out.reason = limits.memory_bytes > 0
                       ? fmt::format("out of memory (limit {} MiB)", limits.memory_bytes >> 20)
                       : std::string("out of memory");
    } else if (out.exit_code != 0) {
      out.status = Status::kFailed;
      out.reason = fmt::format("exited with status {}", out.exit_code);
      // The worker's own one-line error is the best reason there is.
      constexpr std::string_view kTag = "inferbench worker: error: ";
      const auto pos = out.stderr_tail.rfind(kTag);
      if (pos != std::string::npos) {
        const auto from = pos + kTag.size();
        // Framework messages can span lines (OpenCV's do): one line, bounded.
        std::string msg = out.stderr_tail.substr(from, 600);
        for (char& ch : msg) ch = ch == '\n' ? ' ' : ch;
        out.reason += ": " + msg;
      }
    } else {
      try {
        out.result = nlohmann::json::parse(read_file_text(result_file));
        out.status = Status::kOk;
      } catch (const std::exception& e) {
        out.status = Status::kFailed;
        out.reason = fmt::format("exited 0 but left no readable result.json ({})", e.what());
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// The child
// ---------------------------------------------------------------------------

namespace {

// /proc/self/status fields in kB (VmRSS: now, VmHWM: peak); 0 when unreadable.
std::int64_t proc_status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtoll(line.c_str() + key.size(), nullptr, 10);
  }
  return 0;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// The bench body: load (already done and timed by the caller), first
// inference, warm-up, then the timed loop until the stopping rule holds.
// Timed region = backend->infer() on a batch already in memory in the
// layout the artifact takes (the same boundary for every backend).
int run_bench(const Job& job, const backends::BackendInfo& info, const artifact::Artifact& artifact,
              backends::Backend& backend, const data::SplitTensors& tensors, double load_s) {
  const BenchSpec& b = job.bench;
  const std::int64_t rss_after_load = proc_status_kb("VmRSS");
  const auto& shape = tensors.x.shape;
  const std::int64_t per_image = shape[1] * shape[2] * shape[3];
  const auto n = static_cast<std::int64_t>(tensors.count);
  // The batch: the split's first images, cycled when the batch is larger.
  std::vector<float> input(static_cast<std::size_t>(b.batch * per_image));
  for (std::int64_t i = 0; i < b.batch; ++i) {
    std::copy_n(tensors.x.as_f32() + (i % n) * per_image, per_image, input.data() + i * per_image);
  }
  const std::vector<std::int64_t> bshape{b.batch, shape[1], shape[2], shape[3]};

  auto t = Clock::now();
  const backends::Logits first = backend.infer(input.data(), bshape);
  const double first_s = std::chrono::duration<double>(Clock::now() - t).count();
  if (first.batch != b.batch) {
    fail(ExitCode::kInput, fmt::format("backend '{}' returned {} rows for a batch of {}", info.name, first.batch,
                                       b.batch));
  }
  nlohmann::json result{{"mode", "bench"},
                        {"scenario", b.scenario},
                        {"backend", info.name},
                        {"backend_version", info.version},
                        {"settings", backend.settings()},
                        {"artifact", artifact::to_json(artifact)},
                        {"artifact_path", artifact.path.string()},
                        {"batch", b.batch},
                        {"threads", job.threads},
                        {"load_seconds", load_s},
                        {"first_inference_seconds", first_s},
                        {"rss_after_load_kb", rss_after_load}};
  if (b.scenario == "cold-start") {
    result["peak_rss_kb"] = proc_status_kb("VmHWM");
    write_file_atomic(job.dir / "result.json", dump_json(result, 2) + "\n");
    return 0;
  }

  // Warm-up: not counted.
  t = Clock::now();
  for (int i = 0; i < b.warmup_count || std::chrono::duration<double>(Clock::now() - t).count() < b.warmup_seconds;
       ++i) {
    backend.infer(input.data(), bshape);
  }

  const int callers = b.scenario == "offline" ? b.concurrency : 1;
  if (callers > 1 && !info.concurrent_infer) {
    fail(ExitCode::kUsage, fmt::format("backend '{}' does not take concurrent requests; use its own asynchronous "
                                       "options (e.g. openvino: hint=throughput async_requests=N) with concurrency 1",
                                       info.name));
  }
  std::vector<std::vector<std::int64_t>> samples(static_cast<std::size_t>(callers));
  std::atomic<std::int64_t> done{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> short_stop{false};
  const double cpu0 = cpu_seconds();
  const auto start = Clock::now();
  auto should_stop = [&](std::int64_t count) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed >= b.max_seconds || (b.max_count > 0 && count >= b.max_count)) {
      if (count < b.min_count || elapsed < b.min_seconds) short_stop = true;
      return true;
    }
    return count >= b.min_count && elapsed >= b.min_seconds;
  };
  auto loop = [&](std::size_t k) {
    // Each caller its own copy: a framework may not be handed one buffer from two threads.
    std::vector<float> mine = input;
    auto& out = samples[k];
    out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(b.min_count, 1024)));
    while (!stop.load(std::memory_order_relaxed)) {
      const auto s0 = Clock::now();
      backend.infer(mine.data(), bshape);
      const auto s1 = Clock::now();
      out.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(s1 - s0).count());
      if (should_stop(++done)) stop = true;
    }
  };
  std::exception_ptr error;
  if (callers == 1) {
    loop(0);
  } else {
    std::mutex m;
    std::vector<std::thread> pool;
    for (int k = 0; k < callers; ++k) {
      pool.emplace_back([&, k] {
        try {
          loop(static_cast<std::size_t>(k));
        } catch (...) {
          const std::lock_guard lock(m);
          if (!error) error = std::current_exception();
          stop = true;
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu0;

  std::vector<std::int64_t> all;
  for (const auto& v : samples) all.insert(all.end(), v.begin(), v.end());
  data::write_npy(job.dir / "samples.npy", all.data(), {static_cast<std::int64_t>(all.size())});
  result["samples"] = "samples.npy";
  result["count"] = static_cast<std::int64_t>(all.size());
  result["concurrency"] = callers;
  result["wall_seconds"] = wall;
  result["cpu_seconds"] = cpu;
  result["cpu_utilisation"] = wall > 0 ? cpu / wall : 0.0;  // in cores: 2.0 = two cores busy
  result["images_per_second"] = wall > 0 ? static_cast<double>(all.size()) * b.batch / wall : 0.0;
  result["rss_steady_kb"] = proc_status_kb("VmRSS");
  result["peak_rss_kb"] = proc_status_kb("VmHWM");
  result["stopped_short"] = short_stop.load();
  write_file_atomic(job.dir / "result.json", dump_json(result, 2) + "\n");
  return 0;
}

int run_job(const fs::path& job_file) {
  const Job job = job_from_json([&] {
    try {
      return nlohmann::json::parse(read_file_text(job_file));
    } catch (const nlohmann::json::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': not valid JSON: {}", job_file.string(), e.what()));
    }
  }());
  const backends::BackendInfo& info = backends::find_backend(job.backend);
  backends::check_options(info, job.options);
  const artifact::Artifact artifact = artifact::describe(job.artifact);
  bool format_ok = false;
  for (const auto& f : info.formats) format_ok = format_ok || f == artifact.format;
  if (!format_ok) {
    fail(ExitCode::kUsage, fmt::format("backend '{}' does not load {} files ('{}')", info.name, artifact.format,
                                       artifact.path.string()));
  }
  if (!info.loads(artifact)) {
    fail(ExitCode::kUsage, fmt::format("backend '{}' loads {} artifacts, not {} ('{}')", info.name,
                                       artifact::join(info.precisions), artifact::to_string(artifact.precision),
                                       artifact.path.string()));
  }
  const data::SplitTensors tensors = data::load_split_tensors(job.tensors);
  const auto& shape = tensors.x.shape;  // [N, C, H, W] or [N, H, W, C]
  const bool nhwc = tensors.preprocess.layout == data::Layout::kNHWC;
  const std::string layout = nhwc ? "NHWC" : "NCHW";
  if (layout != artifact.layout) {
    fail(ExitCode::kInput, fmt::format("'{}' expects {} input, the tensors in '{}' are {}", artifact.path.string(),
                                       artifact.layout, job.tensors.string(), layout));
  }
  const std::int64_t h = nhwc ? shape[1] : shape[2], w = nhwc ? shape[2] : shape[3];
  if ((artifact.height > 0 && artifact.height != h) || (artifact.width > 0 && artifact.width != w)) {
    fail(ExitCode::kInput, fmt::format("'{}' expects {}x{} images, the tensors in '{}' are {}x{}",
                                       artifact.path.string(), artifact.height, artifact.width,
                                       job.tensors.string(), h, w));
  }

  auto backend = backends::create_backend(info);
  const auto t0 = Clock::now();
  backend->load(artifact, job.options, job.threads);
  const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (job.mode == "bench") return run_bench(job, info, artifact, *backend, tensors, load_s);

  const auto n = static_cast<std::int64_t>(tensors.count);
  const std::int64_t per_image = shape[1] * shape[2] * shape[3];
  const float* x = tensors.x.as_f32();
  const std::int64_t* y = tensors.y.as_i64();
  std::vector<float> logits;
  std::int64_t classes = 0, correct = 0;
  const auto t1 = Clock::now();
  for (std::int64_t i = 0; i < n; i += job.batch) {
    const std::int64_t b = std::min<std::int64_t>(job.batch, n - i);
    std::vector<std::int64_t> bshape{b, shape[1], shape[2], shape[3]};
    const backends::Logits out = backend->infer(x + i * per_image, bshape);
    if (out.batch != b || out.classes < 1 ||
        static_cast<std::int64_t>(out.values.size()) != out.batch * out.classes) {
      fail(ExitCode::kInput, fmt::format("backend '{}' returned {} values as [{}, {}] for a batch of {}", info.name,
                                         out.values.size(), out.batch, out.classes, b));
    }
    if (classes == 0) classes = out.classes;
    if (out.classes != classes) fail(ExitCode::kInput, "backend returned a different class count between batches");
    for (std::int64_t r = 0; r < b; ++r) {
      const float* row = out.values.data() + r * classes;
      const auto best = std::max_element(row, row + classes) - row;
      if (best == y[i + r]) ++correct;
    }
    logits.insert(logits.end(), out.values.begin(), out.values.end());
  }
  const double infer_s = std::chrono::duration<double>(Clock::now() - t1).count();
  if (!tensors.classes.empty() && classes != static_cast<std::int64_t>(tensors.classes.size())) {
    fail(ExitCode::kInput, fmt::format("'{}' gives {} outputs, the tensors have {} classes", artifact.path.string(),
                                       classes, tensors.classes.size()));
  }
  if (job.write_logits) data::write_npy(job.dir / "logits.npy", logits.data(), {n, classes});

  nlohmann::json result{{"backend", info.name},
                        {"backend_version", info.version},
                        {"settings", backend->settings()},
                        {"artifact", artifact::to_json(artifact)},
                        {"artifact_path", artifact.path.string()},
                        {"count", n},
                        {"classes", classes},
                        {"top1", n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0},
                        {"load_seconds", load_s},
                        {"infer_seconds", infer_s},
                        {"batch", job.batch},
                        {"threads", job.threads}};
  if (job.write_logits) result["logits"] = "logits.npy";
  write_file_atomic(job.dir / "result.json", dump_json(result, 2) + "\n");
  return 0;
}

}  // namespace

int worker_main(const fs::path& job_file) {
  try {
    return run_job(job_file);
  } catch (const std::bad_alloc&) {
    std::fputs("inferbench worker: error: out of memory (std::bad_alloc)\n", stderr);
    return kWorkerOutOfMemory;
  } catch (const Error& e) {
    std::fprintf(stderr, "inferbench worker: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    // Frameworks report a failed allocation in their own words.
    const std::string what = e.what();
    for (const char* oom : {"bad_alloc", "can't allocate memory", "Cannot allocate memory", "out of memory"}) {
      if (what.find(oom) != std::string::npos) {
        std::fprintf(stderr, "inferbench worker: error: out of memory: %s\n", e.what());
        return kWorkerOutOfMemory;
      }
    }
    std::fprintf(stderr, "inferbench worker: error: %s\n", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
}

}  // namespace inferbench::worker
