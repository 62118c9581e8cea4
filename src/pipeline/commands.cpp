#include "pipeline/commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/json_number.h"

namespace inferbench::pipeline {

using nlohmann::json;

std::vector<std::string> to_flags(const json& flags, const std::string& where) {
  if (!flags.is_object()) {
    fail(ExitCode::kInput, fmt::format("{}: expected an object of flags, got {}", where, flags.dump()));
  }
  auto scalar = [&](const std::string& key, const json& v) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    if (v.is_number()) return fmt::format("{}", v.get<double>());
    fail(ExitCode::kInput, fmt::format("{}.{}: expected a string, a number, a bool or a list of them, got {}", where,
                                       key, v.dump()));
  };
  std::vector<std::string> out;
  for (const auto& [key, v] : flags.items()) {
    std::string name = key.rfind("--", 0) == 0 ? key : "--" + key;
    std::replace(name.begin(), name.end(), '_', '-');
    if (v.is_boolean()) {
      if (v.get<bool>()) out.push_back(name);
      continue;
    }
    out.push_back(name);
    if (v.is_array()) {
      std::vector<std::string> parts;
      for (const auto& x : v) parts.push_back(scalar(key, x));
      out.push_back(fmt::format("{}", fmt::join(parts, ",")));
    } else {
      out.push_back(scalar(key, v));
    }
  }
  return out;
}

namespace {

// Whether a flag run sets is also refused in the user's flag object.
enum class Refuse { kYes, kNo };

// Arguments as they are rendered, and the flags run set in them (the refused
// set of flags_run_sets is read off a rendering, so it cannot drift from it).
struct Argv {
  std::vector<std::string> args;
  std::vector<std::string> set;  // without "--"

