// `inferbench export`, `verify`, `backends` and the hidden `worker`.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include "backends/backend.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "data/tensor_file.h"
#include "export/exporter.h"
#include "export/inference_model.h"
#include "bench/environment.h"
#include "verify/compare.h"
#include "verify/verify.h"
#include "worker/child.h"

namespace inferbench::cli {

namespace fs = std::filesystem;

namespace {

// --- export -----------------------------------------------------------------

void add_export(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string checkpoint;
    std::vector<std::string> formats{"all"};
    std::string out = "inferbench-out/export/<model>";
    bool no_fold = false;
    bool static_batch = false;
    int opset = 17;
    std::string calibration;
    std::int64_t calibration_count = 300;
    std::uint64_t calibration_seed = 1;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  std::vector<std::string> names{"all"};
  for (const auto& v : exporters::export_variants()) names.push_back(v.name());
  CLI::App* cmd = app.add_subcommand(
      "export", "Export a checkpoint to every framework's format: OUT/<model>.pt, .onnx, -fp16.onnx, .xml/.bin, -fp16.xml/.bin, "
                "TensorFlow's .savedmodel/ (a folder), .tflite, -fp16.tflite and, with --calibration, -int8.onnx and "
                "-int8.tflite, "
                "each with a <file>.json sidecar (input, classes, preprocessing, provenance); also CHECKPOINT.json, the "
                "checkpoint's own sidecar, so `bench` describes the libtorch runs on it the same way.");
  cmd->add_option("checkpoint", f->checkpoint, "Checkpoint from `train` (model.ckpt)")->required();
  cmd->add_option("--format", f->formats, fmt::format("Formats, comma-separated: {}", fmt::join(names, ", ")))
      ->delimiter(',')
      ->check(CLI::IsMember(names));
  cmd->add_option("--out", f->out, "Output folder");
  cmd->add_flag("--no-fold", f->no_fold, "Keep batch norm as separate ops (folded into the convolutions by default)");
  cmd->add_flag("--static-batch", f->static_batch, "Fix the batch dimension to 1 instead of leaving it dynamic");
  cmd->add_option("--opset", f->opset, "ONNX opset")->check(CLI::Range(13, 18));
  cmd->add_option("--calibration", f->calibration,
                  "Calibration images for the INT8 variants (onnx-int8): a split written by `data export-tensors`, "
                  "normally the training split, at the model's input size. Without it, `all` skips them");
  CLI::Option* count_flag =
      cmd->add_option("--calibration-count", f->calibration_count,
                      "Images drawn from --calibration (0 = all of them); given, more than the split has is an error; "
                      "by default a smaller split is used whole")
          ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30));
  cmd->add_option("--calibration-seed", f->calibration_seed, "Seed of the draw (same seed and images: same file)");
  cmd->add_flag("--json", f->json, "Print the written artifacts as JSON on stdout");
  cmd->callback([f, count_flag, &exit_code] {
    const bool count_given = count_flag->count() > 0;
    std::error_code ec;
    if (!f->calibration.empty() && !fs::is_regular_file(fs::path(f->calibration) / "meta.json", ec)) {
      fail(ExitCode::kInput, fmt::format("--calibration '{}': no split written by `data export-tensors` there (no "
                                         "meta.json)",
                                         f->calibration));
    }
#ifndef INFERBENCH_HAVE_EXPORT_CHECKPOINT
    fail(ExitCode::kUnavailable, "export needs LibTorch to read checkpoints; this build has none (Debian: libtorch-dev)");
#else
    const exporters::InferenceModel m = exporters::load_inference_model(f->checkpoint, !f->no_fold);
    const fs::path out = f->out == "inferbench-out/export/<model>"
                             ? fs::path("inferbench-out/export") / m.graph.architecture
                             : fs::path(f->out);
    bool all = false;
    for (const auto& s : f->formats) all = all || s == "all";
    // Every wanted variant, in registry order: a row settled here (unavailable,
    // skipped) or a job; the jobs are then written together, so the files of
    // one converter (TensorFlow's) come out of one run of it.
    std::vector<nlohmann::json> rows;
    std::vector<exporters::ExportJob> jobs;
    std::vector<std::size_t> job_row;
    std::vector<std::string> job_name;
    int failed = 0;
    for (const exporters::ExportVariant& v : exporters::export_variants()) {
      const std::string name = v.name();
      const bool wanted = all || std::find(f->formats.begin(), f->formats.end(), name) != f->formats.end();
      if (!wanted) continue;
      if (!v.exporter->available) {
        fmt::print(stderr, "export {:<14} unavailable: {}\n", name, v.exporter->reason);
        rows.push_back({{"format", name}, {"status", "unavailable"}, {"reason", v.exporter->reason}});
        if (!all) ++failed;
        continue;
      }
      if (v.exporter->needs_calibration && f->calibration.empty()) {
        const std::string why = "needs calibration images (--calibration DIR)";
        fmt::print(stderr, "export {:<14} skipped: {}\n", name, why);
        rows.push_back({{"format", name}, {"status", "skipped"}, {"reason", why}});
        if (!all) fail(ExitCode::kUsage, fmt::format("export {}: {}", name, why));
        continue;
      }
      exporters::ExportJob job;
      job.exporter = v.exporter;
      job.options.out = v.file(out, m.graph.architecture);
      job.options.dynamic_batch = !f->static_batch;
      job.options.opset = f->opset;
      job.options.precision = v.precision;
      if (!f->calibration.empty()) {
        job.options.calibration = exporters::CalibrationSet{f->calibration, f->calibration_count,
                                                            f->calibration_seed, count_given};
      }
      job_row.push_back(rows.size());
      job_name.push_back(name);
      rows.emplace_back();
      jobs.push_back(std::move(job));
    }
    (void)exporters::write_jobs(m, jobs, [&](std::size_t i, const exporters::ExportOutcome& o) {
      const std::string& name = job_name[i];
      std::optional<Error> error = o.error;
      if (o.artifact) {
        try {
          artifact::write_sidecar(*o.artifact);
          fmt::print(stderr, "export {:<14} {}\n", name, o.artifact->path.string());
          rows[job_row[i]] = {{"format", name}, {"status", "ok"}, {"path", o.artifact->path.string()}};
          return;
        } catch (const Error& e) {
          error = e;  // the file is written but not its sidecar: the variant failed
        }
      } else if (error->code() == ExitCode::kUsage && !all) {
        throw *error;  // a flag that does not fit: a usage error, exit 2
      }
      ++failed;
      fmt::print(stderr, "export {:<14} FAILED: {}\n", name, error->what());
      rows[job_row[i]] = {{"format", name}, {"status", "failed"}, {"reason", error->what()}};
    });
    nlohmann::json written = nlohmann::json::array();
    for (nlohmann::json& r : rows) written.push_back(std::move(r));
    {
      // The checkpoint's own sidecar, so `bench` can describe the libtorch
      // runs on it (model, input, MACs) like those on the exports.
      exporters::ExportOptions opts;
      opts.out = f->checkpoint;
      opts.dynamic_batch = true;
      artifact::Artifact a = exporters::base_artifact(m, opts);
      a.format = "checkpoint";
      a.source.erase("folded_batch_norms");  // the checkpoint keeps its batch norms
      artifact::write_sidecar(a);
    }
    if (f->json) std::fputs((dump_json(written, 2) + "\n").c_str(), stdout);
    if (failed > 0) exit_code = static_cast<int>(ExitCode::kPartial);
#endif
  });
}

