#pragma once
// Resumable stages of `inferbench run`.
//
// A stage is one or more `inferbench` subcommands run as child processes (so a
// framework that crashes takes down its stage, never the run). Whether a stage
// is complete and valid is decided by content, not by time stamps:
//
//   key     = hash(stage name, its settings, the content hash of every input)
//   record  = STATE_DIR/<stage>.json: the key, and the content hash of every
//             output the stage left behind
//
// A stage is skipped when its record exists, holds the current key, and every
// recorded output still has the recorded hash. Change an input (a new image,
// another epoch count, a retrained checkpoint) and the stages that read it run
// again, and so do the stages downstream of them, because their inputs (the
// outputs of the first) changed too. A record is written only after the stage
// succeeded, atomically, so a run killed at any point leaves either no record
// or a complete one for every stage.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace inferbench::pipeline {

// Content hash of a file (its bytes) or a folder (every regular file under it,
// by relative path and content, in sorted order; symlinks are followed once,
// loops are an Error(kInput)). Throws Error(kInput) naming a missing path.
std::string hash_path(const std::filesystem::path& path);

// The JSON in a file, or null when the file is missing or not valid JSON (a
// damaged record counts as no record).
nlohmann::json read_json_or_null(const std::filesystem::path& path);

// One child command: the subcommand's arguments (without the program) and
// where its stdout goes ("" = this process's stdout).
struct Command {
  std::vector<std::string> args;
  std::filesystem::path stdout_file;
};

struct Stage {
  std::string name;   // unique, file-name safe: "train-resnet50"
  std::string title;  // for people: "train resnet50 (64x64, 10 epochs)"
  nlohmann::json settings = nlohmann::json::object();  // what defines it besides its inputs
  std::vector<std::filesystem::path> inputs;   // hashed when the stage is about to run
  std::vector<std::filesystem::path> outputs;  // must exist afterwards; hashed into the record
  std::vector<Command> commands;
  std::set<int> ok_codes{0};  // exit codes meaning the stage finished (6 = finished, some items failed)
  bool required = true;       // a failure ends the run; otherwise it is recorded and the run goes on
  std::vector<std::string> needs;  // stages whose failure makes this one pointless (skipped)
  bool resumes = false;            // prepare() continues an interrupted attempt (said in the progress line)
  // A record of an attempt that ended with 6 (finished, some items failed) is
  // not up to date: the next run tries the stage again (an export whose INT8
  // quantizer was missing is retried once it is installed), where a record
  // with 0 is final.
  bool redo_partial = false;
  // Called at the stage's turn, before its key is taken: fills in inputs and
  // commands that depend on what earlier stages produced (the benchmark plan
  // lists the exports that exist). A stage left with no command fails.
  std::function<void(Stage& stage)> plan;
  // Called with the stage's key just before it runs (not when it is skipped):
  // may adjust the commands, e.g. add --resume when an interrupted attempt
  // with the same key left work behind (`resumable` says whether one did).
  std::function<void(Stage& stage, const std::string& key, bool resumable)> prepare;
};

enum class StageStatus { kDone, kSkipped, kFailed, kNotRun };

struct StageResult {
  std::string name;
  StageStatus status = StageStatus::kNotRun;
  int exit_code = 0;  // of the last command run
  double seconds = 0;
  std::string reason;  // why it failed or did not run
};

std::string_view to_string(StageStatus status);

// Runs stages in order in `state_dir`. `exe` is the inferbench binary.
// force: ignore existing records. Progress ("[run 3/12] title") on stderr.
// After a stage named `kill_after` (a test hook: INFERBENCH_RUN_KILL_AFTER),
// the process kills itself with SIGKILL, as a user's `kill -9` between stages.
struct Executor {
  std::filesystem::path exe;
  std::filesystem::path state_dir;
  bool force = false;
  std::string kill_after;

  std::vector<StageResult> run(std::vector<Stage>& stages) const;
};

// Runs `exe args...` with stdout to `stdout_file` (or inherited), stderr
// inherited, and waits. Returns the exit code, or 128 + signal number. The
// child runs in a process group of its own and is killed when this process
// dies (common/process.h: die_with_parent); SIGINT and SIGTERM received while
// it runs are forwarded to its group and recorded (StopSignals::caught()),
// and Executor::run then stops with 130 or 143.
int run_command(const std::filesystem::path& exe, const Command& command);

}  // namespace inferbench::pipeline
