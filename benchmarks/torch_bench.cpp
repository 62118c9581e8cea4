// LibTorch C++ side of the training / eager-inference comparison against
// PyTorch in Python (benchmarks/torch_pytorch.py, driven by run_torch.sh).
//
// One process measures one configuration (methodology: one worker per
// configuration):
//   --phase train  full SGD steps (forward, loss, backward, optimizer step) on
//                  one random batch already in memory, as src/train/trainer.cpp
//                  does them minus the data loader; images/s.
//   --phase infer  eval-mode forward passes under torch::InferenceMode; latency
//                  per call and images/s.
// Both phases: warm-up of at least --warmup-iters calls and --warmup-s seconds
// (not counted), then timed calls until at least --min-iters calls and --min-s
// seconds, or --max-s seconds (then "stopped_short" says so). Every sample is
// kept. Percentiles are LoadGen's: sorted samples, index floor(n*p).
//
// Prints one JSON document on stdout whose shape torch_pytorch.py mirrors key
// for key; progress and errors go to stderr.
#include <fmt/format.h>
#include <time.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "inferbench/build_info.h"
#include "model/builders.h"
#include "torch_train_step.h"

namespace {

using Clock = std::chrono::steady_clock;
using inferbench::ExitCode;

using inferbench::torch_bench::kLabelSmoothing;
using inferbench::torch_bench::kLr;
using inferbench::torch_bench::kMomentum;
using inferbench::torch_bench::kWeightDecay;
using inferbench::torch_bench::TrainBench;

struct Options {
  std::string model = "mobilenet_v2";
  std::string phase = "train";
  std::int64_t num_classes = 10;
  std::int64_t image_size = 64;
  std::int64_t batch_size = 32;
  int threads = 2;
  double warmup_s = 1.0;
  int warmup_iters = 10;
  double min_s = 10.0;
  int min_iters = 64;
  double max_s = 60.0;
  std::uint64_t seed = 1;
  std::string init_from;
  bool out_of_place = false;
};

struct Rules {
  double warmup_s;
  int warmup_iters;
  double min_s;
  int min_iters;
  double max_s;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// CPU time of every thread of this process: on a shared machine, images per
// CPU-second is the figure that other work disturbs least.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timed {
  double first_ms = 0.0;  // the first call of the warm-up, apart (lazy allocation, kernel selection)
  int warmup_iters = 0;
  double warmup_s = 0.0;
  std::vector<double> samples_ms;
  double wall_s = 0.0;
  double cpu_s = 0.0;
  std::string stop_reason;
};

Timed run_timed(const Rules& r, const std::function<void()>& call) {
  Timed t;
  const auto warm_start = Clock::now();
  while (t.warmup_iters < r.warmup_iters || seconds_since(warm_start) < r.warmup_s) {
    const auto s = Clock::now();
    call();
    if (t.warmup_iters == 0) t.first_ms = seconds_since(s) * 1e3;
    ++t.warmup_iters;
  }
  t.warmup_s = seconds_since(warm_start);

  const double cpu_start = process_cpu_seconds();
  const auto start = Clock::now();
  for (;;) {
    const auto s = Clock::now();
    call();
    const auto e = Clock::now();
    t.samples_ms.push_back(std::chrono::duration<double, std::milli>(e - s).count());
    const double elapsed = std::chrono::duration<double>(e - start).count();
    const auto n = static_cast<int>(t.samples_ms.size());
    if (n >= r.min_iters && elapsed >= r.min_s) {
      t.stop_reason = "min_iters_and_min_s";
      break;
    }
    if (elapsed >= r.max_s) {
      t.stop_reason = "max_s";
      break;
    }
  }
  t.wall_s = seconds_since(start);
  t.cpu_s = process_cpu_seconds() - cpu_start;
  return t;
}

// LoadGen's percentile: no interpolation, index floor(n*p) into the sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  const auto i = static_cast<std::size_t>(std::floor(static_cast<double>(sorted.size()) * p));
  return sorted[std::min(i, sorted.size() - 1)];
}

