// The HTML report: one self-contained page. The figures are computed here (box
// statistics, Pareto front, speed-ups) and embedded as JSON; report.js turns
// them into ECharts options, so the page stays small and the numbers have one
// tested source.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "inferbench/build_info.h"
#include "report/render.h"

namespace inferbench::report {

namespace {

using nlohmann::json;

json opt(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string item_label(const Row& r) {
  return r.model + " · " + r.label;
}

// Heights that keep a horizontal bar readable however many bars a chart has.
int bar_chart_height(std::size_t categories, std::size_t bars_per_category) {
  return std::max(300, 150 + static_cast<int>(categories * (bars_per_category > 1 ? 40 : 28)));
}

void latency_charts(const StudyView& view, json& charts, json& notes) {
  for (const auto& model : view.models) {
    json categories = json::array(), boxes = json::array();
    std::size_t total = 0, fewest = SIZE_MAX, most = 0;
    for (const Row& r : view.rows) {
      const auto& x = r.run.result;
      if (!r.ok() || r.model != model || x.scenario != "single-stream" || r.run.samples.empty()) continue;
      const BoxStats b = box_stats(r.run.samples);
      categories.push_back(r.label);
      boxes.push_back({{"lo", b.whisker_lo},
                       {"q1", b.q1},
                       {"median", b.median},
                       {"q3", b.q3},
                       {"hi", b.whisker_hi},
                       {"min", b.min},
                       {"max", b.max},
                       {"count", b.count},
                       {"outliers", b.outliers},
                       {"outlier_count", b.outlier_count}});
      total += b.count;
      fewest = std::min(fewest, b.count);
      most = std::max(most, b.count);
    }
    if (categories.empty()) continue;
    const std::string n = fewest == most ? fmt::format("{}", most) : fmt::format("{} to {}", fewest, most);
    charts.push_back({{"id", "latency-" + model},
                      {"section", "latency"},
                      {"kind", "box"},
                      {"title", fmt::format("{}: single-stream latency", model)},
                      {"subtitle", fmt::format("batch 1, from {} raw samples per box ({} in all); box = quartiles, "
                                               "whiskers = 1.5 IQR, dots = outliers; lower is better",
                                               n, total)},
                      {"x_name", "backend and artifact"},
                      {"y_name", "latency per request (ms)"},
                      {"categories", categories},
                      {"boxes", boxes},
                      {"height", 460}});
  }
  if (charts.empty()) notes["latency"] = "No successful single-stream runs in this study.";
}

void throughput_charts(const StudyView& view, json& charts, json& notes) {
  const std::size_t before = charts.size();
  std::set<std::string> scenarios;
  for (const Row& r : view.rows) {
    if (r.ok() && r.run.result.throughput) scenarios.insert(r.run.result.scenario);
  }
  const bool both = scenarios.count("batch") && scenarios.count("offline");
  for (const auto& model : view.models) {
    std::set<int> batches;
    std::vector<std::string> names;
    std::map<std::string, std::map<int, double>> by_series;
    for (const Row& r : view.rows) {
      const auto& x = r.run.result;
      if (!r.ok() || r.model != model || (x.scenario != "batch" && x.scenario != "offline") || !x.throughput) continue;
      const std::string name = both || x.scenario == "offline" ? r.label + " (" + x.scenario + ")" : r.label;
      if (!by_series.count(name)) names.push_back(name);
      by_series[name][x.batch] = *x.throughput;
      batches.insert(x.batch);
    }
    if (names.empty()) continue;
    json series = json::array();
    for (const auto& name : names) {
      json values = json::array();
      for (int b : batches) {
        const auto it = by_series[name].find(b);
        values.push_back(it == by_series[name].end() ? json(nullptr) : json(it->second));
      }
      series.push_back({{"name", name}, {"values", values}});
    }
    charts.push_back({{"id", "throughput-" + model},
                      {"section", "throughput"},
                      {"kind", "throughput"},
                      {"title", fmt::format("{}: throughput against batch size", model)},
                      {"subtitle", "batch and offline scenarios; one line per backend and artifact; higher is better"},
                      {"x_name", "batch size (images per request)"},
                      {"y_name", "throughput (images/s)"},
                      {"batches", std::vector<int>(batches.begin(), batches.end())},
                      {"series", series},
                      {"height", 440}});
  }
  if (charts.size() == before) notes["throughput"] = "No successful batch or offline runs in this study.";
}

// A point's top-1 interval in percent (y_lo, y_hi) and the images it rests on,
// when the run recorded how many were verified.
void add_interval(json& point, const Row& r) {
  if (const auto ci = top1_interval(r.run)) {
    point["y_lo"] = 100.0 * ci->lo;
    point["y_hi"] = 100.0 * ci->hi;
    point["images"] = *verify_figure(r.run, "count");
  }
}

void pareto_chart(const StudyView& view, json& charts, json& notes) {
  std::vector<const Row*> rows;
  std::vector<TradeOff> points;
  for (const Row& r : view.rows) {
    const auto& x = r.run.result;
    const auto top1 = verify_figure(r.run, "top1");
    if (!r.ok() || x.scenario != "single-stream" || !x.median || !top1) continue;
    rows.push_back(&r);
    points.push_back({*x.median, *top1});
  }
  if (rows.empty()) {
    notes["pareto"] =
        "No single-stream run carries a verify top-1 accuracy (run `inferbench bench --verify verify.json`).";
    return;
  }
  const std::vector<bool> on = pareto_front(points);
  json groups = json::array(), front = json::array();
  std::vector<std::size_t> front_index;
  for (const auto& model : view.models) {
    json pts = json::array();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i]->model != model) continue;
      // The precision it ran in, and verify's accuracy flag, on every point.
      std::string label = item_label(*rows[i]) + " · " + precision_label(rows[i]->run);
      if (accuracy_flag(rows[i]->run)) label += " · DROP";
      json p{{"label", label},
             {"precision", precision_label(rows[i]->run)},
             {"accuracy_flag", accuracy_flag(rows[i]->run).has_value()},
             {"x", points[i].latency_ms},
             {"y", 100.0 * points[i].top1},
             {"optimal", static_cast<bool>(on[i])}};
      add_interval(p, *rows[i]);
      pts.push_back(std::move(p));
      if (on[i]) front_index.push_back(i);
    }
    if (!pts.empty()) groups.push_back({{"name", model}, {"points", pts}});
  }
  std::sort(front_index.begin(), front_index.end(),
            [&](std::size_t a, std::size_t b) { return points[a].latency_ms < points[b].latency_ms; });
  for (std::size_t i : front_index) {
    json p{{"label", item_label(*rows[i])}, {"x", points[i].latency_ms}, {"y", 100.0 * points[i].top1}};
    add_interval(p, *rows[i]);
    front.push_back(std::move(p));
  }
  charts.push_back({{"id", "pareto"},
                    {"section", "pareto"},
                    {"kind", "pareto"},
                    {"title", "Accuracy against latency: the Pareto front"},
                    {"subtitle", fmt::format("{} choices (model, backend, artifact); the dashed line joins the {} that "
                                             "no other choice beats on both; error bars: 95% Wilson interval of "
                                             "top-1 on the images verified; up and left is better",
                                             rows.size(), front.size())},
                    {"x_name", "single-stream median latency (ms)"},
                    {"y_name", "top-1 accuracy (%)"},
                    {"groups", groups},
                    {"front", front},
                    {"height", 500}});
}

