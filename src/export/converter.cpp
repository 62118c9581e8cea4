#include "export/converter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/process.h"
#include "common/rng.h"
#include "data/tensor_file.h"

namespace inferbench::exporters {

namespace fs = std::filesystem;

std::vector<std::size_t> draw_calibration(std::size_t available, std::size_t count, std::uint64_t seed) {
  return draw_without_replacement(available, count, seed);
}

std::string converter_python(const char* env, const std::string& fallback) {
  if (const char* p = std::getenv(env); p != nullptr && *p != '\0') return p;
  return fallback;
}

ScratchDir::ScratchDir(const fs::path& beside, std::string_view tag) {
  std::error_code ec;
  fs::create_directories(beside.parent_path().empty() ? fs::path(".") : beside.parent_path(), ec);
  path_ = fs::path(beside.string() + fmt::format(".{}-{}.tmp", tag, getpid()));
  fs::remove_all(path_, ec);
  if (!fs::create_directories(path_, ec)) {
    fail(ExitCode::kOutput, fmt::format("cannot create '{}': {}", path_.string(), ec.message()));
  }
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

nlohmann::json write_calibration(const InferenceModel& model, const ExportOptions& options, const fs::path& npy,
                                 std::string_view what) {
  if (!options.calibration) {
    fail(ExitCode::kUsage, fmt::format("{} needs calibration images: --calibration DIR (a split written by "
                                       "`data export-tensors`, normally the training split)",
                                       what));
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

  const std::size_t per_image = static_cast<std::size_t>(3 * height * width);
  std::vector<float> x(count * per_image);
  for (std::size_t i = 0; i < count; ++i) {
    std::copy_n(split.x.as_f32() + picked[i] * per_image, per_image,
                x.begin() + static_cast<std::ptrdiff_t>(i * per_image));
  }
  data::write_npy(npy, x.data(), {static_cast<std::int64_t>(count), 3, height, width});
  const std::vector<std::uint8_t> x_bytes = read_file_bytes(npy);
  return {{"tensors", cal.tensors.string()},
          {"split", data::to_string(split.split)},
          {"images", count},
          {"of", split.count},
          {"seed", cal.seed},
          {"tensor_hash", content_hash(std::span<const std::uint8_t>(x_bytes))}};
}

nlohmann::json run_converter(const std::string& python, std::string_view script, const fs::path& dir,
                             const std::string& script_name, std::vector<std::string> args, const fs::path& report,
                             std::string_view who, std::string_view tag) {
  const fs::path script_path = dir / script_name;
  write_file_atomic(script_path, std::string(script));
  std::vector<std::string> argv{python, script_path.string()};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  const ProgramResult r = run_program(argv);
  // Ctrl-C or SIGTERM reached the converter (run_program forwards them): the
  // export stops as interrupted, it does not go on to the next variant.
  if (StopSignals::caught() != 0) {
    // 130 for SIGINT, 143 for SIGTERM, as every interrupted command exits.
    fail(static_cast<ExitCode>(StopSignals::interrupted_exit_code()),
         fmt::format("interrupted while {} ran; nothing was written", who));
  }
  if (r.exit_code != 0) {
    std::string msg = r.output_tail;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (const auto nl = msg.rfind('\n'); nl != std::string::npos && msg.find(tag, nl) != std::string::npos) {
      msg = msg.substr(nl + 1);  // the script's own one-line reason, not the whole traceback
    }
    const ExitCode code = r.exit_code == 5 || r.exit_code == 127 ? ExitCode::kUnavailable : ExitCode::kInput;
    fail(code, fmt::format("{} ({} {}) exited with status {}: {}", who, python, script_name, r.exit_code,
                           msg.empty() ? "no message" : msg));
  }
  try {
    return nlohmann::json::parse(read_file_text(report));
  } catch (const std::exception& e) {
    fail(ExitCode::kInput, fmt::format("{} left no readable report: {}", who, e.what()));
  }
}

void move_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
  if (fs::is_directory(from, ec)) {
    // A folder cannot be renamed over a non-empty one: the old one goes first
    // (renamed aside, so a failure leaves no half-deleted model).
    const fs::path old = fs::path(to.string() + fmt::format(".old-{}", getpid()));
    fs::remove_all(old, ec);
    if (fs::exists(to, ec)) fs::rename(to, old, ec);
    if (ec) fail(ExitCode::kOutput, fmt::format("cannot replace '{}': {}", to.string(), ec.message()));
    fs::rename(from, to, ec);
    if (ec) fail(ExitCode::kOutput, fmt::format("cannot write '{}': {}", to.string(), ec.message()));
    fs::remove_all(old, ec);
    return;
  }
  fs::rename(from, to, ec);
  if (ec) fail(ExitCode::kOutput, fmt::format("cannot write '{}': {}", to.string(), ec.message()));
}

}  // namespace inferbench::exporters
