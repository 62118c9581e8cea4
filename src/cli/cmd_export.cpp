// `inferbench export`, `verify`, `backends` and the hidden `worker`.
#include <fmt/color.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <memory>

#include "backends/backend.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "common/progress.h"
#include "data/tensor_file.h"
#include "export/exporter.h"
#include "export/inference_model.h"
#include "worker/compare.h"
#include "worker/worker.h"

namespace inferbench::cli {

namespace fs = std::filesystem;

namespace {

// --- export -----------------------------------------------------------------

struct FormatSpec {
  std::string name;       // as given to --format
  std::string extension;  // file name suffix
  bool available;
  std::string reason;
};

std::vector<FormatSpec> export_formats() {
  return {
#ifdef INFERBENCH_HAVE_EXPORT_TORCHSCRIPT
      {"torchscript", ".pt", true, ""},
#else
      {"torchscript", ".pt", false, "built without LibTorch (Debian: libtorch-dev)"},
#endif
#ifdef INFERBENCH_HAVE_EXPORT_ONNX
      {"onnx", ".onnx", true, ""},
#else
      {"onnx", ".onnx", false, "built without the ONNX library (Debian: libonnx-dev)"},
#endif
#ifdef INFERBENCH_HAVE_EXPORT_OPENVINO
      {"openvino", ".xml", true, ""},
      {"openvino-fp16", "-fp16.xml", true, ""},
#else
      {"openvino", ".xml", false, "built without the OpenVINO SDK (scripts/install_sdks.sh)"},
      {"openvino-fp16", "-fp16.xml", false, "built without the OpenVINO SDK (scripts/install_sdks.sh)"},
#endif
  };
}

backends::Artifact export_one(const std::string& format, const exporters::InferenceModel& m,
                              exporters::ExportOptions opts) {
#ifdef INFERBENCH_HAVE_EXPORT_TORCHSCRIPT
  if (format == "torchscript") return exporters::export_torchscript(m, opts);
#endif
#ifdef INFERBENCH_HAVE_EXPORT_ONNX
  if (format == "onnx") return exporters::export_onnx(m, opts);
#endif
#ifdef INFERBENCH_HAVE_EXPORT_OPENVINO
  if (format == "openvino") return exporters::export_openvino(m, opts);
  if (format == "openvino-fp16") {
    opts.precision = "fp16";
    return exporters::export_openvino(m, opts);
  }
#endif
  (void)m;
  (void)opts;
  fail(ExitCode::kUnavailable, fmt::format("export format '{}' is not built in", format));
}

void add_export(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string checkpoint;
    std::vector<std::string> formats{"all"};
    std::string out = "inferbench-out/export/<model>";
    bool no_fold = false;
    bool static_batch = false;
    int opset = 17;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  std::vector<std::string> names{"all"};
  for (const auto& s : export_formats()) names.push_back(s.name);
  CLI::App* cmd = app.add_subcommand(
      "export", "Export a checkpoint to every framework's format: OUT/<model>.pt, .onnx, .xml/.bin and -fp16.xml/.bin, "
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
  cmd->add_flag("--json", f->json, "Print the written artifacts as JSON on stdout");
  cmd->callback([f, &exit_code] {
#ifndef INFERBENCH_HAVE_EXPORT_CHECKPOINT
    fail(ExitCode::kUnavailable, "export needs LibTorch to read checkpoints; this build has none (Debian: libtorch-dev)");
#else
    const exporters::InferenceModel m = exporters::load_inference_model(f->checkpoint, !f->no_fold);
    const fs::path out = f->out == "inferbench-out/export/<model>"
                             ? fs::path("inferbench-out/export") / m.graph.architecture
                             : fs::path(f->out);
    bool all = false;
    for (const auto& s : f->formats) all = all || s == "all";
    nlohmann::json written = nlohmann::json::array();
    int failed = 0;
    for (const FormatSpec& spec : export_formats()) {
      const bool wanted = all || std::find(f->formats.begin(), f->formats.end(), spec.name) != f->formats.end();
      if (!wanted) continue;
      if (!spec.available) {
        fmt::print(stderr, "export {:<14} unavailable: {}\n", spec.name, spec.reason);
        written.push_back({{"format", spec.name}, {"status", "unavailable"}, {"reason", spec.reason}});
        if (!all) ++failed;
        continue;
      }
      exporters::ExportOptions opts;
      opts.out = out / (m.graph.architecture + spec.extension);
      opts.dynamic_batch = !f->static_batch;
      opts.opset = f->opset;
      try {
        const backends::Artifact a = export_one(spec.name, m, opts);
        backends::write_sidecar(a);
        fmt::print(stderr, "export {:<14} {}\n", spec.name, a.path.string());
        written.push_back({{"format", spec.name}, {"status", "ok"}, {"path", a.path.string()}});
      } catch (const Error& e) {
        ++failed;
        fmt::print(stderr, "export {:<14} FAILED: {}\n", spec.name, e.what());
        written.push_back({{"format", spec.name}, {"status", "failed"}, {"reason", e.what()}});
      }
    }
    {
      // The checkpoint's own sidecar, so `bench` can describe the libtorch
      // runs on it (model, input, MACs) like those on the exports.
      exporters::ExportOptions opts;
      opts.out = f->checkpoint;
      opts.dynamic_batch = true;
      backends::Artifact a = exporters::base_artifact(m, opts);
      a.format = "checkpoint";
      a.source.erase("folded_batch_norms");  // the checkpoint keeps its batch norms
      backends::write_sidecar(a);
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
    backends::Artifact a;
    a.path = f->artifact;
    std::error_code ec;
    if (!fs::is_regular_file(a.path, ec)) fail(ExitCode::kInput, fmt::format("'{}': model file not found", f->artifact));
    a.format = backends::format_of(a.path);
    if (a.format == "checkpoint") fail(ExitCode::kUsage, "a checkpoint describes itself; describe is for exports");
    if (fs::exists(backends::sidecar_path(a.path), ec) && !f->force) {
      fail(ExitCode::kUsage, fmt::format("'{}' exists; use --force to replace it",
                                         backends::sidecar_path(a.path).string()));
    }
    a.precision = f->precision;
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
    backends::write_sidecar(a);
    fmt::print(stderr, "describe: wrote {}\n", backends::sidecar_path(a.path).string());
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
                     {"formats", b.formats}, {"description", b.description}, {"options", opts}});
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

std::vector<float> read_logits(const fs::path& file, std::int64_t& classes) {
  const data::NpyArray a = data::read_npy(file);
  if (a.dtype != "<f4" || a.shape.size() != 2) {
    fail(ExitCode::kInput, fmt::format("'{}': expected float32 [N, classes] logits", file.string()));
  }
  classes = a.shape[1];
  return {a.as_f32(), a.as_f32() + a.element_count()};
}

void add_verify(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string checkpoint;
    std::string tensors;
    std::vector<std::string> artifacts;
    std::string dir;
    std::vector<std::string> backends{"all"};
    std::vector<std::string> options;
    int threads = 1;
    int batch = 32;
    double timeout = 900;
    std::uint64_t memory_mib = 0;
    std::string out = "inferbench-out/verify";
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Run every artifact in every backend that loads it over the whole preprocessed split, each in its own worker "
      "process, and compare with the LibTorch FP32 reference on the checkpoint: top-1 accuracy, top-1 agreement, "
      "max and mean |logit difference|. FP32 passes with >= 99.9% agreement and max |diff| <= 1e-3 x max(1, "
      "logit range); FP16 with >= 99% and 5e-2. Exit 5 when an artifact fails, 6 when a worker failed.");
  cmd->add_option("artifacts", f->artifacts, "Artifacts (.pt .onnx .xml); default: every one in --dir");
  cmd->add_option("--checkpoint", f->checkpoint, "The checkpoint the artifacts were exported from")->required();
  cmd->add_option("--tensors", f->tensors, "Preprocessed split from `data export-tensors`")->required();
  cmd->add_option("--dir", f->dir, "Folder of exports (every .pt, .onnx and .xml in it)");
  cmd->add_option("--backends", f->backends, "Backends, comma-separated, or all")->delimiter(',');
  cmd->add_option("--option", f->options, "Backend option backend:key=value (repeatable)");
  cmd->add_option("--threads", f->threads, "Intra-op threads per worker")->check(CLI::Range(1, 1024));
  cmd->add_option("--batch", f->batch, "Batch size")->check(CLI::Range(1, 65536));
  cmd->add_option("--timeout", f->timeout, "Seconds before a worker is killed")->check(CLI::PositiveNumber);
  cmd->add_option("--memory-limit", f->memory_mib, "Address-space limit per worker in MiB; 0 = none");
  cmd->add_option("--out", f->out, "Output folder (verify.json, one folder per worker)");
  cmd->add_flag("--json", f->json, "Print the results as JSON on stdout");
  cmd->callback([f, &exit_code] {
    const auto options = backends::parse_backend_options(f->options);
    std::vector<const backends::BackendInfo*> chosen;
    bool all = false;
    for (const auto& b : f->backends) all = all || b == "all";
    for (const auto& b : backends::registry()) {
      if (b.name == "libtorch") continue;  // the reference itself
      if (all || std::find(f->backends.begin(), f->backends.end(), b.name) != f->backends.end()) chosen.push_back(&b);
    }
    if (!all)
      for (const auto& name : f->backends) (void)backends::find_backend(name);  // unknown names are usage errors

    std::vector<fs::path> artifacts(f->artifacts.begin(), f->artifacts.end());
    if (artifacts.empty()) {
      if (f->dir.empty()) fail(ExitCode::kUsage, "give the artifacts or --dir (the folder `inferbench export` wrote)");
      artifacts = backends::artifacts_in(f->dir, /*with_checkpoints=*/false);
    }
    const data::SplitTensors tensors = data::load_split_tensors(f->tensors);
    const std::vector<std::int64_t> labels(tensors.y.as_i64(), tensors.y.as_i64() + tensors.count);
    const fs::path exe = worker::self_exe();
    const fs::path out(f->out);
    worker::Limits limits{f->timeout, f->memory_mib << 20};

    auto job_for = [&](const std::string& backend, const fs::path& artifact, const std::string& tag) {
      worker::Job job;
      job.backend = backend;
      job.artifact = fs::absolute(artifact);
      if (auto it = options.find(backend); it != options.end()) job.options = it->second;
      job.tensors = fs::absolute(f->tensors);
      job.dir = fs::absolute(out / "workers" / tag);
      job.threads = f->threads;
      job.batch = f->batch;
      return job;
    };

    // 1. The reference.
    fmt::print(stderr, "verify: reference: libtorch on {}\n", f->checkpoint);
    const worker::Outcome ref = worker::run_worker(exe, job_for("libtorch", f->checkpoint, "reference"), limits);
    if (ref.status != worker::Status::kOk) {
      fail(ExitCode::kInput, fmt::format("the LibTorch reference on '{}' failed: {}\n{}", f->checkpoint, ref.reason,
                                         ref.stderr_tail));
    }
    std::int64_t classes = 0;
    const std::vector<float> ref_logits = read_logits(out / "workers" / "reference" / "logits.npy", classes);

    // 2. Every artifact in every backend that loads its format.
    std::vector<std::pair<fs::path, const backends::BackendInfo*>> plan;
    std::vector<backends::Artifact> described;
    for (const auto& p : artifacts) {
      const backends::Artifact a = backends::describe_artifact(p);
      for (const auto* b : chosen)
        if (std::find(b->formats.begin(), b->formats.end(), a.format) != b->formats.end()) plan.emplace_back(p, b);
    }
    nlohmann::json rows = nlohmann::json::array();
    int failed_verify = 0, failed_run = 0;
    Progress progress("verify", plan.size(), "runs");
    for (const auto& [path, info] : plan) {
      const backends::Artifact a = backends::describe_artifact(path);
      nlohmann::json row{{"artifact", path.string()}, {"format", a.format}, {"precision", a.precision},
                         {"backend", info->name}};
      if (!info->available) {
        row["status"] = "unavailable";
        row["reason"] = info->reason;
        rows.push_back(row);
        progress.advance();
        continue;
      }
      const std::string tag = path.filename().string() + "__" + info->name;
      const worker::Outcome o = worker::run_worker(exe, job_for(info->name, path, tag), limits);
      row["worker"] = {{"status", worker::to_string(o.status)}, {"seconds", o.seconds}, {"max_rss_kb", o.max_rss_kb}};
      if (o.status != worker::Status::kOk) {
        ++failed_run;
        row["status"] = worker::to_string(o.status);
        row["reason"] = o.reason;
        row["stderr_tail"] = o.stderr_tail;
      } else {
        std::int64_t k = 0;
        const auto logits = read_logits(out / "workers" / tag / "logits.npy", k);
        const auto c = worker::compare_logits(ref_logits, logits, labels, classes);
        const auto tol = worker::tolerance_for(a.precision);
        const auto v = worker::judge(c, tol);
        row["status"] = v.pass ? "pass" : "FAIL";
        if (!v.pass) row["reason"] = v.why, ++failed_verify;
        row["top1"] = c.top1;
        row["reference_top1"] = c.reference_top1;
        row["agreement"] = c.agreement;
        row["max_abs_diff"] = c.max_abs_diff;
        row["mean_abs_diff"] = c.mean_abs_diff;
        row["reference_range"] = c.reference_range;
        row["tolerance"] = {{"min_agreement", tol.min_agreement}, {"max_abs_diff_scaled", tol.max_abs_diff_scaled}};
        row["backend_version"] = o.result.value("backend_version", "");
        row["settings"] = o.result.value("settings", nlohmann::json::object());
      }
      rows.push_back(row);
      progress.advance();
    }
    progress.finish();

    const nlohmann::json report{{"checkpoint", f->checkpoint}, {"tensors", f->tensors}, {"count", tensors.count},
                                {"reference", ref.result}, {"results", rows}};
    write_file_atomic(out / "verify.json", dump_json(report, 2) + "\n");
    if (f->json) {
      std::fputs((dump_json(report, 2) + "\n").c_str(), stdout);
    } else {
      const bool color = isatty(STDOUT_FILENO) != 0;
      fmt::print("{:<28} {:<12} {:<5} {:>7} {:>9} {:>10} {:>10}  {}\n", "artifact", "backend", "prec", "top-1",
                 "agree", "max|diff|", "mean|diff|", "verdict");
      for (const auto& r : rows) {
        const std::string status = r["status"];
        std::string verdict = status;
        if (r.contains("reason")) verdict += ": " + r["reason"].get<std::string>();
        if (color && status != "pass") verdict = fmt::format(fmt::fg(fmt::terminal_color::red), "{}", verdict);
        if (r.contains("agreement")) {
          fmt::print("{:<28} {:<12} {:<5} {:>6.2f}% {:>8.2f}% {:>10.2e} {:>10.2e}  {}\n",
                     fs::path(r["artifact"].get<std::string>()).filename().string(), r["backend"].get<std::string>(),
                     r["precision"].get<std::string>(), 100 * r["top1"].get<double>(),
                     100 * r["agreement"].get<double>(), r["max_abs_diff"].get<double>(),
                     r["mean_abs_diff"].get<double>(), verdict);
        } else {
          fmt::print("{:<28} {:<12} {:<5} {:>7} {:>9} {:>10} {:>10}  {}\n",
                     fs::path(r["artifact"].get<std::string>()).filename().string(), r["backend"].get<std::string>(),
                     r["precision"].get<std::string>(), "-", "-", "-", "-", verdict);
        }
      }
      fmt::print("reference (libtorch, checkpoint): top-1 {:.2f}% on {} images; results in {}\n",
                 100 * ref.result.value("top1", 0.0), tensors.count, (out / "verify.json").string());
    }
    if (failed_verify > 0) {
      exit_code = static_cast<int>(ExitCode::kVerifyFailed);
    } else if (failed_run > 0) {
      exit_code = static_cast<int>(ExitCode::kPartial);
    }
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