void memory_chart(const StudyView& view, json& charts, json& notes) {
  // Per configuration, the run with the smallest batch (the single-stream
  // one when it exists): memory grows with the batch, so this compares like
  // with like.
  std::vector<std::string> order;
  std::map<std::string, const Row*> pick;
  for (const Row& r : view.rows) {
    const auto& x = r.run.result;
    if (!r.ok() || x.scenario == "cold-start" || (!peak_rss_mib(r.run) && !model_file_mib(r.run))) continue;
    const std::string key = item_label(r);
    auto it = pick.find(key);
    if (it == pick.end()) {
      order.push_back(key);
      pick[key] = &r;
    } else if (x.batch < it->second->run.result.batch) {
      it->second = &r;
    }
  }
  if (order.empty()) {
    notes["memory"] = "No successful run recorded its memory or its model's size.";
    return;
  }
  json rss = json::array(), size = json::array();
  for (const auto& k : order) {
    rss.push_back(opt(peak_rss_mib(pick[k]->run)));
    size.push_back(opt(model_file_mib(pick[k]->run)));
  }
  charts.push_back(
      {{"id", "memory"},
       {"section", "memory"},
       {"kind", "hbar"},
       {"title", "Memory and model size"},
       {"subtitle",
        "peak RSS of the benchmark worker process (its smallest-batch run) and the "
        "artifact's file size; lower is better"},
       {"x_name", "size (MiB)"},
       {"unit", "MiB"},
       {"categories", order},
       {"series", {{{"name", "peak RSS (MiB)"}, {"values", rss}}, {{"name", "model file (MiB)"}, {"values", size}}}},
       {"stacked", false},
       {"height", bar_chart_height(order.size(), 2)}});
}

