// LiteRT (TFLite) on the CPU: a .tflite file in LiteRT's interpreter with the
// XNNPACK delegate, from the PyPI wheel ai-edge-litert (pinned; Debian has no
// LiteRT). Why through Python (docs/tensorflow.md, "LiteRT"): the wheel's C
// library (libLiteRt.so) exports the CompiledModel C API without headers, with
// an ABI that changed between releases under one symbol version, and with no
// CPU thread-count setter (it ran one thread whatever was asked), so the
// study's thread axis could not be honoured; the interpreter API the wheel
// ships for Python is LiteRT's stable, documented one and takes num_threads.
//
// The interpreter runs inside this C++ worker through embedded CPython (the
// system's libpython, the venv's site-packages): the worker protocol, the
// timed loop, its clock, the crash isolation and the memory limit are the
// C++ worker's own, unchanged; one timed call is one Runner.run
// (litert_runner.py, linked into the binary): the caller's batch wrapped as a
// memoryview (no copy), set_tensor, invoke, get_tensor, the logits copied out.
// The cost of that path against a bare Python loop over the same three calls
// is measured in benchmarks/harness.md ("LiteRT").
//
// Python is started once per process (a worker loads one model), isolated from
// the environment (no PYTHONPATH, no user or system site-packages), with the
// site-packages of INFERBENCH_LITERT_SITE (colon-separated; default: the
// tf-venv of scripts/install_sdks.sh) and without Python's signal handlers, so
// SIGTERM and SIGINT still reach the worker as the parent expects.
#include <Python.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "common/error.h"
#include "common/incbin.h"

INFERBENCH_INCBIN(litert_runner_py, INFERBENCH_LITERT_RUNNER_PY);

