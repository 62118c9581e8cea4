#include "pipeline/stage.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/process.h"
#include "common/progress.h"

namespace inferbench::pipeline {

namespace fs = std::filesystem;

std::string hash_path(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(ExitCode::kInput, fmt::format("'{}': no such file or folder", path.string()));
  if (fs::is_regular_file(st)) return content_hash(std::span<const std::uint8_t>(read_file_bytes(path)));
  if (!fs::is_directory(st)) fail(ExitCode::kInput, fmt::format("'{}': not a file or folder", path.string()));
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(fs::relative(it->path(), path));
  }
  if (ec) fail(ExitCode::kInput, fmt::format("'{}': cannot list the folder: {}", path.string(), ec.message()));
  std::sort(files.begin(), files.end());
  // Large folders (a real dataset) take a while: say so.
  Progress progress(fmt::format("hash {}", path.filename().string()), files.size(), "files");
  std::string listing;
  for (const auto& rel : files) {
    listing += rel.generic_string();
    listing += '\0';
    listing += content_hash(std::span<const std::uint8_t>(read_file_bytes(path / rel)));
    listing += '\n';
    progress.advance();
  }
  progress.finish();
  return content_hash(listing);
}

std::string_view to_string(StageStatus status) {
  switch (status) {
    case StageStatus::kDone: return "done";
    case StageStatus::kSkipped: return "up to date";
    case StageStatus::kFailed: return "failed";
    case StageStatus::kNotRun: return "not run";
  }
  return "?";
}

