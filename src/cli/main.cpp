// inferbench: which inference framework, precision and configuration should
// run an image classifier on this machine, and what it costs in accuracy.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <opencv2/core/utils/logger.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "common/progress.h"

namespace {

void on_sigint(int /*signal*/) {
  // Only async-signal-safe work here; outputs are written atomically, so
  // stopping mid-stage leaves no half-written file behind.
  const char msg[] = "\ninferbench: interrupted\n";
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
  std::_Exit(static_cast<int>(inferbench::ExitCode::kInterrupted));
}

}  // namespace

int main(int argc, char** argv) {
  using inferbench::ExitCode;
  std::signal(SIGINT, on_sigint);
  // Decoder chatter (e.g. libjpeg's "premature end of data") is reported per
  // file in the manifest instead.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);

  CLI::App app{
      "inferbench: finds which inference framework, precision and configuration should run an image classifier "
      "on this machine, and what that choice costs in accuracy.",
      "inferbench"};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 internal error, 2 usage error, 3 bad input file or folder, 4 output not writable, "
      "5 verification failed, 6 finished with some failed items, 7 unavailable in this build, 130 interrupted.");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress output on stderr");
  app.add_flag_callback(
      "--version",
      [] {
        std::fputs(inferbench::cli::version_text().c_str(), stdout);
        throw CLI::Success();
      },
      "Print the version, git commit and linked library versions, then exit");

  int exit_code = 0;
  inferbench::cli::add_data_commands(app, exit_code);
  inferbench::cli::add_model_commands(app, exit_code);
  inferbench::cli::add_train_commands(app, exit_code);
  inferbench::cli::add_export_commands(app, exit_code);
  inferbench::cli::add_bench_commands(app, exit_code);
  inferbench::cli::add_report_commands(app, exit_code);
  inferbench::cli::add_run_commands(app, exit_code);
  app.parse_complete_callback([&] { inferbench::Progress::set_enabled(!quiet); });

  try {
    app.parse(argc, argv);
    return exit_code;
  } catch (const CLI::CallForHelp& e) {  // before Success, which it derives from
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success&) {
    return 0;
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints CLI11's message, which names the flag or value
    std::fputs("Run with --help for usage.\n", stderr);
    return static_cast<int>(ExitCode::kUsage);
  } catch (const inferbench::Error& e) {
    std::fprintf(stderr, "inferbench: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inferbench: internal error: %s\n", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
}
