#pragma once
// Exclusive locks on files: one `inferbench run` per output folder, one
// process per study of a results database, one benchmark per machine.
//
// A lock is an open-file-description lock (fcntl F_OFD_SETLK on the whole
// file, Linux >= 3.15; the same semantics as flock): the kernel drops it when
// the last descriptor of it closes, so a process killed with `kill -9` never
// leaves a stale lock behind. The descriptor is deliberately inherited by
// child processes (no close-on-exec): a lock stays held while any process the
// holder started is alive, so a re-run finds leftovers of a killed run (its
// children should have died with it, src/common/process.h) instead of racing
// them. The file holds JSON naming the holder: {"pid", "start_ticks",
// "started_at", "what", "command"}; its content is advisory, the lock is the
// truth. Lock files stay in place after release (removing one would race
// another process that opened it).
//
// Errors: a lock held elsewhere is Error(kExitBusy) (exit code 8, README) with
// a message naming the file, the holder's pid, what it is doing, since when,
// and any other live process that still holds it (a leftover child).
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace inferbench {

// Exit code 8: another inferbench process holds a lock this command needs (the
// output folder, the study, the machine); 143: stopped by SIGTERM (as 130 is
// for SIGINT). Kept here to spare the whole tree a rebuild of common/error.h;
// README lists them.
inline constexpr ExitCode kExitBusy = static_cast<ExitCode>(8);
inline constexpr ExitCode kExitTerminated = static_cast<ExitCode>(143);

struct LockHolder {
  int pid = 0;                     // the process that took the lock (from the file)
  unsigned long long start_ticks = 0;
  std::string started_at;          // UTC, when it took the lock
  std::string what;                // "inferbench run --out demo-out", "bench study 'x'"
  std::vector<int> holders;        // live processes holding the lock's descriptor (/proc/*/fd)
  [[nodiscard]] std::string describe() const;  // one line for an error message
};

// Who holds the lock on `path`, or nullopt when nobody does (or there is no
// such file). Reads only; works on a read-only file.
std::optional<LockHolder> lock_holder(const std::filesystem::path& path);

class FileLock {
 public:
  // Called once when the lock is busy and `wait` is set, before blocking.
  using OnWait = std::function<void(const LockHolder&)>;

  // Creates `path` (and its folder; mode 0666 when `shared_by_users`) and
  // locks it. Busy: with wait = false, Error(kExitBusy) whose message begins
  // with `busy_message`, then names the holder; with wait = true, calls
  // on_wait and blocks until the lock is free (a SIGINT/SIGTERM caught by a
  // live StopSignals ends the wait with Error(130 or 143)). A file that cannot
  // be created or opened is Error(kOutput) naming it.
  static FileLock acquire(const std::filesystem::path& path, const std::string& what, bool wait,
                          const std::string& busy_message, const OnWait& on_wait = {},
                          bool shared_by_users = false);

  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();  // releases it (closes this process's descriptor)

  [[nodiscard]] bool held() const { return fd_ >= 0; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  void release();

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// The lock file of a study in the database at `db`: DB.locks/<name>-<hash>.lock
// (the name made file-name safe, the hash of the full name keeps two studies
// apart).
std::filesystem::path study_lock_path(const std::filesystem::path& db, const std::string& study);

// The machine-wide benchmark lock: $INFERBENCH_MACHINE_LOCK when set (a path;
// "off" or "" = none, returned as an empty path), else
// /run/lock/inferbench-bench.lock when /run/lock is writable, else
// $XDG_RUNTIME_DIR/inferbench-bench.lock, else /tmp/inferbench-bench.lock.
std::filesystem::path machine_lock_path();

}  // namespace inferbench
