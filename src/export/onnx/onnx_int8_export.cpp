// export_onnx_int8: static post-training INT8 quantization of the ONNX file,
// by ONNX Runtime's own quantizer (quantize_onnx.py, embedded below) rather
// than one of ours. inferbench's part is what a quantizer cannot know:
//
// - the calibration images: `count` images of a split written by
//   `data export-tensors` (the training split: never the test images the
//   accuracy is measured on), drawn without replacement by a seeded
//   Fisher-Yates shuffle (common/rng.h, the same on every compiler), in the
//   model's own preprocessing, checked against it;
// - the FP32 graph it quantizes: export_onnx's, written beside the output;
// - the pinned quantizer: the venv interpreter of scripts/install_sdks.sh
//   (INFERBENCH_QUANTIZE_PYTHON overrides it), refused unless it has the
//   pinned onnxruntime; its versions and settings go into the sidecar;
// - the output written atomically, and the artifact described as INT8 with
//   its calibration (images, seed, content hash of the drawn tensor).
//
// Same seed, images and versions give the same file (tested).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/incbin.h"
#include "common/json.h"
#include "common/process.h"
#include "common/rng.h"
#include "data/tensor_file.h"
#include "export/exporter.h"

INFERBENCH_INCBIN(quantize_onnx_py, INFERBENCH_QUANTIZE_ONNX_PY);

