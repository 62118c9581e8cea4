// `inferbench report`: the figures it computes (box statistics, Pareto front,
// speed-ups), the three files it writes, the CLI's exit codes, and the HTML in
// a real browser (headless Chromium: every chart drawn, no script error, a
// screenshot kept in the test's output folder); and `inferbench results
// export`'s JSON and CSV (report/export.h).
//
// The fixture is a results database written through Store, shaped like what
// `inferbench bench` records: 2 models x 3 backends (libtorch the baseline),
// single-stream runs of 400 raw samples drawn from known distributions
// (onnxruntime's are exactly libtorch's halved: a known 2x), batch runs at
// 1/8/32, one cold-start run, one failed and one skipped run, verify figures.
#include "report/report.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>

#include "bench/stats.h"
#include "common/csv.h"
#include "common/files.h"
#include "common/json.h"
#include "common/rng.h"
#include "report/analysis.h"
#include "report/export.h"
#include "report/assets.h"
#include "report/render.h"
#include "results/store.h"
#include "testutil/browser.h"
#include "testutil/fixtures.h"
#include "testutil/results_fixture.h"

namespace inferbench::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testutil::ended_run;
using testutil::full_run;
using testutil::run_cli;
using testutil::TempDir;

// ------------------------------------------------------------------ fixture

struct Choice {
  std::string backend, artifact, precision;
  double factor;  // latency relative to the baseline
  double top1, agreement, max_abs_diff;
};

struct Model {
  std::string name;
  double base_ms;
  std::vector<Choice> choices;
};

std::vector<Model> fixture_models() {
  return {{"mobilenet_v2",
           8.0,
           {{"libtorch", "mobilenet_v2.ckpt", "fp32", 1.0, 0.883, 1.0, 0.0},
            {"onnxruntime", "mobilenet_v2.onnx", "fp32", 0.5, 0.883, 1.0, 1.4e-5},
            {"openvino", "mobilenet_v2-fp16.xml", "fp16", 0.4, 0.879, 0.995, 2.4e-2}}},
          // openvino here is slower and less accurate than onnxruntime: dominated.
          {"resnet50",
           40.0,
           {{"libtorch", "resnet50.ckpt", "fp32", 1.0, 0.833, 1.0, 0.0},
            {"onnxruntime", "resnet50.onnx", "fp32", 0.5, 0.833, 1.0, 2.0e-5},
            {"openvino", "resnet50.xml", "fp32", 0.8, 0.830, 0.998, 9.5e-6}}}};
}

json fixture_environment() {
  return {
      {"captured_at", "2026-11-25T09:00:00Z"},
      {"hostname", "bench-host"},
      {"cpu",
       {{"model", "AMD EPYC 7B13"},
        {"vendor", "AuthenticAMD"},
        {"simd_flags", {"avx2", "fma"}},
        {"usable_cores", 2},
        {"online_cores", 2},
        {"physical_cores", 1},
        {"sockets", 1},
        {"hypervisor", true},
        {"governor", "unknown"}}},
      {"memory", {{"total_bytes", 8LL << 30}, {"available_bytes", 6LL << 30}}},
      {"os", {{"pretty_name", "Debian GNU/Linux 12 (bookworm)"}, {"kernel", "6.1.0-18-amd64"}, {"machine", "x86_64"}}},
      {"load_average", {0.1, 0.2, 0.3}},
      {"build",
       {{"version", "0.1.0"},
        {"git_commit", "abc1234"},
        {"build_type", "Release"},
        {"compiler", "GNU 12.2.0"},
        {"sanitizers", ""}}},
      {"warnings", json::array()},
      {"fp32_peak", {{"gflops_total", 150.5}, {"gflops_per_thread", 75.2}, {"threads", 2}, {"isa", "avx2+fma"}}}};
}

results::RunRecord base_run(std::int64_t study_id, const std::string& model, const Choice& c,
                            const std::string& scenario, int batch) {
  results::RunRecord r;
  r.study_id = study_id;
  r.configuration = {{"model", model},       {"artifact", c.artifact}, {"backend", c.backend},
                     {"scenario", scenario}, {"batch", batch},         {"threads", 2}};
  r.run_key = results::run_key(r.configuration);
  r.started_at = r.finished_at = results::utc_now();
  r.environment = fixture_environment();
  auto& x = r.result;
  x.scenario = scenario;
  x.backend = c.backend;
  x.model = model;
  x.artifact = c.artifact;
  x.precision = c.precision;
  x.batch = batch;
  x.threads = 2;
  x.summary["model_file_bytes"] = c.precision == "fp16" ? 7'000'000 : 14'000'000;
  x.summary["verify"] = {{"status", c.backend == "libtorch" ? "reference" : "pass"},
                         {"top1", c.top1},
                         {"agreement", c.agreement},
                         {"max_abs_diff", c.max_abs_diff},
                         {"count", 1000}};  // images verified: the top-1 intervals rest on them
  x.summary["backend_version"] = c.backend == "onnxruntime" ? "1.29.0" : c.backend == "openvino" ? "2026.4.1" : "1.13";
  return r;
}

// The figures the bench runner derives from the samples.
void measured(results::RunRecord& r, std::vector<double> samples) {
  const bench::Summary s = bench::summarize(samples);
  auto& x = r.result;
  x.count = static_cast<std::int64_t>(s.count);
  x.min = s.min;
  x.max = s.max;
  x.median = s.p50;
  x.p90 = s.p90;
  x.p95 = s.p95;
  x.p99 = s.p99;
  x.p999 = s.p999;
  x.mean = s.mean;
  x.stddev = s.stddev;
  x.cv = s.cv;
  x.ci_lo = s.median_ci_lo;
  x.ci_hi = s.median_ci_hi;
  x.throughput = 1e3 * x.batch / s.mean;
  x.rss_kb = 200'000 + 1'000 * x.batch;
  x.load_s = 0.2;
  x.first_inference_s = 0.03;
  x.summary["unstable"] = s.unstable;
  x.summary["notes"] = s.notes;
  r.samples = std::move(samples);
}

