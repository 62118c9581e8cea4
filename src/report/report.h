#pragma once
// `inferbench report`: views of one study in the results database, for people.
//
// Contract:
// - write_report() writes three files into Options::out_dir, each atomically
//   (common/files.h): report.html (one self-contained file: ECharts, our
//   script, styles and data inlined; it loads nothing from the network),
//   summary.md (for pasting into an issue or a paper) and results.csv (one
//   flat row per run; columns in csv_columns()). The CSV is the report's own,
//   flatter than `inferbench results export --format csv` (export.h): it
//   adds what the report derives (speed-up against the baseline with its
//   interval and p-value, verify's top-1 / agreement / max |diff|, memory and
//   size in MiB, cold-start medians in ms) and leaves out the raw summary
//   JSON. The columns the two share have the same cells, under names with
//   units here (median_ms is the export's median).
// - When this build has no ECharts (it was not found at configure time), the
//   Markdown and the CSV are still written, the HTML is not (a report.html
//   left from an earlier run is removed, so the folder never mixes two
//   studies), and Written says why; the CLI turns that into exit code 7.
// - Errors: an unknown study name is Error(kUsage) naming it; a database
//   without studies is Error(kInput); an output that cannot be written is
//   Error(kOutput) naming the file. Failed and skipped runs are data: they
//   are listed with their reasons, never plotted, and a study made only of
//   failures still gives a valid report.
//
// Units: as the bench runner records them (src/bench/runner.cpp): latencies
// in milliseconds per request (one batch), throughput in images per second,
// memory and model sizes shown in MiB, load and first inference in ms.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "results/store.h"

namespace inferbench::report {

struct Options {
  std::string study;              // empty = the newest study in the database
  std::filesystem::path out_dir;  // writes report.html, summary.md, results.csv there (atomically)
  std::string baseline_backend = "libtorch";
  std::string title;  // empty = "inferbench: <study>"
};

struct Written {
  std::filesystem::path html, markdown, csv;
  bool html_written = false;
  std::string html_unavailable_reason;  // "unavailable in this build: ..." when !html_written
  std::int64_t study_id = 0;            // the study the report is about
  std::string study;
};

Written write_report(results::Store& store, const Options& options);

// The terminal summary: one row per model: the fastest backend/artifact for
// single-stream latency (median ms with its 95% CI) and the highest
// throughput (images/s, with the batch and scenario it was reached at), each
// with its verify top-1 accuracy and parity (agreement, max |diff|), and the
// baseline's figures for reference. Plain text, columns aligned, ends with a
// line of notes. std::invalid_argument for an unknown study id.
std::string summary_table(results::Store& store, std::int64_t study_id,
                          const std::string& baseline_backend = "libtorch");

// The columns of results.csv, in order (units in the names).
const std::vector<std::string>& csv_columns();

}  // namespace inferbench::report