int run_command(const fs::path& exe, const Command& command) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls until exec.
  std::vector<std::string> argv_s{exe.string()};
  argv_s.insert(argv_s.end(), command.args.begin(), command.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out_fd = -1;
  if (!command.stdout_file.empty()) {
    std::error_code ec;
    fs::create_directories(command.stdout_file.parent_path(), ec);
    out_fd = open(command.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      fail(ExitCode::kOutput, fmt::format("cannot write '{}': {}", command.stdout_file.string(), std::strerror(errno)));
    }
  }

  // Ctrl-C or SIGTERM while a stage runs: the child's process group gets it
  // (the child stops cleanly: its outputs are written atomically, a benchmark
  // marks its study interrupted), this process waits for it, then stops too
  // (the caller sees StopSignals::caught()). A second signal kills the group.
  // The child is in a group of its own and dies with this process (kill -9
  // included: die_with_parent), so no stage outlives the run.
  StopSignals stop;
  const pid_t pid = fork_child();
  if (pid < 0) {
    const int err = errno;
    if (out_fd >= 0) close(out_fd);
    fail(ExitCode::kInternal, fmt::format("cannot start '{}': {}", argv_s[0], std::strerror(err)));
  }
  if (pid == 0) {
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    execv(argv_s[0].c_str(), argv.data());
    const char msg[] = "inferbench: cannot start the stage executable\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
  if (out_fd >= 0) close(out_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      const int err = errno;
      StopSignals::remove_child(pid);
      fail(ExitCode::kInternal, fmt::format("waitpid: {}", std::strerror(err)));
    }
  }
  StopSignals::remove_child(pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

namespace {

using Clock = std::chrono::steady_clock;

// Content hashes within one Executor::run: a checkpoint is an output of its
// training and an input of export, verify and bench, and a skipped stage
// changes nothing, so each file is read once until a stage runs again.
class HashCache {
 public:
  const std::string& operator()(const fs::path& p) {
    auto it = known_.find(p.string());
    if (it == known_.end()) it = known_.emplace(p.string(), hash_path(p)).first;
    return it->second;
  }
  void clear() { known_.clear(); }  // a stage ran: any file may have changed

 private:
  std::map<std::string, std::string> known_;
};

std::string stage_key(const Stage& s, HashCache& hash) {
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& p : s.inputs) inputs[p.string()] = hash(p);
  // Commands are part of what defines a stage (flags), minus the resume
  // flags that prepare() may add later: the key is taken before prepare runs.
  nlohmann::json commands = nlohmann::json::array();
  for (const auto& c : s.commands) commands.push_back(c.args);
  return content_hash(dump_json({{"stage", s.name}, {"settings", s.settings}, {"inputs", inputs},
                                 {"commands", commands}},
                                -1));
}

}  // namespace

nlohmann::json read_json_or_null(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return nullptr;
  try {
    return nlohmann::json::parse(read_file_text(p));
  } catch (const std::exception&) {
    return nullptr;  // a damaged record is no record: the stage runs again
  }
}

namespace {

// The record is valid when its key matches and every output still hashes the same.
bool record_valid(const nlohmann::json& record, const std::string& key, HashCache& hash) {
  if (!record.is_object() || record.value("key", "") != key) return false;
  const auto outs = record.value("outputs", nlohmann::json::object());
  for (const auto& [path, value] : outs.items()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return false;
    try {
      if (hash(path) != value.get<std::string>()) return false;
    } catch (const Error&) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<StageResult> Executor::run(std::vector<Stage>& stages) const {
  std::vector<StageResult> results;
  std::set<std::string> failed;
  const auto run_start = Clock::now();
  const std::size_t n = stages.size();
  HashCache hash;
  for (std::size_t i = 0; i < n; ++i) {
    Stage& s = stages[i];
    StageResult r;
    r.name = s.name;
    const std::string head = fmt::format("[run {}/{}] {}", i + 1, n, s.title);
    const std::string elapsed = format_duration(std::chrono::duration<double>(Clock::now() - run_start).count());
    auto blocked = std::find_if(s.needs.begin(), s.needs.end(), [&](const auto& d) { return failed.count(d) > 0; });
    if (blocked != s.needs.end()) {
      r.status = StageStatus::kNotRun;
      r.reason = fmt::format("needs '{}', which failed", *blocked);
      std::fprintf(stderr, "%s: not run (%s)\n", head.c_str(), r.reason.c_str());
      failed.insert(s.name);
      results.push_back(r);
      continue;
    }
    const auto t0 = Clock::now();
    if (s.plan) s.plan(s);
    if (s.commands.empty()) {
      r.status = StageStatus::kFailed;
      r.reason = "nothing to do: the stages it reads from produced nothing";
      std::fprintf(stderr, "%s: failed (%s)\n", head.c_str(), r.reason.c_str());
      failed.insert(s.name);
      results.push_back(r);
      if (s.required) break;
      continue;
    }
    std::string key;
    try {
      key = stage_key(s, hash);
    } catch (const Error& e) {  // an input went missing or unreadable
      r.status = StageStatus::kFailed;
      r.reason = e.what();
      std::fprintf(stderr, "%s: failed (%s)\n", head.c_str(), r.reason.c_str());
      failed.insert(s.name);
      results.push_back(r);
      if (s.required) break;
      continue;
    }
    const fs::path record_file = state_dir / (s.name + ".json");
    const fs::path started_file = state_dir / (s.name + ".started.json");
    const nlohmann::json record = read_json_or_null(record_file);
    const bool partial = s.redo_partial && record.is_object() &&
                         record.value("exit_code", 0) == static_cast<int>(ExitCode::kPartial);
    if (!force && !partial && record_valid(record, key, hash)) {
      r.status = StageStatus::kSkipped;
      std::fprintf(stderr, "%s: up to date, skipped (elapsed %s)\n", head.c_str(), elapsed.c_str());
      results.push_back(r);
      continue;
    }
    const nlohmann::json started = read_json_or_null(started_file);
    const bool resumable = !force && started.is_object() && started.value("key", "") == key;
    write_file_atomic(started_file, dump_json({{"key", key}}) + "\n");
    if (s.prepare) s.prepare(s, key, resumable);
    const char* why = resumable && s.resumes ? ", continuing an interrupted attempt"
                      : partial             ? ", again: some of its items failed last time"
                                            : "";
    std::fprintf(stderr, "%s%s (elapsed %s)\n", head.c_str(), why, elapsed.c_str());
    std::fflush(stderr);

    hash.clear();  // prepare() and the commands write files
    for (const auto& c : s.commands) {
      r.exit_code = run_command(exe, c);
      if (StopSignals::caught() != 0 || s.ok_codes.count(r.exit_code) == 0) break;
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (const int code = StopSignals::interrupted_exit_code(); code != 0) {
      // SIGINT or SIGTERM reached this process: whatever the child made of
      // it, the run stops here (130 or 143); a re-run resumes.
      fail(static_cast<ExitCode>(code), fmt::format("{} during '{}'; run again to continue",
                                                     StopSignals::caught() == SIGINT ? "interrupted" : "terminated",
                                                     s.name));
    }
    if (r.exit_code == static_cast<int>(ExitCode::kInterrupted) || r.exit_code == 128 + SIGINT) {
      // The user pressed Ctrl-C: the child saw it too. Stop here; a re-run resumes.
      fail(ExitCode::kInterrupted, fmt::format("interrupted during '{}'; run again to continue", s.name));
    }
    if (s.ok_codes.count(r.exit_code) == 0) {
      r.status = StageStatus::kFailed;
      r.reason = fmt::format("exit code {}", r.exit_code);
    } else {
      nlohmann::json outputs = nlohmann::json::object();
      for (const auto& p : s.outputs) {
        std::error_code ec;
        if (!fs::exists(p, ec)) {
          r.status = StageStatus::kFailed;
          r.reason = fmt::format("finished but left no '{}'", p.string());
          break;
        }
        outputs[p.string()] = hash(p);
      }
      if (r.status != StageStatus::kFailed) {
        r.status = StageStatus::kDone;
        write_file_atomic(record_file, dump_json({{"stage", s.name},
                                                  {"key", key},
                                                  {"exit_code", r.exit_code},
                                                  {"seconds", r.seconds},
                                                  {"outputs", outputs}}) +
                                           "\n");
      }
    }
    std::fprintf(stderr, "%s: %s in %s%s\n", head.c_str(), std::string(to_string(r.status)).c_str(),
                 format_duration(r.seconds).c_str(), r.reason.empty() ? "" : fmt::format(" ({})", r.reason).c_str());
    results.push_back(r);
    if (r.status == StageStatus::kFailed) {
      failed.insert(s.name);
      if (s.required) break;  // the caller reports it; later stages are not run
    }
    if (!kill_after.empty() && kill_after == s.name) raise(SIGKILL);
  }
  return results;
}

}  // namespace inferbench::pipeline
