#pragma once
// Each subcommand group registers itself on the root CLI11 app. A command's
// callback sets `exit_code` when it finishes with something other than
// success (e.g. kPartial); failures that end it early throw inferbench::Error.
#include <CLI/CLI.hpp>

namespace inferbench::cli {

void add_data_commands(CLI::App& app, int& exit_code);
void add_model_commands(CLI::App& app, int& exit_code);
void add_train_commands(CLI::App& app, int& exit_code);
void add_export_commands(CLI::App& app, int& exit_code);  // export, verify, describe, backends, worker
void add_bench_commands(CLI::App& app, int& exit_code);   // bench, results, compare
void add_report_commands(CLI::App& app, int& exit_code);  // report
void add_run_commands(CLI::App& app, int& exit_code);     // run: the whole study

// "inferbench 0.1.0 (commit ...)" plus build facts and linked library versions.
std::string version_text();

}  // namespace inferbench::cli
