#pragma once
// The schema of `inferbench run`'s config (run.h): every key, its type, and
// the check of a whole config against it before anything runs (and before
// --print-config prints it).
//
// Two parts, each written once:
// - config_keys(): the keys of the config's own structure: the sections,
//   "models" and the keys of each entry, the bench plan and its "timing". A
//   static table here; README's "Configuration" paragraph names each of them
//   (a test checks it).
// - The flag sections ("synth", "scan", "split", "tensors", "export",
//   "verify", "report", and each model's "train") are the flags of one
//   subcommand each (section_commands()). Their keys, types and checks are
//   read off that subcommand's own definition (cli/cmd_run.cpp builds a
//   FlagSchema from the CLI), so the config cannot drift from the commands.
//
// check_config() (after resolve_config, which checks the top level, the
// models and the flags run sets itself) refuses with Error(kInput), naming the
// source and the key's path ("models[0].train.epoch", "synth.per-class"):
// - an unknown key, with the nearest known key when one is close ("did you
//   mean 'epochs'?");
// - a value of the wrong type, naming the type expected ("expected an
//   integer, got \"thirty\"");
// - a value the flag's own check refuses (a range, a set of choices), with
//   that check's message. Checks that look at the file system (an existing
//   file) are left to the command, which runs where the paths are meant.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inferbench::pipeline {

enum class ValueType {
  kBool,          // true or false (a flag: true is the bare flag, false leaves it out)
  kInteger,       // a whole number (or a string holding one)
  kNumber,        // any number (or a string holding one)
  kString,        // text (a number is written as text)
  kStringOrNull,  // text, or null
  kObject,        // a JSON object
  kList,          // a JSON list (element type in KeySpec::element)
};

// One key of the config's structure. `path` spells nested keys with dots and
// list entries with [] ("models[].size", "bench.timing.min_count").
struct KeySpec {
  std::string path;
  ValueType type;
  ValueType element = ValueType::kString;  // for kList
  std::string help;
};
const std::vector<KeySpec>& config_keys();

// One flag of a stage command, as a config's flag object names it.
struct FlagSpec {
  std::string name;                   // without "--"
  ValueType type = ValueType::kString;  // kBool, kInteger, kNumber or kString
  bool list = false;                  // comma-separated values: a JSON list is joined
  // The flag's own checks on its rendered text: "" when accepted, else why not.
  std::vector<std::function<std::string(const std::string&)>> checks;
  std::string help;
};
// Flag section ("synth", ..., "train") -> the flags of its command.
using FlagSchema = std::map<std::string, std::vector<FlagSpec>, std::less<>>;

// The subcommand each flag section's flags belong to, as words:
// {"synth", {"data", "synth"}}, ..., {"train", {"train"}}; one entry for each
// of flag_sections() (commands.h).
const std::vector<std::pair<std::string, std::vector<std::string>>>& section_commands();

// Checks a config resolve_config returned (see the top of this file).
void check_config(const nlohmann::json& config, const FlagSchema& flags, const std::string& source);

// The known key closest to `key` by edit distance, when at most a third of
// its length away (at least 1, at most 3); "" when none is that close.
std::string nearest_key(std::string_view key, const std::vector<std::string>& known);

// The expected type in words: "an integer", "true or false", ...
std::string describe(ValueType type, ValueType element = ValueType::kString);

}  // namespace inferbench::pipeline