// Log-normal noise around 1 (sigma 5%), with four slow outliers (x1.6: far
// outside 1.5 IQR, yet the CV stays under 10%, so the runs are stable).
std::vector<double> noise(std::uint64_t seed, std::size_t n, bool outliers = true) {
  Rng rng(seed);
  std::vector<double> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(std::exp(rng.normal(0.0, 0.05)));
  for (std::size_t i = 0; outliers && i < n; i += n / 4) v[i] = 1.6;
  return v;
}

// The realistic study; returns its id. `artifact_suffix` goes into one artifact name (injection test).
std::int64_t write_fixture(results::Store& store, const std::string& study, const std::string& evil_artifact = "") {
  const std::int64_t id = store.begin_study(study, {{"scenarios", {"single-stream", "batch", "cold-start"}}});
  std::uint64_t seed = 1;
  for (const Model& m : fixture_models()) {
    const std::vector<double> shared = noise(seed++, 400);
    for (Choice c : m.choices) {
      if (!evil_artifact.empty() && c.backend == "openvino" && m.name == "resnet50") c.artifact = evil_artifact;
      // Single-stream: the model's shared noise scaled by the choice's factor,
      // in a different order per backend (as measured), so the ratio of
      // medians is exactly the ratio of factors.
      std::vector<double> s;
      for (double n : shared) s.push_back(m.base_ms * c.factor * n);
      Rng shuffle(seed++);
      for (std::size_t i = s.size(); i > 1; --i)
        std::swap(s[i - 1], s[static_cast<std::size_t>(shuffle.uniform_int(0, static_cast<int>(i) - 1))]);
      auto r = base_run(id, m.name, c, "single-stream", 1);
      measured(r, s);
      store.record_run(r);
      for (int batch : {1, 8, 32}) {
        std::vector<double> b;
        // A batch costs less per image as it grows.
        for (double n : noise(seed++, 60, /*outliers=*/false))
          b.push_back(m.base_ms * c.factor * (0.4 + 0.6 * batch) * n);
        auto rb = base_run(id, m.name, c, "batch", batch);
        measured(rb, b);
        store.record_run(rb);
      }
    }
  }
  // One cold-start run: three fresh workers.
  const Choice ort = fixture_models()[0].choices[1];
  auto cold = base_run(id, "mobilenet_v2", ort, "cold-start", 1);
  measured(cold, {130, 150, 140});
  cold.result.throughput.reset();
  cold.result.summary["load_seconds"] = {0.110, 0.125, 0.120};
  cold.result.summary["first_inference_seconds"] = {0.020, 0.025, 0.022};
  store.record_run(cold);
  // A failed and a skipped run: listed, never plotted.
  Choice opencv{"opencv-dnn", "resnet50.onnx", "fp32", 1.0, 0.833, 1.0, 0.0};
  auto failed = base_run(id, "resnet50", opencv, "single-stream", 1);
  failed.status = results::RunStatus::kFailed;
  failed.reason = "OpenCV DNN: layer 'Swish' is not supported";
  failed.result.summary.erase("verify");
  store.record_run(failed);
  auto skipped = base_run(id, "resnet50", opencv, "batch", 8);
  skipped.status = results::RunStatus::kSkipped;
  skipped.reason = "fixed batch 1 model: batch 8 needs a dynamic batch";
  store.record_run(skipped);
  return id;
}

constexpr std::size_t kFixtureRuns = 2 * 3 * (1 + 3) + 3;  // single-stream + 3 batch sizes, + cold, failed, skipped

std::string slurp(const fs::path& p) {
  return read_file_text(p);
}

// The JSON the page embeds (#report-data).
json embedded_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const auto a = html.find(open);
  EXPECT_NE(a, std::string::npos);
  const auto b = html.find("</script>", a);
  return json::parse(html.substr(a + open.size(), b - a - open.size()));
}

const json* chart(const json& data, const std::string& id) {
  for (const auto& c : data["charts"]) {
    if (c["id"] == id) return &c;
  }
  return nullptr;
}

// The first thing in `html` that would load something from elsewhere, or "".
std::string network_reference(const std::string& html) {
  std::string lower(html);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto around = [&](std::size_t at) { return html.substr(at, 80); };
  for (const char* tag : {"<link", "<iframe", "<object", "<embed", "@import"}) {
    if (const auto at = lower.find(tag); at != std::string::npos) return around(at);
  }
  for (std::size_t at = 0; (at = lower.find("<script", at)) != std::string::npos; ++at) {
    const std::string open = lower.substr(at, lower.find('>', at) - at);
    if (open.find(" src") != std::string::npos) return around(at);
  }
  // An attribute or CSS url() whose value starts with a network scheme or "//".
  for (const char* attr : {"src=", "href=", "action=", "url("}) {
    for (std::size_t at = 0; (at = lower.find(attr, at)) != std::string::npos; ++at) {
      std::size_t v = at + std::string_view(attr).size();
      while (v < lower.size() && (lower[v] == ' ' || lower[v] == '"' || lower[v] == '\'')) ++v;
      const std::string_view value(lower.data() + v, std::min<std::size_t>(8, lower.size() - v));
      if (value.starts_with("http:") || value.starts_with("https:") || value.starts_with("//")) return around(at);
    }
  }
  return "";
}

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    results::Store store = results::Store::open(db_);
    study_id_ = write_fixture(store, "fruit-study");
  }

  Written write(const std::string& study = "") {
    results::Store store = results::Store::open(db_);
    Options o;
    o.study = study;
    o.out_dir = out_;
    return write_report(store, o);
  }

  TempDir dir_;
  fs::path db_ = dir_ / "results.db";
  fs::path out_ = dir_ / "report";
  std::int64_t study_id_ = 0;
};

// ------------------------------------------------------------------ figures

