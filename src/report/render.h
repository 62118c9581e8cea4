#pragma once
// The report's renderers (internal to src/report): the same tables drawn as
// plain text, Markdown and HTML, the CSV, and the HTML page with its charts.
#include <string>
#include <utility>
#include <vector>

#include "report/analysis.h"

namespace inferbench::report {

// A table of already formatted cells; `right` marks numeric columns.
struct Table {
  std::vector<std::string> headers;
  std::vector<bool> right;
  std::vector<std::vector<std::string>> rows;
};

Table summary_rows(const StudyView& view);    // one row per model (summary_table)
Table runs_table(const StudyView& view);      // one row per run
Table failures_table(const StudyView& view);  // the runs that did not succeed, with reasons

// The environment as (what, value) facts, and the warnings that make its
// timings suspect (Debug or sanitizer build, a busy machine, several machines).
struct Environment {
  std::vector<std::pair<std::string, std::string>> facts;
  std::vector<std::string> warnings;
};
Environment environment_facts(const StudyView& view);

// One line saying what the study holds ("12 runs: 10 ok, 1 failed, 1 skipped").
std::string run_counts(const StudyView& view);

std::string to_text(const Table& t);                                // aligned columns, two spaces apart
std::string to_markdown(const Table& t);                            // pipes and newlines in cells escaped
std::string to_html(const Table& t, const std::string& css_class);  // cells HTML-escaped

std::string html_escape(std::string_view text);

std::string render_markdown(const StudyView& view, const std::string& title);
std::string render_csv(const StudyView& view);

// The whole HTML page. `echarts` is the library's source, inlined.
struct HtmlAssets {
  std::string_view echarts, echarts_version, script, css;
};
std::string render_html(const StudyView& view, const std::string& title, const HtmlAssets& assets);

// The charts' data as embedded in the page (exposed for the tests): {"charts":
// [{"id", "section", "kind", "title", "subtitle", ...}], "notes": {section: text}}.
nlohmann::json chart_data(const StudyView& view);

// JSON text safe inside a <script> element: every '<', '>' and '&' is written
// as a \u escape, so no "</script>" or "<!--" can appear in it.
std::string script_safe_json(const nlohmann::json& j);

}  // namespace inferbench::report
