// OpenVINO's CPU plugin through its C++ API (the SDK from the openvino wheel,
// or -DOpenVINO_DIR). Reads OpenVINO IR (.xml + .bin) and ONNX (through
// OpenVINO's own ONNX frontend).
//
// Options:
//   hint=latency|throughput   ov::hint::performance_mode (default latency)
//   streams=N|AUTO            ov::num_streams (default: what the hint chooses)
//   precision=f32|bf16|f16    ov::hint::inference_precision (default f32, so an
//                             FP32 study runs FP32: the CPU plugin's own default
//                             is bf16 on CPUs with native bf16 support)
//   async_requests=N          infer requests a batch is split over, run with
//                             start_async/wait (default 1: one synchronous request)
// The study's `threads` is ov::inference_num_threads (the total over all streams).
//
// Compiled models are static-shaped: the model is reshaped to each batch shape
// infer() sees and compiled once per shape (the first at load(), for one
// image). settings() reads the first compiled model's properties back, i.e.
// what the plugin actually chose.
//
// Every ov::Exception (and any other std::exception from the SDK) becomes
// Error(kInput) naming the file and carrying OpenVINO's message.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <unordered_set>
#include <cctype>
#include <map>
#include <optional>
#include <openvino/core/version.hpp>
#include <openvino/frontend/manager.hpp>
#include <openvino/openvino.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "backends/backend.h"
#include "common/error.h"
#include "model/ir.h"