void cold_start_chart(const StudyView& view, json& charts, json& notes) {
  json categories = json::array(), load = json::array(), first = json::array();
  std::size_t fewest = SIZE_MAX, most = 0;
  for (const Row& r : view.rows) {
    if (!r.ok() || r.run.result.scenario != "cold-start") continue;
    const auto l = cold_load_ms(r.run), f = cold_first_inference_ms(r.run);
    if (!l && !f) continue;
    categories.push_back(item_label(r));
    load.push_back(opt(l));
    first.push_back(opt(f));
    fewest = std::min(fewest, cold_runs(r.run));
    most = std::max(most, cold_runs(r.run));
  }
  if (categories.empty()) {
    notes["cold-start"] = "No cold-start runs in this study.";
    return;
  }
  const std::string n = fewest == most ? fmt::format("{}", most) : fmt::format("{} to {}", fewest, most);
  charts.push_back(
      {{"id", "cold-start"},
       {"section", "cold-start"},
       {"kind", "hbar"},
       {"title", "Cold start: load and first inference"},
       {"subtitle", fmt::format("median over {} fresh worker processes per bar; the whole bar is the time "
                                "to the first result; lower is better",
                                n)},
       {"x_name", "time (ms)"},
       {"unit", "ms"},
       {"categories", categories},
       {"series", {{{"name", "load (ms)"}, {"values", load}}, {{"name", "first inference (ms)"}, {"values", first}}}},
       {"stacked", true},
       {"height", bar_chart_height(categories.size(), 1)}});
}

void speedup_chart(const StudyView& view, json& charts, json& notes) {
  json categories = json::array(), values = json::array(), ci = json::array(), details = json::array();
  json model_of = json::array();
  std::vector<std::string> models;
  std::set<std::string> without_baseline;
  for (const Row& r : view.rows) {
    const auto& x = r.run.result;
    if (!r.ok() || x.scenario != "single-stream" || r.is_baseline) continue;
    if (!r.speedup) {
      without_baseline.insert(r.model);
      continue;
    }
    const SpeedUp& s = *r.speedup;
    auto m = std::find(models.begin(), models.end(), r.model);
    if (m == models.end()) m = models.insert(models.end(), r.model);
    categories.push_back(item_label(r));
    model_of.push_back(m - models.begin());
    values.push_back(s.speedup);
    ci.push_back({s.ci_lo, s.ci_hi});
    details.push_back({{"median", s.median},
                       {"baseline_median", s.baseline_median},
                       {"p", s.p_value},
                       {"significant", s.significant}});
  }
  std::string missing;
  if (!without_baseline.empty()) {
    missing = fmt::format("no successful {} single-stream run (same threads) to compare with for {}", view.baseline,
                          fmt::join(without_baseline, ", "));
  }
  if (categories.empty()) {
    notes["speedup"] = missing.empty() ? fmt::format("No single-stream runs to compare with {}.", view.baseline)
                                       : "No speed-ups: " + missing + ".";
    return;
  }
  charts.push_back({{"id", "speedup"},
                    {"section", "speedup"},
                    {"kind", "speedup"},
                    {"title", fmt::format("Speed-up against {} (single-stream)", view.baseline)},
                    {"subtitle", fmt::format("{0} median / this median; error bars: 95% bootstrap interval; right of "
                                             "the dashed line (1 = {0}) is faster{1}",
                                             view.baseline, missing.empty() ? "" : "; " + missing)},
                    {"x_name", fmt::format("speed-up against {} (×, higher is faster)", view.baseline)},
                    {"baseline", view.baseline},
                    {"categories", categories},
                    {"models", models},
                    {"model_of", model_of},
                    {"values", values},
                    {"ci", ci},
                    {"details", details},
                    {"height", bar_chart_height(categories.size(), 1)}});
}

