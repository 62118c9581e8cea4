// The parent side of a worker: spawn, limits, wait, and reading back what the
// child left.
#include "worker/worker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "common/process.h"

namespace inferbench::worker {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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
    // SIGINT/SIGTERM reached the parent (a live StopSignals): the run in
    // flight is lost anyway, so the worker's group ends now and the caller
    // records the interruption.
    if (r < 0 && StopSignals::caught() != 0) kill(-pid, SIGKILL);
  }
  close(fd);
  return exited;
}

double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
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
  const std::optional<double> busy_before = machine_busy_cpu_seconds();
  const double self_before = own_cpu_seconds();
  const pid_t pid = fork_child();  // its own group, so a timeout kills the worker's children too
  if (pid < 0) {
    out.status = Status::kSpawnFailed;
    out.reason = fmt::format("fork failed: {}", std::strerror(errno));
    return out;
  }
  if (pid == 0) {
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
    if (StopSignals::caught() != 0) kill(-pid, SIGKILL);
  }
  StopSignals::remove_child(pid);
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.max_rss_kb = ru.ru_maxrss;
  out.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  if (const auto busy_after = machine_busy_cpu_seconds(); busy_before && busy_after) {
    out.machine_busy_seconds = std::max(0.0, *busy_after - *busy_before - (own_cpu_seconds() - self_before));
  }
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

}  // namespace inferbench::worker
