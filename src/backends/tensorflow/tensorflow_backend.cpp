// TensorFlow through its C API (the study's "Keras" system): a SavedModel
// loaded with TF_LoadSessionFromSavedModel and run with TF_SessionRun, from
// C++, no Python. The C API comes from the PyPI wheel tensorflow-cpu (Debian
// has no TensorFlow; scripts/install_sdks.sh puts it in .deps/tf-venv): its
// headers declare the functions, and the library (libtensorflow_cc.so.2, 0.8
// GB, with libtensorflow_framework.so.2 beside it) is opened with dlopen when
// a model is loaded, so no other command pays for mapping it and running its
// static initialisers. INFERBENCH_TF_LIBRARY overrides the path.
//
// Threads: intra_op_parallelism_threads = the study's `threads`,
// inter_op_parallelism_threads = the inter_op_threads option (default 1), in
// the session's ConfigProto. oneDNN: TF_ENABLE_ONEDNN_OPTS, set from the
// onednn option before the library is opened (TensorFlow reads it once), and
// reported as in force. Input: the caller's NHWC float batch, wrapped, not
// copied (TensorFlow copies only memory not on its 64-byte alignment; the
// bench batch is aligned). The output is the serving signature's tensor.
#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tensorflow/c/c_api.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "common/error.h"