  Argv& word(std::string w) {
    args.push_back(std::move(w));
    return *this;
  }
  Argv& flag(const std::string& name, std::string value, Refuse refuse = Refuse::kYes) {
    bare(name, refuse);
    args.push_back(std::move(value));
    return *this;
  }
  Argv& bare(const std::string& name, Refuse refuse = Refuse::kYes) {
    args.push_back("--" + name);
    if (refuse == Refuse::kYes) set.push_back(name);
    return *this;
  }
  Argv& user(const json& flags, const std::string& where) {
    const auto f = to_flags(flags, where);
    args.insert(args.end(), f.begin(), f.end());
    return *this;
  }
  Argv& then(const Argv& more) {
    args.insert(args.end(), more.args.begin(), more.args.end());
    set.insert(set.end(), more.set.begin(), more.set.end());
    return *this;
  }
};

Argv render(const SynthCommand& c) {
  return Argv{}.word("data").word("synth").flag("out", c.out.string()).user(c.user, "synth");
}

Argv render(const ScanCommand& c) {
  return Argv{}.word("data").word("scan").word(c.dataset.string()).flag("out", c.out.string()).user(c.user, "scan");
}

Argv render(const SplitCommand& c) {
  return Argv{}
      .word("data")
      .word("split")
      .flag("manifest", c.manifest.string())
      .flag("out", c.out.string())
      .user(c.user, "split");
}

Argv render(const TensorsCommand& c) {
  return Argv{}
      .word("data")
      .word("export-tensors")
      .flag("manifest", c.manifest.string())
      .flag("split", c.split)
      .flag("size", std::to_string(c.size))
      // Never refused in "tensors" (the normalization follows the models'
      // "train" flags); a config naming it gets the flag twice, which the
      // subcommand refuses as a usage error when the stage runs.
      .flag("normalization", c.normalization, Refuse::kNo)
      .flag("out", c.out.string())
      .then(c.sample > 0 ? Argv{}.flag("sample", std::to_string(c.sample)).flag("seed", std::to_string(c.seed)) : Argv{})
      .user(c.user, "tensors");
}

Argv render(const TrainCommand& c) {
  return Argv{}
      .word("train")
      .flag("manifest", c.manifest.string())
      .flag("model", c.model)
      .flag("size", std::to_string(c.size))
      .flag("out", c.out.string())
      .bare("json")  // stdout is the stage's result file, read for the training table
      .user(c.user, "models." + c.model + ".train");
}

Argv render(const ExportCommand& c) {
  return Argv{}
      .word("export")
      .word(c.checkpoint.string())
      .flag("out", c.out.string())
      .bare("json")  // stdout is the stage's result file: every format's status, read for the run's summary
      .then(c.calibration.empty() ? Argv{} : Argv{}.flag("calibration", c.calibration.string()))
      .user(c.user, "export");
}

Argv render(const VerifyCommand& c) {
  return Argv{}
      .word("verify")
      .flag("checkpoint", c.checkpoint.string())
      .flag("tensors", c.tensors.string())
      .flag("dir", c.dir.string())
      .flag("out", c.out.string())
      .user(c.user, "verify");
}

Argv render(const BenchCommand& c) {
  return Argv{}
      .word("bench")
      .flag("plan", c.plan.string())
      .flag("db", c.db.string())
      .flag("work-dir", c.work_dir.string());
}

Argv render(const ReportCommand& c) {
  return Argv{}.word("report").flag("db", c.db.string()).flag("out", c.out.string()).user(c.user, "report");
}

Argv render_train_start(bool resume) { return Argv{}.bare(resume ? "resume" : "force"); }
Argv render_study(const std::string& study) { return Argv{}.flag("study", study); }
Argv render_bench_resume() { return Argv{}.bare("resume"); }

// Flags run does not pass but refuses anyway: the stage's stdout is kept as
// its log, in the text form (--json), and `data split` reads the manifest run
// gives it, not a folder of its own (--data).
Argv refused_too(std::initializer_list<const char*> names) {
  Argv a;
  for (const char* n : names) a.bare(n);
  return a;
}

std::map<std::string, std::vector<std::string>, std::less<>> build_run_sets() {
  std::map<std::string, std::vector<std::string>, std::less<>> m;
  m["synth"] = render(SynthCommand{}).set;
  m["scan"] = render(ScanCommand{}).then(refused_too({"json"})).set;
  m["split"] = render(SplitCommand{}).then(refused_too({"data", "json"})).set;
  // The calibration stage's --sample and --seed come from the export section
  // (calibration-count, calibration-seed), so the tensors section refuses them.
  m["tensors"] = render(TensorsCommand{}).then(refused_too({"sample", "seed"})).set;
  m["train"] = render(TrainCommand{}).then(render_train_start(true)).then(render_train_start(false)).set;
  m["export"] = render(ExportCommand{}).then(refused_too({"calibration"})).set;
  m["verify"] = render(VerifyCommand{}).then(refused_too({"json"})).set;
  m["report"] = render(ReportCommand{}).then(render_study("")).set;
  return m;
}

}  // namespace

std::vector<std::string> to_args(const SynthCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const ScanCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const SplitCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const TensorsCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const TrainCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const ExportCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const VerifyCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const BenchCommand& c) { return render(c).args; }
std::vector<std::string> to_args(const ReportCommand& c) { return render(c).args; }

std::vector<std::string> train_start_args(bool resume) { return render_train_start(resume).args; }
std::vector<std::string> study_args(const std::string& study) { return render_study(study).args; }
std::vector<std::string> bench_resume_args() { return render_bench_resume().args; }

std::string train_normalization(const json& train_user_flags) {
  std::string norm = "imagenet";
  for (const char* k : {"normalization", "--normalization"}) {
    if (train_user_flags.contains(k)) norm = train_user_flags[k].get<std::string>();
  }
  return norm;
}