namespace inferbench::exporters {

namespace fs = std::filesystem;

namespace {

std::string quantizer_python() {
  if (const char* p = std::getenv("INFERBENCH_QUANTIZE_PYTHON"); p != nullptr && *p != '\0') return p;
  return INFERBENCH_QUANTIZE_PYTHON;
}

// A folder beside the output, removed whatever happens.
class ScratchDir {
 public:
  explicit ScratchDir(const fs::path& beside) {
    std::error_code ec;
    fs::create_directories(beside.parent_path().empty() ? fs::path(".") : beside.parent_path(), ec);
    path_ = fs::path(beside.string() + fmt::format(".int8-{}.tmp", getpid()));
    fs::remove_all(path_, ec);
    if (!fs::create_directories(path_, ec)) {
      fail(ExitCode::kOutput, fmt::format("cannot create '{}': {}", path_.string(), ec.message()));
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

std::vector<std::size_t> draw_calibration(std::size_t available, std::size_t count, std::uint64_t seed) {
  return draw_without_replacement(available, count, seed);
}

artifact::Artifact export_onnx_int8(const InferenceModel& model, const ExportOptions& options) {
  if (options.precision != artifact::Precision::kINT8) {
    fail(ExitCode::kUsage, fmt::format("ONNX INT8 export: precision '{}' is not what it writes (int8)",
                                       artifact::to_string(options.precision)));
  }
  if (!options.calibration) {
    fail(ExitCode::kUsage, "ONNX INT8 export needs calibration images: --calibration DIR (a split written by "
                           "`data export-tensors`, normally the training split)");
  }
  const CalibrationSet& cal = *options.calibration;
  const data::SplitTensors split = data::load_split_tensors(cal.tensors);
  const std::int64_t height = options.height > 0 ? options.height : model.preprocess.image_size;
  const std::int64_t width = options.width > 0 ? options.width : model.preprocess.image_size;
  const std::vector<std::int64_t> want{3, height, width};
  if (split.x.shape.size() != 4 || std::vector<std::int64_t>(split.x.shape.begin() + 1, split.x.shape.end()) != want) {
    fail(ExitCode::kUsage, fmt::format("calibration images '{}' are {}, the model's input is N x 3 x {} x {} (NCHW): "
                                       "export the split with --size {}",
                                       cal.tensors.string(), fmt::join(split.x.shape, " x "), height, width, height));
  }
  nlohmann::json mine, theirs;
  to_json(mine, model.preprocess);
  to_json(theirs, split.preprocess);
  if (mine != theirs) {
    fail(ExitCode::kUsage, fmt::format("calibration images '{}' were preprocessed as {}, the model expects {}",
                                       cal.tensors.string(), theirs.dump(), mine.dump()));
  }
  if (split.classes != model.classes) {
    fail(ExitCode::kUsage, fmt::format("calibration images '{}' are of other classes ({}) than the model's ({})",
                                       cal.tensors.string(), fmt::join(split.classes, ","),
                                       fmt::join(model.classes, ",")));
  }
  if (cal.count < 0 || (cal.exact && static_cast<std::size_t>(cal.count) > split.count)) {
    fail(ExitCode::kUsage, fmt::format("--calibration-count {}: the calibration split '{}' has {} images", cal.count,
                                       cal.tensors.string(), split.count));
  }
  const std::size_t count =
      cal.count == 0 ? split.count : std::min(split.count, static_cast<std::size_t>(cal.count));
  const std::vector<std::size_t> picked = draw_calibration(split.count, count, cal.seed);

  ScratchDir tmp(options.out);
  const std::size_t per_image = static_cast<std::size_t>(3 * height * width);
  std::vector<float> x(count * per_image);
  for (std::size_t i = 0; i < count; ++i) {
    std::copy_n(split.x.as_f32() + picked[i] * per_image, per_image, x.begin() + static_cast<std::ptrdiff_t>(i * per_image));
  }
  const fs::path x_path = tmp.path() / "calibration.npy";
  data::write_npy(x_path, x.data(), {static_cast<std::int64_t>(count), 3, height, width});

  ExportOptions fp32 = options;
  fp32.precision = artifact::Precision::kFP32;
  fp32.out = tmp.path() / "fp32.onnx";
  (void)export_onnx(model, fp32);

  const fs::path script = tmp.path() / "quantize_onnx.py";
  write_file_atomic(script, std::string(INFERBENCH_INCBIN_VIEW(quantize_onnx_py)));
  const fs::path int8 = tmp.path() / "int8.onnx", report = tmp.path() / "report.json";
  const std::string python = quantizer_python();
  const ProgramResult r =
      run_program({python, script.string(), "--model", fp32.out.string(), "--calibration", x_path.string(), "--out",
                   int8.string(), "--report", report.string(), "--input", "input", "--batch",
                   options.dynamic_batch ? "8" : "1", "--expect-onnxruntime", INFERBENCH_QUANTIZE_ORT_VERSION});
  // Ctrl-C or SIGTERM reached the quantizer (run_program forwards them): the
  // export stops as interrupted, it does not go on to the next variant.
  if (StopSignals::caught() != 0) {
    // 130 for SIGINT, 143 for SIGTERM, as every interrupted command exits.
    fail(static_cast<ExitCode>(StopSignals::interrupted_exit_code()),
         "interrupted while ONNX Runtime's quantizer ran; nothing was written");
  }
  if (r.exit_code != 0) {
    std::string msg = r.output_tail;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (const auto nl = msg.rfind('\n'); nl != std::string::npos && msg.find("quantize_onnx:", nl) != std::string::npos) {
      msg = msg.substr(nl + 1);  // the script's own one-line reason, not the whole traceback
    }
    const ExitCode code = r.exit_code == 5 || r.exit_code == 127 ? ExitCode::kUnavailable : ExitCode::kInput;
    fail(code, fmt::format("ONNX Runtime's quantizer ({} quantize_onnx.py) exited with status {}: {}", python,
                           r.exit_code, msg.empty() ? "no message" : msg));
  }
  nlohmann::json quantizer;
  try {
    quantizer = nlohmann::json::parse(read_file_text(report));
  } catch (const std::exception& e) {
    fail(ExitCode::kInput, fmt::format("ONNX Runtime's quantizer left no readable report: {}", e.what()));
  }
  const std::vector<std::uint8_t> x_bytes = read_file_bytes(x_path);
  std::error_code ec;
  if (options.out.has_parent_path()) fs::create_directories(options.out.parent_path(), ec);
  fs::rename(int8, options.out, ec);
  if (ec) {
    fail(ExitCode::kOutput, fmt::format("cannot write '{}': {}", options.out.string(), ec.message()));
  }

  artifact::Artifact a = base_artifact(model, options);
  a.format = "onnx";
  a.precision = artifact::Precision::kINT8;
  a.source["quantization"] = quantizer;
  a.source["calibration"] = {{"tensors", cal.tensors.string()},
                             {"split", data::to_string(split.split)},
                             {"images", count},
                             {"of", split.count},
                             {"seed", cal.seed},
                             {"tensor_hash", content_hash(std::span<const std::uint8_t>(x_bytes))}};
  return a;
}

}  // namespace inferbench::exporters
