// The report's tables, and their text, Markdown and CSV forms.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "common/csv.h"
#include "report/columns.h"
#include "report/render.h"
#include "report/report.h"

namespace inferbench::report {

namespace {

const std::string kNone = "-";

std::string ms(const std::optional<double>& v) {
  return v ? fmt::format("{:.3f}", *v) : kNone;
}
std::string pct(const std::optional<double>& fraction, int decimals = 1) {
  return fraction ? fmt::format("{:.{}f}%", 100.0 * *fraction, decimals) : kNone;
}
std::string sci(const std::optional<double>& v) {
  return v ? fmt::format("{:.2e}", *v) : kNone;
}
std::string ips(const std::optional<double>& v) {
  return v ? fmt::format("{:.1f}", *v) : kNone;
}

bool unstable(const results::RunRecord& r) {
  const auto it = r.result.summary.find("unstable");
  return it != r.result.summary.end() && it->is_boolean() && it->get<bool>();
}

// The median with "~" when the run was flagged unstable (as `bench` prints it).
std::string median_cell(const results::RunRecord& r) {
  return r.result.median ? ms(r.result.median) + (unstable(r) ? "~" : "") : kNone;
}

std::string ci_cell(const results::RunRecord& r) {
  if (!r.result.ci_lo || !r.result.ci_hi) return kNone;
  return fmt::format("[{:.3f}, {:.3f}]", *r.result.ci_lo, *r.result.ci_hi);
}

// Where a throughput was reached: "batch 32" in the batch scenario (not
// "batch 32, batch"), "offline, batch 8" in another.
std::string where(const results::Result& x) {
  if (x.scenario == "batch") return fmt::format("batch {}", x.batch);
  return fmt::format("{}, batch {}", x.scenario, x.batch);
}

// "87.9% [85.6, 89.9]": verify's top-1 with its 95% Wilson interval on the
// images verified; the top-1 alone when the run has no count of them.
std::string top1_cell(const results::RunRecord& r, int decimals) {
  const auto top1 = verify_figure(r, "top1");
  if (!top1) return kNone;
  const auto ci = top1_interval(r);
  // A variant that lost more than verify's threshold is marked wherever its top-1 shows.
  const std::string flag = accuracy_flag(r) ? fmt::format(" DROP {:.{}f} pts", 100 * verify_figure(r, "top1_drop").value_or(0), decimals) : "";
  if (!ci) return pct(top1, decimals) + flag;
  return fmt::format("{} [{:.{}f}, {:.{}f}]{}", pct(top1, decimals), 100 * ci->lo, decimals, 100 * ci->hi, decimals,
                     flag);
}



std::string speedup_cell(const Row& row) {
  if (row.is_baseline && row.ok() && row.run.result.scenario != "cold-start") return "1 (baseline)";
  if (!row.speedup) return kNone;
  const SpeedUp& s = *row.speedup;
  return fmt::format("{:.2f}x [{:.2f}, {:.2f}]", s.speedup, s.ci_lo, s.ci_hi);
}

std::string status_cell(const results::RunRecord& r) {
  std::string s(results::to_string(r.status));
  if (!r.reason.empty()) s += ": " + r.reason;
  // Measured while other processes took a share of the machine (bench's load
  // record): kept, but never shown as a clean figure.
  if (r.result.summary.is_object() && r.result.summary.value("overlapped", false)) s += " (overlapped)";
  return s;
}

std::string str_or(const nlohmann::json& j, const char* key, const std::string& fallback = "unknown") {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>().empty() ? fallback : it->get<std::string>();
  return it->dump();
}

std::size_t display_width(std::string_view s) {
  // UTF-8: count the bytes that start a code point, so "µ" or "×" take one column.
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string escape_markdown_cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.empty() ? " " : out;
}

}  // namespace

Table summary_rows(const StudyView& view) {
  const std::string& b = view.baseline;
  Table t;
  t.headers = {"model",     "fastest single-stream", "median ms", "95% CI", "top-1 [95% CI]", "agree",
               "max|diff|", "highest throughput",    "img/s",     "at",     "top-1 [95% CI]", "agree",
               "max|diff|", b + " median ms",        b + " img/s"};
  t.right = {false, false, true, true, true, true, true, false, true, false, true, true, true, true, true};
  for (const ModelSummary& m : model_summaries(view)) {
    std::vector<std::string> cells{m.model};
    auto accuracy = [&](const Row* r) {
      if (r == nullptr) return std::vector<std::string>{kNone, kNone, kNone};
      return std::vector<std::string>{top1_cell(r->run, 1), pct(verify_figure(r->run, "agreement")),
                                      sci(verify_figure(r->run, "max_abs_diff"))};
    };
    if (m.fastest != nullptr) {
      cells.insert(cells.end(), {m.fastest->label, median_cell(m.fastest->run), ci_cell(m.fastest->run)});
    } else {
      cells.insert(cells.end(), {"(no successful single-stream run)", kNone, kNone});
    }
    const auto a = accuracy(m.fastest);
    cells.insert(cells.end(), a.begin(), a.end());
    if (m.highest != nullptr) {
      cells.insert(cells.end(),
                   {m.highest->label, ips(m.highest->run.result.throughput), where(m.highest->run.result)});
    } else {
      cells.insert(cells.end(), {"(no successful throughput run)", kNone, kNone});
    }
    const auto h = accuracy(m.highest);
    cells.insert(cells.end(), h.begin(), h.end());
    cells.push_back(m.baseline_fastest ? median_cell(m.baseline_fastest->run) : kNone);
    cells.push_back(m.baseline_highest ? ips(m.baseline_highest->run.result.throughput) : kNone);
    t.rows.push_back(std::move(cells));
  }
  return t;
}

Table runs_table(const StudyView& view) {
  Table t;
  t.headers = {"model",
               "artifact",
               "precision",
               "backend",
               "scenario",
               "batch",
               "threads",
               "median ms",
               "p99 ms",
               "img/s",
               "speed-up vs " + view.baseline + " (95% CI)",
               "top-1 [95% CI]",
               "agreement",
               "status"};
  t.right = {false, false, false, false, false, true, true, true, true, true, true, true, true, false};
  for (const Row& row : view.rows) {
    const auto& r = row.run;
    const auto& x = r.result;
    t.rows.push_back({row.model, x.artifact, precision_label(r), x.backend, x.scenario, std::to_string(x.batch),
                      std::to_string(x.threads), median_cell(r), ms(x.p99), ips(x.throughput), speedup_cell(row),
                      top1_cell(r, 2), pct(verify_figure(r, "agreement"), 2), status_cell(r)});
  }
  return t;
}

Table failures_table(const StudyView& view) {
  Table t;
  t.headers = {"model", "artifact", "backend", "scenario", "batch", "threads", "status", "reason"};
  t.right = {false, false, false, false, true, true, false, false};
  for (const Row& row : view.rows) {
    if (row.ok()) continue;
    const auto& x = row.run.result;
    t.rows.push_back({row.model, x.artifact, x.backend, x.scenario, std::to_string(x.batch), std::to_string(x.threads),
                      std::string(results::to_string(row.run.status)),
                      row.run.reason.empty() ? kNone : row.run.reason});
  }
  return t;
}

namespace {

// Beside the CPU in the environment (summary.md and the HTML): the top-1 of a
// checkpoint holds for the CPU it was trained on (benchmarks/training-budget.md).
constexpr const char* kTrainingAcrossCpus =
    "training is deterministic for one CPU model and thread count, not across CPUs: the same seed and data gave "
    "85.5/82.4/88.3% test top-1 (MobileNetV2/EfficientNetB0/ResNet50) on a 2-core Intel Xeon and 89.8/88.1/87.9% on "
    "a 2-core AMD EPYC, so the top-1 figures here are one draw of several points' spread; `inferbench train --seeds "
    "N` measures it";

}  // namespace

Environment environment_facts(const StudyView& view) {
  Environment e;
  const nlohmann::json& env = study_environment(view);
  const nlohmann::json cpu = env.value("cpu", nlohmann::json::object());
  const nlohmann::json mem = env.value("memory", nlohmann::json::object());
  const nlohmann::json os = env.value("os", nlohmann::json::object());
  const nlohmann::json build = env.value("build", nlohmann::json::object());
  auto add = [&](std::string what, std::string value) { e.facts.emplace_back(std::move(what), std::move(value)); };

  std::string cpu_text = str_or(cpu, "model");
  if (cpu.value("hypervisor", false)) cpu_text += " (virtual machine)";
  add("CPU", cpu_text);
  // Issue 16: what the accuracy columns are worth on another machine.
  add("training on this CPU", kTrainingAcrossCpus);
  add("cores", fmt::format("{} usable, {} online, {} physical, {} socket(s)", str_or(cpu, "usable_cores"),
                           str_or(cpu, "online_cores"), str_or(cpu, "physical_cores"), str_or(cpu, "sockets")));
  add("SIMD", cpu.contains("simd_flags") && cpu["simd_flags"].is_array() && !cpu["simd_flags"].empty()
                  ? fmt::format("{}", fmt::join(cpu["simd_flags"].get<std::vector<std::string>>(), " "))
                  : "unknown");
  add("CPU governor", str_or(cpu, "governor"));
  if (mem.contains("total_bytes") && mem["total_bytes"].is_number()) {
    add("memory", fmt::format("{:.1f} GiB", mem["total_bytes"].get<double>() / (1024.0 * 1024.0 * 1024.0)));
  } else {
    add("memory", "unknown");
  }
  add("OS", str_or(os, "pretty_name"));
  add("kernel", fmt::format("{} ({})", str_or(os, "kernel"), str_or(os, "machine")));
  const std::string build_type = str_or(build, "build_type", "");
  const std::string sanitizers = str_or(build, "sanitizers", "");
  add("build", fmt::format("inferbench {}, {} build, {}{}", str_or(build, "version"),
                           build_type.empty() ? "no build type" : build_type, str_or(build, "compiler"),
                           sanitizers.empty() ? "" : ", sanitizers " + sanitizers));
  add("commit", str_or(build, "git_commit"));

  // Library versions come from the backends themselves, one per backend.
  std::map<std::string, std::set<std::string>> versions;
  for (const Row& row : view.rows) {
    if (!row.ok()) continue;
    const std::string v = str_or(row.run.result.summary, "backend_version", "");
    if (!v.empty()) versions[row.run.result.backend].insert(v);
  }
  std::vector<std::string> libs;
  for (const auto& [backend, vs] : versions) libs.push_back(fmt::format("{} {}", backend, fmt::join(vs, " / ")));
  add("libraries",
      libs.empty() ? "unknown (no successful run recorded one)" : fmt::format("{}", fmt::join(libs, "; ")));
  // LibTorch's eager paths outside oneDNN run on the system BLAS.
  if (env.contains("blas") && env["blas"].is_object()) {
    add("BLAS", fmt::format("{} ({})", str_or(env["blas"], "library"), str_or(env["blas"], "kind")));
  }

  if (env.contains("fp32_peak") && env["fp32_peak"].is_object()) {
    const auto& p = env["fp32_peak"];
    add("FP32 peak",
        fmt::format("{:.1f} GFLOP/s over {} threads ({:.1f} per thread, {})", p.value("gflops_total", 0.0),
                    p.value("threads", 0), p.value("gflops_per_thread", 0.0), p.value("isa", std::string("unknown"))));
  } else {
    add("FP32 peak", "not measured");
  }
  if (env.contains("load_average") && env["load_average"].is_array()) {
    std::vector<std::string> loads;
    for (const auto& l : env["load_average"])
      loads.push_back(l.is_number() ? fmt::format("{:.2f}", l.get<double>()) : "?");
    add("load average", fmt::format("{} (1, 5, 15 min, when the study started)", fmt::join(loads, ", ")));
  }
  if (env.contains("other_busy_cores") && env["other_busy_cores"].is_number()) {
    add("CPU used by others", fmt::format("{:.2f} cores (other processes, sampled for 0.5 s as the study started)",
                                          env["other_busy_cores"].get<double>()));
  }
  add("captured", str_or(env, "captured_at"));

  // METHODOLOGY.md ("Context"): a Debug or sanitizer build is flagged loudly.
  if (build_type != "Release" && build_type != "RelWithDebInfo") {
    e.warnings.push_back(fmt::format("{} build: timings are not representative",
                                     build_type.empty() ? "no build type (not a Release)" : build_type));
  }
  if (!sanitizers.empty())
    e.warnings.push_back(fmt::format("sanitizer build ({}): timings are not representative", sanitizers));
  std::set<std::string> warned(e.warnings.begin(), e.warnings.end());
  for (const auto& w : env.value("warnings", nlohmann::json::array())) {
    if (!w.is_string()) continue;
    const std::string text = w.get<std::string>();
    // The environment's own build-type warning says the same as ours.
    const bool duplicate = text.rfind(build_type + " build", 0) == 0 || text.rfind("sanitizer build", 0) == 0;
    if (!duplicate && warned.insert(text).second) e.warnings.push_back(text);
  }
  std::set<std::string> machines;
  for (const Row& row : view.rows) {
    const auto& re = row.run.environment;
    if (re.empty()) continue;
    machines.insert(str_or(re, "hostname") + "|" + str_or(re.value("cpu", nlohmann::json::object()), "model"));
  }
  if (machines.size() > 1) {
    e.warnings.push_back(
        fmt::format("the runs come from {} different machines; the environment shown is one of them", machines.size()));
  }
  return e;
}

std::string run_counts(const StudyView& view) {
  std::map<std::string, int> by;
  for (const Row& r : view.rows) ++by[std::string(results::to_string(r.run.status))];
  std::vector<std::string> parts;
  for (const char* s : {"ok", "failed", "skipped", "crashed", "timed-out", "out-of-memory"}) {
    if (by.count(s)) parts.push_back(fmt::format("{} {}", by[s], s));
  }
  return fmt::format("{} run{}{}{}", view.rows.size(), view.rows.size() == 1 ? "" : "s", parts.empty() ? "" : ": ",
                     fmt::join(parts, ", "));
}

std::string to_text(const Table& t) {
  std::vector<std::size_t> w(t.headers.size(), 0);
  auto widen = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size() && i < w.size(); ++i) w[i] = std::max(w[i], display_width(cells[i]));
  };
  widen(t.headers);
  for (const auto& r : t.rows) widen(r);
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::string pad(w[i] - display_width(cells[i]), ' ');
      const bool right = i < t.right.size() && t.right[i];
      std::string cell = right ? pad + cells[i] : cells[i] + (i + 1 < cells.size() ? pad : "");
      out += (i > 0 ? "  " : "") + cell;
    }
    return out + "\n";
  };
  std::string out = line(t.headers);
  for (const auto& r : t.rows) out += line(r);
  return out;
}

