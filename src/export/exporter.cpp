#include "export/exporter.h"

namespace inferbench::exporters {

backends::Artifact base_artifact(const InferenceModel& model, const ExportOptions& options) {
  backends::Artifact a;
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

}  // namespace inferbench::exporters
