#pragma once
// One interface for every inference framework.
//
// A backend loads one artifact (a model file in its framework's format) and
// runs batches of preprocessed images through it. Each backend lives in its own
// folder and CMake target (src/backends/<name>/) that is built only when its
// SDK is found; registry.cpp lists them all, so a backend whose SDK is missing
// is still listed, as unavailable, with the reason.
//
// Contract for implementations:
// - load() and infer() report every failure as inferbench::Error: kInput for a
//   model file that is missing, truncated or malformed, or whose input does not
//   fit the batch (naming the file and what was expected), kUsage for an
//   option value it cannot use (naming the key and the accepted values),
//   kUnavailable for a feature its SDK lacks. SDK exceptions are caught and
//   rethrown as Error with the SDK's message; nothing else escapes.
// - Options are validated against BackendInfo::options by check_options()
//   before load(); load() may assume every key is known.
// - settings() reports what is actually in force after load() (threads,
//   optimisation level, hints, precision, library version), not just what was
//   asked for.
// - infer() takes a contiguous float32 batch in the artifact's layout and
//   returns its logits [N, classes], row-major. It is called from one thread.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/artifact.h"

namespace inferbench::backends {

using Options = std::map<std::string, std::string>;

// "key=value" strings -> Options. Throws Error(kUsage) for an entry without
// '=' or with an empty key, or a key given twice, naming the entry.
Options parse_options(const std::vector<std::string>& entries);

struct Logits {
  std::vector<float> values;  // [batch, classes] row-major
  std::int64_t batch = 0;
  std::int64_t classes = 0;
};

class Backend {
 public:
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  virtual ~Backend() = default;

  // `threads` is the intra-op thread count the study asks for (>= 1).
  virtual void load(const artifact::Artifact& artifact, const Options& options, int threads) = 0;
  // `shape` is the input shape in the artifact's layout, batch first.
  virtual Logits infer(const float* input, const std::vector<std::int64_t>& shape) = 0;
  [[nodiscard]] virtual nlohmann::json settings() const = 0;
  // What actually executed, asked from the runtime itself: {"precision":
  // "fp32" | "int8" | "mixed" | ..., "how": where the answer comes from, and
  // the runtime's own evidence (kernel counts, per-layer precisions)}. Called
  // once after the measured work, so asking may cost time (a probe session, a
  // profiled run). Null when the backend cannot say (the default).
  [[nodiscard]] virtual nlohmann::json execution() { return nullptr; }
};

struct OptionSpec {
  std::string key;
  std::string default_value;  // as the backend would use it; "" = the SDK's own default
  std::string help;           // includes the accepted values
};

// What only a backend built with its SDK can supply: the library version it
// runs and the factory. Each backend's SDK-dependent source defines a
// `BackendRuntime <name>_runtime()`.
struct BackendRuntime {
  std::string version;
  std::function<std::unique_ptr<Backend>()> create;
};

// A backend's description: static data (name, formats, precisions, options)
// supplied by its own folder whether or not its SDK was found, completed by
// its BackendRuntime when it was (available), or by the reason CMake recorded
// when not. The registry lists these; it never retypes them.
// A precision a backend can be told to compute an FP32 artifact in, and the
// value of its BackendInfo::precision_option that tells it (OpenVINO's
// inference precision hint "bf16"; LibTorch's BF16 copy of the module).
struct ComputePrecision {
  artifact::Precision precision;
  std::string value;
};

struct BackendInfo {
  std::string name;         // "libtorch", "torchscript", "onnxruntime", "openvino", "opencv-dnn"
  std::string description;  // one line
  std::vector<std::string> formats;  // artifact formats it loads (artifact::FormatInfo names)
  // Precisions of the artifacts it loads (weights as stored); a run on an
  // artifact of another precision is skipped with the reason.
  std::vector<artifact::Precision> precisions{artifact::Precision::kFP32};
  std::vector<OptionSpec> options;
  // The option (one of `options`) that sets the precision it computes an FP32
  // artifact in, and its value for each precision it offers, FP32 first; ""
  // and empty when it computes every artifact in the artifact's own precision.
  std::string precision_option;
  std::vector<ComputePrecision> compute;
  // The formats a study offers those precisions on: the backend's own (the
  // OpenVINO IR, the LibTorch checkpoint), so one file per backend answers
  // "what does BF16 buy here"; other formats take the option when given.
  std::vector<std::string> compute_formats;
  // infer() may be called from several threads at once on one loaded model
  // (the offline scenario's concurrent requests). Backends that parallelise
  // through their own asynchronous API (OpenVINO) say false and take a batch.
  bool concurrent_infer = false;
  bool available = false;
  std::string reason;   // why not available (empty when available)
  std::string version;  // the SDK version it was built against / runs
  std::function<std::unique_ptr<Backend>()> create;  // empty when unavailable

