#include "verify/verify.h"

#include <fmt/color.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>

#include "artifact/identity.h"
#include "bench/stats.h"
#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/progress.h"
#include "data/tensor_file.h"
#include "verify/compare.h"
#include "worker/worker.h"

namespace inferbench::verify {

namespace fs = std::filesystem;

namespace {

std::vector<float> read_logits(const fs::path& file, std::int64_t& classes) {
  const data::NpyArray a = data::read_npy(file);
  if (a.dtype != "<f4" || a.shape.size() != 2) {
    fail(ExitCode::kInput, fmt::format("'{}': expected float32 [N, classes] logits", file.string()));
  }
  classes = a.shape[1];
  return {a.as_f32(), a.as_f32() + a.element_count()};
}

// The backends a spec names (every one but the reference for "all").
std::vector<const backends::BackendInfo*> chosen_backends(const std::vector<std::string>& names) {
  const bool all = std::find(names.begin(), names.end(), "all") != names.end();
  if (!all)
    for (const auto& name : names) (void)backends::find_backend(name);  // unknown names are usage errors
  std::vector<const backends::BackendInfo*> chosen;
  for (const auto& b : backends::registry()) {
    if (b.name == "libtorch") continue;  // the reference itself
    if (all || std::find(names.begin(), names.end(), b.name) != names.end()) chosen.push_back(&b);
  }
  return chosen;
}

// The identity of a test split's content (images and labels, in order): two
// verify reports with the same one hold per-image results that pair.
std::string test_set_identity(const data::SplitTensors& t) {
  return content_hash(content_hash(std::span<const std::uint8_t>(t.x.bytes)) + "+" +
                      content_hash(std::span<const std::uint8_t>(t.y.bytes)));
}

// "85.48% [83.21, 87.55]": a top-1 with its 95% Wilson interval on `count` images.
std::string top1_with_interval(double top1, std::int64_t count) {
  if (count <= 0) return fmt::format("{:.2f}%", 100 * top1);
  const auto n = static_cast<std::size_t>(count);
  const auto k = static_cast<std::size_t>(std::llround(top1 * static_cast<double>(count)));
  const bench::Interval ci = bench::wilson_interval(std::min(k, n), n);
  return fmt::format("{:.2f}% [{:.2f}, {:.2f}]", 100 * top1, 100 * ci.lo, 100 * ci.hi);
}

}  // namespace

int VerifyReport::exit_code() const {
  if (failed_verify > 0) return static_cast<int>(ExitCode::kVerifyFailed);
  if (failed_run > 0) return static_cast<int>(ExitCode::kPartial);
  return 0;
}

VerifyReport run(const VerifySpec& spec) {
  const std::vector<const backends::BackendInfo*> chosen = chosen_backends(spec.backends);
  std::vector<fs::path> artifacts = spec.artifacts;
  if (artifacts.empty()) {
    if (spec.dir.empty()) fail(ExitCode::kUsage, "give the artifacts or --dir (the folder `inferbench export` wrote)");
    artifacts = artifact::artifacts_in(spec.dir, /*with_checkpoints=*/false);
  }
  const data::SplitTensors tensors = data::load_split_tensors(spec.tensors);
  const std::vector<std::int64_t> labels(tensors.y.as_i64(), tensors.y.as_i64() + tensors.count);
  const fs::path exe = worker::self_exe();
  const worker::Limits limits{spec.timeout_s, spec.memory_bytes};

  auto job_for = [&](const std::string& backend, const fs::path& artifact, const std::string& tag,
                     const backends::Options& options) {
    worker::Job job;
    job.backend = backend;
    job.artifact = fs::absolute(artifact);
    job.options = options;
    job.tensors = fs::absolute(spec.tensors);
    job.dir = fs::absolute(spec.out / "workers" / tag);
    job.threads = spec.threads;
    job.batch = spec.batch;
    return job;
  };

  // 1. The reference.
  fmt::print(stderr, "verify: reference: libtorch on {}\n", spec.checkpoint.string());
  const worker::Outcome ref = worker::run_worker(exe, job_for("libtorch", spec.checkpoint, "reference", {}), limits);
  if (ref.status != worker::Status::kOk) {
    fail(ExitCode::kInput, fmt::format("the LibTorch reference on '{}' failed: {}\n{}", spec.checkpoint.string(),
                                       ref.reason, ref.stderr_tail));
  }
  std::int64_t classes = 0;
  const std::vector<float> ref_logits = read_logits(spec.out / "workers" / "reference" / "logits.npy", classes);
  // The reference's own per-image results (against itself: only its correctness matters here).
  const Comparison ref_self = compare_logits(ref_logits, ref_logits, labels, classes);

  // 2. Every artifact in every backend that loads its format, in each
  // precision asked of it (the checkpoint itself too, for LibTorch's compute
  // precisions other than the reference's FP32).
  struct Item {
    artifact::Artifact a;
    const backends::BackendInfo* info;
    backends::PrecisionVariant variant;
  };
  std::vector<Item> plan;
  auto add_variants = [&](const artifact::Artifact& a, const backends::BackendInfo* b, bool reference) {
    backends::Options given;
    if (auto it = spec.options.find(b->name); it != spec.options.end()) given = it->second;
    for (auto& v : backends::precision_variants(*b, a, given, spec.precisions)) {
      if (reference && v.precision == a.precision) continue;  // that is the reference
      plan.push_back({a, b, std::move(v)});
    }
  };
  const bool all = std::find(spec.backends.begin(), spec.backends.end(), "all") != spec.backends.end();
  if (all || std::find(spec.backends.begin(), spec.backends.end(), "libtorch") != spec.backends.end()) {
    add_variants(artifact::describe(spec.checkpoint), &backends::find_backend("libtorch"), true);
  }
  for (const auto& p : artifacts) {
    const artifact::Artifact a = artifact::describe(p);
    for (const auto* b : chosen)
      if (b->loads(a)) add_variants(a, b, false);
  }
  VerifyReport out;
  nlohmann::json rows = nlohmann::json::array();
  Progress progress("verify", plan.size(), "runs");
  for (const auto& [a, info, variant] : plan) {
    // Joined to bench runs by model and content (artifact/identity.h), never by the file name.
    nlohmann::json row{{"artifact", a.path.string()}, {"model", a.model},
                       {"artifact_hash", artifact::content_identity(a.path)},
                       {"format", a.format}, {"precision", variant.precision},
                       {"artifact_precision", a.precision}, {"backend", info->name}};
    if (!info->available) {
      row["status"] = "unavailable";
      row["reason"] = info->reason;
      rows.push_back(row);
      progress.advance();
      continue;
    }
    std::string tag = a.path.filename().string() + "__" + info->name;
    if (variant.precision != a.precision) tag += "__" + std::string(artifact::to_string(variant.precision));
    const worker::Outcome o = worker::run_worker(exe, job_for(info->name, a.path, tag, variant.options), limits);
    row["worker"] = {{"status", worker::to_string(o.status)}, {"seconds", o.seconds}, {"max_rss_kb", o.max_rss_kb}};
    if (o.status != worker::Status::kOk) {
      ++out.failed_run;
      row["status"] = worker::to_string(o.status);
      row["reason"] = o.reason;
      row["stderr_tail"] = o.stderr_tail;
    } else {
      std::int64_t k = 0;
      const auto logits = read_logits(spec.out / "workers" / tag / "logits.npy", k);
      const Comparison c = compare_logits(ref_logits, logits, labels, classes);
      const Tolerance& tol = tolerance_for(variant.precision);
      const Verdict v = judge(c, tol);
      row["status"] = v.pass ? "pass" : "FAIL";
      if (!v.pass) row["reason"] = v.why, ++out.failed_verify;
      row["top1"] = c.top1;
      row["reference_top1"] = c.reference_top1;
      row["agreement"] = c.agreement;
      row["max_abs_diff"] = c.max_abs_diff;
      row["mean_abs_diff"] = c.mean_abs_diff;
      row["reference_range"] = c.reference_range;
      row["count"] = c.count;
      row["correct"] = encode_correct(c.correct);
      // McNemar's exact test against the reference, on the same images.
      const bench::McNemar m = bench::mcnemar(c.reference_correct, c.correct);
      row["mcnemar"] = {{"reference_only", m.only_a}, {"artifact_only", m.only_b}, {"p_value", m.p_value}};
      row["tolerance"] = {{"min_agreement", tol.min_agreement}};
      if (std::isfinite(tol.max_abs_diff_scaled)) row["tolerance"]["max_abs_diff_scaled"] = tol.max_abs_diff_scaled;
      // What the variant costs in accuracy: flagged beyond the threshold, in
      // this table, bench's rows and the report.
      const double drop = c.reference_top1 - c.top1;
      row["top1_drop"] = drop;
      if (drop > spec.max_top1_drop + 1e-12) {
        row["accuracy_flag"] = fmt::format("top-1 {:.2f} points below the reference (more than {:.2f})", 100 * drop,
                                           100 * spec.max_top1_drop);
      }
      row["backend_version"] = o.result.value("backend_version", "");
      row["settings"] = o.result.value("settings", nlohmann::json::object());
      if (o.result.contains("executed") && !o.result["executed"].is_null()) row["executed"] = o.result["executed"];
    }
    rows.push_back(row);
    progress.advance();
  }
  progress.finish();

  out.report = {{"checkpoint", spec.checkpoint.string()},
                {"checkpoint_model", artifact::describe(spec.checkpoint).model},
                {"checkpoint_hash", artifact::content_identity(spec.checkpoint)},
                {"tensors", spec.tensors.string()},
                {"test_set", test_set_identity(tensors)},
                {"count", tensors.count},
                {"reference", ref.result},
                {"reference_correct", encode_correct(ref_self.reference_correct)},
                {"results", rows}};
  write_file_atomic(spec.out / "verify.json", dump_json(out.report, 2) + "\n");
  return out;
}

std::string format_report(const nlohmann::json& report, bool color) {
  const char* head = "{:<28} {:<12} {:<5} {:>24} {:>9} {:>10} {:>10} {:>9} {:>9}  {}\n";
  std::string s = fmt::format(fmt::runtime(head), "artifact", "backend", "prec", "top-1 [95% CI]", "agree",
                              "max|diff|", "mean|diff|", "ref/art", "McNemar p", "verdict");
  const std::int64_t count = report.value("count", std::int64_t{0});
  if (report.contains("reference") && report["reference"].is_object() && report["reference"].contains("top1")) {
    s += fmt::format(fmt::runtime(head), fs::path(report.value("checkpoint", "")).filename().string(), "libtorch",
                     "fp32", top1_with_interval(report["reference"]["top1"].get<double>(), count), "-", "-", "-", "-",
                     "-", "reference");
  }
  for (const auto& r : report["results"]) {
    const std::string status = r["status"];
    std::string verdict = status;
    if (r.contains("reason")) verdict += ": " + r["reason"].get<std::string>();
    if (r.contains("accuracy_flag")) verdict += "; DROP: " + r["accuracy_flag"].get<std::string>();
    if (color && (status != "pass" || r.contains("accuracy_flag"))) {
      verdict = fmt::format(fmt::fg(fmt::terminal_color::red), "{}", verdict);
    }
    const std::string name = fs::path(r["artifact"].get<std::string>()).filename().string();
    if (r.contains("agreement")) {
      std::string discordant = "-", p = "-";
      if (r.contains("mcnemar")) {
        const auto& m = r["mcnemar"];
        discordant = fmt::format("{}/{}", m["reference_only"].get<std::int64_t>(), m["artifact_only"].get<std::int64_t>());
        p = fmt::format("{:.3g}", m["p_value"].get<double>());
      }
      s += fmt::format("{:<28} {:<12} {:<5} {:>24} {:>8.2f}% {:>10.2e} {:>10.2e} {:>9} {:>9}  {}\n", name,
                       r["backend"].get<std::string>(), r["precision"].get<std::string>(),
                       top1_with_interval(r["top1"].get<double>(), r.value("count", count)),
                       100 * r["agreement"].get<double>(), r["max_abs_diff"].get<double>(),
                       r["mean_abs_diff"].get<double>(), discordant, p, verdict);
    } else {
      s += fmt::format(fmt::runtime(head), name, r["backend"].get<std::string>(), r["precision"].get<std::string>(),
                       "-", "-", "-", "-", "-", "-", verdict);
    }
  }
  s += fmt::format(
      "top-1 with its 95% Wilson interval on {} images; ref/art: images only the reference / only the artifact "
      "classifies right; McNemar p: exact two-sided test of equal accuracy on those pairs\n",
      count);
  return s;
}

}  // namespace inferbench::verify
