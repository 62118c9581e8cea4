// ONNX Runtime, CPU execution provider, through its C++ API (the SDK from
// scripts/install_sdks.sh or -DONNXRUNTIME_ROOT).
//
// Options: inter_op_threads=N (default 1: a benchmark runs one inference at a
// time), graph_optimization_level=disable|basic|extended|all (default all),
// execution_mode=sequential|parallel (default sequential; parallel only uses
// the inter-op threads), memory_pattern=1|0 (default 1: ORT plans buffers from
// the first run's shapes). The intra-op thread count is the study's `threads`.
//
// Every Ort::Exception becomes Error(kInput) naming the file and carrying ORT's
// message (a malformed file, an operator ORT lacks, a batch the model rejects).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <array>
#include <map>
#include <onnxruntime_cxx_api.h>
#include <optional>
#include <set>
#include <system_error>

#include "backends/backend.h"
#include "common/error.h"
#include "common/files.h"
#include "model/ir.h"

namespace inferbench::backends {

namespace {

constexpr const char* kName = "onnxruntime";

std::string ort_version() { return OrtGetApiBase()->GetVersionString(); }

// ORT wants one environment per process (it owns the logger and, optionally,
// global thread pools); sessions must not outlive it, so it is never destroyed.
Ort::Env& environment() {
  static auto* env = new Ort::Env(ORT_LOGGING_LEVEL_WARNING, "inferbench");
  return *env;
}

GraphOptimizationLevel optimization_level(const std::string& s) {
  if (s == "disable") return ORT_DISABLE_ALL;
  if (s == "basic") return ORT_ENABLE_BASIC;
  if (s == "extended") return ORT_ENABLE_EXTENDED;
  return ORT_ENABLE_ALL;
}

// "1x3x?x?" for a shape with symbolic (-1) dimensions.
std::string dims_to_string(const std::vector<std::int64_t>& dims) {
  std::vector<std::string> parts;
  for (auto d : dims) parts.push_back(d >= 0 ? std::to_string(d) : std::string("?"));
  return parts.empty() ? std::string("scalar") : fmt::format("{}", fmt::join(parts, "x"));
}

// Float convolutions and matrix products: the kernels whose input type is the precision computed in.
const std::set<std::string>& float_compute_ops() {
  static const std::set<std::string> ops{"Conv",      "FusedConv", "NhwcFusedConv", "ConvTranspose",
                                         "Gemm",      "FusedGemm", "MatMul",        "FusedMatMul"};
  return ops;
}

// Kernel op types ORT ran (and how many of its float compute kernels took
// float16 inputs) -> what precision the model computed in. `stored` is the
// artifact's precision: FP16 weights computed in FP32 are said so.
nlohmann::json describe_kernels(const std::map<std::string, std::int64_t>& ops,
                                const std::map<std::string, std::int64_t>& float16_inputs_by_op,
                                artifact::Precision stored) {
  std::int64_t float16_inputs = 0;
  for (const auto& [op, n] : float16_inputs_by_op) {
    if (float_compute_ops().contains(op)) float16_inputs += n;
  }
  const std::set<std::string>& float_compute = float_compute_ops();
  static const std::set<std::string> int_compute{"QLinearConv",  "QLinearMatMul",        "QGemm",
                                                 "ConvInteger",  "MatMulInteger",        "MatMulIntegerToFloat",
                                                 "DynamicQuantizeMatMul", "NhwcQLinearConv"};
  std::int64_t f = 0, q = 0, q_other = 0;
  for (const auto& [op, n] : ops) {
    if (float_compute.contains(op)) f += n;
    if (int_compute.contains(op)) q += n;
    if (!int_compute.contains(op) && op.rfind("QLinear", 0) == 0) q_other += n;
  }
  const std::int64_t f16 = std::min(float16_inputs, f), f32 = f - f16;
  const std::string precision = q > 0 && f == 0      ? "int8"
                                : q > 0              ? "mixed"
                                : f16 > 0 && f32 > 0 ? "mixed"
                                : f16 > 0            ? "fp16"
                                : f > 0              ? "fp32"
                                                     : "unknown";
  const auto casts = ops.find("Cast");
  nlohmann::json out{{"precision", precision},
                     {"how", "ONNX Runtime's profiler: the kernels of one run of a probe session with the same options"},
                     {"integer_compute_kernels", q},
                     {"float_compute_kernels", f},
                     {"float16_compute_kernels", f16},
                     {"other_integer_kernels", q_other},
                     {"cast_kernels", casts == ops.end() ? 0 : casts->second},
                     {"kernels", ops},
                     {"float16_input_kernels", float16_inputs_by_op}};
  if (stored == artifact::Precision::kFP16 && f32 > 0) {
    out["note"] = fmt::format("FP16 weights, FP32 compute for {} of the {} convolutions and matrix products ({} in "
                              "float16): the CPU provider cast them to float32, {} Cast kernels left in the graph",
                              f32, f, f16, casts == ops.end() ? 0 : casts->second);
  }
  return out;
}

class OnnxRuntimeBackend final : public Backend {
 public:
  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    if (threads < 1) fail(ExitCode::kUsage, fmt::format("backend '{}': threads must be >= 1, not {}", kName, threads));
    inter_op_threads_ = static_cast<int>(int_option(options, kName, "inter_op_threads", 1, 1, 1024));
    optimization_ = choice_option(options, kName, "graph_optimization_level", "all",
                                  {"disable", "basic", "extended", "all"});
    execution_mode_ = choice_option(options, kName, "execution_mode", "sequential", {"sequential", "parallel"});
    memory_pattern_ = choice_option(options, kName, "memory_pattern", "1", {"1", "0"}) == "1";
    threads_ = threads;
    path_ = artifact.path;
    stored_ = artifact.precision;
    if (artifact.layout != "NCHW") {
      fail(ExitCode::kInput, fmt::format("'{}': input layout {} is not NCHW, the layout inferbench's ONNX files use",
                                         path_.string(), artifact.layout));
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) {
      fail(ExitCode::kInput, fmt::format("'{}': model file not found", path_.string()));
    }