namespace inferbench::backends {

namespace {

constexpr const char* kName = "tensorflow";

std::string library_path() {
  if (const char* p = std::getenv("INFERBENCH_TF_LIBRARY"); p != nullptr && *p != '\0') return p;
  return INFERBENCH_TF_LIBRARY;
}

// Every C API function inferbench calls, once: declared as the headers
// declare it, looked up by that name in the opened library.
#define INFERBENCH_TF_FUNCTIONS(X) \
  X(TF_Version) \
  X(TF_NewStatus) \
  X(TF_DeleteStatus) \
  X(TF_GetCode) \
  X(TF_Message) \
  X(TF_NewGraph) \
  X(TF_DeleteGraph) \
  X(TF_GraphOperationByName) \
  X(TF_GraphNextOperation) \
  X(TF_OperationOpType) \
  X(TF_OperationNumOutputs) \
  X(TF_OperationOutputType) \
  X(TF_GraphGetTensorNumDims) \
  X(TF_GraphGetTensorShape) \
  X(TF_NewSessionOptions) \
  X(TF_DeleteSessionOptions) \
  X(TF_SetConfig) \
  X(TF_LoadSessionFromSavedModel) \
  X(TF_CloseSession) \
  X(TF_DeleteSession) \
  X(TF_SessionRun) \
  X(TF_NewTensor) \
  X(TF_DeleteTensor) \
  X(TF_TensorData) \
  X(TF_TensorType) \
  X(TF_NumDims) \
  X(TF_Dim)

struct TfApi {
#define INFERBENCH_TF_FN(name) decltype(&::name) name = nullptr;
  INFERBENCH_TF_FUNCTIONS(INFERBENCH_TF_FN)
#undef INFERBENCH_TF_FN
  std::string path;
};

// Opens the library once per process (a worker loads one model). Error(kUnavailable)
// naming the file and the loader's message when it cannot, or when a function is missing.
const TfApi& api(bool onednn) {
  static std::once_flag once;
  static TfApi fns;
  static std::string error;
  std::call_once(once, [&] {
    // Read by TensorFlow when it first asks (at load): set before anything of it runs.
    ::setenv("TF_ENABLE_ONEDNN_OPTS", onednn ? "1" : "0", 1);
    ::setenv("TF_CPP_MIN_LOG_LEVEL", "2", 0);  // its INFO lines (oneDNN notice, CPU flags) off stderr
    fns.path = library_path();
    void* h = ::dlopen(fns.path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (h == nullptr) {
      const char* why = ::dlerror();
      error = fmt::format("cannot open the TensorFlow C API library '{}': {} (scripts/install_sdks.sh installs "
                          "tensorflow-cpu {} into .deps/tf-venv; INFERBENCH_TF_LIBRARY names another)",
                          fns.path, why != nullptr ? why : "unknown error", INFERBENCH_TF_VERSION);
      return;
    }
    auto sym = [&](const char* name, auto& slot) {
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(::dlsym(h, name));
      if (slot == nullptr && error.empty()) error = fmt::format("'{}' has no function {}", fns.path, name);
    };
#define INFERBENCH_TF_SYM(name) sym(#name, fns.name);
    INFERBENCH_TF_FUNCTIONS(INFERBENCH_TF_SYM)
#undef INFERBENCH_TF_SYM
    if (error.empty() && std::string(fns.TF_Version()) != INFERBENCH_TF_VERSION) {
      error = fmt::format("'{}' is TensorFlow {}, inferbench was built against the C API of {}", fns.path,
                          fns.TF_Version(), INFERBENCH_TF_VERSION);
    }
  });
  if (!error.empty()) fail(ExitCode::kUnavailable, error);
  return fns;
}

struct Status {
  explicit Status(const TfApi& a) : api(a), s(a.TF_NewStatus()) {}
  ~Status() { api.TF_DeleteStatus(s); }
  Status(const Status&) = delete;
  Status& operator=(const Status&) = delete;
  [[nodiscard]] bool ok() const { return api.TF_GetCode(s) == TF_OK; }
  [[nodiscard]] std::string message() const { return api.TF_Message(s); }
  const TfApi& api;
  TF_Status* s;
};

// "name:index" -> (operation name, index); a bare name is index 0.
std::pair<std::string, int> split_tensor_name(const std::string& t) {
  const auto colon = t.rfind(':');
  if (colon == std::string::npos) return {t, 0};
  try {
    return {t.substr(0, colon), std::stoi(t.substr(colon + 1))};
  } catch (const std::exception&) {
    return {t, 0};
  }
}

// intra_op_parallelism_threads (field 2) and inter_op_parallelism_threads
// (field 5) of tensorflow.ConfigProto, in protobuf's wire format: each a
// varint field (tag = field << 3 | 0), as the TF C API's TF_SetConfig takes it.
std::string config_proto(int intra, int inter) {
  std::string out;
  auto varint = [&](std::uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  varint(2 << 3);
  varint(static_cast<std::uint64_t>(intra));
  varint(5 << 3);
  varint(static_cast<std::uint64_t>(inter));
  return out;
}

class TensorFlowBackend final : public Backend {
 public:
  ~TensorFlowBackend() override { close(); }

  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    if (threads < 1) fail(ExitCode::kUsage, fmt::format("backend '{}': threads must be >= 1, not {}", kName, threads));
    inter_op_threads_ = static_cast<int>(int_option(options, kName, "inter_op_threads", 1, 1, 1024));
    onednn_ = choice_option(options, kName, "onednn", "1", {"1", "0"}) == "1";
    threads_ = threads;
    path_ = artifact.path;
    std::error_code ec;
    if (!std::filesystem::is_directory(path_, ec)) {
      fail(ExitCode::kInput, fmt::format("'{}': no SavedModel folder there", path_.string()));
    }
    if (!std::filesystem::is_regular_file(path_ / "saved_model.pb", ec)) {
      fail(ExitCode::kInput, fmt::format("'{}': not a SavedModel (no saved_model.pb in the folder)", path_.string()));
    }
    if (artifact.layout != "NHWC") {
      fail(ExitCode::kInput, fmt::format("'{}': described as {} input; TensorFlow's SavedModels take NHWC",
                                         path_.string(), artifact.layout));
    }
    const TfApi& a = api(onednn_);
    api_ = &a;
    close();
    graph_ = a.TF_NewGraph();
    Status st(a);
    TF_SessionOptions* opts = a.TF_NewSessionOptions();
    const std::string config = config_proto(threads_, inter_op_threads_);
    a.TF_SetConfig(opts, config.data(), config.size(), st.s);
    if (!st.ok()) {
      a.TF_DeleteSessionOptions(opts);
      fail(ExitCode::kInternal, fmt::format("TensorFlow refused the session config: {}", st.message()));
    }
    const char* tags[] = {"serve"};
    session_ = a.TF_LoadSessionFromSavedModel(opts, nullptr, path_.c_str(), tags, 1, graph_, nullptr, st.s);
    a.TF_DeleteSessionOptions(opts);
    if (!st.ok() || session_ == nullptr) {
      session_ = nullptr;
      fail(ExitCode::kInput, fmt::format("'{}': TensorFlow {} cannot load this SavedModel: {}", path_.string(),
                                         a.TF_Version(), st.message()));
    }
    input_ = find_output(artifact.input_name, "input");
    output_ = find_output(artifact.output_name, "output");
    if (a.TF_OperationOutputType(input_) != TF_FLOAT) {
      fail(ExitCode::kInput, fmt::format("'{}': input '{}' is not float32", path_.string(), artifact.input_name));
    }
    // The input's shape as the graph knows it: N x H x W x C, checked against the artifact.
    const int rank = a.TF_GraphGetTensorNumDims(graph_, input_, st.s);
    if (st.ok() && rank == 4) {
      std::int64_t dims[4];
      a.TF_GraphGetTensorShape(graph_, input_, dims, 4, st.s);
      const std::int64_t want[4] = {-1, artifact.height, artifact.width, artifact.channels};
      for (int i = 1; i < 4; ++i) {
        if (dims[i] > 0 && want[i] > 0 && dims[i] != want[i]) {
          fail(ExitCode::kInput, fmt::format("'{}': input '{}' is [{}, {}, {}, {}], the artifact says N x {} x {} x {} "
                                             "(NHWC)",
                                             path_.string(), artifact.input_name, dims[0], dims[1], dims[2], dims[3],
                                             artifact.height, artifact.width, artifact.channels));
        }
        accepted_[static_cast<std::size_t>(i)] = dims[i] > 0 ? dims[i] : want[i];
      }
    } else if (rank != -1) {
      fail(ExitCode::kInput, fmt::format("'{}': input '{}' has rank {}, expected 4 (N x H x W x C)", path_.string(),
                                         artifact.input_name, rank));
    }
    input_name_ = artifact.input_name;
    output_name_ = artifact.output_name;
    run_status_ = std::make_unique<Status>(a);
  }

  Logits infer(const float* input, const std::vector<std::int64_t>& shape) override {
    if (session_ == nullptr) throw std::logic_error("tensorflow backend: infer() before load()");
    bool fits = shape.size() == 4;
    for (std::size_t i = 1; fits && i < 4; ++i) fits = accepted_[i] <= 0 || shape[i] == accepted_[i];
    if (!fits) {
      fail(ExitCode::kInput, fmt::format("'{}': input of shape {} does not fit the model, which expects N x {} x {} x "
                                         "{} (NHWC)",
                                         path_.string(), fmt::format("[{}]", fmt::join(shape, ", ")), accepted_[1],
                                         accepted_[2], accepted_[3]));
    }
    const TfApi& a = *api_;
    std::size_t count = 1;
    for (auto d : shape) count *= static_cast<std::size_t>(d);
    // Wraps the caller's memory; the no-op deallocator leaves it to the caller.
    TF_Tensor* in = a.TF_NewTensor(TF_FLOAT, shape.data(), 4, const_cast<float*>(input), count * sizeof(float),
                                   [](void*, std::size_t, void*) {}, nullptr);
    TF_Tensor* out = nullptr;
    Status& st = *run_status_;  // made at load: no allocation inside the timed call
    a.TF_SessionRun(session_, nullptr, &input_, &in, 1, &output_, &out, 1, nullptr, 0, nullptr, st.s);
    a.TF_DeleteTensor(in);
    const std::unique_ptr<TF_Tensor, void (*)(TF_Tensor*)> owned(out, a.TF_DeleteTensor);
    if (!st.ok() || out == nullptr) {
      fail(ExitCode::kInput, fmt::format("'{}': TensorFlow failed to run a [{}] batch: {}", path_.string(),
                                         fmt::join(shape, ", "), st.message()));
    }
    if (a.TF_TensorType(out) != TF_FLOAT || a.TF_NumDims(out) != 2 || a.TF_Dim(out, 0) != shape[0]) {
      fail(ExitCode::kInput, fmt::format("'{}': the model returned a rank-{} tensor of type {}, not {} x classes float "
                                         "logits",
                                         path_.string(), a.TF_NumDims(out), static_cast<int>(a.TF_TensorType(out)),
                                         shape[0]));
    }
    Logits logits;
    logits.batch = shape[0];
    logits.classes = a.TF_Dim(out, 1);
    const auto* p = static_cast<const float*>(a.TF_TensorData(out));
    logits.values.assign(p, p + logits.batch * logits.classes);
    return logits;
  }

  [[nodiscard]] nlohmann::json settings() const override {
    return {{"threads", threads_},
            {"intra_op_parallelism_threads", threads_},
            {"inter_op_parallelism_threads", inter_op_threads_},
            {"onednn", onednn_},
            {"TF_ENABLE_ONEDNN_OPTS", onednn_ ? "1" : "0"},
            {"tensorflow_version", api_ != nullptr ? api_->TF_Version() : ""},
            {"library", api_ != nullptr ? api_->path : ""},
            {"api", "TF C API: TF_LoadSessionFromSavedModel (tag serve) + TF_SessionRun"},
            {"input", input_name_},
            {"output", output_name_}};
  }

  // The SavedModel's graph holds the signature's call and the variables; the
  // layers live in its function library, run as float32 (the signature's
  // dtypes; TensorFlow converts no float graph to another precision on CPU
  // unless auto mixed precision is switched on, which it is not here). The
  // top-level graph's op types are its own evidence.
  nlohmann::json execution() override {
    if (session_ == nullptr) throw std::logic_error("tensorflow backend: execution() before load()");
    std::map<std::string, std::int64_t> ops;
    std::size_t pos = 0;
    while (TF_Operation* op = api_->TF_GraphNextOperation(graph_, &pos)) ++ops[api_->TF_OperationOpType(op)];
    return {{"precision", "fp32"},
            {"how",
             "float32 signature in and out, float32 variables; TensorFlow runs a float32 graph in float32 on CPU "
             "(no auto mixed precision)"},
            {"onednn", onednn_},
            {"graph_ops", ops}};
  }

 private:
  TF_Output find_output(const std::string& tensor, const char* what) {
    const auto [op_name, index] = split_tensor_name(tensor);
    TF_Operation* op = api_->TF_GraphOperationByName(graph_, op_name.c_str());
    if (op == nullptr || index < 0 || index >= api_->TF_OperationNumOutputs(op)) {
      fail(ExitCode::kInput, fmt::format("'{}': the SavedModel's graph has no {} tensor '{}' (the serving signature's, "
                                         "as its description names it)",
                                         path_.string(), what, tensor));
    }
    return TF_Output{op, index};
  }

  void close() {
    if (api_ == nullptr) return;
    if (session_ != nullptr) {
      Status st(*api_);
      api_->TF_CloseSession(session_, st.s);
      api_->TF_DeleteSession(session_, st.s);
      session_ = nullptr;
    }
    if (graph_ != nullptr) {
      api_->TF_DeleteGraph(graph_);
      graph_ = nullptr;
    }
  }

  const TfApi* api_ = nullptr;
  std::unique_ptr<Status> run_status_;  // infer()'s, set by every TF_SessionRun
  TF_Graph* graph_ = nullptr;
  TF_Session* session_ = nullptr;
  TF_Output input_{nullptr, 0};
  TF_Output output_{nullptr, 0};
  std::array<std::int64_t, 4> accepted_{-1, -1, -1, -1};
  std::filesystem::path path_;
  std::string input_name_, output_name_;
  int threads_ = 1;
  int inter_op_threads_ = 1;
  bool onednn_ = true;
};

}  // namespace

BackendRuntime tensorflow_runtime() {
  return {INFERBENCH_TF_VERSION, [] { return std::make_unique<TensorFlowBackend>(); }};
}

}  // namespace inferbench::backends