// The Pareto front in words, under its chart: the points' names would crowd
// the chart itself.
std::string pareto_list(const json& data) {
  for (const auto& c : data["charts"]) {
    if (c["id"] != "pareto") continue;
    std::string out = "<p class=\"intro\">On the Pareto front, fastest first:</p>\n<ol class=\"front\">\n";
    for (const auto& p : c["front"]) {
      const std::string ci = p.contains("y_lo") ? fmt::format(" [95% CI {:.2f}, {:.2f}; {} images]",
                                                               p["y_lo"].get<double>(), p["y_hi"].get<double>(),
                                                               p["images"].get<double>())
                                                 : "";
      out += fmt::format("<li>{}: {:.3f} ms, top-1 {:.2f}%{}</li>\n", html_escape(p["label"].get<std::string>()),
                         p["x"].get<double>(), p["y"].get<double>(), ci);
    }
    return out + "</ol>\n";
  }
  return "";
}

// Script source safe to inline: a "</script" (any case) would end the element
// early. In JavaScript it can only sit in a string, a regular expression or a
// comment, where "<\/script" means the same. (ECharts 6.1 holds none.)
std::string inline_script(std::string_view source) {
  std::string out(source);
  std::string lower(source);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (std::size_t at = lower.size(); (at = lower.rfind("</script", at)) != std::string::npos;) {
    out.insert(at + 1, 1, '\\');
    if (at == 0) break;
    --at;
  }
  return out;
}

// One section of the page: heading, a sentence, its charts or its note.
std::string section(const std::string& id, const std::string& heading, const std::string& intro, const json& data,
                    const std::string& body = "", const std::string& after = "") {
  std::string out = fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", id, html_escape(heading));
  if (!intro.empty()) out += fmt::format("<p class=\"intro\">{}</p>\n", html_escape(intro));
  out += body;
  const auto& charts = data["charts"];
  for (std::size_t i = 0; i < charts.size(); ++i) {
    if (charts[i]["section"] == id) {
      out += fmt::format("<div class=\"chart\" id=\"chart-{}\" data-chart-id=\"{}\"></div>\n", i,
                         html_escape(charts[i]["id"].get<std::string>()));
    }
  }
  if (data["notes"].contains(id)) {
    out += fmt::format("<p class=\"note\">{}</p>\n", html_escape(data["notes"][id].get<std::string>()));
  }
  return out + after + "</section>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string to_html(const Table& t, const std::string& css_class) {
  std::string out = fmt::format("<div class=\"table-wrap\"><table class=\"{}\">\n<thead><tr>", css_class);
  for (std::size_t i = 0; i < t.headers.size(); ++i) {
    const bool right = i < t.right.size() && t.right[i];
    out += fmt::format("<th{}>{}</th>", right ? " class=\"num\"" : "", html_escape(t.headers[i]));
  }
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool right = i < t.right.size() && t.right[i];
      out += fmt::format("<td{}>{}</td>", right ? " class=\"num\"" : "", html_escape(row[i]));
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n";
}