// --- describe: a sidecar for an artifact made elsewhere -----------------------

void add_describe(CLI::App& app) {
  struct Flags {
    std::string artifact;
    std::string tensors;
    int size = 224;
    std::string normalization = "imagenet";
    std::string layout = "NCHW";
    std::string precision = "fp32";
    std::string input_name = "input";
    std::string output_name = "logits";
    std::vector<std::string> classes;
    std::string model;
    bool force = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "describe",
      "Write the <file>.json sidecar for a model made elsewhere (.onnx, .pt, .xml), so verify and bench can run it: "
      "input size, layout, preprocessing and class names from flags or from a preprocessed split (--from-tensors).");
  cmd->add_option("artifact", f->artifact, "The model file")->required();
  cmd->add_option("--from-tensors", f->tensors,
                  "Take size, layout, preprocessing and classes from a split written by `data export-tensors`");
  auto* size = cmd->add_option("--size", f->size, "Input height = width")->check(CLI::Range(1, 8192));
  cmd->add_option("--normalization", f->normalization, "imagenet, unit or symmetric")
      ->check(CLI::IsMember({"imagenet", "unit", "symmetric"}));
  cmd->add_option("--layout", f->layout, "Input layout")->check(CLI::IsMember({"NCHW", "NHWC"}));
  cmd->add_option("--precision", f->precision, "Weights as stored")->check(CLI::IsMember({"fp32", "fp16"}));
  cmd->add_option("--input-name", f->input_name, "Input tensor name");
  cmd->add_option("--output-name", f->output_name, "Output tensor name");
  cmd->add_option("--classes", f->classes, "Class names in output order, comma-separated")->delimiter(',');
  cmd->add_option("--model", f->model, "Architecture or a free description");
  cmd->add_flag("--force", f->force, "Overwrite an existing sidecar");
  cmd->callback([f, size] {
    artifact::Artifact a;
    a.path = f->artifact;
    std::error_code ec;
    if (!fs::is_regular_file(a.path, ec)) fail(ExitCode::kInput, fmt::format("'{}': model file not found", f->artifact));
    a.format = artifact::format_of(a.path);
    if (a.format == "checkpoint") fail(ExitCode::kUsage, "a checkpoint describes itself; describe is for exports");
    if (fs::exists(artifact::sidecar_path(a.path), ec) && !f->force) {
      fail(ExitCode::kUsage, fmt::format("'{}' exists; use --force to replace it",
                                         artifact::sidecar_path(a.path).string()));
    }
    a.precision = artifact::parse_precision(f->precision, "--precision");
    a.model = f->model;
    a.input_name = f->input_name;
    a.output_name = f->output_name;
    if (!f->tensors.empty()) {
      const data::SplitTensors t = data::load_split_tensors(f->tensors);
      a.preprocess = t.preprocess;
      a.classes = t.classes;
      if (size->count() > 0 && f->size != t.preprocess.image_size) {
        fail(ExitCode::kUsage, fmt::format("--size {} contradicts the tensors in '{}' ({})", f->size, f->tensors,
                                           t.preprocess.image_size));
      }
    } else {
      a.preprocess = data::PreprocessConfig::preset(f->normalization, f->size);
      a.preprocess.layout = f->layout == "NHWC" ? data::Layout::kNHWC : data::Layout::kNCHW;
    }
    if (!f->classes.empty()) a.classes = f->classes;
    a.layout = a.preprocess.layout == data::Layout::kNHWC ? "NHWC" : "NCHW";
    a.height = a.width = a.preprocess.image_size;
    a.source = {{"described_by", "inferbench describe"}};
    artifact::write_sidecar(a);
    fmt::print(stderr, "describe: wrote {}\n", artifact::sidecar_path(a.path).string());
  });
}