nlohmann::json stats_json(const Timed& t, std::int64_t batch, int min_iters) {
  auto sorted = t.samples_ms;
  std::sort(sorted.begin(), sorted.end());
  const auto n = static_cast<double>(sorted.size());
  double sum = 0.0;
  for (double v : sorted) sum += v;
  const double mean = sum / n;
  double sq = 0.0;
  for (double v : sorted) sq += (v - mean) * (v - mean);
  const double stddev = sorted.size() > 1 ? std::sqrt(sq / (n - 1.0)) : 0.0;
  const double images = n * static_cast<double>(batch);
  return {{"count", sorted.size()},
          {"sum_s", sum * 1e-3},
          {"wall_s", t.wall_s},
          {"cpu_s", t.cpu_s},
          {"median_ms", percentile(sorted, 0.5)},
          {"p90_ms", percentile(sorted, 0.9)},
          {"p95_ms", percentile(sorted, 0.95)},
          {"p99_ms", percentile(sorted, 0.99)},
          {"p999_ms", percentile(sorted, 0.999)},
          {"mean_ms", mean},
          {"min_ms", sorted.front()},
          {"max_ms", sorted.back()},
          {"stddev_ms", stddev},
          {"cv", stddev / mean},
          {"unstable", stddev / mean > 0.10},
          // Throughput over the timed calls only, so loop bookkeeping is not charged to the framework.
          {"images_per_second", images / (sum * 1e-3)},
          {"images_per_cpu_second", t.cpu_s > 0.0 ? images / t.cpu_s : 0.0},
          {"stopped_short", static_cast<int>(sorted.size()) < min_iters},
          {"stop_reason", t.stop_reason},
          // MLPerf LoadGen's early-stopping bounds for 99% confidence.
          {"p90_reliable", sorted.size() >= 64},
          {"p99_reliable", sorted.size() >= 662}};
}

double weighted_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& weights) {
  return inferbench::torch_bench::weighted_loss(logits, labels, weights).item<double>();
}