std::string script_safe_json(const nlohmann::json& j) {
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  // Outside strings JSON has none of these characters, so escaping them all
  // is valid JSON that parses to the same value.
  for (char c : text) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

json chart_data(const StudyView& view) {
  json charts = json::array(), notes = json::object();
  latency_charts(view, charts, notes);
  throughput_charts(view, charts, notes);
  pareto_chart(view, charts, notes);
  memory_chart(view, charts, notes);
  cold_start_chart(view, charts, notes);
  speedup_chart(view, charts, notes);
  return {{"charts", charts}, {"notes", notes}};
}

std::string render_html(const StudyView& view, const std::string& title, const HtmlAssets& assets) {
  json data = chart_data(view);
  data["title"] = title;
  data["study"] = view.study.name;
  data["baseline"] = view.baseline;
  data["echarts_version"] = std::string(assets.echarts_version);
  const std::size_t expected = data["charts"].size();
  const Environment env = environment_facts(view);
  const std::string generator = fmt::format("inferbench {} (commit {}); Apache ECharts {}", build::kVersion,
                                            build::kGitCommit, assets.echarts_version);

  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += fmt::format("<meta name=\"generator\" content=\"{}\">\n", html_escape(generator));
  h += fmt::format("<title>{}</title>\n<style>\n{}\n</style>\n</head>\n<body>\n", html_escape(title), assets.css);
  h += fmt::format("<header>\n<h1>{}</h1>\n", html_escape(title));
  h += fmt::format("<p class=\"meta\">Study <b>{}</b>, started {}, {}: {}. Baseline: {}. Generated {} by {}.</p>\n",
                   html_escape(view.study.name), html_escape(view.study.created_at),
                   html_escape(std::string(results::to_string(view.study.status))), html_escape(run_counts(view)),
                   html_escape(view.baseline), html_escape(results::utc_now()), html_escape(generator));
  for (const auto& w : env.warnings) h += fmt::format("<p class=\"warning\">WARNING: {}</p>\n", html_escape(w));
  // The browser test reads this element: the script fills it in when it ran.
  h += fmt::format(
      "<div id=\"report-status\" data-charts-expected=\"{}\" data-charts-rendered=\"0\" "
      "data-errors=\"the report script did not run\">charts: the report script did not run</div>\n",
      expected);
  h +=
      "<nav><a href=\"#summary\">summary</a> <a href=\"#failures\">failed and skipped</a> "
      "<a href=\"#latency\">latency</a> <a href=\"#throughput\">throughput</a> <a href=\"#pareto\">accuracy vs "
      "latency</a> <a href=\"#memory\">memory</a> <a href=\"#cold-start\">cold start</a> <a href=\"#speedup\">"
      "speed-up</a> <a href=\"#runs\">all runs</a> <a href=\"#environment\">environment</a></nav>\n</header>\n<main>\n";

  const Table summary = summary_rows(view);
  h += section("summary", "Summary",
               "Per model: the fastest configuration for single-stream latency (median with its 95% bootstrap "
               "interval; ~ = unstable) and the one with the highest throughput, each with its verify top-1 accuracy "
               "(with its 95% Wilson interval on the images verified) and parity against the reference (top-1 "
               "agreement, max |logit difference|), and the baseline's figures for reference.",
               data,
               summary.rows.empty() ? "<p class=\"note\">No runs in this study.</p>\n" : to_html(summary, "summary"));
  const Table failures = failures_table(view);
  h += section("failures", "Failed and skipped runs", "Listed here with their reasons, and left out of every chart.",
               data, failures.rows.empty() ? "<p class=\"note\">None.</p>\n" : to_html(failures, "failures"));
  h += section("latency", "Latency distribution",
               "Every raw sample of the single-stream scenario (one image per request), per backend and artifact.",
               data);
  h += section("throughput", "Throughput against batch size",
               "Images per second at each batch size; offline keeps several requests in flight.", data);
  h += section("pareto", "Accuracy against latency", "What each choice costs in accuracy for what it gains in speed.",
               data, "", pareto_list(data));
  h += section("memory", "Memory and model size", "", data);
  h += section("cold-start", "Cold start",
               "A fresh process loads the model and runs one inference: what a user waits for first.", data);
  h += section("speedup", fmt::format("Speed-up against {}", view.baseline),
               fmt::format("Ratio of medians against the {} run of the same model and thread count, with its 95% "
                           "bootstrap interval (the bars' error bars); Mann-Whitney p in the tooltip.",
                           view.baseline),
               data);
  h += section("runs", "All runs",
               fmt::format("One row per run. Latencies in ms per request (one batch); speed-up against {} of the "
                           "same model, scenario, batch and threads.",
                           view.baseline),
               data, to_html(runs_table(view), "runs"));
  std::string env_body = "<div class=\"table-wrap\"><table class=\"environment\"><tbody>\n";
  for (const auto& [what, value] : env.facts) {
    env_body += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", html_escape(what), html_escape(value));
  }
  env_body += "</tbody></table></div>\n";
  h += section("environment", "Environment", "The machine and build the study ran on.", data, env_body);
  h += "</main>\n";
  h += fmt::format(
      "<footer>Charts drawn with Apache ECharts {} (Apache License 2.0), inlined in this file with the data: it "
      "needs no network.</footer>\n",
      html_escape(std::string(assets.echarts_version)));

  h += "<script type=\"application/json\" id=\"report-data\">" + script_safe_json(data) + "</script>\n";
  h += "<script>\n" + inline_script(assets.echarts) + "\n</script>\n";
  h += "<script>\n" + inline_script(assets.script) + "\n</script>\n";
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace inferbench::report
