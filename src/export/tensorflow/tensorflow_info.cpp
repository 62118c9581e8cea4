// Static descriptions of the TensorFlow-format exporters, built with or
// without their writer (see inferbench_add_exporter in src/export/CMakeLists.txt).
#include "export/exporter.h"

namespace inferbench::exporters {

namespace {

// Every TensorFlow-format file of a model is written by one converter run.
ExporterInfo finish(ExporterInfo e, [[maybe_unused]] ExportFn write) {
  e.batch = "tensorflow";
#ifdef INFERBENCH_EXPORT_BUILT
  e.write_batch = export_tensorflow_batch;
  return with_writer(std::move(e), std::move(write));
#else
  return unavailable(std::move(e), INFERBENCH_EXPORT_UNAVAILABLE);
#endif
}

}  // namespace

ExporterInfo savedmodel_exporter_info() {
  ExporterInfo e;
  e.format = "savedmodel";
  e.description = "TensorFlow SavedModel (NHWC): the graph rebuilt as a Keras model, written by Keras' model.export";
  e.precisions = {artifact::Precision::kFP32};
#ifdef INFERBENCH_EXPORT_BUILT
  return finish(std::move(e), export_savedmodel);
#else
  return finish(std::move(e), {});
#endif
}

ExporterInfo tflite_exporter_info() {
  ExporterInfo e;
  e.format = "tflite";
  e.description = "TFLite (NHWC) by the TFLite converter from the same Keras model; fp16 stores float16 weights";
  e.precisions = {artifact::Precision::kFP32, artifact::Precision::kFP16};
#ifdef INFERBENCH_EXPORT_BUILT
  return finish(std::move(e), export_tflite);
#else
  return finish(std::move(e), {});
#endif
}

ExporterInfo tflite_int8_exporter_info() {
  ExporterInfo e;
  e.format = "tflite";
  e.description =
      "TFLite, static INT8: the TFLite converter's full-integer path (int8 kernels only, float32 input and output), "
      "per-channel symmetric int8 weights, per-tensor int8 activations, calibrated on images of the training split";
  e.precisions = {artifact::Precision::kINT8};
  e.needs_calibration = true;
#ifdef INFERBENCH_EXPORT_BUILT
  return finish(std::move(e), export_tflite);
#else
  return finish(std::move(e), {});
#endif
}

}  // namespace inferbench::exporters