namespace inferbench::backends {

namespace {

constexpr const char* kName = "openvino";
constexpr const char* kDevice = "CPU";

std::string ov_version() { return ov::get_openvino_version().buildNumber; }

// OpenVINO's messages carry a "Exception from src/...cpp:N:" line per layer it
// passed through; the user needs the rest, on one line.
std::string message(const std::exception& e) {
  std::istringstream in(e.what());
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (line.empty() || line.starts_with("Exception from ")) continue;
    if (!out.empty()) out += ' ';
    out += line;
  }
  return out.empty() ? std::string(e.what()) : out;
}

template <typename T>
std::string to_text(const T& v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// A compiled model's property as JSON; null when the plugin does not report it.
template <typename Property, typename F>
nlohmann::json read_property(const ov::CompiledModel& compiled, const Property& property, F&& convert) {
  try {
    return convert(compiled.get_property(property));
  } catch (const std::exception&) {
    return nullptr;
  }
}

class OpenVinoBackend final : public Backend {
 public:
  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    if (threads < 1) fail(ExitCode::kUsage, fmt::format("backend '{}': threads must be >= 1, not {}", kName, threads));
    hint_ = choice_option(options, kName, "hint", "latency", {"latency", "throughput"});
    streams_ = option_or(options, "streams", "");
    std::optional<int> streams;  // nullopt: the hint decides
    if (streams_ == "AUTO") {
      streams = static_cast<int>(ov::streams::AUTO);
    } else if (!streams_.empty()) {
      streams = static_cast<int>(int_option(options, kName, "streams", 1, 1, 1024));
    }
    precision_ = choice_option(options, kName, "precision", "f32", {"f32", "bf16", "f16"});
    async_requests_ = static_cast<int>(int_option(options, kName, "async_requests", 1, 1, 256));
    threads_ = threads;
    path_ = artifact.path;
    layout_ = artifact.layout;  // NCHW, or NHWC for TensorFlow's formats
    std::error_code ec;
    if (artifact.format == "savedmodel" ? !std::filesystem::is_directory(path_, ec)
                                        : !std::filesystem::is_regular_file(path_, ec)) {
      fail(ExitCode::kInput, fmt::format("'{}': model file not found", path_.string()));
    }

    config_ = {ov::hint::performance_mode(hint_ == "throughput" ? ov::hint::PerformanceMode::THROUGHPUT
                                                                 : ov::hint::PerformanceMode::LATENCY),
               ov::hint::inference_precision(precision_ == "bf16"  ? ov::element::bf16
                                             : precision_ == "f16" ? ov::element::f16
                                                                   : ov::element::f32),
               ov::inference_num_threads(threads)};
    if (streams) config_.emplace(ov::num_streams(ov::streams::Num(*streams)));

    try {
      // What the plugin would pick without our precision hint, recorded for the report.
      device_default_precision_ = core_.get_property(kDevice, ov::hint::inference_precision).get_type_name();
      check_frontend(artifact.format);
      model_ = core_.read_model(path_.string());
      check_io(artifact);
      compiled_.clear();
      in_force_ = nlohmann::json::object();
      // Compile now for one image, so load() includes the compilation and settings() has the
      // plugin's choices; a model whose image size nobody knows waits for the first batch.
      if (std::all_of(accepted_.begin() + 1, accepted_.end(), [](std::int64_t d) { return d > 0; })) {
        compiled_for({1, static_cast<std::size_t>(accepted_[1]), static_cast<std::size_t>(accepted_[2]),
                      static_cast<std::size_t>(accepted_[3])},
                     1);
      }
    } catch (const Error&) {
      model_.reset();
      throw;
    } catch (const std::exception& e) {
      model_.reset();
      fail(ExitCode::kInput,
           fmt::format("'{}': OpenVINO {} cannot load this model: {}", path_.string(), ov_version(), message(e)));
    }
  }

  Logits infer(const float* input, const std::vector<std::int64_t>& shape) override {
    if (!model_) throw std::logic_error("openvino backend: infer() before load()");
    check_input(shape);
    const std::int64_t n = shape[0];
    const std::int64_t per_image = shape[1] * shape[2] * shape[3];
    // The batch split into chunks of `per` images, one per request; the last may be smaller.
    const std::int64_t per = (n + async_requests_ - 1) / async_requests_;
    const std::int64_t chunks = (n + per - 1) / per;
    try {
      struct Job {
        ov::InferRequest request;  // a handle: copies share one request (the vector below may grow)
        std::int64_t first, count;
      };
      std::vector<Job> jobs;
      for (std::int64_t c = 0; c < chunks; ++c) {
        const std::int64_t first = c * per;
        const std::int64_t count = std::min(per, n - first);
        const ov::Shape s{static_cast<std::size_t>(count), static_cast<std::size_t>(shape[1]),
                          static_cast<std::size_t>(shape[2]), static_cast<std::size_t>(shape[3])};
        // Chunks of one size share a compiled model, each with its own request.
        const auto same_size = std::count_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.count == count; });
        Compiled& compiled = compiled_for(s, static_cast<std::size_t>(same_size) + 1);
        const auto r = static_cast<std::size_t>(same_size);
        ov::InferRequest request = compiled.requests[r];
        // Wraps the caller's memory: no copy; OpenVINO only reads an input. A
        // request already bound to this memory (a benchmark loop) keeps its
        // tensor, so the timed call is the inference alone, as in a bare loop.
        const float* data = input + first * per_image;
        if (compiled.bound[r] != data) {
          request.set_input_tensor(ov::Tensor(ov::element::f32, s, const_cast<float*>(data)));
          compiled.bound[r] = data;
        }
        jobs.push_back({request, first, count});
      }
      if (jobs.size() == 1) {
        jobs[0].request.infer();
      } else {
        for (Job& j : jobs) j.request.start_async();
        for (Job& j : jobs) j.request.wait();
      }

      Logits logits;
      logits.batch = n;
      for (Job& j : jobs) {
        const ov::Tensor y = j.request.get_output_tensor();
        const ov::Shape ys = y.get_shape();
        if (y.get_element_type() != ov::element::f32 || ys.size() != 2 || ys[0] != static_cast<std::size_t>(j.count)) {
          fail(ExitCode::kInput,
               fmt::format("'{}': the model returned a {} {} tensor, not {} x classes float logits", path_.string(),
                           to_text(ys), y.get_element_type().get_type_name(), j.count));
        }
        logits.classes = static_cast<std::int64_t>(ys[1]);
        const float* p = y.data<const float>();
        logits.values.insert(logits.values.end(), p, p + y.get_size());
      }
      return logits;
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': OpenVINO failed to run a {} batch: {}", path_.string(),
                                         model::shape_to_string(shape), message(e)));
    }
  }

  // The precision each layer executes in, from the plugin's runtime model
  // (the graph it compiled: rt_info "layerType", "runtimePrecision",
  // "primitiveType") of the first compiled shape. The compute layers
  // (convolutions, fully connected, matmul) decide: all u8/i8 is int8, all f32
  // is fp32, and so on; several is "mixed". Kernel names (primitiveType, e.g.
  // "brgconv_avx512_I8") are kept as the plugin's own evidence.
  nlohmann::json execution() override {
    if (compiled_.empty()) throw std::logic_error("openvino backend: execution() before load()");
    std::map<std::string, std::map<std::string, std::int64_t>> compute;  // layer type -> precision -> count
    std::map<std::string, std::map<std::string, std::int64_t>> layers;   // every layer type, the same way
    std::map<std::string, std::int64_t> primitives;
    std::map<std::string, std::int64_t> by_precision;
    try {
      const std::shared_ptr<const ov::Model> rt = compiled_.begin()->second.model.get_runtime_model();
      for (const auto& op : rt->get_ordered_ops()) {
        const ov::RTMap& info = op->get_rt_info();
        auto text = [&](const char* key) {
          const auto it = info.find(key);
          return it == info.end() ? std::string() : it->second.as<std::string>();
        };
        const std::string type = text("layerType");
        std::string precision = text("runtimePrecision");
        for (char& c : precision) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        // Every executed layer (constants aside): where the time goes besides the
        // compute layers, e.g. elementwise Subgraphs that could not fuse into an int8 convolution.
        if (type != "Const" && !type.empty()) ++layers[type][precision];
        const bool is_compute = type.find("Convolution") != std::string::npos || type == "FullyConnected" ||
                                type == "MatMul" || type == "Deconvolution";
        if (!is_compute) continue;
        ++compute[type][precision];
        ++by_precision[precision];
        ++primitives[text("primitiveType")];
      }
    } catch (const std::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': OpenVINO's runtime model cannot be read: {}", path_.string(), e.what()));
    }
    auto family = [](const std::string& p) -> std::string {
      if (p == "u8" || p == "i8") return "int8";
      if (p == "f32") return "fp32";
      if (p == "bf16") return "bf16";
      if (p == "f16") return "fp16";
      return p.empty() ? "unknown" : p;
    };
    std::set<std::string> families;
    for (const auto& [p, n] : by_precision) families.insert(family(p));
    const std::string precision = families.empty() ? "unknown" : families.size() == 1 ? *families.begin() : "mixed";
    std::int64_t integer = 0, floating = 0;
    for (const auto& [p, n] : by_precision) (family(p) == "int8" ? integer : floating) += n;
    return {{"precision", precision},
            {"how", "OpenVINO's runtime model: runtimePrecision of every compute layer of the compiled model"},
            {"integer_compute_kernels", integer},
            {"float_compute_kernels", floating},
            {"compute_layers", compute},
            {"layers", layers},
            {"kernels", primitives}};
  }

  [[nodiscard]] nlohmann::json settings() const override {
    nlohmann::json s = in_force_;
    s["requested"] = {{"hint", hint_},
                      {"streams", streams_.empty() ? std::string("default") : streams_},
                      {"precision", precision_},
                      {"threads", threads_}};
    s["async_requests"] = async_requests_;
    s["device"] = kDevice;
    s["device_default_precision"] = device_default_precision_;
    s["openvino_version"] = ov_version();
    std::vector<std::string> shapes;
    for (const auto& [shape, c] : compiled_) shapes.push_back(to_text(shape));
    s["compiled_shapes"] = shapes;
    return s;
  }

 private:
  struct Compiled {
    ov::CompiledModel model;
    std::vector<ov::InferRequest> requests;
    std::vector<const float*> bound;  // per request: the caller memory its input tensor wraps
  };

  // The compiled model for this input shape with at least `requests` infer
  // requests, compiling (and reshaping) it on first use.
  Compiled& compiled_for(const ov::Shape& shape, std::size_t requests) {
    auto it = compiled_.find(shape);
    if (it == compiled_.end()) {
      std::shared_ptr<ov::Model> m = model_;
      if (model_->input().get_partial_shape() != ov::PartialShape(shape)) {
        m = model_->clone();
        m->reshape(ov::PartialShape(shape));
      }
      it = compiled_.emplace(shape, Compiled{core_.compile_model(m, kDevice, config_), {}, {}}).first;
      if (compiled_.size() == 1) read_in_force(it->second.model);
    }
    Compiled& c = it->second;
    while (c.requests.size() < requests) c.requests.push_back(c.model.create_infer_request());
    c.bound.resize(c.requests.size(), nullptr);
    return c;
  }

  // What the plugin chose, from the first compiled model (every later one gets the same config).
  void read_in_force(const ov::CompiledModel& compiled) {
    in_force_ = {
        {"hint", read_property(compiled, ov::hint::performance_mode, [](auto v) { return to_text(v); })},
        {"streams", read_property(compiled, ov::num_streams, [](ov::streams::Num v) { return static_cast<int>(v); })},
        {"inference_precision",
         read_property(compiled, ov::hint::inference_precision,
                       [](const ov::element::Type& t) { return t.get_type_name(); })},
        {"threads", read_property(compiled, ov::inference_num_threads, [](int v) { return v; })},
        {"optimal_infer_requests",
         read_property(compiled, ov::optimal_number_of_infer_requests, [](std::uint32_t v) { return v; })},
        {"execution_mode", read_property(compiled, ov::hint::execution_mode, [](auto v) { return to_text(v); })},
        {"execution_devices", read_property(compiled, ov::execution_devices, [](const auto& v) { return v; })}};
  }

  // Asks only the frontend of the artifact's format whether it recognises the file.
  // read_model would try every frontend it has instead (TensorFlow's logs its parse
  // errors to stderr) and then say no more than "unable to read the model".
  void check_frontend(const std::string& format) const {
    struct Reader {
      const char* format;
      const char* framework;  // OpenVINO's frontend name
      const char* reader;
      const char* what;
    };
    static constexpr Reader kReaders[] = {
        {"openvino", "ir", "IR", "an OpenVINO IR .xml"},
        {"onnx", "onnx", "ONNX", "an ONNX model"},
        {"savedmodel", "tf", "TensorFlow", "a TensorFlow SavedModel folder"},
        {"tflite", "tflite", "TensorFlow Lite", "a TFLite FlatBuffer"},
    };
    const Reader* r = nullptr;
    for (const Reader& k : kReaders)
      if (format == k.format) r = &k;
    if (r == nullptr) {
      fail(ExitCode::kInput, fmt::format("'{}': format '{}' is not one OpenVINO reads here (openvino, onnx, "
                                         "savedmodel, tflite)",
                                         path_.string(), format));
    }
    ov::frontend::FrontEndManager manager;
    const ov::frontend::FrontEnd::Ptr frontend = manager.load_by_framework(r->framework);
    if (!frontend->supported(path_.string())) {
      fail(ExitCode::kInput, fmt::format("'{}': OpenVINO's {} reader does not recognise this file (truncated, or not "
                                         "{} at all)",
                                         path_.string(), r->reader, r->what));
    }
  }

  // The artifact's input dims after the batch, in its layout: C, H, W or H, W, C.
  [[nodiscard]] std::array<std::int64_t, 3> image_dims(const artifact::Artifact& a) const {
    if (layout_ == "NHWC") return {a.height, a.width, a.channels};
    return {a.channels, a.height, a.width};
  }
  [[nodiscard]] std::string layout_text(std::int64_t d1, std::int64_t d2, std::int64_t d3) const {
    auto dim = [](std::int64_t d, const char* name) { return d > 0 ? std::to_string(d) : std::string(name); };
    if (layout_ == "NHWC") return fmt::format("N x {} x {} x {} (NHWC)", dim(d1, "H"), dim(d2, "W"), dim(d3, "C"));
    return fmt::format("N x {} x {} x {} (NCHW)", dim(d1, "C"), dim(d2, "H"), dim(d3, "W"));
  }

  // One input and one output, named as the artifact says; an input of rank 4 whose
  // static dims agree with the artifact's channels/height/width.
  void check_io(const artifact::Artifact& artifact) {
    if (model_->inputs().size() != 1 || model_->outputs().size() != 1) {
      fail(ExitCode::kInput, fmt::format("'{}': expected a model with 1 input and 1 output, this one has {} and {}",
                                         path_.string(), model_->inputs().size(), model_->outputs().size()));
    }
    const ov::Output<const ov::Node> in = std::as_const(*model_).input();
    const ov::Output<const ov::Node> out = std::as_const(*model_).output();
    // OpenVINO's TensorFlow reader names a SavedModel's tensors by their
    // serving-signature keys ("input", "output_0"), the TF C API by graph
    // tensor ("serving_default_input:0"): either is the artifact's tensor.
    auto known = [&](const std::unordered_set<std::string>& names, const std::string& described, const char* side) {
      if (names.contains(described)) return true;
      const nlohmann::json sig = artifact.source.value("converter", nlohmann::json::object())
                                     .value("signature", nlohmann::json::object())
                                     .value(side, nlohmann::json::object());
      for (const auto& [key, tensor] : sig.items())
        if (tensor == described && names.contains(key)) return true;
      return false;
    };
    if (!known(in.get_names(), artifact.input_name, "inputs") || !known(out.get_names(), artifact.output_name, "outputs")) {
      fail(ExitCode::kInput,
           fmt::format("'{}': the model's input/output are named {}/{}, its description says '{}'/'{}'", path_.string(),
                       fmt::join(in.get_names(), "|"), fmt::join(out.get_names(), "|"), artifact.input_name,
                       artifact.output_name));
    }
    const ov::PartialShape ps = in.get_partial_shape();
    auto mismatch = [](const ov::Dimension& d, std::int64_t wanted) {
      return d.is_static() && wanted > 0 && d.get_length() != wanted;
    };
    const std::array<std::int64_t, 3> dims = image_dims(artifact);
    if (in.get_element_type() != ov::element::f32 || ps.rank() != ov::Dimension(4) || mismatch(ps[1], dims[0]) ||
        mismatch(ps[2], dims[1]) || mismatch(ps[3], dims[2])) {
      fail(ExitCode::kInput, fmt::format("'{}': input '{}' is {} {}, expected f32 {}", path_.string(),
                                         artifact.input_name, in.get_element_type().get_type_name(), to_text(ps),
                                         layout_text(dims[0], dims[1], dims[2])));
    }
    // What infer() accepts: the model's static dims, else the artifact's (-1 = any).
    const std::int64_t from_artifact[4] = {-1, dims[0], dims[1], dims[2]};
    for (std::size_t i = 0; i < 4; ++i) {
      accepted_[i] = ps[i].is_static() ? ps[i].get_length() : from_artifact[i] > 0 ? from_artifact[i] : -1;
    }
    accepted_[0] = -1;  // any batch: the model is reshaped to it
  }

  void check_input(const std::vector<std::int64_t>& shape) const {
    bool ok = shape.size() == 4;
    for (std::size_t i = 0; ok && i < 4; ++i) ok = shape[i] >= 1 && (accepted_[i] <= 0 || shape[i] == accepted_[i]);
    if (!ok) {
      fail(ExitCode::kInput, fmt::format("'{}': input of shape {} does not fit the model, which expects {}",
                                         path_.string(), model::shape_to_string(shape),
                                         layout_text(accepted_[1], accepted_[2], accepted_[3])));
    }
  }

  ov::Core core_;
  std::shared_ptr<ov::Model> model_;
  ov::AnyMap config_;
  std::map<ov::Shape, Compiled> compiled_;
  nlohmann::json in_force_ = nlohmann::json::object();
  std::filesystem::path path_;
  std::array<std::int64_t, 4> accepted_{-1, -1, -1, -1};
  std::string layout_ = "NCHW";
  std::string hint_ = "latency";
  std::string streams_;
  std::string precision_ = "f32";
  std::string device_default_precision_;
  int async_requests_ = 1;
  int threads_ = 1;
};

}  // namespace

BackendRuntime openvino_runtime() { return {ov_version(), [] { return std::make_unique<OpenVinoBackend>(); }}; }

}  // namespace inferbench::backends
