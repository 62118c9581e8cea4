#include "common/lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/hash.h"
#include "common/process.h"

namespace inferbench {

namespace fs = std::filesystem;

namespace {

std::string utc_now_text() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct flock whole_file(int type) {
  struct flock l {};
  l.l_type = static_cast<short>(type);
  l.l_whence = SEEK_SET;
  l.l_start = 0;
  l.l_len = 0;
  l.l_pid = 0;  // required for OFD locks
  return l;
}

// Live processes with a descriptor open on `path` (their /proc/PID/fd links).
// Only processes this user may inspect are seen.
std::vector<int> processes_holding(const fs::path& path) {
  std::vector<int> out;
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(path, ec);
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (const dirent* e = readdir(proc)) {
    const char* name = e->d_name;
    if (*name < '1' || *name > '9') continue;
    const std::string fd_dir = fmt::format("/proc/{}/fd", name);
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    while (const dirent* f = readdir(fds)) {
      if (f->d_name[0] == '.') continue;
      char link[4096];
      const ssize_t n = readlink(fmt::format("{}/{}", fd_dir, f->d_name).c_str(), link, sizeof link - 1);
      if (n <= 0) continue;
      link[n] = '\0';
      if (target == fs::path(link)) {
        out.push_back(std::atoi(name));
        break;
      }
    }
    closedir(fds);
  }
  closedir(proc);
  std::sort(out.begin(), out.end());
  return out;
}

LockHolder read_holder(int fd, const fs::path& path) {
  LockHolder h;
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  off_t at = 0;
  while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  try {
    const auto j = nlohmann::json::parse(text);
    h.pid = j.value("pid", 0);
    h.start_ticks = j.value("start_ticks", 0ULL);
    h.started_at = j.value("started_at", "");
    h.what = j.value("what", "");
  } catch (const std::exception&) {
    // Being written at this very moment, or damaged: the holders still say who.
  }
  h.holders = processes_holding(path);
  return h;
}

}  // namespace

std::string LockHolder::describe() const {
  std::string s;
  if (pid > 0) {
    s = fmt::format("{} (pid {}{}, since {})", what.empty() ? "an inferbench process" : what, pid,
                    process_alive(pid, start_ticks) ? "" : ", no longer running", started_at.empty() ? "?" : started_at);
  } else {
    s = "an inferbench process";
  }
  std::vector<std::string> others;
  for (int p : holders) {
    if (p == pid) continue;
    std::string cmd = process_command_line(p);
    if (cmd.size() > 80) cmd = cmd.substr(0, 77) + "...";
    others.push_back(fmt::format("pid {} ({})", p, cmd));
  }
  if (!others.empty()) {
    s += fmt::format("; still held by {} started by it", fmt::join(others, ", "));
  }
  return s;
}

std::optional<LockHolder> lock_holder(const fs::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock l = whole_file(F_WRLCK);
  std::optional<LockHolder> out;
  if (fcntl(fd, F_OFD_GETLK, &l) == 0 && l.l_type != F_UNLCK) out = read_holder(fd, path);
  close(fd);
  return out;
}

FileLock FileLock::acquire(const fs::path& path, const std::string& what, bool wait, const std::string& busy_message,
                           const OnWait& on_wait, bool shared_by_users) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  // No O_CLOEXEC: children inherit the descriptor, and with it the lock.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT, shared_by_users ? 0666 : 0644);
  if (fd < 0) {
    const int err = errno;
    // The folder that could not be made (a read-only parent) is the cause,
    // not the "No such file or directory" of the open that followed.
    if (ec) {
      fail(ExitCode::kOutput, fmt::format("cannot create the folder '{}' for the lock file '{}': {}",
                                          path.parent_path().string(), path.filename().string(), ec.message()));
    }
    fail(ExitCode::kOutput, fmt::format("cannot open the lock file '{}': {}", path.string(), std::strerror(err)));
  }
  if (shared_by_users) (void)fchmod(fd, 0666);  // the umask would keep other users out; fails harmlessly if not ours
  struct flock l = whole_file(F_WRLCK);
  if (fcntl(fd, F_OFD_SETLK, &l) != 0) {
    const int err = errno;
    if (err != EAGAIN && err != EACCES) {
      close(fd);
      fail(ExitCode::kOutput, fmt::format("cannot lock '{}': {}", path.string(), std::strerror(err)));
    }
    const LockHolder h = read_holder(fd, path);
    if (!wait) {
      close(fd);
      fail(kExitBusy, fmt::format("{}: '{}' is locked by {}", busy_message, path.string(), h.describe()));
    }
    if (on_wait) on_wait(h);
    for (;;) {
      l = whole_file(F_WRLCK);
      if (fcntl(fd, F_OFD_SETLKW, &l) == 0) break;
      const int e = errno;
      if (e == EINTR && StopSignals::caught() == 0) continue;
      close(fd);
      if (e == EINTR) {
        fail(static_cast<ExitCode>(StopSignals::interrupted_exit_code()),
             fmt::format("interrupted while waiting for '{}'", path.string()));
      }
      fail(ExitCode::kOutput, fmt::format("cannot lock '{}': {}", path.string(), std::strerror(e)));
    }
  }
  const pid_t self = getpid();
  const std::string text =
      nlohmann::json{{"pid", self},
                     {"start_ticks", process_start_ticks(self).value_or(0)},
                     {"started_at", utc_now_text()},
                     {"what", what},
                     {"command", process_command_line(self)}}
          .dump() +
      "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    // The lock holds without its note; only the message of a busy error is poorer.
  }
  FileLock lock;
  lock.fd_ = fd;
  lock.path_ = path;
  return lock;
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

fs::path study_lock_path(const fs::path& db, const std::string& study) {
  std::string safe;
  for (char c : study) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    safe += ok ? c : '_';
    if (safe.size() >= 60) break;
  }
  fs::path dir = db;
  dir += ".locks";
  return dir / fmt::format("{}-{}.lock", safe, content_hash(study).substr(0, 12));
}

fs::path machine_lock_path() {
  if (const char* env = std::getenv("INFERBENCH_MACHINE_LOCK")) {
    const std::string v = env;
    if (v.empty() || v == "off") return {};
    return v;
  }
  if (access("/run/lock", W_OK) == 0) return "/run/lock/inferbench-bench.lock";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0' && access(xdg, W_OK) == 0) {
    return fs::path(xdg) / "inferbench-bench.lock";
  }
  return "/tmp/inferbench-bench.lock";
}

}  // namespace inferbench