namespace inferbench::backends {

std::vector<std::string> litert_site_dirs();  // litert_info.cpp

namespace {

constexpr const char* kName = "litert";

// A strong reference, released with the GIL held (every user holds it).
class Ref {
 public:
  Ref() = default;
  explicit Ref(PyObject* p) : p_(p) {}
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  Ref(Ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  Ref& operator=(Ref&& o) noexcept {
    if (this != &o) {
      Py_XDECREF(p_);
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  ~Ref() { Py_XDECREF(p_); }
  [[nodiscard]] PyObject* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  PyObject* p_ = nullptr;
};

class Gil {
 public:
  Gil() : s_(PyGILState_Ensure()) {}
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;
  ~Gil() { PyGILState_Release(s_); }

 private:
  PyGILState_STATE s_;
};

std::string str_of(PyObject* o) {
  if (o == nullptr) return "";
  Ref s(PyObject_Str(o));
  if (!s) {
    PyErr_Clear();
    return "?";
  }
  const char* c = PyUnicode_AsUTF8(s.get());
  if (c == nullptr) {
    PyErr_Clear();
    return "?";
  }
  return c;
}

// The pending Python exception as an Error: ImportError (a missing or broken
// runtime) is kUnavailable, InputError (a file or batch that does not fit) and
// every other exception from LiteRT kInput, each with its type and message.
[[noreturn]] void fail_python(const std::string& what, PyObject* input_error) {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  const Ref t(type), v(value), trace(tb);
  std::string name = "unknown error";
  if (type != nullptr) {
    if (const char* n = reinterpret_cast<PyTypeObject*>(type)->tp_name; n != nullptr) name = n;
  }
  std::string message = str_of(value);
  ExitCode code = ExitCode::kInput;
  if (type != nullptr && PyErr_GivenExceptionMatches(type, PyExc_ImportError)) code = ExitCode::kUnavailable;
  if (type != nullptr && input_error != nullptr && PyErr_GivenExceptionMatches(type, input_error)) {
    fail(code, fmt::format("{}: {}", what, message));
  }
  fail(code, fmt::format("{}: {}: {}", what, name, message));
}

// Starts Python once in this process; the GIL is released afterwards (every
// call takes it with Gil). Error(kUnavailable) when it cannot start.
void start_python() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    if (Py_IsInitialized() != 0) return;
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.install_signal_handlers = 0;  // the worker's SIGTERM/SIGINT stay the worker's
    config.site_import = 0;              // no system site-packages: only the venv's, added below
    config.write_bytecode = 0;
    config.parse_argv = 0;
    PyStatus st = PyConfig_SetString(&config, &config.program_name, L"inferbench-litert");
    if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
      error = fmt::format("embedded Python {} failed to start: {}", PY_VERSION,
                          st.err_msg != nullptr ? st.err_msg : "unknown error");
      return;
    }
    // site.addsitedir: the folder and its .pth files, in the order given, first.
    Ref site(PyImport_ImportModule("site"));
    Ref sys_path(PySys_GetObject("path") != nullptr ? Py_NewRef(PySys_GetObject("path")) : nullptr);
    if (!site || !sys_path) {
      error = "embedded Python has no 'site' module or sys.path";
      PyErr_Clear();
    } else {
      const Py_ssize_t before = PyList_Size(sys_path.get());
      for (const std::string& dir : litert_site_dirs()) {
        Ref r(PyObject_CallMethod(site.get(), "addsitedir", "s", dir.c_str()));
        if (!r) {
          error = fmt::format("embedded Python could not add '{}' to its path", dir);
          PyErr_Clear();
        }
      }
      // Move the added entries ahead of the standard library's.
      const Py_ssize_t after = PyList_Size(sys_path.get());
      Ref added(PyList_GetSlice(sys_path.get(), before, after));
      if (added && PyList_SetSlice(sys_path.get(), before, after, nullptr) == 0) {
        PyList_SetSlice(sys_path.get(), 0, 0, added.get());
      }
      PyErr_Clear();
    }
    PyEval_SaveThread();
  });
  if (!error.empty()) fail(ExitCode::kUnavailable, error);
}

// litert_runner.py as a module (once per process).
PyObject* runner_module() {
  static PyObject* module = nullptr;  // kept for the life of the process
  if (module != nullptr) return module;
  const std::string_view src = INFERBENCH_INCBIN_VIEW(litert_runner_py);
  Ref code(Py_CompileString(std::string(src).c_str(), "litert_runner.py", Py_file_input));
  if (!code) fail_python("litert: litert_runner.py does not compile", nullptr);
  module = PyImport_ExecCodeModule("inferbench_litert_runner", code.get());
  if (module == nullptr) {
    fail_python(fmt::format("LiteRT (ai_edge_litert) cannot be imported from {}; scripts/install_sdks.sh installs "
                            "ai-edge-litert {} into .deps/tf-venv, INFERBENCH_LITERT_SITE names other site-packages",
                            fmt::join(litert_site_dirs(), ":"), INFERBENCH_LITERT_VERSION),
                nullptr);
  }
  return module;
}

class LiteRtBackend final : public Backend {
 public:
  ~LiteRtBackend() override {
    if (runner_ || input_error_) {
      const Gil gil;
      runner_ = Ref();
      input_error_ = Ref();
      run_name_ = Ref();
    }
  }

  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    if (threads < 1) fail(ExitCode::kUsage, fmt::format("backend '{}': threads must be >= 1, not {}", kName, threads));
    xnnpack_ = choice_option(options, kName, "xnnpack", "1", {"1", "0"}) == "1";
    threads_ = threads;
    path_ = artifact.path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) {
      fail(ExitCode::kInput, fmt::format("'{}': no .tflite file there", path_.string()));
    }
    if (artifact.layout != "NHWC") {
      fail(ExitCode::kInput,
           fmt::format("'{}': described as {} input; TFLite files take NHWC", path_.string(), artifact.layout));
    }
    start_python();
    const Gil gil;
    PyObject* m = runner_module();
    input_error_ = Ref(PyObject_GetAttrString(m, "InputError"));
    Ref v(PyObject_CallMethod(m, "version", nullptr));
    if (!v) fail_python("litert: version()", nullptr);
    version_ = str_of(v.get());
    if (version_ != INFERBENCH_LITERT_VERSION) {
      fail(ExitCode::kUnavailable,
           fmt::format("ai-edge-litert {} found in {}, but this build is pinned to {} (scripts/install_sdks.sh "
                       "installs it)",
                       version_, fmt::join(litert_site_dirs(), ":"), INFERBENCH_LITERT_VERSION));
    }
    runner_ = Ref(PyObject_CallMethod(m, "Runner", "sii", path_.c_str(), threads_, xnnpack_ ? 1 : 0));
    if (!runner_)
      fail_python(fmt::format("'{}': LiteRT {} cannot load it", path_.string(), version_), input_error_.get());
    Ref shape(PyObject_CallMethod(runner_.get(), "input_shape", nullptr));
    if (!shape || PyList_Size(shape.get()) != 4) fail_python("litert: input_shape()", input_error_.get());
    for (Py_ssize_t i = 0; i < 4; ++i)
      accepted_[static_cast<std::size_t>(i)] = PyLong_AsLongLong(PyList_GetItem(shape.get(), i));
    const std::int64_t want[4] = {-1, artifact.height, artifact.width, artifact.channels};
    for (std::size_t i = 1; i < 4; ++i) {
      if (accepted_[i] > 0 && want[i] > 0 && accepted_[i] != want[i]) {
        fail(ExitCode::kInput,
             fmt::format("'{}': input is [{}], the artifact says N x {} x {} x {} (NHWC)", path_.string(),
                         fmt::join(accepted_, ", "), artifact.height, artifact.width, artifact.channels));
      }
    }
    run_name_ = Ref(PyUnicode_FromString("run"));
  }

  Logits infer(const float* input, const std::vector<std::int64_t>& shape) override {
    if (!runner_) throw std::logic_error("litert backend: infer() before load()");
    bool fits = shape.size() == 4;
    for (std::size_t i = 1; fits && i < 4; ++i) fits = accepted_[i] <= 0 || shape[i] == accepted_[i];
    if (!fits) {
      fail(ExitCode::kInput,
           fmt::format("'{}': input of shape [{}] does not fit the model, which expects N x {} x {} "
                       "x {} (NHWC)",
                       path_.string(), fmt::join(shape, ", "), accepted_[1], accepted_[2], accepted_[3]));
    }
    std::size_t count = 1;
    for (auto d : shape) count *= static_cast<std::size_t>(d);
    const Gil gil;
    // The caller's memory, read-only and not copied; numpy wraps it in run().
    Ref view(PyMemoryView_FromMemory(const_cast<char*>(reinterpret_cast<const char*>(input)),
                                     static_cast<Py_ssize_t>(count * sizeof(float)), PyBUF_READ));
    Ref dims(Py_BuildValue("(LLLL)", static_cast<long long>(shape[0]), static_cast<long long>(shape[1]),
                           static_cast<long long>(shape[2]), static_cast<long long>(shape[3])));
    if (!view || !dims) fail_python("litert: wrapping the input batch", nullptr);
    Ref out(PyObject_CallMethodObjArgs(runner_.get(), run_name_.get(), view.get(), dims.get(), nullptr));
    if (!out) {
      fail_python(fmt::format("'{}': LiteRT failed to run a [{}] batch", path_.string(), fmt::join(shape, ", ")),
                  input_error_.get());
    }
    Py_buffer b;
    if (PyObject_GetBuffer(out.get(), &b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND) != 0) {
      fail_python("litert: reading the output", nullptr);
    }
    const bool ok = b.ndim == 2 && b.itemsize == 4 && b.format != nullptr && std::strcmp(b.format, "f") == 0 &&
                    b.shape[0] == shape[0];
    Logits logits;
    if (ok) {
      logits.batch = b.shape[0];
      logits.classes = b.shape[1];
      const auto* p = static_cast<const float*>(b.buf);
      logits.values.assign(p, p + logits.batch * logits.classes);
    }
    const int ndim = b.ndim;
    PyBuffer_Release(&b);
    if (!ok) {
      fail(ExitCode::kInput, fmt::format("'{}': the model returned a rank-{} tensor, not {} x classes float32 logits",
                                         path_.string(), ndim, shape[0]));
    }
    return logits;
  }

  [[nodiscard]] nlohmann::json settings() const override {
    return {{"threads", threads_},
            {"num_threads", threads_},
            {"xnnpack", xnnpack_},
            {"op_resolver", xnnpack_ ? "AUTO (XNNPACK delegate applied by default)"
                                     : "BUILTIN_WITHOUT_DEFAULT_DELEGATES (LiteRT's built-in kernels)"},
            {"litert_version", version_},
            {"api", "ai_edge_litert.interpreter.Interpreter (set_tensor, invoke, get_tensor) in embedded CPython"},
            {"python", PY_VERSION},
            {"site", fmt::format("{}", fmt::join(litert_site_dirs(), ":"))}};
  }

  nlohmann::json execution() override {
    if (!runner_) throw std::logic_error("litert backend: execution() before load()");
    const Gil gil;
    Ref r(PyObject_CallMethod(runner_.get(), "execution", nullptr));
    if (!r) fail_python("litert: execution()", input_error_.get());
    return nlohmann::json::parse(str_of(r.get()));
  }

 private:
  std::filesystem::path path_;
  int threads_ = 1;
  bool xnnpack_ = true;
  std::string version_;
  std::array<std::int64_t, 4> accepted_{-1, -1, -1, -1};
  Ref runner_, input_error_, run_name_;
};

}  // namespace

BackendRuntime litert_runtime() {
  return {INFERBENCH_LITERT_VERSION, [] { return std::make_unique<LiteRtBackend>(); }};
}

}  // namespace inferbench::backends
