#pragma once
// Each subcommand group registers itself on the root CLI11 app. A command's
// callback sets `exit_code` when it finishes with something other than
// success (e.g. kPartial); failures that end it early throw inferbench::Error.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace inferbench::cli {

// The help of every --db flag (bench, results, compare, report).
inline constexpr const char* kDbHelp =
    "Results database: an SQLite file, or a PostgreSQL URI (postgresql://USER[:PASSWORD]@HOST[:PORT]/DB)";

// CLI11's range checks (Range, PositiveNumber, NonNegativeNumber) let NaN
// through, every comparison with it being false: each real-valued flag adds
// this one. (Infinity is out of every range already.)
inline const CLI::Validator kNotNaN{[](std::string& value) -> std::string {
                                      char* end = nullptr;
                                      const double v = std::strtod(value.c_str(), &end);
                                      if (end != value.c_str() && *end == '\0' && std::isnan(v)) {
                                        return "Value " + value + " is not a number";
                                      }
                                      return {};
                                    },
                                    "", "NOT_NAN"};

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