  [[nodiscard]] bool takes_format(std::string_view format) const;  // listed in `formats`
  // Why it would not load `a` ("" when it would: its format and precision are listed),
  // e.g. "backend 'x' does not load onnx files" or "backend 'x' loads fp32 artifacts, not fp16".
  [[nodiscard]] std::string refusal(const artifact::Artifact& a) const;
  [[nodiscard]] bool loads(const artifact::Artifact& a) const { return refusal(a).empty(); }
};

// Completes a backend's static description: available with `runtime`, or
// unavailable for `reason`. What each backend's info function returns.
BackendInfo with_runtime(BackendInfo info, BackendRuntime runtime);
BackendInfo unavailable(BackendInfo info, std::string reason);

// Every backend inferbench knows, available or not, in a fixed order. Backends
// made only for tests (crash, hang, out-of-memory) are included only when the
// environment variable INFERBENCH_TEST_BACKENDS is "1".
const std::vector<BackendInfo>& registry();

// Throws Error(kUsage) naming the value and listing the known names.
const BackendInfo& find_backend(std::string_view name);

// Throws Error(kUsage) for a key the backend does not take, naming the backend
// and the key and listing the keys it does take.
void check_options(const BackendInfo& info, const Options& options);

// The CLI's repeatable "--option backend:key=value" -> options per backend,
// each checked against its backend. Error(kUsage) naming the entry for a
// malformed one, an unknown backend or key.
std::map<std::string, Options> parse_backend_options(const std::vector<std::string>& entries);

// One row of a study for an artifact in a backend: the precision asked of it
// and the options that ask it.
struct PrecisionVariant {
  artifact::Precision precision;
  Options options;
};
// The rows `info` runs `a` as when a study asks for the compute precisions
// `asked` (empty: FP32 only), with the options `given` for this backend:
// - an artifact stored in another precision than FP32 (FP16 weights, INT8)
//   runs once, in its own precision, with `given`;
// - when `given` sets the backend's precision option itself, once, in the
//   precision that value asks for (the artifact's when it is not one of
//   `info.compute`: the backend then refuses the value on load);
// - an artifact of a format not in info.compute_formats runs once, in FP32;
// - otherwise once for FP32 when it is asked, with `given`, and once for each
//   other asked precision the backend offers (info.compute), with its option
//   added; asked precisions it does not offer give no row.
std::vector<PrecisionVariant> precision_variants(const BackendInfo& info, const artifact::Artifact& a,
                                                 const Options& given, const std::vector<artifact::Precision>& asked);

// Creates a backend; throws Error(kUnavailable) with the reason when it is not built.
std::unique_ptr<Backend> create_backend(const BackendInfo& info);

// Looks up an option or returns the fallback.
std::string option_or(const Options& options, const std::string& key, const std::string& fallback);
// Parses an integer option; Error(kUsage) naming backend, key and value when it is not one in [lo, hi].
std::int64_t int_option(const Options& options, const std::string& backend, const std::string& key,
                        std::int64_t fallback, std::int64_t lo, std::int64_t hi);
// Accepts one of `choices`; Error(kUsage) naming backend, key, value and the choices otherwise.
std::string choice_option(const Options& options, const std::string& backend, const std::string& key,
                          const std::string& fallback, const std::vector<std::string>& choices);

}  // namespace inferbench::backends
