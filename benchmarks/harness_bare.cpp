// The bare-loop side of the harness-overhead check (benchmarks/run_harness.sh):
// the same SDK call inferbench's worker times, on the same artifact with the
// same settings, in a plain loop with nothing around it.
//
//   --runtime ort  Ort::Session as src/backends/onnxruntime builds it (intra-op
//                  threads N, inter-op 1, graph optimisation all, sequential,
//                  memory pattern on); each timed call is session.Run on an
//                  Ort::Value made once before the loop.
//   --runtime ov   core.compile_model as src/backends/openvino does it (LATENCY
//                  hint, inference_num_threads N, inference precision f32, the
//                  model reshaped to 1x3xSxS), one infer request whose input
//                  tensor is set once; each timed call is request.infer().
//
// Input: one 1x3xSxS float tensor, uniform in [-2, 2) from a fixed seed.
// Warm-up: at least 10 calls and --warmup-seconds (inferbench's defaults), not
// counted. Then every call is timed with std::chrono::steady_clock until
// --seconds have passed. The median is inferbench's (LoadGen's): the sorted
// samples' element floor(n / 2).
//
// Prints one JSON line on stdout: runtime, median_ms, count and a few more.
#include <openvino/core/version.hpp>
#include <openvino/openvino.hpp>
#include <onnxruntime_cxx_api.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Result {
  double median_ms = 0;
  double mean_ms = 0;
  double min_ms = 0;
  std::size_t count = 0;
  std::size_t warmup_count = 0;
};

// Warm-up, then `call` timed one by one for `seconds`.
Result measure(const std::function<void()>& call, double seconds, double warmup_seconds) {
  Result r;
  auto t = Clock::now();
  for (int i = 0; i < 10 || seconds_since(t) < warmup_seconds; ++i) {
    call();
    ++r.warmup_count;
  }
  std::vector<std::int64_t> ns;
  ns.reserve(1 << 16);
  const auto start = Clock::now();
  do {
    const auto s0 = Clock::now();
    call();
    const auto s1 = Clock::now();
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(s1 - s0).count());
  } while (seconds_since(start) < seconds);
  std::sort(ns.begin(), ns.end());
  r.count = ns.size();
  r.median_ms = static_cast<double>(ns[ns.size() / 2]) / 1e6;
  r.min_ms = static_cast<double>(ns.front()) / 1e6;
  double sum = 0;
  for (const auto v : ns) sum += static_cast<double>(v);
  r.mean_ms = sum / static_cast<double>(ns.size()) / 1e6;
  return r;
}

Result run_ort(const std::string& path, std::vector<float>& input, const std::array<std::int64_t, 4>& shape,
               int threads, double seconds, double warmup_seconds, std::string& version) {
  version = OrtGetApiBase()->GetVersionString();
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "harness_bare");
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(threads);
  so.SetInterOpNumThreads(1);
  so.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
  so.SetExecutionMode(ORT_SEQUENTIAL);
  so.EnableMemPattern();
  Ort::Session session(env, path.c_str(), so);
  Ort::AllocatorWithDefaultOptions allocator;
  const std::string in_name = session.GetInputNameAllocated(0, allocator).get();
  const std::string out_name = session.GetOutputNameAllocated(0, allocator).get();
  const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const Ort::Value x =
      Ort::Value::CreateTensor<float>(memory, input.data(), input.size(), shape.data(), shape.size());
  const char* in_names[] = {in_name.c_str()};
  const char* out_names[] = {out_name.c_str()};
  const Ort::RunOptions run_options{nullptr};
  return measure([&] { (void)session.Run(run_options, in_names, &x, 1, out_names, 1); }, seconds, warmup_seconds);
}

Result run_ov(const std::string& path, std::vector<float>& input, const std::array<std::int64_t, 4>& shape,
              int threads, double seconds, double warmup_seconds, std::string& version) {
  version = ov::get_openvino_version().buildNumber;
  ov::Core core;
  std::shared_ptr<ov::Model> model = core.read_model(path);
  const ov::Shape s{static_cast<std::size_t>(shape[0]), static_cast<std::size_t>(shape[1]),
                    static_cast<std::size_t>(shape[2]), static_cast<std::size_t>(shape[3])};
  if (model->input().get_partial_shape() != ov::PartialShape(s)) model->reshape(ov::PartialShape(s));
  ov::CompiledModel compiled = core.compile_model(
      model, "CPU", ov::hint::performance_mode(ov::hint::PerformanceMode::LATENCY),
      ov::hint::inference_precision(ov::element::f32), ov::inference_num_threads(threads));
  ov::InferRequest request = compiled.create_infer_request();
  request.set_input_tensor(ov::Tensor(ov::element::f32, s, input.data()));
  return measure([&] { request.infer(); }, seconds, warmup_seconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bare C++ timing loop around one ONNX Runtime or OpenVINO call (benchmarks/run_harness.sh)"};
  std::string runtime;
  std::string model;
  std::int64_t size = 224;
  int threads = 1;
  double seconds = 10;
  double warmup_seconds = 1;
  std::uint32_t seed = 1;
  app.add_option("--runtime", runtime, "ort or ov")->required()->check(CLI::IsMember({"ort", "ov"}));
  app.add_option("--model", model, "Model file (.onnx for ort; .xml or .onnx for ov)")->required()->check(CLI::ExistingFile);
  app.add_option("--size", size, "Input height = width")->check(CLI::Range(1, 8192));
  app.add_option("--threads", threads, "Intra-op threads (ort) / inference_num_threads (ov)")->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "Timed seconds")->check(CLI::PositiveNumber);
  app.add_option("--warmup-seconds", warmup_seconds, "Warm-up seconds (at least 10 calls too)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "Seed of the random input");
  CLI11_PARSE(app, argc, argv);

  const std::array<std::int64_t, 4> shape{1, 3, size, size};
  std::vector<float> input(static_cast<std::size_t>(3 * size * size));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0F, 2.0F);
  for (float& v : input) v = dist(rng);

  try {
    std::string version;
    const Result r = runtime == "ort" ? run_ort(model, input, shape, threads, seconds, warmup_seconds, version)
                                      : run_ov(model, input, shape, threads, seconds, warmup_seconds, version);
    std::printf(
        "{\"runtime\": \"%s\", \"version\": \"%s\", \"model\": \"%s\", \"size\": %lld, \"threads\": %d, "
        "\"seconds\": %g, \"warmup_seconds\": %g, \"warmup_count\": %zu, \"count\": %zu, \"median_ms\": %.6f, "
        "\"mean_ms\": %.6f, \"min_ms\": %.6f}\n",
        runtime.c_str(), version.c_str(), model.c_str(), static_cast<long long>(size), threads, seconds,
        warmup_seconds, r.warmup_count, r.count, r.median_ms, r.mean_ms, r.min_ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "harness_bare: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