// --- backends ---------------------------------------------------------------

void add_backends(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("backends", "List the inference backends, whether each is available (and why "
                                                 "not), its library version, the formats it loads and its options.");
  cmd->add_flag("--json", *json, "Print as JSON");
  cmd->callback([json] {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& b : backends::registry()) {
      nlohmann::json opts = nlohmann::json::array();
      for (const auto& o : b.options) opts.push_back({{"key", o.key}, {"default", o.default_value}, {"help", o.help}});
      all.push_back({{"name", b.name}, {"available", b.available}, {"reason", b.reason}, {"version", b.version},
                     {"formats", b.formats}, {"precisions", b.precisions}, {"description", b.description}, {"options", opts}});
      if (*json) continue;
      fmt::print("{:<12} {:<11} {:<24} {}\n", b.name, b.available ? "available" : "UNAVAILABLE",
                 fmt::format("{}", fmt::join(b.formats, ",")), b.available ? b.version : b.reason);
      for (const auto& o : b.options) fmt::print("{:14}{}={}  {}\n", "", o.key, o.default_value, o.help);
    }
    if (*json) std::fputs((dump_json(all, 2) + "\n").c_str(), stdout);
  });
}

// --- worker -------------------------------------------------------------------

void add_worker(CLI::App& app, int& exit_code) {
  auto job = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("worker", "Run one job in this process (used by verify and bench)");
  cmd->group("");  // hidden from --help: an internal command
  cmd->add_option("--job", *job, "Job file")->required();
  cmd->callback([job, &exit_code] { exit_code = worker::worker_main(*job); });
}

// --- verify -------------------------------------------------------------------

