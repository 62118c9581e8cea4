// `inferbench run`: the whole study in one command (see pipeline/run.h).
#include <fmt/format.h>

#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "pipeline/run.h"

namespace inferbench::cli {

namespace fs = std::filesystem;

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
  cmd->callback([f, &exit_code] {
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
