#include "bench/runner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <limits>
#include <numeric>
#include <optional>
#include <thread>
#include <tuple>

#include "artifact/identity.h"
#include "bench/environment.h"
#include "bench/stats.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_number.h"
#include "common/lock.h"
#include "common/process.h"
#include "common/progress.h"
#include "common/rng.h"
#include "data/tensor_file.h"
#include "results/store.h"

namespace inferbench::bench {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kScenarios{"single-stream", "batch", "offline", "cold-start"};

int machine_cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::uint64_t file_bytes(const fs::path& artifact) {
  std::error_code ec;
  std::uint64_t total = 0;
  for (const fs::path& f : artifact::artifact_files(artifact)) {  // .xml and .bin, a SavedModel's every file
    const auto b = fs::file_size(f, ec);
    if (!ec) total += b;
  }
  return total;
}

// Accuracy and parity from verify.json files, by (model, content hash of the
// artifact, backend): a run gets its own artifact's figures whatever its file
// is called (every model's checkpoint is `model.ckpt`; joining by file name
// once gave every libtorch row the last model's top-1).
class VerifyIndex {
 public:
  void add(const std::string& model, const std::string& hash, const std::string& backend, const std::string& precision,
           nlohmann::json figures) {
    rows_[{model, hash, backend, precision}] = std::move(figures);
  }
  // The figures for the run's artifact in the run's backend, or null. Hashes
  // each artifact once, and only when some report was given.
  [[nodiscard]] const nlohmann::json* find(const PlannedRun& run) const {
    if (rows_.empty()) return nullptr;
    auto h = hashes_.find(run.artifact.string());
    if (h == hashes_.end()) h = hashes_.emplace(run.artifact.string(), artifact::content_identity(run.artifact)).first;
    const auto it = rows_.find({run.description.model, h->second, run.backend, std::string(artifact::to_string(run.precision))});
    return it == rows_.end() ? nullptr : &it->second;
  }

 private:
  // (model, content hash, backend, precision asked): an OpenVINO BF16 row
  // gets the BF16 variant's accuracy, not the FP32 one's.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, nlohmann::json> rows_;
  mutable std::map<std::string, std::string> hashes_;
};

// The model and content hash a verify report gives for a file; a report
// written before it recorded them (or its row) falls back on the file itself,
// when it is still there. nullopt (with a warning) when neither.
std::optional<std::pair<std::string, std::string>> verified_identity(const nlohmann::json& j, const char* path_key,
                                                                     const char* model_key, const char* hash_key,
                                                                     const fs::path& report) {
  const fs::path file = j.value(path_key, "");
  std::string model = j.value(model_key, ""), hash = j.value(hash_key, "");
  std::error_code ec;
  if ((model.empty() || hash.empty()) && !file.empty() && fs::is_regular_file(file, ec)) {
    if (model.empty()) model = artifact::describe(file).model;
    if (hash.empty()) hash = artifact::content_identity(file);
  }
  if (hash.empty()) {
    fmt::print(stderr, "bench: WARNING: '{}': no content hash for '{}' and no such file: its accuracy is not joined\n",
               report.string(), file.string());
    return std::nullopt;
  }
  return std::make_pair(model, hash);
}

VerifyIndex read_verify(const std::vector<fs::path>& reports) {
  VerifyIndex out;
  for (const auto& p : reports) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file_text(p));
    } catch (const nlohmann::json::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': not a verify report: {}", p.string(), e.what()));
    }
    // Per-image results pair only on the same test images (bench compare checks it).
    const std::string test_set = j.value("test_set", "");
    for (const auto& row : j.value("results", nlohmann::json::array())) {
      const auto id = verified_identity(row, "artifact", "model", "artifact_hash", p);
      if (!id) continue;
      nlohmann::json figures = nlohmann::json::object();
      for (const char* k : {"status", "top1", "agreement", "max_abs_diff", "mean_abs_diff", "count", "correct", "mcnemar",
                            "top1_drop", "accuracy_flag", "executed"}) {
        if (row.contains(k)) figures[k] = row[k];
      }
      if (!test_set.empty()) figures["test_set"] = test_set;
      // "precision" is the precision asked (reports before compute precisions: the artifact's, the same thing).
      out.add(id->first, id->second, row.value("backend", ""), row.value("precision", "fp32"), std::move(figures));
    }
    if (j.contains("reference") && j["reference"].is_object()) {
      const auto id = verified_identity(j, "checkpoint", "checkpoint_model", "checkpoint_hash", p);
      if (!id) continue;
      nlohmann::json figures{{"status", "reference"}, {"top1", j["reference"].value("top1", 0.0)},
                             {"agreement", 1.0}, {"max_abs_diff", 0.0}};
      if (j.contains("count")) figures["count"] = j["count"];
      if (j.contains("reference_correct")) figures["correct"] = j["reference_correct"];
      if (!test_set.empty()) figures["test_set"] = test_set;
      out.add(id->first, id->second, "libtorch", "fp32", std::move(figures));
    }
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const PlanSpec& p) {
  std::vector<std::string> artifacts;
  for (const auto& a : p.artifacts) artifacts.push_back(a.string());
  std::vector<std::string> verify;
  for (const auto& v : p.verify_reports) verify.push_back(v.string());
  return {{"artifacts", artifacts}, {"backends", p.backends},     {"scenarios", p.scenarios},
          {"batches", p.batches},   {"threads", p.threads},       {"options", p.options},
          {"precisions", p.precisions},
          {"tensors", p.tensors.string()}, {"timing", worker::to_json(p.timing)}, {"cold_runs", p.cold_runs},
          {"concurrency", p.concurrency},  {"order", p.order},    {"seed", p.seed},
          {"timeout_s", p.timeout_s},      {"memory_bytes", p.memory_bytes}, {"verify_reports", verify}};
}

