#pragma once
// What the exporters that hand a file to an outside converter share (ONNX
// Runtime's quantizer, TensorFlow's Keras export and TFLite converter): a
// scratch folder beside the output, the calibration images drawn and checked
// against the model, and the converter run as a child process with its one-line
// reason kept when it fails.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "export/exporter.h"

namespace inferbench::exporters {

// A folder beside `beside` ("<beside>.<tag>-<pid>.tmp"), removed whatever
// happens. Error(kOutput) when it cannot be made.
class ScratchDir {
 public:
  ScratchDir(const std::filesystem::path& beside, std::string_view tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The calibration images of options.calibration, drawn (draw_calibration) and
// written as one float32 N x 3 x H x W array to `npy`. Error(kUsage) naming
// `what` ("ONNX INT8 export") when there is no calibration set, or its images
// do not fit the model (size, preprocessing, classes) or are fewer than an
// asked count. Returns the record the sidecar keeps (tensors, split, images,
// of, seed, tensor_hash).
nlohmann::json write_calibration(const InferenceModel& model, const ExportOptions& options,
                                 const std::filesystem::path& npy, std::string_view what);

// The interpreter a converter runs with: the environment variable `env` when
// it is set and not empty (INFERBENCH_QUANTIZE_PYTHON, INFERBENCH_TF_PYTHON),
// else `fallback`, the build's venv.
std::string converter_python(const char* env, const std::string& fallback);

// Runs `script` (its text written to `dir/<script_name>`) with `python` and
// `args`, then reads the JSON report it wrote to `report`. `who` names the
// converter in messages ("ONNX Runtime's quantizer"); `tag` is the prefix of
// the script's own one-line errors ("quantize_onnx:"), kept instead of a
// traceback. Exit status 5 or 127 (missing or wrong-version converter) is
// Error(kUnavailable), any other failure Error(kInput); a stop signal during
// the run ends the export with the interrupted exit code (130 or 143).
nlohmann::json run_converter(const std::string& python, std::string_view script, const std::filesystem::path& dir,
                             const std::string& script_name, std::vector<std::string> args,
                             const std::filesystem::path& report, std::string_view who, std::string_view tag);

// Moves `from` (a file or a folder) onto `to`, replacing what is there:
// Error(kOutput) naming `to` when it cannot.
void move_into_place(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace inferbench::exporters
