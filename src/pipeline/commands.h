#pragma once
// The command lines of `inferbench run`'s stages, in one place.
//
// Every stage is an `inferbench` subcommand run as a child process (stage.h).
// Each subcommand run gives a stage has a spec here: typed fields for what run
// sets itself (paths, the model, its size) and the flag object the user's
// config gives that command (`user`, see to_flags). to_args renders the
// arguments (without the program): first the subcommand and the flags run
// sets, in a fixed order, then the user's flags in to_flags order. A flag name
// of a stage command is written only here.
//
// The arguments are part of a stage's key (stage.h): the same spec renders the
// same arguments, byte for byte, so an unchanged study is skipped on a re-run.
// The flags some stages add when they start (continue an interrupted attempt,
// name the study) are not part of the key and have their own functions below.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace inferbench::pipeline {

// {"epochs": 10, "augment": "light", "zero-init-residual": true} ->
// --epochs 10 --augment light --zero-init-residual (keys in the JSON object's
// order, which is sorted; a leading "--" is optional, '_' reads as '-'; true
// is a bare flag, false leaves it out, an array is comma-joined). Error(kInput)
// naming `where` for a value that is not a string, number, bool or array of
// those, or for flags that are not an object.
std::vector<std::string> to_flags(const nlohmann::json& flags, const std::string& where);

// `data synth --out OUT <user>`
struct SynthCommand {
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
};

// `data scan DATASET --out OUT <user>`
struct ScanCommand {
  std::filesystem::path dataset;
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
};

// `data split --manifest MANIFEST --out OUT <user>`
struct SplitCommand {
  std::filesystem::path manifest;
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
};

// `data export-tensors --manifest M --split SPLIT --size N --normalization X --out OUT <user>`
// [--sample N --seed S] (the INT8 calibration images: a seeded draw of the training split)
struct TensorsCommand {
  std::filesystem::path manifest;
  std::string split = "test";
  int size = 0;
  std::string normalization;
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
  std::size_t sample = 0;  // 0: the whole split
  std::uint64_t seed = 1;
};

// `train --manifest M --model NAME --size N --out OUT --json <user>`; when it
// starts, train_start_args.
struct TrainCommand {
  std::filesystem::path manifest;
  std::string model;
  int size = 0;
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
};

// `export CHECKPOINT --out OUT --json [--calibration DIR] <user>`
struct ExportCommand {
  std::filesystem::path checkpoint;
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
  std::filesystem::path calibration = {};  // empty: no INT8 variants
};

// `verify --checkpoint C --tensors T --dir EXPORTS --out OUT <user>`
struct VerifyCommand {
  std::filesystem::path checkpoint;
  std::filesystem::path tensors;
  std::filesystem::path dir;
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
};

// `bench --plan PLAN --db DB --work-dir WORK`; when it starts, study_args
// (and bench_resume_args). The user's settings are in the plan file.
struct BenchCommand {
  std::filesystem::path plan;
  std::filesystem::path db;
  std::filesystem::path work_dir;
};

// `report --db DB --out OUT <user>`; when it starts, study_args.
struct ReportCommand {
  std::filesystem::path db;
  std::filesystem::path out;
  nlohmann::json user = nlohmann::json::object();
};

// Each throws Error(kInput) as to_flags does for user flags of a wrong type,
// naming the config section ("models.NAME.train" for train); resolve_config
// has checked them before run_study builds any command.
std::vector<std::string> to_args(const SynthCommand& c);
std::vector<std::string> to_args(const ScanCommand& c);
std::vector<std::string> to_args(const SplitCommand& c);
std::vector<std::string> to_args(const TensorsCommand& c);
std::vector<std::string> to_args(const TrainCommand& c);
std::vector<std::string> to_args(const ExportCommand& c);
std::vector<std::string> to_args(const VerifyCommand& c);
std::vector<std::string> to_args(const BenchCommand& c);
std::vector<std::string> to_args(const ReportCommand& c);

// Appended to a train command when it starts: {"--resume"} to continue an
// interrupted attempt from its last epoch, else {"--force"} (start over).
std::vector<std::string> train_start_args(bool resume);
// Appended to bench and report commands when they start: {"--study", STUDY}.
std::vector<std::string> study_args(const std::string& study);
// Appended to a bench command after study_args to add to an existing study.
std::vector<std::string> bench_resume_args();

// The normalization a model's `train` user flags select ("imagenet" when they
// name none), which its test tensors are preprocessed with too.
std::string train_normalization(const nlohmann::json& train_user_flags);

// The number of seeds a model's `train` user flags ask for (`"seeds": N`,
// `train --seeds N`; 1 when they name none). N seeds train N checkpoints
// (train/seeds.h); the first seed's, OUT/model.ckpt, is the one exported and
// benchmarked. Error(kInput) naming `where` for a value that is not a whole
// number from 1 to 1000 (train::kMaxSeeds).
int train_seeds(const nlohmann::json& train_user_flags, const std::string& where);

// The INT8 calibration the `export` user flags ask for: wanted unless their
// "format" names formats and none of them is "all" or a calibrated one (a
// name ending in "-int8"); the images drawn ("calibration-count", default 300,
// 0 = the whole training split) and the seed ("calibration-seed", default 1).
// `inferbench run` draws them from the training split once per preprocessing
// (`data export-tensors --sample`) and passes `export --calibration DIR`.
// Error(kInput) naming `where` for a count or seed that is not a whole number.
struct CalibrationWanted {
  bool wanted = true;
  std::size_t count = 300;
  std::uint64_t seed = 1;
};
CalibrationWanted calibration_wanted(const nlohmann::json& export_user_flags, const std::string& where);

// The config sections whose value is the flag object of one stage command:
// "synth", "scan", "split", "tensors", "train" (each model's "train"),
// "export", "verify", "report".
const std::vector<std::string>& flag_sections();

// The flags (without "--") that run gives the command of `section` itself, or
// that would break what run reads from it (--json where run keeps its text
// output as the log), taken from the specs' rendering above. Error(kInternal)
// for a section that is not one of flag_sections().
const std::vector<std::string>& flags_run_sets(std::string_view section);

// Checks a config's flag object for the command of `section`: the value types
// (as to_flags), and that it names none of flags_run_sets(section), as "out",
// "--out" or with '_' for '-'. Error(kInput) naming `where` and the key.
void check_user_flags(const nlohmann::json& flags, std::string_view section, const std::string& where);

}  // namespace inferbench::pipeline
