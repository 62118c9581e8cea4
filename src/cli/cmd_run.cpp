// `inferbench run`: the whole study in one command (see pipeline/run.h).
#include <fmt/format.h>

#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "pipeline/config_schema.h"
#include "pipeline/run.h"

namespace inferbench::cli {

namespace fs = std::filesystem;

namespace {

// The flags of each config flag section, read off the subcommands' own
// definitions (pipeline/config_schema.h): names, types, lists and checks.
pipeline::FlagSchema flag_schema(CLI::App& root) {
  pipeline::FlagSchema schema;
  for (const auto& [section, words] : pipeline::section_commands()) {
    CLI::App* cmd = &root;
    for (const auto& w : words) cmd = cmd->get_subcommand(w);
    auto& flags = schema[section];
    for (CLI::Option* o : cmd->get_options()) {
      if (o->get_lnames().empty() || o->get_lnames().front() == "help") continue;  // positionals, --help
      pipeline::FlagSpec f;
      f.name = o->get_lnames().front();
      f.help = o->get_description();
      if (o->get_items_expected_max() == 0) {  // a flag (add_flag: expected(0))
        f.type = pipeline::ValueType::kBool;
      } else {
        const std::string type = o->get_type_name().substr(0, o->get_type_name().find(':'));
        f.type = type == "INT" || type == "UINT" ? pipeline::ValueType::kInteger
                 : type == "FLOAT"               ? pipeline::ValueType::kNumber
                                                 : pipeline::ValueType::kString;
        f.list = o->get_delimiter() != '\0' || o->get_items_expected_max() > 1;
      }
      for (int i = 0;; ++i) {
        CLI::Validator* v = nullptr;
        try {
          v = o->get_validator(i);
        } catch (const CLI::OptionNotFound&) {
          break;
        }
        // The file system is the command's to look at, where it runs.
        const std::string what = v->get_description();
        if (!v->get_active() || what == "FILE" || what == "DIR" || what.rfind("PATH", 0) == 0) continue;
        f.checks.emplace_back([check = *v](const std::string& text) {
          std::string copy = text;
          return check(copy);
        });
      }
      flags.push_back(std::move(f));
    }
  }
  return schema;
}

}  // namespace

void add_run_commands(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string data, config, out = "inferbench-out";
    bool force = false, print_config = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "The whole study in one command: data (scan, split, balanced test split) -> train the three architectures -> "
      "export every format -> verify every export -> benchmark every available backend -> report. With no "
      "arguments it uses the built-in synthetic fruit set. Each stage runs as a child process and is skipped on a "
      "re-run when its inputs and settings are unchanged (content hashes); an interrupted run continues where it "
      "stopped.");
  cmd->add_option("--data", f->data,
                  "Dataset folder: <class>/ folders of images, or train/ and test/ folders of them (e.g. the Kaggle "
                  "fruit set's MY_data); default: the built-in synthetic fruit set");
  cmd->add_option("--config", f->config,
                  "A study description (JSON, merged over the defaults; see --print-config and the README)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", f->out, "Output folder (data, checkpoints, exports, results.db, report)");
  cmd->add_flag("--force", f->force, "Run every stage again, even those that are up to date");
  cmd->add_flag("--print-config", f->print_config, "Print the effective configuration as JSON and exit");
  cmd->callback([f, &exit_code, &app] {
    nlohmann::json overlay = nlohmann::json::object();
    std::string source = "defaults";
    if (!f->config.empty()) {
      source = f->config;
      try {
        overlay = nlohmann::json::parse(read_file_text(f->config));
      } catch (const nlohmann::json::parse_error& e) {
        fail(ExitCode::kInput, fmt::format("'{}': not valid JSON: {}", f->config, e.what()));
      }
    }
    if (!f->data.empty()) overlay["data"] = f->data;
    const nlohmann::json config = pipeline::resolve_config(overlay, source);
    pipeline::check_config(config, flag_schema(app), source);  // before --print-config shows it
    if (f->print_config) {
      std::fputs((dump_json(config) + "\n").c_str(), stdout);
      return;
    }
    pipeline::RunOptions opts;
    opts.out = f->out;
    std::error_code ec;
    opts.exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) fail(ExitCode::kInternal, fmt::format("cannot find this program's path: {}", ec.message()));
    opts.force = f->force;
    if (const char* k = std::getenv("INFERBENCH_RUN_KILL_AFTER")) opts.kill_after = k;  // test hook
    exit_code = pipeline::run_study(config, opts);
  });
}

}  // namespace inferbench::cli