void add_verify(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string checkpoint;
    std::string tensors;
    std::vector<std::string> artifacts;
    std::string dir;
    std::vector<std::string> backends{"all"};
    std::vector<std::string> options;
    std::vector<std::string> precisions{"fp32"};
    int threads = 1;
    int batch = 32;
    double timeout = 900;
    std::uint64_t memory_mib = 0;
    std::string out = "inferbench-out/verify";
    double max_top1_drop = 1.0;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Run every artifact in every backend that loads it over the whole preprocessed split, each in its own worker "
      "process, and compare with the LibTorch FP32 reference on the checkpoint: top-1 accuracy, top-1 agreement, "
      "max and mean |logit difference|. " + verify::describe_tolerances() +
      ". Exit 5 when an artifact fails, 6 when a worker failed.");
  cmd->add_option("artifacts", f->artifacts, "Artifacts (.pt .onnx .xml .savedmodel .tflite); default: every one in --dir");
  cmd->add_option("--checkpoint", f->checkpoint, "The checkpoint the artifacts were exported from")->required();
  cmd->add_option("--tensors", f->tensors, "Preprocessed split from `data export-tensors`")->required();
  cmd->add_option("--dir", f->dir, "Folder of exports (every .pt, .onnx, .xml, .savedmodel and .tflite in it)");
  cmd->add_option("--backends", f->backends, "Backends, comma-separated, or all")->delimiter(',');
  cmd->add_option("--option", f->options, "Backend option backend:key=value (repeatable)");
  cmd->add_option("--precision", f->precisions,
                  "Compute precisions asked of backends that can be told one (as bench --precision), each verified "
                  "by its own rule: fp32, fp16, bf16, or auto")
      ->delimiter(',');
  cmd->add_option("--threads", f->threads, "Intra-op threads per worker")->check(CLI::Range(1, 1024));
  cmd->add_option("--batch", f->batch, "Batch size")->check(CLI::Range(1, 65536));
  cmd->add_option("--timeout", f->timeout, "Seconds before a worker is killed")
      ->check(CLI::PositiveNumber)
      ->check(kNotNaN);
  // At most 2^40 MiB (1 EiB): MiB << 20 must fit in 64 bits (2^44 would wrap to 0, no limit).
  cmd->add_option("--memory-limit", f->memory_mib, "Address-space limit per worker in MiB; 0 = none")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 40));
  cmd->add_option("--out", f->out, "Output folder (verify.json, one folder per worker)");
  cmd->add_option("--max-top1-drop", f->max_top1_drop,
                  "Flag a variant whose top-1 is more than this many points below the reference's")
      ->check(CLI::Range(0.0, 100.0))
      ->check(kNotNaN);
  cmd->add_flag("--json", f->json, "Print the results as JSON on stdout");
  cmd->callback([f, &exit_code] {
    verify::VerifySpec spec;
    spec.max_top1_drop = f->max_top1_drop / 100;
    spec.checkpoint = f->checkpoint;
    spec.tensors = f->tensors;
    spec.artifacts.assign(f->artifacts.begin(), f->artifacts.end());
    spec.dir = f->dir;
    spec.backends = f->backends;
    spec.options = backends::parse_backend_options(f->options);
    spec.precisions = bench::parse_precisions(f->precisions, "--precision");
    spec.threads = f->threads;
    spec.batch = f->batch;
    spec.timeout_s = f->timeout;
    spec.memory_bytes = f->memory_mib << 20;
    spec.out = f->out;
    const verify::VerifyReport r = verify::run(spec);
    if (f->json) {
      std::fputs((dump_json(r.report, 2) + "\n").c_str(), stdout);
    } else {
      std::fputs(verify::format_report(r.report, isatty(STDOUT_FILENO) != 0).c_str(), stdout);
      fmt::print("reference (libtorch, checkpoint): top-1 {:.2f}% on {} images; results in {}\n",
                 100 * r.report["reference"].value("top1", 0.0), r.report["count"].get<std::int64_t>(),
                 (fs::path(f->out) / "verify.json").string());
    }
    if (r.exit_code() != 0) exit_code = r.exit_code();
  });
}

}  // namespace

void add_export_commands(CLI::App& app, int& exit_code) {
  add_export(app, exit_code);
  add_verify(app, exit_code);
  add_describe(app);
  add_backends(app);
  add_worker(app, exit_code);
}

}  // namespace inferbench::cli