    try {
      session_.emplace(environment(), path_.c_str(), session_options());
      read_io(artifact);
    } catch (const Error&) {
      session_.reset();
      throw;
    } catch (const Ort::Exception& e) {
      session_.reset();
      fail(ExitCode::kInput,
           fmt::format("'{}': ONNX Runtime {} cannot load this model: {}", path_.string(), ort_version(), e.what()));
    }
  }

  Logits infer(const float* input, const std::vector<std::int64_t>& shape) override {
    if (!session_) throw std::logic_error("onnxruntime backend: infer() before load()");
    check_input(shape);
    std::size_t count = 1;
    for (auto d : shape) count *= static_cast<std::size_t>(d);
    try {
      // The tensor wraps the caller's buffer: no copy, and ORT only reads an input.
      const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      const Ort::Value x = Ort::Value::CreateTensor<float>(memory, const_cast<float*>(input), count, shape.data(),
                                                           shape.size());
      const char* in_names[] = {input_name_.c_str()};
      const char* out_names[] = {output_name_.c_str()};
      std::vector<Ort::Value> y = session_->Run(Ort::RunOptions{nullptr}, in_names, &x, 1, out_names, 1);
      const auto info = y.at(0).GetTensorTypeAndShapeInfo();
      const std::vector<std::int64_t> out_shape = info.GetShape();
      if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || out_shape.size() != 2 ||
          out_shape[0] != shape[0]) {
        fail(ExitCode::kInput, fmt::format("'{}': the model returned a {} tensor (element type {}), not {} x classes "
                                           "float logits",
                                           path_.string(), dims_to_string(out_shape),
                                           static_cast<int>(info.GetElementType()), shape[0]));
      }
      Logits logits;
      logits.batch = out_shape[0];
      logits.classes = out_shape[1];
      const float* p = y[0].GetTensorData<float>();
      logits.values.assign(p, p + info.GetElementCount());
      return logits;
    } catch (const Ort::Exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': ONNX Runtime failed to run a {} batch: {}", path_.string(),
                                         model::shape_to_string(shape), e.what()));
    }
  }

  // The kernels ORT runs, from its own profiler: a probe session with the
  // same options and profiling on runs one image of zeros; every "Node" event
  // names the kernel's op type. Integer kernels (QLinearConv, QGemm,
  // ConvInteger, ...) are the proof that an INT8 model ran as one; the float
  // compute kernels beside them (Conv, FusedConv, Gemm, MatMul) say how much
  // of it did not.
  nlohmann::json execution() override {
    if (!session_) throw std::logic_error("onnxruntime backend: execution() before load()");
    const std::filesystem::path prefix =
        std::filesystem::temp_directory_path() / fmt::format("inferbench-ort-profile-{}", getpid());
    std::string profile;
    try {
      Ort::SessionOptions so = session_options();
      so.EnableProfiling(prefix.c_str());
      Ort::Session probe(environment(), path_.c_str(), so);
      std::array<std::int64_t, 4> shape{};
      for (std::size_t i = 0; i < 4; ++i) shape[i] = accepted_[i] > 0 ? accepted_[i] : 1;
      if (shape[2] <= 1 || shape[3] <= 1) return {{"precision", "unknown"}, {"how", "no input size known to probe with"}};
      std::vector<float> zeros(static_cast<std::size_t>(shape[0] * shape[1] * shape[2] * shape[3]), 0.0F);
      const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      const Ort::Value x =
          Ort::Value::CreateTensor<float>(memory, zeros.data(), zeros.size(), shape.data(), shape.size());
      const char* in_names[] = {input_name_.c_str()};
      const char* out_names[] = {output_name_.c_str()};
      (void)probe.Run(Ort::RunOptions{nullptr}, in_names, &x, 1, out_names, 1);
      Ort::AllocatorWithDefaultOptions allocator;
      profile = probe.EndProfilingAllocated(allocator).get();
    } catch (const Ort::Exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': ONNX Runtime's profiled probe run failed: {}", path_.string(), e.what()));
    }
    nlohmann::json events;
    try {
      events = nlohmann::json::parse(read_file_text(profile));
    } catch (const std::exception& e) {
      std::error_code ec;
      std::filesystem::remove(profile, ec);
      fail(ExitCode::kInput, fmt::format("ONNX Runtime's profile '{}' is unreadable: {}", profile, e.what()));
    }
    std::error_code ec;
    std::filesystem::remove(profile, ec);
    std::map<std::string, std::int64_t> ops;
    std::map<std::string, std::int64_t> float16_inputs_by_op;  // kernels whose first input is float16
    for (const auto& e : events) {
      if (!e.is_object() || e.value("cat", "") != "Node" || !e.contains("args") || !e["args"].is_object()) continue;
      const auto& args = e["args"];
      const std::string op = args.value("op_name", "");
      if (op.empty()) continue;
      ++ops[op];
      // "input_type_shape": [{"float16": [1, 3, 32, 32]}, ...]
      if (args.contains("input_type_shape") && args["input_type_shape"].is_array() &&
          !args["input_type_shape"].empty() && args["input_type_shape"][0].is_object() &&
          args["input_type_shape"][0].contains("float16")) {
        ++float16_inputs_by_op[op];
      }
    }
    return describe_kernels(ops, float16_inputs_by_op, stored_);
  }

  [[nodiscard]] nlohmann::json settings() const override {
    // ORT has no getter for a session's options: these are the values it was
    // given, each of which it applies as is (intra-op N = the caller + N-1 pool threads).
    return {{"threads", threads_},
            {"inter_op_threads", inter_op_threads_},
            {"graph_optimization_level", optimization_},
            {"execution_mode", execution_mode_},
            {"memory_pattern", memory_pattern_},
            {"execution_provider", "CPUExecutionProvider"},
            {"available_providers", Ort::GetAvailableProviders()},
            {"onnxruntime_version", ort_version()},
            {"input", {{"name", input_name_}, {"shape", dims_to_string(input_dims_)}}},
            {"output", {{"name", output_name_}}}};
  }

 private:
  // The session's one input and one output must be the artifact's: NCHW float
  // with the artifact's channels, and its height and width where both know them.
  void read_io(const artifact::Artifact& artifact) {
    if (session_->GetInputCount() != 1 || session_->GetOutputCount() != 1) {
      fail(ExitCode::kInput, fmt::format("'{}': expected a model with 1 input and 1 output, this one has {} and {}",
                                         path_.string(), session_->GetInputCount(), session_->GetOutputCount()));
    }
    Ort::AllocatorWithDefaultOptions allocator;
    input_name_ = session_->GetInputNameAllocated(0, allocator).get();
    output_name_ = session_->GetOutputNameAllocated(0, allocator).get();
    if (input_name_ != artifact.input_name || output_name_ != artifact.output_name) {
      fail(ExitCode::kInput, fmt::format("'{}': the model's input/output are '{}'/'{}', its description says '{}'/'{}'",
                                         path_.string(), input_name_, output_name_, artifact.input_name,
                                         artifact.output_name));
    }
    const Ort::TypeInfo type_info = session_->GetInputTypeInfo(0);  // owns what `type` points into
    const auto type = type_info.GetTensorTypeAndShapeInfo();
    input_dims_ = type.GetShape();
    const std::string expected = fmt::format("float N x {} x {} x {}", artifact.channels,
                                             artifact.height > 0 ? std::to_string(artifact.height) : "H",
                                             artifact.width > 0 ? std::to_string(artifact.width) : "W");
    auto mismatch = [](std::int64_t model_dim, std::int64_t wanted) {
      return model_dim > 0 && wanted > 0 && model_dim != wanted;
    };
    if (type.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || input_dims_.size() != 4 ||
        mismatch(input_dims_[1], artifact.channels) || mismatch(input_dims_[2], artifact.height) ||
        mismatch(input_dims_[3], artifact.width)) {
      fail(ExitCode::kInput, fmt::format("'{}': input '{}' is {} (element type {}), expected {}", path_.string(),
                                         input_name_, dims_to_string(input_dims_),
                                         static_cast<int>(type.GetElementType()), expected));
    }
    // What infer() accepts: the model's static dims, else the artifact's.
    for (std::size_t i = 1; i < 4; ++i) {
      if (input_dims_[i] <= 0) {
        const std::int64_t from_artifact = i == 1 ? artifact.channels : i == 2 ? artifact.height : artifact.width;
        accepted_[i] = from_artifact > 0 ? from_artifact : -1;
      } else {
        accepted_[i] = input_dims_[i];
      }
    }
    accepted_[0] = input_dims_[0];  // -1 = dynamic batch
  }

  [[nodiscard]] Ort::SessionOptions session_options() const {
    Ort::SessionOptions so;
    so.SetIntraOpNumThreads(threads_);
    so.SetInterOpNumThreads(inter_op_threads_);
    so.SetGraphOptimizationLevel(optimization_level(optimization_));
    so.SetExecutionMode(execution_mode_ == "parallel" ? ORT_PARALLEL : ORT_SEQUENTIAL);
    if (memory_pattern_) {
      so.EnableMemPattern();
    } else {
      so.DisableMemPattern();
    }
    return so;
  }

  void check_input(const std::vector<std::int64_t>& shape) const {
    bool ok = shape.size() == 4;
    for (std::size_t i = 0; ok && i < 4; ++i) ok = shape[i] >= 1 && (accepted_[i] <= 0 || shape[i] == accepted_[i]);
    if (!ok) {
      fail(ExitCode::kInput, fmt::format("'{}': input of shape {} does not fit the model, which expects {} (NCHW)",
                                         path_.string(), model::shape_to_string(shape),
                                         dims_to_string({accepted_.begin(), accepted_.end()})));
    }
  }

  std::optional<Ort::Session> session_;
  std::filesystem::path path_;
  artifact::Precision stored_ = artifact::Precision::kFP32;
  std::string input_name_;
  std::string output_name_;
  std::vector<std::int64_t> input_dims_;
  std::array<std::int64_t, 4> accepted_{-1, -1, -1, -1};
  int threads_ = 1;
  int inter_op_threads_ = 1;
  std::string optimization_ = "all";
  std::string execution_mode_ = "sequential";
  bool memory_pattern_ = true;
};

}  // namespace

BackendRuntime onnxruntime_runtime() { return {ort_version(), [] { return std::make_unique<OnnxRuntimeBackend>(); }}; }

}  // namespace inferbench::backends