std::string to_markdown(const Table& t) {
  std::string out = "|";
  // (Appended piece by piece: GCC 12 raises a false -Wrestrict on " " + string.)
  auto cell = [&out](const std::string& text) { out.append(" ").append(escape_markdown_cell(text)).append(" |"); };
  for (const auto& h : t.headers) cell(h);
  out += "\n|";
  for (std::size_t i = 0; i < t.headers.size(); ++i) out += i < t.right.size() && t.right[i] ? "---:|" : "---|";
  out += "\n";
  for (const auto& r : t.rows) {
    out += "|";
    for (const auto& c : r) cell(c);
    out += "\n";
  }
  return out;
}

std::string render_markdown(const StudyView& view, const std::string& title) {
  std::string md = fmt::format("# {}\n\n", title);
  md += fmt::format(
      "Study `{}` (started {}, {}): {}. Baseline: {}. Latencies are milliseconds per request (one batch); "
      "medians with their 95% bootstrap interval; `~` marks an unstable run (CV or IQR/median > 10%). Top-1 and "
      "agreement come from `inferbench verify` on the test split; top-1 is shown with its 95% Wilson interval on the "
      "number of images verified.\n\n",
      view.study.name, view.study.created_at, results::to_string(view.study.status), run_counts(view), view.baseline);
  const Environment env = environment_facts(view);
  for (const auto& w : env.warnings) md += fmt::format("> **WARNING:** {}\n\n", w);
  md += "## Summary\n\n" + to_markdown(summary_rows(view)) + "\n";
  const Table failures = failures_table(view);
  md += "## Failed and skipped runs\n\n";
  md += failures.rows.empty() ? "None.\n\n" : to_markdown(failures) + "\n";
  md += "## Runs\n\n";
  md += fmt::format(
      "Speed-up = {} median / this median (same model, scenario, batch and threads), with the 95% bootstrap "
      "interval of the ratio of medians.\n\n",
      view.baseline);
  md += to_markdown(runs_table(view)) + "\n";
  md += "## Environment\n\n";
  for (const auto& [what, value] : env.facts) md += fmt::format("- **{}**: {}\n", what, escape_markdown_cell(value));
  return md;
}

