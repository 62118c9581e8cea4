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
//
// --interleave: the same process also loads the artifact through inferbench's
// own backend (the registry's onnxruntime / openvino, default options, which
// are the settings above) and alternates blocks of --block calls: bare, then
// inferbench's Backend::infer (what the bench worker times per request:
// shape check, the SDK call, the logits copied out), then bare, ... Each
// block's median is compared with the mean of the two bare blocks around it;
// the JSON gives the median of those ratios and a bootstrap 95% CI. Both
// sides share the process, the input buffer and the time slots, so the
// process-to-process spread of this VM (30-40%) cancels out of the ratio.
//
//   --runtime litert (with --interleave only)  LiteRT's interpreter
//                  (ai_edge_litert 2.3.0, num_threads N, XNNPACK) on a .tflite,
//                  1xSxSx3: the bare side is a plain Python loop in the same
//                  embedded interpreter the litert backend starts, each call
//                  set_tensor, invoke, get_tensor timed with
//                  time.perf_counter_ns (CLOCK_MONOTONIC, steady_clock's clock);
//                  inferbench's side is the litert backend's infer() timed
//                  from C++ as the worker times it. --control puts a second
//                  bare loop (another interpreter on the same file) in its
//                  place: what two instances differ by with no harness at all.
#include <openvino/core/version.hpp>
#include <openvino/openvino.hpp>
#include <onnxruntime_cxx_api.h>

#ifdef INFERBENCH_HARNESS_LITERT
#include <Python.h>
#endif

#include <CLI/CLI.hpp>
#include <memory>
#include "backends/backend.h"
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
// A block of n timed bare calls in milliseconds: the C++ loop of time_calls, or
// one a runtime times itself (LiteRT's Python loop).
using BareBlock = std::function<std::vector<double>(int)>;

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

// The bare call on a session / request made as inferbench's backend makes it.
std::function<void()> bare_ort(const std::string& path, std::vector<float>& input,
                               const std::array<std::int64_t, 4>& shape, int threads, std::string& version) {
  version = OrtGetApiBase()->GetVersionString();
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "harness_bare");
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(threads);
  so.SetInterOpNumThreads(1);
  so.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
  so.SetExecutionMode(ORT_SEQUENTIAL);
  so.EnableMemPattern();
  struct State {
    Ort::Session session;
    std::string in_name, out_name;
    Ort::Value x{nullptr};
    Ort::RunOptions run_options{nullptr};
  };
  auto st = std::make_shared<State>(State{Ort::Session(env, path.c_str(), so), "", "", Ort::Value(nullptr)});
  Ort::AllocatorWithDefaultOptions allocator;
  st->in_name = st->session.GetInputNameAllocated(0, allocator).get();
  st->out_name = st->session.GetOutputNameAllocated(0, allocator).get();
  const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  st->x = Ort::Value::CreateTensor<float>(memory, input.data(), input.size(), shape.data(), shape.size());
  return [st] {
    const char* in_names[] = {st->in_name.c_str()};
    const char* out_names[] = {st->out_name.c_str()};
    (void)st->session.Run(st->run_options, in_names, &st->x, 1, out_names, 1);
  };
}

std::function<void()> bare_ov(const std::string& path, std::vector<float>& input,
                              const std::array<std::int64_t, 4>& shape, int threads, std::string& version) {
  version = ov::get_openvino_version().buildNumber;
  ov::Core core;
  std::shared_ptr<ov::Model> model = core.read_model(path);
  const ov::Shape s{static_cast<std::size_t>(shape[0]), static_cast<std::size_t>(shape[1]),
                    static_cast<std::size_t>(shape[2]), static_cast<std::size_t>(shape[3])};
  if (model->input().get_partial_shape() != ov::PartialShape(s)) model->reshape(ov::PartialShape(s));
  ov::CompiledModel compiled = core.compile_model(
      model, "CPU", ov::hint::performance_mode(ov::hint::PerformanceMode::LATENCY),
      ov::hint::inference_precision(ov::element::f32), ov::inference_num_threads(threads));
  auto request = std::make_shared<ov::InferRequest>(compiled.create_infer_request());
  request->set_input_tensor(ov::Tensor(ov::element::f32, s, input.data()));
  return [request] { request->infer(); };
}

#ifdef INFERBENCH_HARNESS_LITERT
// The bare Python loop, in the embedded interpreter the litert backend started
// (so after its load()): its own Interpreter on the same file, same settings.
constexpr const char* kLiteRtBare = R"(
import time
import numpy as np
from ai_edge_litert import interpreter as lrt