TEST(ReportBoxStats, QuartilesWhiskersAndOutliersOfKnownSamples) {
  // 1..100 shuffled, plus one far outlier: n = 101, so q1 = sorted[25] = 26,
  // median = sorted[50] = 51, q3 = sorted[75] = 76 (LoadGen's floor(n q)).
  std::vector<double> s;
  for (int i = 100; i >= 1; --i) s.push_back(i);
  s.insert(s.begin() + 37, 1000.0);
  const BoxStats b = box_stats(s);
  EXPECT_EQ(b.count, 101U);
  EXPECT_EQ(b.q1, 26);
  EXPECT_EQ(b.median, 51);
  EXPECT_EQ(b.q3, 76);
  EXPECT_EQ(b.min, 1);
  EXPECT_EQ(b.max, 1000);
  // IQR 50: whiskers reach 1.5 * 50 = 75 past the box, so 1 and 100 are in.
  EXPECT_EQ(b.whisker_lo, 1);
  EXPECT_EQ(b.whisker_hi, 100);
  EXPECT_EQ(b.outliers, std::vector<double>{1000});
  EXPECT_EQ(b.outlier_count, 1U);
}

TEST(ReportBoxStats, ALongTailIsThinnedButKeepsItsExtremes) {
  std::vector<double> s(2000, 10.0);
  for (int i = 0; i < 500; ++i) s.push_back(100.0 + i);  // 500 outliers above a zero-width box (q3 = sorted[1875])
  const BoxStats b = box_stats(s, 60);
  EXPECT_EQ(b.outlier_count, 500U);
  ASSERT_EQ(b.outliers.size(), 60U);
  EXPECT_EQ(b.outliers.front(), 100.0);
  EXPECT_EQ(b.outliers.back(), 599.0);
  EXPECT_TRUE(std::is_sorted(b.outliers.begin(), b.outliers.end()));
  EXPECT_EQ(b.whisker_hi, 10.0);
}

TEST(ReportBoxStats, RejectsEmptyAndNaN) {
  EXPECT_THROW(box_stats({}), std::invalid_argument);
  EXPECT_THROW(box_stats({1.0, std::nan("")}), std::invalid_argument);
}

TEST(ReportParetoFront, ADominatedPointIsExcluded) {
  const std::vector<TradeOff> p{
      {5, 0.80},   // on the front
      {10, 0.90},  // on the front
      {12, 0.85},  // dominated by {10, 0.90}: slower and less accurate
      {5, 0.75},   // dominated by {5, 0.80}: as fast, less accurate
      {20, 0.90},  // dominated by {10, 0.90}: as accurate, slower
      {3, 0.70},   // on the front: the fastest
      {5, 0.80},   // equal to the first: neither dominates, both on the front
  };
  EXPECT_EQ(pareto_front(p), (std::vector<bool>{true, true, false, false, false, true, true}));
  EXPECT_TRUE(pareto_front({}).empty());
}

TEST(ReportTop1Interval, IsWilsonsOnTheImagesVerifiedAndAbsentWithoutTheirCount) {
  results::RunRecord r;
  EXPECT_FALSE(top1_interval(r));  // no verify figures
  r.result.summary["verify"] = {{"top1", 0.8}};
  EXPECT_FALSE(top1_interval(r));  // recorded before verify kept the count: no made-up interval
  r.result.summary["verify"]["count"] = 10;
  const auto ci = top1_interval(r);
  ASSERT_TRUE(ci);
  EXPECT_NEAR(ci->lo, 0.49016247153664183, 1e-12);  // 8 of 10
  EXPECT_NEAR(ci->hi, 0.9433178485456247, 1e-12);
  r.result.summary["verify"]["count"] = 0;
  EXPECT_FALSE(top1_interval(r));
}

TEST(ReportSpeedUp, AKnownTwoXDifferenceIsTwoWithTheCIAroundIt) {
  std::vector<double> base = noise(7, 500);
  for (double& v : base) v *= 10.0;
  std::vector<double> half;
  for (auto it = base.rbegin(); it != base.rend(); ++it) half.push_back(*it / 2.0);
  const SpeedUp s = speed_up(base, half);
  EXPECT_DOUBLE_EQ(s.speedup, 2.0);
  EXPECT_LE(s.ci_lo, 2.0);
  EXPECT_GE(s.ci_hi, 2.0);
  EXPECT_GT(s.ci_lo, 1.8);
  EXPECT_LT(s.ci_hi, 2.2);
  EXPECT_TRUE(s.significant);
  EXPECT_DOUBLE_EQ(s.median, s.baseline_median / 2.0);
  // The same samples: no difference.
  const SpeedUp same = speed_up(base, base);
  EXPECT_DOUBLE_EQ(same.speedup, 1.0);
  EXPECT_FALSE(same.significant);
}

TEST_F(Report, TheViewComparesEachRunWithTheBaselineOfTheSameConfiguration) {
  results::Store store = results::Store::open(db_);
  const StudyView v = build_view(store, study_id_, "libtorch");
  ASSERT_EQ(v.rows.size(), kFixtureRuns);
  EXPECT_EQ(v.models, (std::vector<std::string>{"mobilenet_v2", "resnet50"}));
  int compared = 0;
  for (const Row& r : v.rows) {
    const auto& x = r.run.result;
    if (r.speedup) ++compared;
    if (x.backend == "onnxruntime" && x.scenario == "single-stream") {
      ASSERT_TRUE(r.speedup) << r.label;
      EXPECT_DOUBLE_EQ(r.speedup->speedup, 2.0) << r.label;
      EXPECT_LE(r.speedup->ci_lo, 2.0);
      EXPECT_GE(r.speedup->ci_hi, 2.0);
    }
    if (x.backend == "libtorch" || !r.ok() || x.scenario == "cold-start") {
      EXPECT_FALSE(r.speedup) << r.label;
    }
  }
  EXPECT_EQ(compared, 2 * 2 * 4);  // 2 models x 2 other backends x (single-stream + 3 batch sizes)
}

// ------------------------------------------------------------------ files

