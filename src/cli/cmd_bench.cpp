// `inferbench bench`, `results list|show|export` and `compare`.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>

#include "bench/environment.h"
#include "bench/runner.h"
#include "artifact/precision.h"
#include "bench/stats.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "report/export.h"
#include "results/store.h"
#include "verify/compare.h"

namespace inferbench::cli {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> collect_artifacts(const std::vector<std::string>& given, const std::vector<std::string>& dirs) {
  std::vector<fs::path> out(given.begin(), given.end());
  for (const auto& d : dirs) {
    const auto found = artifact::artifacts_in(d, /*with_checkpoints=*/true);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

void add_bench(CLI::App& app, int& exit_code) {
  struct Flags {
    // The plan's and the study's defaults are PlanSpec's, BenchSpec's and
    // StudyOptions' (written there once); the flags start from them, so --help
    // shows them.
    const bench::PlanSpec plan_defaults{};
    const bench::StudyOptions study_defaults{};
    std::vector<std::string> artifacts, dirs, backends = plan_defaults.backends, scenarios = plan_defaults.scenarios,
                                              options, verify, precisions{"fp32"};
    std::vector<int> batches = plan_defaults.batches, threads = plan_defaults.threads;
    std::string tensors, db = "inferbench-out/results.db", study, order = plan_defaults.order,
                         work = "inferbench-out/bench";
    std::string plan;
    int warmup = plan_defaults.timing.warmup_count, cold_runs = plan_defaults.cold_runs,
        concurrency = plan_defaults.concurrency;
    double warmup_seconds = plan_defaults.timing.warmup_seconds, min_seconds = plan_defaults.timing.min_seconds,
           max_seconds = plan_defaults.timing.max_seconds, timeout = plan_defaults.timeout_s,
           peak_seconds = study_defaults.fp32_peak_seconds, ci_target = plan_defaults.timing.ci_target;
    std::int64_t min_count = plan_defaults.timing.min_count, max_count = plan_defaults.timing.max_count,
                 ci_min_count = plan_defaults.timing.ci_min_count;
    std::uint64_t seed = plan_defaults.seed, memory_mib = plan_defaults.memory_bytes >> 20;
    bool resume = false, json = false, no_machine_lock = false, no_wait = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Benchmark artifacts x backends x scenarios x batch sizes x thread counts (comma-separated lists expand into "
      "every combination), each run in a fresh worker process, results into the SQLite database as each finishes.");
  cmd->add_option("artifacts", f->artifacts, "Artifacts (.pt .onnx .xml, or a .ckpt for libtorch)");
  cmd->add_option("--dir", f->dirs, "Folders of exports (every .pt .onnx .xml .ckpt in them)")->delimiter(',');
  cmd->add_option("--plan", f->plan,
                  "A plan file (JSON, the keys of the study's recorded plan); flags given as well override it")
      ->check(CLI::ExistingFile);
  auto* tensors_opt = cmd->add_option("--tensors", f->tensors, "Preprocessed split from `data export-tensors`");
  cmd->add_option("--backends", f->backends, "Backends, or all")->delimiter(',');
  cmd->add_option("--scenarios", f->scenarios, "single-stream, batch, offline, cold-start")->delimiter(',');
  cmd->add_option("--batch", f->batches, "Batch sizes (batch and offline scenarios)")->delimiter(',')
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--threads", f->threads, "Intra-op thread counts; 0 = every core")->delimiter(',')
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--option", f->options, "Backend option backend:key=value (repeatable)");
  cmd->add_option("--precision", f->precisions,
                  "Compute precisions asked of backends that can be told one on an FP32 artifact (openvino's "
                  "inference precision hint, libtorch's bf16 copy), each a row of its own: fp32, fp16, bf16, or auto "
                  "(fp32 and what this CPU has arithmetic for); FP16 and INT8 files run in their own precision")
      ->delimiter(',');
  cmd->add_option("--warmup", f->warmup, "Warm-up iterations (at least)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--warmup-seconds", f->warmup_seconds, "Warm-up seconds (at least)")
      ->check(CLI::NonNegativeNumber)
      ->check(kNotNaN);
  cmd->add_option("--min-count", f->min_count, "Timed iterations, at least (662: p99 at 99% confidence)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--min-seconds", f->min_seconds, "Timed seconds, at least")
      ->check(CLI::NonNegativeNumber)
      ->check(kNotNaN);
  cmd->add_option("--max-count", f->max_count, "Stop after this many iterations; 0 = no limit")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-seconds", f->max_seconds, "Stop after this long even short of the minimums (recorded)")
      ->check(CLI::PositiveNumber)
      ->check(kNotNaN);
  cmd->add_option("--ci-target", f->ci_target,
                  "Early stopping: stop before the minimums once the median's 95% interval is at most this fraction "
                  "of the median (0.02: within about +-1%; one caller only); 0 = off")
      ->check(CLI::Range(0.0, 0.999))
      ->check(kNotNaN);
  cmd->add_option("--ci-min-count", f->ci_min_count,
                  "Early stopping: not before this many requests (64: p90 at 99% confidence)")
      ->check(CLI::Range(std::int64_t{2}, std::int64_t{1} << 40));
  cmd->add_option("--cold-runs", f->cold_runs, "Fresh workers per cold-start run")->check(CLI::Range(1, 1000));
  cmd->add_option("--concurrency", f->concurrency, "Offline: requests in flight; 0 = cores / threads")
      ->check(CLI::Range(0, 65536));
  cmd->add_option("--order", f->order, "Run order: sequential, interleaved (A B A B), random")
      ->check(CLI::IsMember({"sequential", "interleaved", "random"}));
  cmd->add_option("--seed", f->seed, "Seed for --order random")->check(CLI::NonNegativeNumber);
  cmd->add_option("--timeout", f->timeout, "Seconds before a worker is killed")
      ->check(CLI::PositiveNumber)
      ->check(kNotNaN);
  // At most 2^40 MiB (1 EiB): MiB << 20 must fit in 64 bits (2^44 would wrap to 0, no limit).
  cmd->add_option("--memory-limit", f->memory_mib, "Address-space limit per worker in MiB; 0 = none")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 40));
  cmd->add_option("--verify", f->verify, "verify.json reports: accuracy and parity recorded beside each result")
      ->delimiter(',');
  cmd->add_option("--db", f->db, kDbHelp);
  cmd->add_option("--study", f->study, "Study name (default: study-<UTC time>)");
  cmd->add_flag("--resume", f->resume, "Continue the named study, skipping runs it already finished");
  cmd->add_flag("--no-machine-lock", f->no_machine_lock,
                "Measure without the machine-wide benchmark lock (also: INFERBENCH_MACHINE_LOCK=off; a path there "
                "moves the lock); runs overlapped by other load are still flagged");
  cmd->add_flag("--no-wait", f->no_wait,
                "When another benchmark holds the machine lock, refuse (exit 8) instead of waiting for it");
  cmd->add_option("--peak-seconds", f->peak_seconds, "Length of the FP32 FMA peak measurement; 0 = skip")
      ->check(CLI::NonNegativeNumber)
      ->check(kNotNaN);
  cmd->add_option("--work-dir", f->work, "Worker folders");
  cmd->add_flag("--json", f->json, "Print the report as JSON on stdout");
  cmd->callback([f, cmd, tensors_opt, &exit_code] {
    (void)tensors_opt;
    bench::PlanSpec spec;
    if (!f->plan.empty()) {
      try {
        spec = bench::plan_from_json(nlohmann::json::parse(read_file_text(f->plan)));
      } catch (const nlohmann::json::parse_error& e) {
        fail(ExitCode::kInput, fmt::format("'{}': not valid JSON: {}", f->plan, e.what()));
      } catch (const Error& e) {
        fail(e.code(), fmt::format("'{}': {}", f->plan, e.what()));
      }
    }
    // A flag given on the command line (or any flag without a plan) sets its field.
    auto given = [&](const char* name) { return f->plan.empty() || cmd->count(name) > 0; };
    if (given("artifacts") || given("--dir")) {
      const auto more = collect_artifacts(f->artifacts, f->dirs);
      if (f->plan.empty()) spec.artifacts = more;
      else spec.artifacts.insert(spec.artifacts.end(), more.begin(), more.end());
    }
    if (given("--backends")) spec.backends = f->backends;
    if (given("--scenarios")) spec.scenarios = f->scenarios;
    if (given("--batch")) spec.batches = f->batches;
    if (given("--threads")) spec.threads = f->threads;
    if (given("--option")) {
      for (auto& [k, v] : backends::parse_backend_options(f->options)) spec.options[k] = v;
    }
    if (given("--precision")) spec.precisions = bench::parse_precisions(f->precisions, "--precision");
    if (given("--tensors")) spec.tensors = f->tensors;
    if (given("--warmup")) spec.timing.warmup_count = f->warmup;
    if (given("--warmup-seconds")) spec.timing.warmup_seconds = f->warmup_seconds;
    if (given("--min-count")) spec.timing.min_count = f->min_count;
    if (given("--min-seconds")) spec.timing.min_seconds = f->min_seconds;
    if (given("--max-count")) spec.timing.max_count = f->max_count;
    if (given("--max-seconds")) spec.timing.max_seconds = f->max_seconds;
    if (given("--ci-target")) spec.timing.ci_target = f->ci_target;
    if (given("--ci-min-count")) spec.timing.ci_min_count = f->ci_min_count;
    if (given("--cold-runs")) spec.cold_runs = f->cold_runs;
    if (given("--concurrency")) spec.concurrency = f->concurrency;
    if (given("--order")) spec.order = f->order;
    if (given("--seed")) spec.seed = f->seed;
    if (given("--timeout")) spec.timeout_s = f->timeout;
    if (given("--memory-limit")) spec.memory_bytes = f->memory_mib << 20;
    if (given("--verify")) spec.verify_reports.assign(f->verify.begin(), f->verify.end());
    if (spec.tensors.empty()) fail(ExitCode::kUsage, "bench needs --tensors (or \"tensors\" in the plan)");
    if (f->resume && f->study.empty()) fail(ExitCode::kUsage, "--resume needs --study NAME");
    bench::StudyOptions opts;
    opts.database = f->db;
    opts.study = f->study.empty() ? "study-" + results::utc_now() : f->study;
    opts.resume = f->resume;
    opts.work_dir = fs::path(f->work) / opts.study;
    opts.fp32_peak_seconds = f->peak_seconds;
    opts.machine_lock = !f->no_machine_lock;
    opts.wait_for_machine = !f->no_wait;
    const bench::StudyReport r = bench::run_study(spec, opts);
    if (f->json) {
      std::fputs((dump_json({{"study", r.study}, {"planned", r.planned}, {"ran", r.ran}, {"ok", r.ok},
                             {"failed", r.failed}, {"skipped", r.skipped}, {"resumed", r.resumed},
                             {"overlapped", r.overlapped}, {"runs", r.rows}},
                            2) +
                  "\n")
                     .c_str(),
                 stdout);
    } else {
      std::fputs(bench::format_report(r).c_str(), stdout);
    }
    if (r.failed > 0) exit_code = static_cast<int>(ExitCode::kPartial);
  });
}

results::Study need_study(results::Store& store, const std::string& name, const fs::path& db) {
  const auto s = store.find_study(name);
  if (!s) fail(ExitCode::kUsage, fmt::format("no study '{}' in '{}' (see `inferbench results list`)", name, db.string()));
  return *s;
}

// The read commands open the database read-only: a missing, empty or foreign
// file is a named error and is left as it was (Store::open_read_only).
results::Store read_db(const std::string& db) { return results::Store::open_read_only(db); }

void add_results(CLI::App& app) {
  auto db = std::make_shared<std::string>("inferbench-out/results.db");
  CLI::App* cmd = app.add_subcommand(
      "results", "Read the results database: list studies, show one, export it; import an exported study");
  cmd->require_subcommand(1);
  cmd->add_option("--db", *db, kDbHelp);

  CLI::App* list = cmd->add_subcommand("list", "Studies in the database");
  list->callback([db] {
    results::Store store = read_db(*db);
    // Every row read before anything is printed: an error leaves stdout empty.
    std::string table = fmt::format("{:<32} {:<25} {:<12} {:>5}\n", "study", "created", "status", "runs");
    for (const auto& s : store.studies()) {
      table += fmt::format("{:<32} {:<25} {:<12} {:>5}\n", s.name, s.created_at, results::to_string(s.status),
                           store.runs(s.id).size());
    }
    std::fputs(table.c_str(), stdout);
  });

  auto study = std::make_shared<std::string>();
  CLI::App* show = cmd->add_subcommand("show", "One study's runs as a table");
  show->add_option("study", *study, "Study name")->required();
  show->callback([db, study] {
    results::Store store = read_db(*db);
    const auto s = need_study(store, *study, *db);
    const std::vector<results::RunRecord> runs = store.runs(s.id);  // read before the header is printed
    fmt::print("{:<14} {:<26} {:<12} {:<5} {:>5} {:>3} {:>10} {:>10} {:>9}  {}\n", "scenario", "artifact", "backend",
               "prec", "batch", "thr", "median ms", "p99 ms", "img/s", "status");
    for (const auto& r : runs) {
      const auto& x = r.result;
      fmt::print("{:<14} {:<26} {:<12} {:<5} {:>5} {:>3} {:>10} {:>10} {:>9}  {}{}\n", x.scenario, x.artifact,
                 x.backend, x.precision, x.batch, x.threads, x.median ? fmt::format("{:.3f}", *x.median) : "-",
                 x.p99 ? fmt::format("{:.3f}", *x.p99) : "-",
                 x.throughput ? fmt::format("{:.1f}", *x.throughput) : "-", results::to_string(r.status),
                 r.reason.empty() ? "" : ": " + r.reason);
    }
  });

  auto estudy = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("json");
  auto out = std::make_shared<std::string>();
  CLI::App* exp = cmd->add_subcommand("export", "One study as JSON (canonical, schema-versioned) or CSV");
  exp->add_option("study", *estudy, "Study name")->required();
  exp->add_option("--format", *format, "json or csv")->check(CLI::IsMember({"json", "csv"}));
  exp->add_option("--out", *out, "File (default: stdout)");
  exp->callback([db, estudy, format, out] {
    results::Store store = read_db(*db);
    const auto s = need_study(store, *estudy, *db);
    const std::string text = *format == "csv" ? report::export_study_csv(store, s.id)
                                              : dump_json(report::export_study_json(store, s.id), 2) + "\n";
    if (out->empty()) {
      std::fputs(text.c_str(), stdout);
    } else {
      write_file_atomic(*out, text);
    }
  });

  auto file = std::make_shared<std::string>();
  auto rename = std::make_shared<std::string>();
  CLI::App* imp = cmd->add_subcommand(
      "import",
      "Write a study exported with `results export --format json` (from this or another database: SQLite or "
      "PostgreSQL) into --db, in one transaction, every run and sample as exported; the database is created when "
      "missing");
  imp->add_option("file", *file, "The exported study (JSON; - for stdin)")->required();
  imp->add_option("--as", *rename, "Store it under this name instead of its own");
  imp->callback([db, file, rename] {
    const std::string source = *file == "-" ? std::string("stdin") : *file;
    std::string text;
    if (*file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      text = read_file_text(*file);
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': not JSON: {}", source, e.what()));
    }
    results::StudyData data = report::study_from_json(j, source);
    if (!rename->empty()) data.study.name = *rename;
    results::Store store = results::Store::open(*db);
    store.import_study(data);
    fmt::print("imported study '{}' ({} runs) into '{}'\n", data.study.name, data.runs.size(), store.location());
  });
}

// "study" or "study:backend".
// "study", "study:backend" or "study:backend:precision" (the backend may be
// empty: "study::int8").
struct Selector {
  std::string study, backend, precision;
};
Selector parse_selector(const std::string& s) {
  Selector out;
  const auto first = s.find(':');
  out.study = s.substr(0, first);
  if (first == std::string::npos) return out;
  const auto second = s.find(':', first + 1);
  out.backend = s.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  if (second != std::string::npos) out.precision = s.substr(second + 1);
  if (out.study.empty() || out.precision.find(':') != std::string::npos) {
    fail(ExitCode::kUsage, fmt::format("'{}': expected study, study:backend or study:backend:precision", s));
  }
  if (!out.precision.empty()) (void)artifact::parse_precision(out.precision, fmt::format("the precision in '{}'", s));
  return out;
}

// The verify figures a run carries (null when none).
nlohmann::json verify_of(const results::RunRecord& r) {
  const auto it = r.result.summary.find("verify");
  return it == r.result.summary.end() ? nlohmann::json() : *it;
}

// Top-1 of A and B, and McNemar's exact test when their predictions pair.
nlohmann::json accuracy_json(const verify::PairedTop1& p, double alpha) {
  nlohmann::json j{{"paired", p.paired}};
  if (p.top1_a) j["top1_a"] = *p.top1_a;
  if (p.top1_b) j["top1_b"] = *p.top1_b;
  if (!p.paired) {
    j["note"] = p.why;
    return j;
  }
  j["images"] = p.test.count;
  j["a_only"] = p.test.only_a;
  j["b_only"] = p.test.only_b;
  j["mcnemar_p"] = p.test.p_value;
  j["significant"] = p.test.p_value < alpha;
  const std::string more = !(p.test.p_value < alpha)            ? "neither"
                           : p.test.correct_a > p.test.correct_b ? "a"
                                                                 : "b";
  j["more_accurate"] = more;
  return j;
}

void add_compare(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string a, b, db = "inferbench-out/results.db";
    double alpha = 0.05;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare two sets of results run by run: A and B are studies, study:backend to compare two backends, or "
      "study:backend:precision (backend may be empty: run-1::fp32 run-1::int8) to compare precisions. Runs match on "
      "model, precision, scenario, batch and threads (without backend or precision when a side names one). For each "
      "match: the ratio of median latencies B/A with its bootstrap 95% CI and a Mann-Whitney U test, so 'faster' is "
      "a tested claim; for two or more models in one configuration, the geometric mean of B/A across them with its "
      "bootstrap CI. Beside it, top-1 A and B from `verify` and, when both runs kept per-image predictions of the same "
      "test images, McNemar's exact test of equal accuracy on them (p; 'no paired predictions' otherwise). --json: "
      "{matches, geometric_means}.");
  cmd->add_option("a", f->a, "study, study:backend or study:backend:precision")->required();
  cmd->add_option("b", f->b, "study, study:backend or study:backend:precision")->required();
  cmd->add_option("--db", f->db, kDbHelp);
  cmd->add_option("--alpha", f->alpha, "Significance level")->check(CLI::Range(1e-6, 0.5))->check(kNotNaN);
  cmd->add_flag("--json", f->json, "Print as JSON");
  cmd->callback([f, &exit_code] {
    results::Store store = read_db(f->db);
    const Selector sa = parse_selector(f->a), sb = parse_selector(f->b);
    const bool by_backend = !sa.backend.empty() || !sb.backend.empty();
    const bool by_precision = !sa.precision.empty() || !sb.precision.empty();
    // The artifact's format (its extension: .onnx, .xml, .pt, .ckpt) is part of
    // the match, so an FP32 .xml and an FP32 .onnx of one model in OpenVINO are
    // two runs, not one that hides the other.
    auto format = [](const results::RunRecord& r) { return fs::path(r.result.artifact).extension().string(); };
    auto key = [&](const results::RunRecord& r) {
      const auto& x = r.result;
      return fmt::format("{}|{}{}|{}|{}|{}{}", x.model, by_precision ? "" : x.precision + "|", format(r), x.scenario,
                         x.batch, x.threads, by_backend ? "" : "|" + x.backend);
    };
    // The same configuration without the model: the group a geometric mean summarises.
    auto group = [&](const results::RunRecord& r) {
      const auto& x = r.result;
      return fmt::format("{}{}|{}|{}|{}{}", by_precision ? "" : x.precision + "|", format(r), x.scenario, x.batch,
                         x.threads, by_backend ? "" : "|" + x.backend);
    };
    auto pick = [&](const Selector& s, const std::string& side) {
      std::map<std::string, results::RunRecord> out;
      for (auto& r : store.runs(need_study(store, s.study, f->db).id)) {
        if (r.status != results::RunStatus::kOk || r.samples.empty()) continue;
        if (!s.backend.empty() && r.result.backend != s.backend) continue;
        if (!s.precision.empty() && r.result.precision != s.precision) continue;
        const std::string k = key(r);
        const std::string artifact = r.result.artifact;
        if (!out.emplace(k, std::move(r)).second) {
          fmt::print(stderr, "compare: WARNING: {} has two runs for {} ('{}' and '{}'): the first is compared\n", side,
                     k, out.at(k).result.artifact, artifact);
        }
      }
      return out;
    };
    const auto ra = pick(sa, "A"), rb = pick(sb, "B");
    bench::CompareOptions opts;
    opts.alpha = f->alpha;
    nlohmann::json rows = nlohmann::json::array();
    std::map<std::string, std::vector<std::pair<std::vector<double>, std::vector<double>>>> groups;
    std::map<std::string, std::vector<std::string>> group_models;
    // The machine axis: where each side ran (its runs that matched).
    std::set<std::string> machines_a, machines_b;
    for (const auto& [k, a] : ra) {
      const auto it = rb.find(k);
      if (it == rb.end()) continue;
      machines_a.insert(bench::describe_machine(a.environment));
      machines_b.insert(bench::describe_machine(it->second.environment));
      groups[group(a)].emplace_back(a.samples, it->second.samples);
      group_models[group(a)].push_back(a.result.model);
      const auto c = bench::compare(a.samples, it->second.samples, opts);
      rows.push_back({{"match", k}, {"backend_a", a.result.backend}, {"backend_b", it->second.result.backend},
                      {"median_a_ms", c.median_a}, {"median_b_ms", c.median_b}, {"ratio_b_over_a", c.ratio_of_medians},
                      {"ci", {c.ci_lo, c.ci_hi}}, {"u", c.mann_whitney_u}, {"p_value", c.p_value},
                      {"significant", c.significant}, {"faster", c.faster}});
      rows.back()["accuracy"] = accuracy_json(verify::paired_top1(verify_of(a), verify_of(it->second)), f->alpha);
    }
    if (rows.empty()) {
      fail(ExitCode::kInput, fmt::format("no matching successful runs between '{}' and '{}'", f->a, f->b));
    }
    // Across models (two or more in one configuration): the geometric mean of B/A.
    nlohmann::json means = nlohmann::json::array();
    for (const auto& [g, pairs] : groups) {
      if (pairs.size() < 2) continue;
      const bench::GeometricMean m = bench::geometric_mean_ratio(pairs, opts);
      means.push_back({{"group", g}, {"models", group_models[g]}, {"geomean_ratio_b_over_a", m.ratio},
                       {"ci", {m.ci_lo, m.ci_hi}}});
    }
    const bool same_machine = machines_a == machines_b && machines_a.size() == 1;
    if (f->json) {
      const nlohmann::json machines{{"a", machines_a}, {"b", machines_b}, {"same", same_machine}};
      std::fputs((dump_json({{"matches", rows}, {"geometric_means", means}, {"machines", machines}}, 2) + "\n").c_str(),
                 stdout);
      return;
    }
    fmt::print("A ran on {}\nB ran on {}\n", fmt::join(machines_a, "; "), fmt::join(machines_b, "; "));
    if (!same_machine) {
      fmt::print("A and B ran on different machines: each B/A compares the machines (CPU, cores, memory, host) as "
                 "much as the configurations\n");
    }
    const std::string match_head = fmt::format("model|{}format|scenario|batch|threads{}",
                                               by_precision ? "" : "precision|", by_backend ? "" : "|backend");
    fmt::print("{:<44} {:>10} {:>10} {:>8} {:>19} {:>9} {:>8} {:>8} {:>10}  {}\n", match_head, "A ms", "B ms", "B/A",
               "95% CI", "p", "top-1 A", "top-1 B", "McNemar p", "verdict");
    std::vector<std::string> notes;
    for (const auto& r : rows) {
      const std::string faster = r["faster"];
      std::string verdict = !r["significant"].get<bool>() ? "no significant difference"
                            : faster == "a"              ? "A is faster"
                                                         : "B is faster";
      const auto& acc = r["accuracy"];
      auto top1 = [&](const char* k) { return acc.contains(k) ? fmt::format("{:.2f}%", 100 * acc[k].get<double>()) : "-"; };
      std::string mcnemar = "-";
      if (acc["paired"].get<bool>()) {
        mcnemar = fmt::format("{:.2g}", acc["mcnemar_p"].get<double>());
        const std::string more = acc["more_accurate"];
        verdict += more == "neither" ? "; top-1: no significant difference"
                   : more == "a"     ? "; A is more accurate"
                                     : "; B is more accurate";
      } else if (std::find(notes.begin(), notes.end(), acc["note"].get<std::string>()) == notes.end()) {
        notes.push_back(acc["note"]);
      }
      fmt::print("{:<44} {:>10.3f} {:>10.3f} {:>8.3f} {:>19} {:>9.2g} {:>8} {:>8} {:>10}  {}\n",
                 r["match"].get<std::string>(), r["median_a_ms"].get<double>(), r["median_b_ms"].get<double>(),
                 r["ratio_b_over_a"].get<double>(),
                 fmt::format("[{:.3f}, {:.3f}]", r["ci"][0].get<double>(), r["ci"][1].get<double>()),
                 r["p_value"].get<double>(), top1("top1_a"), top1("top1_b"), mcnemar, verdict);
    }
    for (const auto& n : notes) fmt::print("top-1: {}\n", n);
    for (const auto& m : means) {
      fmt::print("geometric mean over {} models ({}), {}: B/A {:.3f} [{:.3f}, {:.3f}] (95% bootstrap CI; < 1: B is "
                 "faster)\n",
                 m["models"].size(), fmt::join(m["models"].get<std::vector<std::string>>(), ", "),
                 m["group"].get<std::string>(), m["geomean_ratio_b_over_a"].get<double>(), m["ci"][0].get<double>(),
                 m["ci"][1].get<double>());
    }
    (void)exit_code;
  });
}

}  // namespace

void add_bench_commands(CLI::App& app, int& exit_code) {
  add_bench(app, exit_code);
  add_results(app);
  add_compare(app, exit_code);
}

}  // namespace inferbench::cli
