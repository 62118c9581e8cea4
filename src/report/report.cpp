#include "report/report.h"

#include <fmt/format.h>

#include <system_error>

#include "common/error.h"
#include "common/files.h"
#include "report/analysis.h"
#include "report/assets.h"
#include "report/render.h"

namespace inferbench::report {

namespace fs = std::filesystem;

namespace {

results::Study pick_study(results::Store& store, const std::string& name) {
  if (!name.empty()) {
    auto s = store.find_study(name);
    if (!s) {
      fail(ExitCode::kUsage,
           fmt::format("no study '{}' in '{}' (see `inferbench results list`)", name, store.location()));
    }
    return *s;
  }
  auto all = store.studies();
  if (all.empty()) fail(ExitCode::kInput, fmt::format("'{}' holds no study yet", store.location()));
  return all.back();  // studies() is in the order they were started: the newest is last
}

}  // namespace

Written write_report(results::Store& store, const Options& options) {
  const results::Study study = pick_study(store, options.study);
  const StudyView view = build_view(store, study.id, options.baseline_backend);
  const std::string title = options.title.empty() ? "inferbench: " + study.name : options.title;

  Written w;
  w.study_id = study.id;
  w.study = study.name;
  w.markdown = options.out_dir / "summary.md";
  w.csv = options.out_dir / "results.csv";
  w.html = options.out_dir / "report.html";
  write_file_atomic(w.markdown, render_markdown(view, title));
  write_file_atomic(w.csv, render_csv(view));
  if (assets::echarts_js().empty()) {
    w.html_unavailable_reason = fmt::format("unavailable in this build: {}", assets::echarts_missing_reason());
    // A report.html from an earlier run would sit beside the new Markdown and
    // CSV while describing another state of the database.
    std::error_code ec;
    fs::remove(w.html, ec);
    return w;
  }
  const HtmlAssets html_assets{assets::echarts_js(), assets::echarts_version(), assets::report_js(),
                               assets::report_css()};
  write_file_atomic(w.html, render_html(view, title, html_assets));
  w.html_written = true;
  return w;
}

std::string summary_table(results::Store& store, std::int64_t study_id, const std::string& baseline_backend) {
  const StudyView view = build_view(store, study_id, baseline_backend, /*with_speedups=*/false);
  if (view.rows.empty()) return fmt::format("study '{}': no runs\n", view.study.name);
  return to_text(summary_rows(view)) +
         fmt::format(
             "study '{}': {}; latencies in ms per request; ~ = unstable (CV or IQR/median > 10%); "
             "top-1 [95% Wilson interval on the images verified] and parity from `inferbench verify`\n",
             view.study.name, run_counts(view));
}

}  // namespace inferbench::report