class Bare:
    def __init__(self, path, threads, x):
        self.it = lrt.Interpreter(model_path=path, num_threads=threads)
        self.i = self.it.get_input_details()[0]["index"]
        self.o = self.it.get_output_details()[0]["index"]
        self.it.resize_tensor_input(self.i, list(x.shape), strict=False)
        self.it.allocate_tensors()
        self.x = x

    def block(self, n):
        it, i, o, x, clock = self.it, self.i, self.o, self.x, time.perf_counter_ns
        out = []
        for _ in range(n):
            t0 = clock()
            it.set_tensor(i, x)
            it.invoke()
            it.get_tensor(o)
            out.append((clock() - t0) / 1e6)
        return out
)";

[[noreturn]] void python_failed(const char* what) {
  PyErr_Print();
  throw std::runtime_error(std::string("python: ") + what);
}

BareBlock bare_litert(const std::string& path, const std::vector<float>& input, std::int64_t size, int threads) {
  const PyGILState_STATE g = PyGILState_Ensure();
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* r = PyRun_String(kLiteRtBare, Py_file_input, globals, globals);
  if (r == nullptr) python_failed("the bare loop's code");
  Py_DECREF(r);
  PyObject* np = PyImport_ImportModule("numpy");
  if (np == nullptr) python_failed("import numpy");
  PyObject* bytes = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(input.data()),
                                              static_cast<Py_ssize_t>(input.size() * sizeof(float)));
  PyObject* flat = PyObject_CallMethod(np, "frombuffer", "Os", bytes, "float32");
  PyObject* x = flat != nullptr ? PyObject_CallMethod(flat, "reshape", "(LLLL)", 1LL, static_cast<long long>(size),
                                                      static_cast<long long>(size), 3LL)
                                : nullptr;
  if (x == nullptr) python_failed("the input array");
  PyObject* bare = PyObject_CallFunction(PyDict_GetItemString(globals, "Bare"), "siO", path.c_str(), threads, x);
  if (bare == nullptr) python_failed("Bare(...)");
  PyGILState_Release(g);
  // Kept for the life of the process (the benchmark's).
  return [bare](int n) {
    const PyGILState_STATE gs = PyGILState_Ensure();
    PyObject* list = PyObject_CallMethod(bare, "block", "i", n);
    if (list == nullptr) python_failed("Bare.block");
    std::vector<double> ms(static_cast<std::size_t>(PyList_Size(list)));
    for (std::size_t k = 0; k < ms.size(); ++k) {
      ms[k] = PyFloat_AsDouble(PyList_GetItem(list, static_cast<Py_ssize_t>(k)));
    }
    Py_DECREF(list);
    PyGILState_Release(gs);
    return ms;
  };
}
#endif

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Interleaved {
  std::size_t blocks = 0;
  double bare_median_ms = 0, inferbench_median_ms = 0;  // over every call of each side
  double ratio = 0, ratio_lo = 0, ratio_hi = 0;          // inferbench block / neighbouring bare blocks
};

// `block` calls of `call`, each timed, in milliseconds.
std::vector<double> time_calls(const std::function<void()>& call, int block) {
  std::vector<double> ms(static_cast<std::size_t>(block));
  for (auto& m : ms) {
    const auto s0 = Clock::now();
    call();
    m = std::chrono::duration<double, std::milli>(Clock::now() - s0).count();
  }
  return ms;
}