namespace {

// A user flag's value as a whole number >= 0: a JSON integer, or a string of
// at most 18 digits ("300", as a flag is written); nullopt for anything else.
std::optional<std::uint64_t> whole_flag_value(const json& v) {
  if (const auto n = whole_number<std::uint64_t>(v)) return n;
  if (!v.is_string()) return std::nullopt;
  const auto text = v.get<std::string>();
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!digits) return std::nullopt;
  return std::stoull(text);
}

}  // namespace

int train_seeds(const json& train_user_flags, const std::string& where) {
  constexpr std::uint64_t kMaxSeeds = 1000;  // train::kMaxSeeds (train/seeds.h, not linked here)
  int seeds = 1;
  for (const char* k : {"seeds", "--seeds"}) {
    if (!train_user_flags.is_object() || !train_user_flags.contains(k)) continue;
    const json& v = train_user_flags[k];
    const auto n = whole_flag_value(v);
    if (!n || *n < 1 || *n > kMaxSeeds) {
      fail(ExitCode::kInput, fmt::format("{}.{}: expected a whole number of seeds from 1 to {}, got {}", where, k,
                                         kMaxSeeds, v.dump()));
    }
    seeds = static_cast<int>(*n);
  }
  return seeds;
}

CalibrationWanted calibration_wanted(const json& export_user_flags, const std::string& where) {
  CalibrationWanted c;
  if (!export_user_flags.is_object()) return c;
  auto find = [&](const char* key) -> const json* {
    std::string under = key;
    std::replace(under.begin(), under.end(), '-', '_');
    for (const std::string& k : {std::string(key), "--" + std::string(key), under}) {
      if (export_user_flags.contains(k)) return &export_user_flags[k];
    }
    return nullptr;
  };
  if (const json* f = find("format")) {
    std::vector<std::string> names;
    auto add = [&](const std::string& text) {
      std::size_t start = 0;
      while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        names.push_back(text.substr(start, comma - start));
        start = comma + 1;
      }
    };
    if (f->is_string()) add(f->get<std::string>());
    if (f->is_array()) {
      for (const auto& x : *f) {
        if (x.is_string()) add(x.get<std::string>());
      }
    }
    c.wanted = std::any_of(names.begin(), names.end(), [](const std::string& n) {
      return n == "all" || (n.size() > 5 && n.compare(n.size() - 5, 5, "-int8") == 0);
    });
  }
  auto whole = [&](const char* key, std::uint64_t max) -> std::optional<std::uint64_t> {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    const auto n = whole_flag_value(*v);
    if (!n || *n > max) {
      fail(ExitCode::kInput, fmt::format("{}.{}: expected a whole number from 0 to {}, got {}", where, key, max,
                                         v->dump()));
    }
    return n;
  };
  if (const auto n = whole("calibration-count", std::uint64_t{1} << 30)) c.count = static_cast<std::size_t>(*n);
  if (const auto s = whole("calibration-seed", std::numeric_limits<std::int64_t>::max())) c.seed = *s;
  return c;
}

const std::vector<std::string>& flag_sections() {
  static const std::vector<std::string> sections{"synth", "scan", "split", "tensors",
                                                 "train", "export", "verify", "report"};
  return sections;
}

const std::vector<std::string>& flags_run_sets(std::string_view section) {
  static const auto sets = build_run_sets();
  const auto it = sets.find(section);
  if (it == sets.end()) fail(ExitCode::kInternal, fmt::format("no stage command for the config section '{}'", section));
  return it->second;
}

void check_user_flags(const json& flags, std::string_view section, const std::string& where) {
  (void)to_flags(flags, where);  // the value types
  for (const auto& n : flags_run_sets(section)) {
    std::string under = n;
    std::replace(under.begin(), under.end(), '-', '_');
    for (const auto& k : {n, under, "--" + n}) {
      if (flags.contains(k)) {
        fail(ExitCode::kInput, fmt::format("{}: '{}' is set by `inferbench run` itself; leave it out", where, k));
      }
    }
  }
}

}  // namespace inferbench::pipeline
