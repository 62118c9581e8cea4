// `inferbench report`: the HTML, Markdown and CSV report of one study.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "common/json.h"
#include "report/report.h"
#include "results/store.h"

namespace inferbench::cli {

namespace fs = std::filesystem;

void add_report_commands(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string db = "inferbench-out/results.db", study, out = "inferbench-out/report", baseline = "libtorch";
    std::string title;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Draw the report of a study: report.html (one self-contained file, charts inlined, works offline), "
      "summary.md (for an issue or a paper) and results.csv (one row per run) in --out; the summary table on "
      "stdout. Exit code 7 when this build has no ECharts (the Markdown and CSV are still written).");
  cmd->add_option("--db", f->db, kDbHelp);
  cmd->add_option("--study", f->study, "Study name (default: the newest study in the database)");
  cmd->add_option("--out", f->out, "Folder for report.html, summary.md and results.csv");
  cmd->add_option("--baseline", f->baseline, "Backend the speed-ups are measured against");
  cmd->add_option("--title", f->title, "Title of the report (default: inferbench: <study>)");
  cmd->callback([f, &exit_code] {
    // Read-only: a typo must not make an empty database, nor a report change one.
    results::Store store = results::Store::open_read_only(f->db);
    report::Options opts;
    opts.study = f->study;
    opts.out_dir = f->out;
    opts.baseline_backend = f->baseline;
    opts.title = f->title;
    // A record of another shape than `bench` writes (another tool's, a hand
    // edit) is bad input naming the database, not an internal error.
    auto foreign = [&](const nlohmann::json::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': a record is not as `inferbench bench` writes it: {}", f->db, e.what()));
    };
    report::Written w;
    std::string table;
    try {
      w = report::write_report(store, opts);
      table = report::summary_table(store, w.study_id, f->baseline);
    } catch (const nlohmann::json::exception& e) {
      foreign(e);
    }
    std::fputs(table.c_str(), stdout);
    std::fflush(stdout);
    fmt::print(stderr, "report: wrote {}\nreport: wrote {}\n", w.markdown.string(), w.csv.string());
    if (w.html_written) {
      fmt::print(stderr, "report: wrote {}\n", w.html.string());
    } else {
      fmt::print(stderr, "report: HTML {}\n", w.html_unavailable_reason);
      exit_code = static_cast<int>(ExitCode::kUnavailable);
    }
  });
}

}  // namespace inferbench::cli