namespace {

// One column of results.csv.
struct ReportColumn {
  std::string name;
  std::function<std::string(const StudyView&, const Row&)> cell;
};

// A stored column (columns.h) under the report's name for it.
ReportColumn stored(std::string name, std::string_view field) {
  const RunColumn& c = run_column(field);
  return {std::move(name), [&c](const StudyView& view, const Row& row) { return c.cell(view.study, row.run); }};
}

std::string summary_number(const results::RunRecord& r, const char* key) {
  const auto it = r.result.summary.find(key);
  return it != r.result.summary.end() && it->is_number() ? figure_cell(it->get<double>()) : std::string();
}

std::optional<double> seconds_as_ms(const std::optional<double>& s) {
  return s ? std::optional<double>(1e3 * *s) : std::optional<double>();
}

bool is_cold(const Row& row) { return row.run.result.scenario == "cold-start"; }

// A figure of the speed-up against the baseline ("" without one).
ReportColumn speedup_figure(std::string name, double SpeedUp::*figure) {
  return {std::move(name), [figure](const StudyView&, const Row& row) {
            return row.speedup ? figure_cell((*row.speedup).*figure) : std::string();
          }};
}

// results.csv: stored columns (stored(): the cells `results export --format
// csv` writes) under the report's names, with units, and what it derives.
const std::vector<ReportColumn>& report_columns() {
  using V = const StudyView&;
  using R = const Row&;
  static const std::vector<ReportColumn> cols{
      stored("study", "study"),
      stored("run_id", "run_id"),
      stored("model", "model"),
      stored("artifact", "artifact"),
      stored("precision", "precision"),
      stored("backend", "backend"),
      stored("scenario", "scenario"),
      stored("batch", "batch"),
      stored("threads", "threads"),
      stored("status", "status"),
      stored("reason", "reason"),
      stored("count", "count"),
      stored("median_ms", "median"),
      stored("median_ci_lo_ms", "ci_lo"),
      stored("median_ci_hi_ms", "ci_hi"),
      stored("p90_ms", "p90"),
      stored("p99_ms", "p99"),
      stored("mean_ms", "mean"),
      stored("stddev_ms", "stddev"),
      stored("cv", "cv"),
      {"unstable",
       [](V, R row) {
         if (!row.ok() || !row.run.result.median) return std::string();
         return std::string(unstable(row.run) ? "true" : "false");
       }},
      stored("images_per_second", "throughput"),
      {"speedup_vs_baseline",
       [](V, R row) {
         if (row.speedup) return figure_cell(row.speedup->speedup);
         return std::string(row.is_baseline && row.ok() && !is_cold(row) ? "1" : "");
       }},
      speedup_figure("speedup_ci_lo", &SpeedUp::ci_lo),
      speedup_figure("speedup_ci_hi", &SpeedUp::ci_hi),
      speedup_figure("speedup_p_value", &SpeedUp::p_value),
      {"baseline", [](V view, R) { return view.baseline; }},
      {"top1", [](V, R row) { return figure_cell(verify_figure(row.run, "top1")); }},
      // The 95% Wilson interval of top-1 on the images verified (verify_images).
      {"top1_ci_lo",
       [](V, R row) {
         const auto ci = top1_interval(row.run);
         return ci ? figure_cell(ci->lo) : std::string();
       }},
      {"top1_ci_hi",
       [](V, R row) {
         const auto ci = top1_interval(row.run);
         return ci ? figure_cell(ci->hi) : std::string();
       }},
      {"verify_images", [](V, R row) { return figure_cell(verify_figure(row.run, "count")); }},
      {"agreement", [](V, R row) { return figure_cell(verify_figure(row.run, "agreement")); }},
      {"max_abs_diff", [](V, R row) { return figure_cell(verify_figure(row.run, "max_abs_diff")); }},
      {"peak_rss_mib", [](V, R row) { return figure_cell(peak_rss_mib(row.run)); }},
      {"model_file_mib", [](V, R row) { return figure_cell(model_file_mib(row.run)); }},
      // Cold-start: the median over its fresh workers; otherwise the run's one load.
      {"load_ms",
       [](V, R row) {
         if (!row.ok()) return std::string();
         return figure_cell(is_cold(row) ? cold_load_ms(row.run) : seconds_as_ms(row.run.result.load_s));
       }},
      {"first_inference_ms",
       [](V, R row) {
         if (!row.ok()) return std::string();
         return figure_cell(is_cold(row) ? cold_first_inference_ms(row.run)
                                         : seconds_as_ms(row.run.result.first_inference_s));
       }},
      {"gflops", [](V, R row) { return summary_number(row.run, "gflops"); }},
      {"fraction_of_fp32_peak", [](V, R row) { return summary_number(row.run, "fraction_of_fp32_peak"); }},
  };
  return cols;
}

}  // namespace

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const ReportColumn& c : report_columns()) n.push_back(c.name);
    return n;
  }();
  return names;
}

std::string render_csv(const StudyView& view) {
  std::string out = csv_row(csv_columns());
  for (const Row& row : view.rows) {
    std::vector<std::string> fields;
    for (const ReportColumn& c : report_columns()) fields.push_back(c.cell(view, row));
    out += csv_row(fields);
  }
  return out;
}

}  // namespace inferbench::report