// bare, inferbench, bare, inferbench, ..., bare: blocks of `block` timed calls
// after a warm-up of both, until `seconds` have passed.
Interleaved measure_interleaved(const BareBlock& bare, const BareBlock& ours, int block, double seconds,
                                double warmup_seconds) {
  const auto w = Clock::now();
  for (int i = 0; i < 10 || seconds_since(w) < warmup_seconds; ++i) {
    (void)bare(1);
    (void)ours(1);
  }
  auto time_block = [&](const BareBlock& timed, std::vector<double>& all) {
    const std::vector<double> ms = timed(block);
    all.insert(all.end(), ms.begin(), ms.end());
    return median_of(ms);
  };
  std::vector<double> all_bare, all_ours, ratios;
  const auto start = Clock::now();
  double before = time_block(bare, all_bare);
  while (seconds_since(start) < seconds) {
    const double ours_med = time_block(ours, all_ours);
    const double after = time_block(bare, all_bare);
    ratios.push_back(ours_med / (0.5 * (before + after)));
    before = after;
  }
  Interleaved r;
  r.blocks = ratios.size();
  r.bare_median_ms = median_of(all_bare);
  r.inferbench_median_ms = median_of(all_ours);
  r.ratio = median_of(ratios);
  // Percentile bootstrap of the median ratio (2000 resamples, fixed seed).
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, ratios.size() - 1);
  std::vector<double> meds(2000), resample(ratios.size());
  for (auto& m : meds) {
    for (auto& x : resample) x = ratios[pick(rng)];
    m = median_of(resample);
  }
  std::sort(meds.begin(), meds.end());
  r.ratio_lo = meds[50];
  r.ratio_hi = meds[1949];
  return r;
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
  bool interleave = false;
  int block = 50;
  app.add_flag("--interleave", interleave, "Also load it through inferbench's backend and alternate blocks (above)");
  app.add_option("--block", block, "Calls per block with --interleave")->check(CLI::Range(1, 1000000));
  bool control = false;
  app.add_flag("--control", control, "litert: the other side is a second bare loop, not inferbench's backend");
  app.add_option("--runtime", runtime, "ort, ov, or litert (--interleave only; built with the litert backend)")
      ->required()
      ->check(CLI::IsMember({"ort", "ov", "litert"}));
  app.add_option("--model", model, "Model file (.onnx for ort; .xml or .onnx for ov; .tflite for litert)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--size", size, "Input height = width")->check(CLI::Range(1, 8192));
  app.add_option("--threads", threads, "Intra-op threads (ort) / inference_num_threads (ov)")->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "Timed seconds")->check(CLI::PositiveNumber);
  app.add_option("--warmup-seconds", warmup_seconds, "Warm-up seconds (at least 10 calls too)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "Seed of the random input");
  CLI11_PARSE(app, argc, argv);

  // NCHW for ONNX Runtime and OpenVINO, NHWC for LiteRT (TFLite files are NHWC).
  using Shape = std::array<std::int64_t, 4>;
  const Shape shape = runtime == "litert" ? Shape{1, size, size, 3} : Shape{1, 3, size, size};
  std::vector<float> input(static_cast<std::size_t>(3 * size * size));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0F, 2.0F);
  for (float& v : input) v = dist(rng);

  try {
    namespace ib = inferbench::backends;
    std::string version;
    if (runtime == "litert") {
#ifdef INFERBENCH_HARNESS_LITERT
      if (!interleave) throw std::runtime_error("--runtime litert runs with --interleave only");
      std::unique_ptr<ib::Backend> backend = ib::create_backend(ib::find_backend("litert"));
      backend->load(inferbench::artifact::describe(model), {}, threads);  // starts Python
      version = backend->settings().value("litert_version", "");
      const std::vector<std::int64_t> dims(shape.begin(), shape.end());
      // --control: the other side is a second bare interpreter on the same file
      // (what two instances differ by, harness or not).
      const BareBlock ours = control ? bare_litert(model, input, size, threads) : BareBlock([&](int n) {
        return time_calls([&] { (void)backend->infer(input.data(), dims); }, n);
      });
      const Interleaved r =
          measure_interleaved(bare_litert(model, input, size, threads), ours, block, seconds, warmup_seconds);
      std::printf(
          "{\"mode\": \"interleaved\", \"runtime\": \"litert\", \"version\": \"%s\", \"model\": \"%s\", "
          "\"size\": %lld, \"threads\": %d, \"seconds\": %g, \"block\": %d, \"blocks\": %zu, "
          "\"bare_median_ms\": %.6f, \"inferbench_median_ms\": %.6f, \"ratio\": %.5f, \"ratio_ci\": [%.5f, %.5f], "
          "\"bare\": \"python loop\", \"other\": \"%s\"}\n",
          version.c_str(), model.c_str(), static_cast<long long>(size), threads, seconds, block, r.blocks,
          r.bare_median_ms, r.inferbench_median_ms, r.ratio, r.ratio_lo, r.ratio_hi,
          control ? "a second bare python loop (--control)" : "inferbench's litert backend");
      return 0;
#else
      throw std::runtime_error("this harness_bare was built without the litert backend");
#endif
    }
    const std::function<void()> call = runtime == "ort" ? bare_ort(model, input, shape, threads, version)
                                                        : bare_ov(model, input, shape, threads, version);
    if (interleave) {
      std::unique_ptr<ib::Backend> backend =
          ib::create_backend(ib::find_backend(runtime == "ort" ? "onnxruntime" : "openvino"));
      backend->load(inferbench::artifact::describe(model), {}, threads);
      const std::vector<std::int64_t> dims(shape.begin(), shape.end());
      const Interleaved r = measure_interleaved(
          [&](int n) { return time_calls(call, n); },
          [&](int n) { return time_calls([&] { (void)backend->infer(input.data(), dims); }, n); }, block, seconds,
          warmup_seconds);
      std::printf(
          "{\"mode\": \"interleaved\", \"runtime\": \"%s\", \"version\": \"%s\", \"model\": \"%s\", "
          "\"size\": %lld, \"threads\": %d, \"seconds\": %g, \"block\": %d, \"blocks\": %zu, "
          "\"bare_median_ms\": %.6f, \"inferbench_median_ms\": %.6f, \"ratio\": %.5f, \"ratio_ci\": [%.5f, %.5f]}\n",
          runtime.c_str(), version.c_str(), model.c_str(), static_cast<long long>(size), threads, seconds, block,
          r.blocks, r.bare_median_ms, r.inferbench_median_ms, r.ratio, r.ratio_lo, r.ratio_hi);
      return 0;
    }
    const Result r = measure(call, seconds, warmup_seconds);
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