namespace {

// A plan's whole numbers, checked (common/json_number.h): "batches": [1e30]
// was an undefined conversion to int (fuzz/config.cpp), [1.5] became 1.
template <std::integral T>
T plan_whole(const nlohmann::json& v, const char* key) {
  if (const auto x = whole_number<T>(v)) return *x;
  fail(ExitCode::kInput, fmt::format("plan key '{}': expected a whole number in [{}, {}], got {}", key,
                                     std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                                     v.dump().substr(0, 80)));
}
template <std::integral T>
std::vector<T> plan_wholes(const nlohmann::json& v, const char* key) {
  if (const auto x = whole_numbers<T>(v)) return *x;
  fail(ExitCode::kInput, fmt::format("plan key '{}': expected a list of whole numbers in [{}, {}], got {}", key,
                                     std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                                     v.dump().substr(0, 80)));
}

// A list of precision names, each checked: Error(kInput) naming the key and value.
std::vector<artifact::Precision> precisions_from_json(const nlohmann::json& v, const char* key) {
  try {
    return parse_precisions(v.get<std::vector<std::string>>(), fmt::format("plan key '{}'", key));
  } catch (const Error& e) {
    fail(ExitCode::kInput, e.what());
  }
}

}  // namespace

PlanSpec plan_from_json(const nlohmann::json& j) {
  PlanSpec p;
  const char* key = "";
  try {
    if (!j.is_object()) fail(ExitCode::kInput, "a plan is a JSON object");
    for (const auto& [k, v] : j.items()) {
      key = k.c_str();
      if (k == "artifacts") {
        p.artifacts.clear();
        for (const auto& a : v) p.artifacts.emplace_back(a.get<std::string>());
      } else if (k == "backends") {
        p.backends = v.get<std::vector<std::string>>();
      } else if (k == "scenarios") {
        p.scenarios = v.get<std::vector<std::string>>();
      } else if (k == "batches") {
        p.batches = plan_wholes<int>(v, key);
      } else if (k == "threads") {
        p.threads = plan_wholes<int>(v, key);
      } else if (k == "options") {
        p.options = v.get<std::map<std::string, backends::Options>>();
      } else if (k == "precisions") {
        p.precisions = precisions_from_json(v, key);
      } else if (k == "tensors") {
        p.tensors = v.get<std::string>();
      } else if (k == "timing") {
        p.timing = worker::bench_from_json(v);
      } else if (k == "cold_runs") {
        p.cold_runs = plan_whole<int>(v, key);
      } else if (k == "concurrency") {
        p.concurrency = plan_whole<int>(v, key);
      } else if (k == "order") {
        p.order = v.get<std::string>();
      } else if (k == "seed") {
        p.seed = plan_whole<std::uint64_t>(v, key);
      } else if (k == "timeout_s") {
        p.timeout_s = v.get<double>();
      } else if (k == "memory_bytes") {
        p.memory_bytes = plan_whole<std::uint64_t>(v, key);
      } else if (k == "verify_reports") {
        for (const auto& a : v) p.verify_reports.emplace_back(a.get<std::string>());
      } else {
        fail(ExitCode::kInput, fmt::format("unknown plan key '{}'", k));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("plan key '{}': {}", key, e.what()));
  }
  for (const auto& [backend, opts] : p.options) backends::check_options(backends::find_backend(backend), opts);
  return p;
}

nlohmann::json PlannedRun::configuration() const {
  nlohmann::json c{{"artifact", fs::absolute(artifact).lexically_normal().string()},
          {"format", description.format},
          {"precision", description.precision},
          {"model", description.model},
          {"backend", backend},
          {"scenario", scenario},
          {"batch", batch},
          {"threads", threads},
          {"concurrency", concurrency},
          {"options", options}};
  // A compute precision (an option already says it; named too, so the key
  // says what the row is). Rows in the artifact's own precision keep the key
  // they had before compute precisions existed, so older studies resume.
  if (precision != description.precision) c["requested_precision"] = precision;
  return c;
}

std::vector<PlannedRun> expand_plan(const PlanSpec& spec) {
  for (const auto& s : spec.scenarios) {
    if (std::find(kScenarios.begin(), kScenarios.end(), s) == kScenarios.end()) {
      fail(ExitCode::kUsage, fmt::format("unknown scenario '{}' (known: single-stream, batch, offline, cold-start)", s));
    }
  }
  if (spec.artifacts.empty()) fail(ExitCode::kUsage, "bench: no artifact to run");
  bool all = false;
  for (const auto& b : spec.backends) all = all || b == "all";
  std::vector<const backends::BackendInfo*> chosen;
  if (all) {
    for (const auto& b : backends::registry()) chosen.push_back(&b);
  } else {
    for (const auto& name : spec.backends) chosen.push_back(&backends::find_backend(name));
  }
  std::vector<artifact::Artifact> described;
  for (const auto& p : spec.artifacts) described.push_back(artifact::describe(p));

  // Outer loops: the configuration; inner loop: artifact x backend. Runs of the
  // same configuration on different frameworks therefore alternate (A B A B),
  // so slow drift of the machine does not favour whichever ran first.
  std::vector<PlannedRun> runs;
  for (const auto& scenario : spec.scenarios) {
    std::vector<int> batches = spec.batches;
    if (scenario == "single-stream" || scenario == "cold-start") batches = {1};
    for (int threads_req : spec.threads) {
      const int threads = threads_req > 0 ? threads_req : machine_cores();
      for (int batch : batches) {
        for (std::size_t i = 0; i < described.size(); ++i) {
          for (const auto* info : chosen) {
            if (!info->takes_format(described[i].format)) continue;
            backends::Options given;
            if (auto it = spec.options.find(info->name); it != spec.options.end()) given = it->second;
            for (auto& variant : backends::precision_variants(*info, described[i], given, spec.precisions)) {
              PlannedRun r;
              r.artifact = spec.artifacts[i];
              r.description = described[i];
              r.backend = info->name;
              r.scenario = scenario;
              r.batch = batch;
              r.threads = threads;
              r.precision = variant.precision;
              r.options = std::move(variant.options);
              if (scenario == "offline") {
                r.concurrency = spec.concurrency > 0 ? spec.concurrency : std::max(1, machine_cores() / threads);
                if (!info->concurrent_infer) r.concurrency = 1;  // it parallelises inside (async requests)
              }
              if (!info->available) r.skip_reason = "backend unavailable: " + info->reason;
              if (r.skip_reason.empty()) r.skip_reason = info->refusal(described[i]);
              if (!described[i].dynamic_batch && batch != 1) {
                r.skip_reason = fmt::format("'{}' has a fixed batch of 1", r.artifact.filename().string());
              }
              runs.push_back(std::move(r));
            }
          }
        }
      }
    }
  }
  if (spec.order == "sequential") {
    std::stable_sort(runs.begin(), runs.end(), [](const PlannedRun& a, const PlannedRun& b) {
      return std::tie(a.artifact, a.backend) < std::tie(b.artifact, b.backend);
    });
  } else if (spec.order == "random") {
    Rng rng(spec.seed);
    for (std::size_t i = runs.size(); i > 1; --i) {
      std::swap(runs[i - 1], runs[static_cast<std::size_t>(rng.uniform_int(0, static_cast<int>(i) - 1))]);
    }
  } else if (spec.order != "interleaved") {
    fail(ExitCode::kUsage, fmt::format("unknown order '{}' (sequential, interleaved, random)", spec.order));
  }
  return runs;
}

namespace {

results::RunStatus status_of(worker::Status s) {
  switch (s) {
    case worker::Status::kOk: return results::RunStatus::kOk;
    case worker::Status::kCrashed: return results::RunStatus::kCrashed;
    case worker::Status::kTimedOut: return results::RunStatus::kTimedOut;
    case worker::Status::kOutOfMemory: return results::RunStatus::kOutOfMemory;
    case worker::Status::kFailed:
    case worker::Status::kSpawnFailed: return results::RunStatus::kFailed;
  }
  return results::RunStatus::kFailed;
}

void fill_summary(results::Result& r, const Summary& s) {
  r.count = static_cast<std::int64_t>(s.count);
  r.min = s.min;
  r.max = s.max;
  r.median = s.p50;
  r.p90 = s.p90;
  r.p95 = s.p95;
  r.p99 = s.p99;
  r.p999 = s.p999;
  r.mean = s.mean;
  r.stddev = s.stddev;
  r.cv = s.cv;
  r.ci_lo = s.median_ci_lo;
  r.ci_hi = s.median_ci_hi;
  r.summary["unstable"] = s.unstable;
  r.summary["notes"] = s.notes;
}

}  // namespace

nlohmann::json load_record(const LoadSeen& load) {
  nlohmann::json j{{"cores", load.cores}, {"overlapped", false}};
  if (load.busy_cpu_s < 0 || load.wall_s <= 0) return j;
  const double others = std::max(0.0, load.busy_cpu_s - load.worker_cpu_s);
  const double share = others / (load.wall_s * std::max(1, load.cores));
  const long hz = sysconf(_SC_CLK_TCK);
  const double resolution = 3.0 * load.cores / static_cast<double>(hz > 0 ? hz : 100);
  j["wall_s"] = load.wall_s;
  j["busy_cpu_s"] = load.busy_cpu_s;
  j["worker_cpu_s"] = load.worker_cpu_s;
  j["others_cpu_s"] = others;
  j["others_share"] = share;
  j["overlapped"] = share > kOverlapShare && others > resolution;
  return j;
}

StudyReport run_study(const PlanSpec& spec, const StudyOptions& options) {
  const std::vector<PlannedRun> runs = expand_plan(spec);
  // Fail early on a missing split (each worker reads and checks it in full).
  std::error_code ec;
  if (!fs::is_regular_file(spec.tensors / "meta.json", ec)) {
    fail(ExitCode::kInput, fmt::format("'{}': no preprocessed split there (expected meta.json, x.npy, y.npy from "
                                       "`data export-tensors`)",
                                       spec.tensors.string()));
  }
  const auto verify = read_verify(spec.verify_reports);

  // From here on SIGINT/SIGTERM stop the study cleanly (stop_if_signalled).
  StopSignals stop_signals;
  // The database first: a PostgreSQL study lock lives on its connection.
  results::Store store = results::Store::open(options.database);
  // One process per study: a second `--resume` of it (or a second study of
  // the same name) is refused while this one lives. The lock also tells
  // readers whether a study marked "running" still has its owner.
  const auto study_lock = store.lock_study(
      options.study, fmt::format("inferbench bench, study '{}'", options.study),
      fmt::format("study '{}' of '{}' is being run by another process; wait for it to finish (and --resume it if it "
                  "stops short)",
                  options.study, store.location()));
  // One benchmark per machine: a second one waits (or refuses with --no-wait).
  FileLock machine_lock;
  if (const fs::path lock = options.machine_lock ? machine_lock_path() : fs::path(); !lock.empty()) {
    try {
      machine_lock = FileLock::acquire(
          lock, fmt::format("inferbench bench, study '{}'", options.study), options.wait_for_machine,
          "another benchmark is measuring on this machine (bench --no-wait refuses instead of waiting; "
          "--no-machine-lock or INFERBENCH_MACHINE_LOCK=off measures anyway, and overlapped runs are flagged)",
          [&](const LockHolder& h) {
            fmt::print(stderr, "bench: waiting for the machine's benchmark lock '{}', held by {} (--no-wait: refuse instead)\n",
                       lock.string(), h.describe());
          },
          true);
    } catch (const Error& e) {
      if (e.code() != ExitCode::kOutput) throw;
      fmt::print(stderr, "bench: WARNING: measuring without the machine's benchmark lock: {}\n", e.what());
    }
  }

  StudyReport report;
  report.planned = static_cast<int>(runs.size());
  std::int64_t study_id = 0;
  if (options.resume) {
    const auto s = store.find_study(options.study);
    if (!s) fail(ExitCode::kUsage, fmt::format("no study '{}' in '{}' to resume", options.study, store.location()));
    study_id = s->id;
    store.set_study_status(study_id, results::StudyStatus::kRunning);
  } else {
    study_id = store.begin_study(options.study, to_json(spec));
  }
  report.study = options.study;

  // The machine, once per study run: recorded with every run.
  nlohmann::json env = capture_environment();
  if (options.fp32_peak_seconds > 0) {
    env["fp32_peak"] = to_json(measure_fp32_peak(machine_cores(), options.fp32_peak_seconds));
  }
  const double peak_gflops = env.contains("fp32_peak") ? env["fp32_peak"].value("gflops_total", 0.0) : 0.0;
  for (const auto& w : env.value("warnings", nlohmann::json::array())) {
    fmt::print(stderr, "bench: WARNING: {}\n", w.get<std::string>());
  }

  // SIGINT/SIGTERM: the run in flight was killed with its worker and is not
  // recorded; the ones before it are kept, and --resume continues.
  auto stop_if_signalled = [&] {
    if (StopSignals::caught() == 0) return;
    store.set_study_status(study_id, results::StudyStatus::kInterrupted);
    fail(static_cast<ExitCode>(StopSignals::interrupted_exit_code()),
         fmt::format("{}: study '{}' marked interrupted with {} of {} runs recorded; --resume continues it",
                     StopSignals::caught() == SIGINT ? "interrupted" : "terminated", options.study,
                     report.ran + report.resumed, report.planned));
  };
  stop_if_signalled();

  const fs::path exe = worker::self_exe();
  Progress progress("bench", runs.size(), "runs");
  int index = 0;
  for (const PlannedRun& run : runs) {
    ++index;
    stop_if_signalled();
    const nlohmann::json config = run.configuration();
    const std::string key = results::run_key(config);
    if (options.resume && store.has_run(study_id, key)) {
      ++report.resumed;
      progress.advance();
      continue;
    }
    results::RunRecord rec;
    rec.study_id = study_id;
    rec.run_key = key;
    rec.started_at = results::utc_now();
    rec.environment = env;
    rec.configuration = config;
    auto& res = rec.result;
    res.scenario = run.scenario;
    res.backend = run.backend;
    res.model = run.description.model;
    res.artifact = run.artifact.filename().string();
    res.precision = artifact::to_string(run.precision);
    res.batch = run.batch;
    res.threads = run.threads;
    res.summary["model_file_bytes"] = file_bytes(run.artifact);
    if (const nlohmann::json* v = verify.find(run)) res.summary["verify"] = *v;
    nlohmann::json row{{"scenario", run.scenario}, {"artifact", res.artifact}, {"backend", run.backend},
                       {"batch", run.batch},       {"threads", run.threads}};

    if (!run.skip_reason.empty()) {
      rec.status = results::RunStatus::kSkipped;
      rec.reason = run.skip_reason;
    } else {
      worker::Job job;
      job.mode = "bench";
      job.bench = spec.timing;
      job.bench.scenario = run.scenario;
      job.bench.batch = run.batch;
      job.bench.concurrency = run.concurrency;
      job.backend = run.backend;
      job.artifact = fs::absolute(run.artifact);
      job.options = run.options;
      job.tensors = fs::absolute(spec.tensors);
      job.threads = run.threads;
      job.write_logits = false;
      const worker::Limits limits{spec.timeout_s, spec.memory_bytes};
      const int repeats = run.scenario == "cold-start" ? std::max(1, spec.cold_runs) : 1;
      std::vector<double> samples_ms, load_s, first_s;
      worker::Outcome o;
      LoadSeen load;
      load.cores = machine_cores();
      load.busy_cpu_s = 0;
      const auto loadavg_before = load_average();
      for (int k = 0; k < repeats; ++k) {
        job.dir = fs::absolute(options.work_dir / fmt::format("{:05}-{}", index, k));
        o = worker::run_worker(exe, job, limits);
        stop_if_signalled();
        load.wall_s += o.seconds;
        load.worker_cpu_s += o.cpu_seconds;
        load.busy_cpu_s = o.machine_busy_seconds < 0 || load.busy_cpu_s < 0 ? -1 : load.busy_cpu_s + o.machine_busy_seconds;
        if (o.status != worker::Status::kOk) break;
        try {
          load_s.push_back(o.result.value("load_seconds", 0.0));
          first_s.push_back(o.result.value("first_inference_seconds", 0.0));
        } catch (const nlohmann::json::exception& e) {
          o.status = worker::Status::kFailed;
          o.reason = fmt::format("the worker's result in '{}' is malformed: {}", job.dir.string(), e.what());
          break;
        }
        if (run.scenario == "cold-start") samples_ms.push_back(1e3 * (load_s.back() + first_s.back()));
      }
      rec.status = status_of(o.status);
      rec.reason = o.reason;
      const auto before_result = res;
      if (o.status != worker::Status::kOk) {
        res.summary["stderr_tail"] = o.stderr_tail;
      } else {
        try {
          const nlohmann::json& r = o.result;
          res.summary["settings"] = r.value("settings", nlohmann::json::object());
          res.summary["backend_version"] = r.value("backend_version", "");
          if (r.contains("executed") && !r["executed"].is_null()) res.summary["executed"] = r["executed"];
          res.summary["rss_after_load_kb"] = r.value("rss_after_load_kb", std::int64_t{0});
          res.rss_kb = r.value("peak_rss_kb", std::int64_t{0});
          res.load_s = load_s.front();
          res.first_inference_s = first_s.front();
          if (run.scenario == "cold-start") {
            res.summary["load_seconds"] = load_s;
            res.summary["first_inference_seconds"] = first_s;
          } else {
            const data::NpyArray ns = data::read_npy(job.dir / "samples.npy");
            samples_ms.reserve(ns.element_count());
            for (std::size_t i = 0; i < ns.element_count(); ++i) samples_ms.push_back(1e-6 * static_cast<double>(ns.as_i64()[i]));
            res.throughput = r.value("images_per_second", 0.0);
            res.summary["rss_steady_kb"] = r.value("rss_steady_kb", std::int64_t{0});
            res.summary["cpu_seconds"] = r.value("cpu_seconds", 0.0);
            res.summary["cpu_utilisation"] = r.value("cpu_utilisation", 0.0);
            res.summary["wall_seconds"] = r.value("wall_seconds", 0.0);
            res.summary["concurrency"] = r.value("concurrency", 1);
            res.summary["stopped_short"] = r.value("stopped_short", false);
            res.summary["stopped_early"] = r.value("stopped_early", false);
            const double macs =
                run.description.source.is_object() ? run.description.source.value("macs_per_image", 0.0) : 0.0;
            if (macs > 0 && *res.throughput > 0) {
              const double gflops = 2.0 * macs * *res.throughput / 1e9;
              res.summary["gflops"] = gflops;
              if (peak_gflops > 0) res.summary["fraction_of_fp32_peak"] = gflops / peak_gflops;
            }
          }
          if (!samples_ms.empty()) {
            const Summary s = summarize(samples_ms);
            fill_summary(res, s);
            if (res.summary.value("stopped_short", false)) {
              res.summary["notes"].push_back("stopped at the time limit before the minimum count and duration");
            }
            if (res.summary.value("stopped_early", false)) {
              res.summary["notes"].push_back(fmt::format(
                  "stopped early after {} requests: the median's 95% interval was within {:g}% of it",
                  samples_ms.size(), 100 * spec.timing.ci_target));
            }
          }
          rec.samples = std::move(samples_ms);
        } catch (const std::exception& e) {
          // A worker that exited 0 but left a result of the wrong shape (a field
          // of another type, a missing or corrupt samples.npy) is this run's
          // failure, not the study's end.
          res = before_result;
          rec.samples.clear();
          rec.status = results::RunStatus::kFailed;
          rec.reason = fmt::format("the worker's result in '{}' could not be read: {}", job.dir.string(), e.what());
        }
      }
      // What else ran meanwhile: an overlapped run is stored, but flagged.
      nlohmann::json seen = load_record(load);
      if (loadavg_before) seen["loadavg_1m_before"] = (*loadavg_before)[0];
      if (const auto after = load_average()) seen["loadavg_1m_after"] = (*after)[0];
      if (seen["overlapped"].get<bool>()) {
        res.summary["overlapped"] = true;
        if (!res.summary.contains("notes")) res.summary["notes"] = nlohmann::json::array();
        res.summary["notes"].push_back(fmt::format(
            "overlapped: other processes used {:.0f}% of the machine's CPU time while it ran (more than {:.0f}%); "
            "its figures may be skewed",
            100 * seen["others_share"].get<double>(), 100 * kOverlapShare));
      }
      res.summary["load"] = std::move(seen);
    }
    rec.finished_at = results::utc_now();
    store.record_run(rec);

    row["status"] = std::string(results::to_string(rec.status));
    row["precision"] = res.precision;
    if (res.summary.contains("executed") && res.summary["executed"].is_object()) {
      row["executed"] = res.summary["executed"].value("precision", "unknown");
    }
    if (!rec.reason.empty()) row["reason"] = rec.reason;
    if (res.median) {
      row["median_ms"] = *res.median;
      row["p99_ms"] = *res.p99;
      row["ci"] = {*res.ci_lo, *res.ci_hi};
      row["unstable"] = res.summary.value("unstable", false);
      row["count"] = *res.count;
    }
    if (res.throughput) row["images_per_second"] = *res.throughput;
    if (res.summary.value("overlapped", false)) {
      row["overlapped"] = true;
      ++report.overlapped;
    }
    report.rows.push_back(row);
    ++report.ran;
    if (rec.status == results::RunStatus::kOk) {
      ++report.ok;
    } else if (rec.status == results::RunStatus::kSkipped) {
      ++report.skipped;
    } else {
      ++report.failed;
    }
    progress.advance();
  }
  progress.finish();
  store.set_study_status(study_id, results::StudyStatus::kFinished);
  return report;
}

std::string format_report(const StudyReport& report) {
  std::string out = fmt::format("{:<14} {:<26} {:<12} {:<16} {:>5} {:>3} {:>10} {:>10} {:>21} {:>9}  {}\n",
                                "scenario", "artifact", "backend", "precision (ran)", "batch", "thr", "median ms",
                                "p99 ms", "95% CI of median", "img/s", "status");
  for (const auto& r : report.rows) {
    std::string median = "-", p99 = "-", ci = "-", ips = "-";
    if (r.contains("median_ms")) {
      median = fmt::format("{:.3f}{}", r["median_ms"].get<double>(), r.value("unstable", false) ? "~" : "");
      p99 = fmt::format("{:.3f}", r["p99_ms"].get<double>());
      ci = fmt::format("[{:.3f}, {:.3f}]", r["ci"][0].get<double>(), r["ci"][1].get<double>());
    }
    if (r.contains("images_per_second")) ips = fmt::format("{:.1f}", r["images_per_second"].get<double>());
    std::string status = r["status"];
    if (r.value("overlapped", false)) status += " (overlapped)";
    if (r.contains("reason")) status += ": " + r["reason"].get<std::string>();
    std::string precision = r.value("precision", "");
    if (r.contains("executed") && r["executed"] != precision) precision += " (" + r["executed"].get<std::string>() + ")";
    out += fmt::format("{:<14} {:<26} {:<12} {:<16} {:>5} {:>3} {:>10} {:>10} {:>21} {:>9}  {}\n",
                       r["scenario"].get<std::string>(), r["artifact"].get<std::string>(),
                       r["backend"].get<std::string>(), precision, r["batch"].get<int>(), r["threads"].get<int>(),
                       median, p99, ci, ips, status);
  }
  out += fmt::format("study '{}': {} runs planned, {} ran ({} ok, {} failed, {} skipped), {} already done (resume); "
                     "~ = unstable (CV or IQR/median > 10%)\n",
                     report.study, report.planned, report.ran, report.ok, report.failed, report.skipped,
                     report.resumed);
  if (report.overlapped > 0) {
    out += fmt::format("WARNING: {} run(s) measured while other processes loaded the machine (overlapped): their "
                       "figures may be skewed; run them again on a quiet machine\n",
                       report.overlapped);
  }
  return out;
}

}  // namespace inferbench::bench
