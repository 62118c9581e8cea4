// The one list of exporters, in the order `export` writes them. Each entry is
// the exporter folder's own description (src/export/<name>/): available with
// its SDK, or unavailable with the reason CMake recorded.
// Adding a format: its row in artifact/format.cpp, its folder
// (inferbench_add_exporter) and one line here.
#include <fmt/format.h>

#include "common/error.h"
#include "export/exporter.h"

namespace inferbench::exporters {

// Defined by each exporter's own target.
ExporterInfo torchscript_exporter_info();
ExporterInfo onnx_exporter_info();
ExporterInfo openvino_exporter_info();
ExporterInfo onnx_int8_exporter_info();
ExporterInfo openvino_int8_exporter_info();
ExporterInfo savedmodel_exporter_info();
ExporterInfo tflite_exporter_info();
ExporterInfo tflite_int8_exporter_info();

const std::vector<ExporterInfo>& exporters() {
  static const std::vector<ExporterInfo> all{
      torchscript_exporter_info(),    //
      onnx_exporter_info(),           //
      openvino_exporter_info(),       //
      onnx_int8_exporter_info(),      //
      openvino_int8_exporter_info(),  //
      savedmodel_exporter_info(),     //
      tflite_exporter_info(),         //
      tflite_int8_exporter_info(),    //
  };
  return all;
}

std::vector<ExportVariant> export_variants() {
  std::vector<ExportVariant> out;
  for (const ExporterInfo& e : exporters())
    for (const artifact::Precision p : e.precisions) out.push_back({&e, p});
  return out;
}

artifact::Artifact write_variant(const ExportVariant& v, const InferenceModel& model, ExportOptions options) {
  if (!v.exporter->available || !v.exporter->write) {
    fail(ExitCode::kUnavailable, fmt::format("export format '{}' is unavailable: {}", v.name(), v.exporter->reason));
  }
  options.precision = v.precision;
  return v.exporter->write(model, options);
}

std::vector<ExportOutcome> write_jobs(const InferenceModel& model, const std::vector<ExportJob>& jobs,
                                      const std::function<void(std::size_t, const ExportOutcome&)>& done) {
  std::vector<ExportOutcome> out(jobs.size());
  std::vector<bool> written(jobs.size(), false);
  const auto finish = [&](std::size_t i, ExportOutcome o) {
    out[i] = std::move(o);
    written[i] = true;
    if (done) done(i, out[i]);
  };
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (written[i]) continue;
    const ExporterInfo& e = *jobs[i].exporter;
    if (e.available && e.write_batch && !e.batch.empty()) {
      // Every job of this batch, in job order, in one call.
      std::vector<std::size_t> members;
      std::vector<ExportJob> batch;
      for (std::size_t j = i; j < jobs.size(); ++j) {
        if (!written[j] && jobs[j].exporter->batch == e.batch && jobs[j].exporter->available) {
          members.push_back(j);
          batch.push_back(jobs[j]);
        }
      }
      std::vector<ExportOutcome> got = e.write_batch(model, batch);
      if (got.size() != batch.size()) {
        fail(ExitCode::kInternal, fmt::format("export batch '{}' returned {} outcomes for {} jobs", e.batch,
                                              got.size(), batch.size()));
      }
      for (std::size_t k = 0; k < members.size(); ++k) finish(members[k], std::move(got[k]));
      continue;
    }
    ExportOutcome o;
    try {
      o.artifact = write_variant(ExportVariant{&e, jobs[i].options.precision}, model, jobs[i].options);
    } catch (const Error& err) {
      if (static_cast<int>(err.code()) > 128) throw;  // interrupted (130, 143): stop here
      o.error = err;
    }
    finish(i, std::move(o));
  }
  return out;
}

}  // namespace inferbench::exporters