TEST_F(Report, SummaryTableNamesTheFastestAndTheHighestThroughputPerModel) {
  results::Store store = results::Store::open(db_);
  const std::string t = summary_table(store, study_id_);
  std::vector<std::string> lines;
  for (std::size_t a = 0, b; (b = t.find('\n', a)) != std::string::npos; a = b + 1) lines.push_back(t.substr(a, b - a));
  ASSERT_EQ(lines.size(), 4U) << t;  // header, 2 models, notes
  EXPECT_NE(lines[0].find("fastest single-stream"), std::string::npos);
  EXPECT_NE(lines[0].find("highest throughput"), std::string::npos);
  EXPECT_NE(lines[0].find("libtorch median ms"), std::string::npos);
  // mobilenet_v2: openvino fp16 is the fastest (0.4x), top-1 87.9%, agreement 99.5%.
  EXPECT_EQ(lines[1].rfind("mobilenet_v2", 0), 0U) << lines[1];
  EXPECT_NE(lines[1].find("openvino mobilenet_v2-fp16.xml"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("87.9%"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("99.5%"), std::string::npos) << lines[1];
  // Top-1 with its 95% Wilson interval on the 1000 images verified (879 right).
  EXPECT_NE(lines[1].find("87.9% [85.7, 89.8]"), std::string::npos) << lines[1];
  EXPECT_NE(lines[0].find("top-1 [95% CI]"), std::string::npos) << lines[0];
  // The highest throughput is at batch 32 of the batch scenario, said once.
  EXPECT_NE(lines[1].find("  batch 32  "), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find("batch 32, batch"), std::string::npos) << lines[1];
  // resnet50: onnxruntime (0.5x) beats openvino (0.8x).
  EXPECT_NE(lines[2].find("onnxruntime resnet50.onnx"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[2].find("openvino"), std::string::npos) << lines[2];
  // Columns line up: every row is as long as the header or shorter (no ragged cells).
  const auto col = lines[0].find("median ms");
  EXPECT_EQ(lines[1].substr(col - 1, 1), " ");
}

TEST_F(Report, WritesMarkdownCsvAndHtml) {
  const Written w = write();
  EXPECT_EQ(w.study, "fruit-study");
  EXPECT_EQ(w.markdown, out_ / "summary.md");
  EXPECT_TRUE(fs::is_regular_file(w.markdown));
  EXPECT_TRUE(fs::is_regular_file(w.csv));
  if (assets::echarts_js().empty()) {
    EXPECT_FALSE(w.html_written);
    EXPECT_NE(w.html_unavailable_reason.find("unavailable in this build"), std::string::npos);
    EXPECT_FALSE(fs::exists(w.html));
  } else {
    EXPECT_TRUE(w.html_written) << w.html_unavailable_reason;
    EXPECT_TRUE(fs::is_regular_file(w.html));
  }

  const std::string md = slurp(w.markdown);
  EXPECT_EQ(md.rfind("# inferbench: fruit-study\n", 0), 0U);
  for (const char* s :
       {"## Summary", "## Failed and skipped runs", "## Runs", "## Environment", "| model | fastest single-stream |",
        "OpenCV DNN: layer 'Swish' is not supported", "fixed batch 1 model", "AMD EPYC 7B13", "onnxruntime 1.29.0",
        "150.5 GFLOP/s", "2.00x [", "1 (baseline)"}) {
    EXPECT_NE(md.find(s), std::string::npos) << s;
  }
  // The runs table: one row per run.
  const auto runs_at = md.find("## Runs");
  const auto env_at = md.find("## Environment");
  const std::string runs = md.substr(runs_at, env_at - runs_at);
  std::size_t rows = 0;
  for (const char* model : {"\n| mobilenet_v2 |", "\n| resnet50 |"}) {
    for (std::size_t a = 0; (a = runs.find(model, a)) != std::string::npos; ++a) ++rows;
  }
  EXPECT_EQ(rows, kFixtureRuns);

  const auto csv = parse_csv(slurp(w.csv), "results.csv");
  ASSERT_EQ(csv.size(), kFixtureRuns + 1);
  EXPECT_EQ(csv[0], csv_columns());
  auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(csv[0].begin(), csv[0].end(), name) - csv[0].begin());
  };
  int failed = 0, ort_single = 0;
  for (std::size_t i = 1; i < csv.size(); ++i) {
    const auto& r = csv[i];
    ASSERT_EQ(r.size(), csv[0].size());
    if (r[col("status")] == "failed") {
      ++failed;
      EXPECT_EQ(r[col("reason")], "OpenCV DNN: layer 'Swish' is not supported");
      EXPECT_EQ(r[col("median_ms")], "");  // no made-up figures
    }
    if (r[col("backend")] == "onnxruntime" && r[col("scenario")] == "single-stream") {
      ++ort_single;
      EXPECT_DOUBLE_EQ(std::stod(r[col("speedup_vs_baseline")]), 2.0);
      EXPECT_LE(std::stod(r[col("speedup_ci_lo")]), 2.0);
      EXPECT_GE(std::stod(r[col("speedup_ci_hi")]), 2.0);
      EXPECT_DOUBLE_EQ(std::stod(r[col("top1")]), r[col("model")] == "mobilenet_v2" ? 0.883 : 0.833);
      // 883 (833) of 1000 images: the Wilson interval, as bench::wilson_interval gives it.
      const bool mobilenet = r[col("model")] == "mobilenet_v2";
      EXPECT_NEAR(std::stod(r[col("top1_ci_lo")]), mobilenet ? 0.8615970906192936 : 0.8086179403533302, 1e-12);
      EXPECT_NEAR(std::stod(r[col("top1_ci_hi")]), mobilenet ? 0.9014716123807713 : 0.85483343849529, 1e-12);
      EXPECT_EQ(r[col("verify_images")], "1000");
    }
    if (r[col("scenario")] == "cold-start") {
      EXPECT_NEAR(std::stod(r[col("load_ms")]), 120.0, 1e-9);  // median of 110, 125, 120
      EXPECT_NEAR(std::stod(r[col("first_inference_ms")]), 22.0, 1e-9);
    }
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(ort_single, 2);
}

// Issue 16: beside the CPU, in summary.md and the HTML, that a checkpoint's
// top-1 holds for the CPU it was trained on, not across CPUs.
TEST_F(Report, TheEnvironmentSaysTrainingIsReproducibleOnOneCpuOnly) {
  const Written w = write();
  const std::string sentence = "training is deterministic for one CPU model and thread count, not across CPUs";
  const std::string md = slurp(w.markdown);
  const auto cpu = md.find("- **CPU**: AMD EPYC 7B13");
  ASSERT_NE(cpu, std::string::npos) << md;
  const auto next = md.find('\n', cpu) + 1;
  const std::string line = "- **training on this CPU**: " + sentence;  // the line after the CPU's
  EXPECT_EQ(md.substr(next, line.size()), line) << md.substr(cpu, 400);
  EXPECT_NE(md.find("`inferbench train --seeds N` measures it"), std::string::npos);
  if (w.html_written) {
    const std::string html = slurp(w.html);
    EXPECT_NE(html.find("<tr><th>training on this CPU</th><td>" + sentence), std::string::npos);
  }
}

TEST_F(Report, TheNewestStudyIsTheDefaultAndAnUnknownOneIsAUsageError) {
  {
    results::Store store = results::Store::open(db_);
    store.begin_study("later-and-empty", json::object());
  }
  EXPECT_EQ(write().study, "later-and-empty");
  EXPECT_EQ(write("fruit-study").study, "fruit-study");
  testutil::expect_error([&] { write("no-such-study"); }, ExitCode::kUsage, "no-such-study");
}

// The rest needs the HTML, i.e. a build with ECharts.
class ReportHtml : public Report {
 protected:
  void SetUp() override {
    if (assets::echarts_js().empty()) {
      GTEST_SKIP() << "this build has no ECharts (" << assets::echarts_missing_reason() << ")";
    }
    Report::SetUp();
  }
};

TEST_F(ReportHtml, IsSelfContained) {
  const std::string html = slurp(write().html);
  EXPECT_NE(html.find("Apache ECharts " + std::string(assets::echarts_version())), std::string::npos);
  EXPECT_FALSE(std::string(assets::echarts_version()).empty());
  // Nothing that would make a browser fetch anything: no external script or
  // stylesheet, no network URL in a src/href/url()/@import. (URLs in the
  // library's licence comment and SVG namespace strings load nothing.)
  EXPECT_EQ(network_reference(html), "");
  // Three script elements: the data, ECharts, ours.
  std::size_t scripts = 0;
  for (std::size_t a = 0; (a = html.find("<script", a)) != std::string::npos; ++a) ++scripts;
  EXPECT_EQ(scripts, 3U);
  EXPECT_NE(html.find("renderer: 'svg'"), std::string::npos);
}

TEST_F(ReportHtml, EmbedsTheFiguresItDraws) {
  const std::string html = slurp(write().html);
  const json data = embedded_data(html);
  // latency x 2 models, throughput x 2, Pareto, memory, cold start, speed-up.
  EXPECT_EQ(data["charts"].size(), 8U) << data["charts"].dump().substr(0, 400);
  EXPECT_NE(html.find("data-charts-expected=\"8\""), std::string::npos);

  // The box of onnxruntime / mobilenet_v2 holds the quartiles of its raw samples.
  results::Store store = results::Store::open(db_);
  std::vector<double> samples;
  for (const auto& r : store.runs(study_id_)) {
    if (r.result.backend == "onnxruntime" && r.result.model == "mobilenet_v2" && r.result.scenario == "single-stream") {
      samples = r.samples;
    }
  }
  ASSERT_EQ(samples.size(), 400U);
  std::sort(samples.begin(), samples.end());
  const json* lat = chart(data, "latency-mobilenet_v2");
  ASSERT_NE(lat, nullptr);
  const auto& cats = (*lat)["categories"];
  const auto at = std::find(cats.begin(), cats.end(), "onnxruntime mobilenet_v2.onnx") - cats.begin();
  ASSERT_LT(at, static_cast<std::ptrdiff_t>(cats.size()));
  const json& box = (*lat)["boxes"][static_cast<std::size_t>(at)];
  EXPECT_EQ(box["count"], 400);
  EXPECT_EQ(box["q1"].get<double>(), samples[100]);
  EXPECT_EQ(box["median"].get<double>(), samples[200]);
  EXPECT_EQ(box["q3"].get<double>(), samples[300]);
  EXPECT_EQ(box["max"].get<double>(), samples.back());
  const double q1 = samples[100], q3 = samples[300];
  const auto outside = std::count_if(samples.begin(), samples.end(),
                                     [&](double v) { return v < q1 - 1.5 * (q3 - q1) || v > q3 + 1.5 * (q3 - q1); });
  EXPECT_GE(outside, 4);  // at least the four x1.6 samples
  EXPECT_EQ(box["outlier_count"].get<long>(), outside);
  EXPECT_NE((*lat)["subtitle"].get<std::string>().find("from 400 raw samples"), std::string::npos);

  // The Pareto front: the two fast mobilenet_v2 choices; every other choice is
  // dominated (resnet50's openvino among them: slower and less accurate than its onnxruntime).
  const json* pareto = chart(data, "pareto");
  ASSERT_NE(pareto, nullptr);
  std::vector<std::string> front;
  for (const auto& p : (*pareto)["front"]) front.push_back(p["label"]);
  EXPECT_EQ(front, (std::vector<std::string>{"mobilenet_v2 · openvino mobilenet_v2-fp16.xml",
                                             "mobilenet_v2 · onnxruntime mobilenet_v2.onnx"}));

  EXPECT_NE(html.find("<li>mobilenet_v2 · openvino mobilenet_v2-fp16.xml: "), std::string::npos);  // listed too
  // Every point carries its top-1 interval (percent) on the images verified, the front's too.
  for (const auto& g : (*pareto)["groups"]) {
    for (const auto& p : g["points"]) {
      ASSERT_TRUE(p.contains("y_lo")) << p.dump();
      EXPECT_LT(p["y_lo"].get<double>(), p["y"].get<double>());
      EXPECT_GT(p["y_hi"].get<double>(), p["y"].get<double>());
      EXPECT_EQ(p["images"], 1000);
    }
  }
  EXPECT_NEAR((*pareto)["front"][0]["y_lo"].get<double>(), 85.73230993571588, 1e-9);  // 879 of 1000
  EXPECT_NE(html.find("top-1 87.90% [95% CI 85.73, 89.78; 1000 images]</li>"), std::string::npos);

  // The speed-up chart: onnxruntime at 2 with its interval around 2; the
  // baseline itself is the line at 1, not a bar.
  const json* sp = chart(data, "speedup");
  ASSERT_NE(sp, nullptr);
  ASSERT_EQ((*sp)["categories"].size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string label = (*sp)["categories"][i];
    EXPECT_EQ(label.find("libtorch"), std::string::npos);
    if (label.find("onnxruntime") != std::string::npos) {
      EXPECT_DOUBLE_EQ((*sp)["values"][i].get<double>(), 2.0);
      EXPECT_LE((*sp)["ci"][i][0].get<double>(), 2.0);
      EXPECT_GE((*sp)["ci"][i][1].get<double>(), 2.0);
    }
  }

  // Throughput: one line per backend and artifact, over batches 1, 8, 32.
  const json* tp = chart(data, "throughput-resnet50");
  ASSERT_NE(tp, nullptr);
  EXPECT_EQ((*tp)["batches"], json({1, 8, 32}));
  EXPECT_EQ((*tp)["series"].size(), 3U);  // the skipped opencv-dnn run draws no line

  // Cold start: medians of the three workers, in ms.
  const json* cold = chart(data, "cold-start");
  ASSERT_NE(cold, nullptr);
  EXPECT_NEAR((*cold)["series"][0]["values"][0].get<double>(), 120.0, 1e-9);
  EXPECT_NEAR((*cold)["series"][1]["values"][0].get<double>(), 22.0, 1e-9);

  // The failed run's reason is listed; every chart leaves it out.
  EXPECT_NE(html.find("OpenCV DNN: layer &#39;Swish&#39; is not supported"), std::string::npos);
  EXPECT_EQ(data["charts"].dump().find("opencv-dnn"), std::string::npos);
}

TEST_F(ReportHtml, ScriptInjectionInNamesIsEscaped) {
  const std::string evil = "x</script><script>alert(1)</script>.xml";
  {
    results::Store store = results::Store::open(db_);
    write_fixture(store, "evil</script><script>alert(2)</script>", evil);
  }
  const Written w = write("evil</script><script>alert(2)</script>");
  const std::string html = slurp(w.html);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  // Only our own three script elements close.
  std::size_t closes = 0;
  for (std::size_t a = 0; (a = html.find("</script>", a)) != std::string::npos; ++a) ++closes;
  EXPECT_EQ(closes, 3U);
  EXPECT_NE(html.find("x&lt;/script&gt;&lt;script&gt;alert(1)"), std::string::npos);  // in the tables
  // The embedded JSON still carries the names exactly.
  const json data = embedded_data(html);
  EXPECT_EQ(data["study"], "evil</script><script>alert(2)</script>");
  EXPECT_NE(data.dump().find(evil), std::string::npos);
}

TEST_F(ReportHtml, AStudyOfOnlyFailuresStillGivesAValidReport) {
  {
    results::Store store = results::Store::open(db_);
    const auto id = store.begin_study("all-failed", json::object());
    const Choice c{"openvino", "resnet50.xml", "fp32", 1.0, 0.8, 1.0, 0.0};
    auto r = base_run(id, "resnet50", c, "single-stream", 1);
    r.status = results::RunStatus::kCrashed;
    r.reason = "worker killed by signal 11";
    r.result.summary.erase("verify");
    store.record_run(r);
  }
  const Written w = write("all-failed");
  const std::string html = slurp(w.html);
  EXPECT_NE(html.find("data-charts-expected=\"0\""), std::string::npos);
  EXPECT_NE(html.find("worker killed by signal 11"), std::string::npos);
  EXPECT_NE(html.find("No successful single-stream runs in this study."), std::string::npos);
  EXPECT_NE(html.find("No cold-start runs in this study."), std::string::npos);
  EXPECT_EQ(embedded_data(html)["charts"].size(), 0U);
  EXPECT_NE(slurp(w.markdown).find("worker killed by signal 11"), std::string::npos);
}

TEST(ReportPrecision, TheExecutedPrecisionAndTheAccuracyFlagAreRead) {
  results::RunRecord r;
  r.result.precision = "fp32";
  EXPECT_EQ(precision_label(r), "fp32");  // recorded before workers asked: what the file holds
  EXPECT_FALSE(accuracy_flag(r));
  // verify's answer for the same artifact and backend, then the run's own worker's, which wins.
  r.result.summary["verify"] = {{"executed", {{"precision", "fp32"}}}, {"top1", 0.8}, {"top1_drop", 0.03},
                                {"accuracy_flag", "top-1 3.00 points below the reference (more than 1.00)"}};
  EXPECT_EQ(precision_label(r), "fp32");
  r.result.summary["executed"] = {{"precision", "bf16"}};
  EXPECT_EQ(precision_label(r), "fp32 (ran bf16)");
  r.result.summary["executed"]["precision"] = "unknown";
  EXPECT_EQ(precision_label(r), "fp32");  // a backend that cannot say changes nothing
  ASSERT_TRUE(accuracy_flag(r));
  EXPECT_NE(accuracy_flag(r)->find("3.00 points"), std::string::npos);
}

TEST_F(Report, TheTablesShowWhatRanAndMarkAnAccuracyDrop) {
  {
    results::Store store = results::Store::open(db_);
    const auto id = store.begin_study("precisions", json::object());
    const Choice c{"openvino", "resnet50.xml", "fp32", 1.0, 0.8, 1.0, 0.0};
    auto bf16 = base_run(id, "resnet50", c, "single-stream", 1);
    bf16.result.summary["executed"] = {{"precision", "bf16"}};
    bf16.result.summary["verify"]["top1_drop"] = 0.025;
    bf16.result.summary["verify"]["accuracy_flag"] = "top-1 2.50 points below the reference (more than 1.00)";
    store.record_run(bf16);
  }
  const Written w = write("precisions");
  const std::string md = slurp(w.markdown);
  EXPECT_NE(md.find("fp32 (ran bf16)"), std::string::npos) << md;
  EXPECT_NE(md.find("DROP 2.50 pts"), std::string::npos) << md;
}

TEST_F(Report, AnOverlappedRunIsMarkedInTheTables) {
  {
    results::Store store = results::Store::open(db_);
    const auto id = store.begin_study("overlapped", json::object());
    const Choice c{"openvino", "resnet50.xml", "fp32", 1.0, 0.8, 1.0, 0.0};
    auto clean = base_run(id, "resnet50", c, "single-stream", 1);
    store.record_run(clean);
    auto r = base_run(id, "resnet50", c, "single-stream", 2);
    r.result.summary["overlapped"] = true;
    store.record_run(r);
  }
  const Written w = write("overlapped");
  const std::string md = slurp(w.markdown);
  EXPECT_NE(md.find("ok (overlapped)"), std::string::npos) << md;
  EXPECT_EQ(md.find("ok (overlapped)"), md.rfind("ok (overlapped)")) << "only the overlapped run is marked: " << md;
  if (w.html_written) {
    EXPECT_NE(slurp(w.html).find("ok (overlapped)"), std::string::npos);
  }
}

// ------------------------------------------------------------------ results export

TEST(ResultsExport, JsonParsesBackWithEveryField) {
  TempDir d;
  results::Store store = results::Store::open(d / "r.sqlite");
  const std::int64_t study = store.begin_study("fruit", {{"models", {"resnet50"}}});
  const results::RunRecord a = full_run(study, 0, 100);
  store.record_run(a);
  store.record_run(ended_run(study, "x", results::RunStatus::kSkipped, "fp16 not supported"));

  const json j = nlohmann::json::parse(dump_json(export_study_json(store, study)));
  EXPECT_EQ(j["schema"], "inferbench-results");
  EXPECT_EQ(j["version"], results::kSchemaVersion);
  EXPECT_EQ(j["study"]["name"], "fruit");
  EXPECT_EQ(j["study"]["plan"]["models"][0], "resnet50");
  ASSERT_EQ(j["runs"].size(), 2u);
  const auto& r0 = j["runs"][0];
  EXPECT_EQ(r0["run_key"], a.run_key);
  EXPECT_EQ(r0["status"], "ok");
  EXPECT_EQ(r0["configuration"], a.configuration);
  EXPECT_EQ(r0["environment"], a.environment);
  EXPECT_EQ(r0["result"]["backend"], "onnxruntime");
  EXPECT_EQ(r0["result"]["median"].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(r0["result"]["max"].get<double>(), 1e300);
  EXPECT_EQ(r0["result"]["summary"]["top1"], 0.9375);
  EXPECT_EQ(r0["samples"].get<std::vector<double>>(), a.samples);
  const auto& r1 = j["runs"][1];
  EXPECT_EQ(r1["status"], "skipped");
  EXPECT_EQ(r1["reason"], "fp16 not supported");
  EXPECT_TRUE(r1["result"]["median"].is_null());
  EXPECT_TRUE(r1["samples"].empty());
}

TEST(ResultsExport, CsvWithRfc4180Quoting) {
  TempDir d;
  results::Store store = results::Store::open(d / "r.sqlite");
  const std::int64_t study = store.begin_study("fruit, \"v2\"", nlohmann::json::object());
  const results::RunRecord a = full_run(study, 0, 10);
  store.record_run(a);
  const std::string reason = "crashed, signal 11\nlast line: \"segfault\"";
  store.record_run(ended_run(study, "x", results::RunStatus::kCrashed, reason));

  const auto rows = parse_csv(export_study_csv(store, study), "export.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], export_csv_columns());
  auto cell = [&](std::size_t row, const std::string& column) {
    const auto& cols = export_csv_columns();
    const auto at = static_cast<std::size_t>(std::find(cols.begin(), cols.end(), column) - cols.begin());
    return rows.at(row).at(at);
  };
  for (const auto& row : rows) EXPECT_EQ(row.size(), export_csv_columns().size());
  EXPECT_EQ(cell(1, "study"), "fruit, \"v2\"");
  EXPECT_EQ(cell(1, "status"), "ok");
  EXPECT_EQ(cell(1, "batch"), "1");
  EXPECT_EQ(std::stod(cell(1, "median")), 1.0 / 3.0);  // shortest round-trip text
  EXPECT_EQ(std::stod(cell(1, "min")), 0.1 + 0.2);
  EXPECT_EQ(cell(1, "rss_kb"), "123456");
  EXPECT_EQ(nlohmann::json::parse(cell(1, "configuration")), a.configuration);
  EXPECT_EQ(cell(2, "reason"), reason);
  EXPECT_EQ(cell(2, "status"), "crashed");
  EXPECT_EQ(cell(2, "median"), "");
  EXPECT_EQ(cell(2, "count"), "");
}

TEST_F(Report, ResultsCsvAndTheExportAgreeOnTheColumnsTheyShare) {
  const Written w = write();
  const auto report_csv = parse_csv(slurp(w.csv), "results.csv");
  results::Store store = results::Store::open(db_);
  const auto export_csv = parse_csv(export_study_csv(store, study_id_), "export.csv");
  ASSERT_EQ(report_csv.size(), kFixtureRuns + 1);
  ASSERT_EQ(export_csv.size(), report_csv.size());
  auto at = [](const std::vector<std::string>& header, const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<std::size_t>(it - header.begin());
  };
  // (report's name, export's name)
  const std::vector<std::pair<std::string, std::string>> shared{
      {"study", "study"},         {"run_id", "run_id"},
      {"model", "model"},         {"artifact", "artifact"},
      {"precision", "precision"}, {"backend", "backend"},
      {"scenario", "scenario"},   {"batch", "batch"},
      {"threads", "threads"},     {"status", "status"},
      {"reason", "reason"},       {"count", "count"},
      {"median_ms", "median"},    {"median_ci_lo_ms", "ci_lo"},
      {"median_ci_hi_ms", "ci_hi"}, {"p90_ms", "p90"},
      {"p99_ms", "p99"},          {"mean_ms", "mean"},
      {"stddev_ms", "stddev"},    {"cv", "cv"},
      {"images_per_second", "throughput"}};
  for (const auto& [mine, theirs] : shared) {
    const std::size_t a = at(report_csv[0], mine), b = at(export_csv[0], theirs);
    for (std::size_t i = 1; i < report_csv.size(); ++i) {
      EXPECT_EQ(report_csv[i].at(a), export_csv[i].at(b)) << mine << " row " << i;
    }
  }
}

// ------------------------------------------------------------------ CLI

TEST_F(Report, CliWritesTheReportAndPrintsTheSummary) {
  const auto r = run_cli({"report", "--db", db_.string(), "--out", out_.string()});
  const bool have_html = !assets::echarts_js().empty();
  EXPECT_EQ(r.exit_code, have_html ? 0 : 7) << r.err;
  EXPECT_NE(r.out.find("fastest single-stream"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mobilenet_v2"), std::string::npos);
  EXPECT_NE(r.err.find((out_ / "summary.md").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((out_ / "results.csv").string()), std::string::npos) << r.err;
  if (have_html) {
    EXPECT_NE(r.err.find((out_ / "report.html").string()), std::string::npos) << r.err;
  } else {
    EXPECT_NE(r.err.find("unavailable in this build"), std::string::npos) << r.err;
  }
}

TEST_F(Report, CliExitCodes) {
  const auto missing = run_cli({"report", "--db", (dir_ / "nope.db").string(), "--out", out_.string()});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("nope.db"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(dir_ / "nope.db"));  // not created by the attempt

  const auto unknown = run_cli({"report", "--db", db_.string(), "--study", "no-such-study", "--out", out_.string()});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("no-such-study"), std::string::npos) << unknown.err;

  // An output folder under a regular file cannot be created (root ignores permissions, not this).
  testutil::write_text(dir_ / "a-file", "x");
  const auto unwritable = run_cli({"report", "--db", db_.string(), "--out", (dir_ / "a-file" / "report").string()});
  EXPECT_EQ(unwritable.exit_code, 4) << unwritable.err;
  EXPECT_NE(unwritable.err.find("a-file"), std::string::npos) << unwritable.err;
}

// ------------------------------------------------------------------ browser

using testutil::find_chromium;
using testutil::headless_chromium;
using testutil::shell_quote;

std::string attribute(const std::string& dom, const std::string& name) { return testutil::report_status(dom, name); }

TEST_F(ReportHtml, EveryChartRendersInHeadlessChromium) {
  const std::string exe = find_chromium();
  if (exe.empty()) GTEST_SKIP() << "Chromium is not installed: run scripts/setup.sh (it installs Debian's chromium)";
  const Written w = write();
  const fs::path profile = dir_ / "chromium";
  fs::create_directories(profile);

  int status = 0;
  const std::string dom = headless_chromium(exe, w.html, profile, "--dump-dom", status);
  ASSERT_EQ(status, 0) << "chromium failed; stderr:\n" << slurp(profile / "stderr");
  const std::string expected = attribute(dom, "data-charts-expected");
  const std::string rendered = attribute(dom, "data-charts-rendered");
  const std::string errors = attribute(dom, "data-errors");
  EXPECT_EQ(expected, "8");
  EXPECT_EQ(rendered, expected) << "errors: " << errors;
  EXPECT_EQ(errors, "");
  // Drawn as SVG: 8 charts, each with its title as text.
  std::size_t svgs = 0;
  for (std::size_t a = 0; (a = dom.find("<svg", a)) != std::string::npos; ++a) ++svgs;
  EXPECT_GE(svgs, 8U);
  EXPECT_NE(dom.find("Accuracy against latency: the Pareto front"), std::string::npos);

  // A screenshot, kept with the test's outputs for people to look at.
  const fs::path keep = INFERBENCH_REPORT_TEST_OUT;
  fs::create_directories(keep);
  fs::copy_file(w.html, keep / "report.html", fs::copy_options::overwrite_existing);
  const fs::path png = keep / "report.png";
  fs::remove(png);
  headless_chromium(exe, w.html, profile, "--hide-scrollbars --window-size=1400,4000 --screenshot=" + shell_quote(png.string()),
           status);
  ASSERT_EQ(status, 0) << "chromium failed; stderr:\n" << slurp(profile / "stderr");
  ASSERT_TRUE(fs::is_regular_file(png));
  const std::string bytes = slurp(png);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A page of charts compresses far worse than a blank one (a few KB).
  EXPECT_GT(fs::file_size(png), 100'000U) << png;

  // The check has teeth: a chart that cannot be drawn is counted out and named.
  std::string broken = slurp(w.html);
  const std::string pareto_kind = "\"kind\":\"pareto\"";
  const auto at = broken.find(pareto_kind);
  ASSERT_NE(at, std::string::npos);
  broken.replace(at, pareto_kind.size(), "\"kind\":\"nope\"");
  const fs::path bad = dir_ / "broken.html";
  testutil::write_text(bad, broken);
  const std::string bad_dom = headless_chromium(exe, bad, profile, "--dump-dom", status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(attribute(bad_dom, "data-charts-expected"), "8");
  EXPECT_EQ(attribute(bad_dom, "data-charts-rendered"), "7");
  EXPECT_NE(attribute(bad_dom, "data-errors").find("pareto: unknown chart kind nope"), std::string::npos)
      << attribute(bad_dom, "data-errors");
}

}  // namespace
}  // namespace inferbench::report