nlohmann::json run(const Options& o) {
  const auto& known = inferbench::model::known_models();
  if (std::find(known.begin(), known.end(), o.model) == known.end()) {
    inferbench::fail(ExitCode::kUsage, fmt::format("--model '{}' is not known", o.model));
  }
  if (o.phase == "train" && o.batch_size < 2) {
    inferbench::fail(ExitCode::kUsage, "training needs --batch >= 2 (batch norm)");
  }
  torch::set_num_threads(o.threads);

  TrainBench bench(o.model, o.num_classes, o.image_size, o.batch_size, o.seed, o.init_from, !o.out_of_place);
  auto& net = bench.net;
  const auto& x = bench.x;
  const auto& y = bench.y;
  const auto& w = bench.w;
  std::int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();

  // Same function on both sides: with the same weights (--init-from) this loss
  // matches the Python side's to float rounding.
  nlohmann::json check;
  {
    torch::InferenceMode guard;
    net->eval();
    const auto logits = net->forward(x);
    check = {{"parameters", params},
             {"output_shape", logits.sizes().vec()},
             {"eval_loss", weighted_loss(logits, y, w)},
             {"logits_abs_sum", logits.abs().sum().item<double>()},
             {"input_sums", {x.sum().item<double>(), y.sum().item<double>(), w.sum().item<double>()}}};
  }

  const Rules rules{o.warmup_s, o.warmup_iters, o.min_s, o.min_iters, o.max_s};
  Timed timed;
  if (o.phase == "train") {
    // Dropout and stochastic depth draw from here on (seed + 2); the masks are
    // the Python side's where both draw in the same order.
    bench.start_training();
    std::vector<double> losses;
    timed = run_timed(rules, [&] { losses.push_back(bench.step()); });
    // With the same weights (--init-from) and seeds the first matches the Python
    // side's exactly (dropout masks included); the last one after as many steps.
    check["first_step_loss"] = losses.front();  // JSON null when not finite, on both sides
    check["last_step_loss"] = losses.back();
    // One fixed batch at a constant rate can diverge; the steps still cost the
    // same, but the summary says so.
    check["nonfinite_step_losses"] =
        std::count_if(losses.begin(), losses.end(), [](double v) { return !std::isfinite(v); });
  } else if (o.phase == "infer") {
    torch::InferenceMode guard;
    net->eval();
    timed = run_timed(rules, [&] { (void)net->forward(x); });
  } else {
    inferbench::fail(ExitCode::kUsage, fmt::format("--phase '{}' (expected train or infer)", o.phase));
  }

  namespace b = inferbench::build;
  return {{"schema", "inferbench.torch_bench/1"},
          {"side", "cpp"},
          {"framework", "LibTorch C++ eager (inferbench TorchModel)"},
          {"model", o.model},
          {"phase", o.phase},
          {"config",
           {{"num_classes", o.num_classes},
            {"image_size", o.image_size},
            {"batch_size", o.batch_size},
            {"threads_requested", o.threads},
            {"warmup_min_s", o.warmup_s},
            {"warmup_min_iters", o.warmup_iters},
            {"min_s", o.min_s},
            {"min_iters", o.min_iters},
            {"max_s", o.max_s},
            {"seed", o.seed},
            {"init_from", o.init_from},
            {"optimizer",
             {{"name", "sgd"},
              {"lr", kLr},
              {"momentum", kMomentum},
              {"nesterov", true},
              {"weight_decay", kWeightDecay}}},
            {"label_smoothing", kLabelSmoothing},
            {"in_place", !o.out_of_place},
            {"grad_mode", o.phase == "train" ? "grad" : "inference_mode"}}},
          {"threads_used", torch::get_num_threads()},
          {"interop_threads", torch::get_num_interop_threads()},
          {"versions",
           {{"libtorch", TORCH_VERSION},
            {"inferbench", b::kVersion},
            {"git_commit", b::kGitCommit},
            {"build_type", b::kBuildType},
            {"compiler", b::kCompiler},
            {"sanitizers", b::kSanitizers}}},
          {"check", check},
          {"first_call_ms", timed.first_ms},
          {"warmup", {{"iterations", timed.warmup_iters}, {"seconds", timed.warmup_s}}},
          {"stats", stats_json(timed, o.batch_size, o.min_iters)},
          {"samples_ms", timed.samples_ms}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LibTorch C++ training throughput and eager inference latency (see benchmarks/torch.md)", "torch_bench"};
  app.option_defaults()->always_capture_default();
  Options o;
  app.add_option("--model", o.model, "mobilenet_v2, efficientnet_b0 or resnet50");
  app.add_option("--phase", o.phase, "train (SGD steps) or infer (eval-mode forward)")
      ->check(CLI::IsMember({"train", "infer"}));
  app.add_option("--classes", o.num_classes, "Classifier outputs")->check(CLI::PositiveNumber);
  app.add_option("--size", o.image_size, "Input height and width")->check(CLI::Range(32, 4096));
  app.add_option("--batch", o.batch_size, "Images per call")->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "Intra-op threads (torch::set_num_threads)")->check(CLI::PositiveNumber);
  app.add_option("--warmup-s", o.warmup_s, "Warm-up: at least this many seconds")->check(CLI::NonNegativeNumber);
  app.add_option("--warmup-iters", o.warmup_iters, "Warm-up: at least this many calls")->check(CLI::NonNegativeNumber);
  app.add_option("--min-s", o.min_s, "Timed: at least this many seconds")->check(CLI::NonNegativeNumber);
  app.add_option("--min-iters", o.min_iters, "Timed: at least this many calls")->check(CLI::PositiveNumber);
  app.add_option("--max-s", o.max_s, "Timed: stop after this many seconds even short of --min-iters")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o.seed, "Seed of the inputs (seed), the weights (seed + 1) and dropout (seed + 2)");
  app.add_flag("--out-of-place", o.out_of_place,
               "A fresh tensor per activation and add (TorchModel::set_in_place(false)), to measure what in place saves");
  app.add_option("--init-from", o.init_from, "torch.save state_dict to start from (torch_pytorch.py --save-state)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the message naming the flag
    return rc == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }

  try {
    std::fputs((inferbench::dump_json(run(o)) + "\n").c_str(), stdout);
    return 0;
  } catch (const inferbench::Error& e) {
    std::fprintf(stderr, "torch_bench: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torch_bench: internal error: %s\n", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
}
