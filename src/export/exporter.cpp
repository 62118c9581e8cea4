#include "export/exporter.h"

#include <fmt/format.h>

#include "common/error.h"

namespace inferbench::exporters {

artifact::Artifact base_artifact(const InferenceModel& model, const ExportOptions& options) {
  artifact::Artifact a;
  a.path = options.out;
  a.model = model.graph.architecture;
  a.input_name = "input";
  a.output_name = "logits";
  a.layout = "NCHW";
  a.channels = model.graph.input_channels;
  a.height = options.height > 0 ? options.height : model.preprocess.image_size;
  a.width = options.width > 0 ? options.width : model.preprocess.image_size;
  a.dynamic_batch = options.dynamic_batch;
  a.precision = options.precision;
  a.classes = model.classes;
  a.preprocess = model.preprocess;
  a.source = model.source;
  a.source["folded_batch_norms"] = model.folded_batch_norms;
  // What a benchmark needs to report achieved GFLOP/s (2 x MACs per image).
  const model::GraphStats stats = model::analyse(model.graph, a.height, a.width);
  a.source["macs_per_image"] = stats.macs;
  a.source["parameters"] = stats.params;
  return a;
}

ExporterInfo with_writer(ExporterInfo info, ExportFn write) {
  info.available = true;
  info.reason.clear();
  info.write = std::move(write);
  return info;
}

ExporterInfo unavailable(ExporterInfo info, std::string reason) {
  info.available = false;
  info.reason = std::move(reason);
  info.write = nullptr;
  info.write_batch = nullptr;
  return info;
}

std::string ExportVariant::name() const {
  if (precision == artifact::Precision::kFP32) return exporter->format;
  return fmt::format("{}-{}", exporter->format, artifact::to_string(precision));
}

std::filesystem::path ExportVariant::file(const std::filesystem::path& dir, const std::string& model) const {
  const std::string& ext = artifact::find_format(exporter->format).extensions.front();
  if (precision == artifact::Precision::kFP32) return dir / (model + ext);
  return dir / fmt::format("{}-{}{}", model, artifact::to_string(precision), ext);
}

}  // namespace inferbench::exporters
