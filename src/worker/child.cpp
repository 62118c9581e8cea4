// The child side of a worker: `inferbench worker --job FILE`. It checks the
// job against the backend and the artifact, loads, and runs the split once
// (verify) or the job's scenario (bench), then writes result.json.
#include "worker/child.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "data/tensor_file.h"
#include "worker/job.h"
#include "worker/scenario.h"

namespace inferbench::worker {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// /proc/self/status fields in kB (VmRSS: now, VmHWM: peak); 0 when unreadable.
std::int64_t proc_status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtoll(line.c_str() + key.size(), nullptr, 10);
  }
  return 0;
}

// What ran, from the backend itself (Backend::execution), asked after the
// measured work. An INT8 artifact that ran no integer kernel fails the run:
// its numbers would be a float model's under an INT8 name.
nlohmann::json executed(const backends::BackendInfo& info, const artifact::Artifact& artifact,
                        backends::Backend& backend) {
  nlohmann::json e = backend.execution();
  if (artifact.precision != artifact::Precision::kINT8) return e;
  if (e.is_null()) {
    return {{"precision", "unknown"}, {"how", fmt::format("backend '{}' cannot say which kernels ran", info.name)}};
  }
  const std::string p = e.value("precision", "unknown");
  if (p != "int8" && p != "mixed") {
    fail(ExitCode::kInput,
         fmt::format("'{}' is an INT8 model but {} ran it in {} (fell back to float: {}); {}", artifact.path.string(),
                     info.name, p, e.contains("kernels") ? e["kernels"].dump() : e.dump(), e.value("how", "")));
  }
  return e;
}

// The bench body: load (already done and timed by the caller), then the
// scenario (worker/scenario.h); this side only prepares the batch and writes
// what the scenario measured.
int run_bench(const Job& job, const backends::BackendInfo& info, const artifact::Artifact& artifact,
              backends::Backend& backend, const data::SplitTensors& tensors, double load_s,
              const nlohmann::json& input_note) {
  const BenchSpec& b = job.bench;
  const std::int64_t rss_after_load = proc_status_kb("VmRSS");
  const auto& shape = tensors.x.shape;
  const std::int64_t per_image = shape[1] * shape[2] * shape[3];
  const auto n = static_cast<std::int64_t>(tensors.count);
  // The batch: the split's first images, cycled when the batch is larger; on a
  // 64-byte boundary (a cache line, and what TensorFlow's Eigen wants, else
  // it copies the input on every call), the same for every backend.
  const std::size_t count = static_cast<std::size_t>(b.batch * per_image);
  const std::size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  const std::unique_ptr<float, decltype(&std::free)> input(static_cast<float*>(std::aligned_alloc(64, bytes)),
                                                           &std::free);
  if (!input) throw std::bad_alloc();
  for (std::int64_t i = 0; i < b.batch; ++i) {
    std::copy_n(tensors.x.as_f32() + (i % n) * per_image, per_image, input.get() + i * per_image);
  }
  const std::vector<std::int64_t> bshape{b.batch, shape[1], shape[2], shape[3]};

  const ScenarioResult s = run_scenario(backend, info, b, input.get(), bshape);
  nlohmann::json result{{"mode", "bench"},
                        {"scenario", b.scenario},
                        {"backend", info.name},
                        {"backend_version", info.version},
                        {"settings", s.settings},
                        {"artifact", artifact::to_json(artifact)},
                        {"artifact_path", artifact.path.string()},
                        {"batch", b.batch},
                        {"threads", job.threads},
                        {"load_seconds", load_s},
                        {"first_inference_seconds", s.first_inference_seconds},
                        {"rss_after_load_kb", rss_after_load}};
  if (!s.timed) {  // cold-start
    result["peak_rss_kb"] = proc_status_kb("VmHWM");
    result["executed"] = executed(info, artifact, backend);
    write_file_atomic(job.dir / "result.json", dump_json(result, 2) + "\n");
    return 0;
  }

  const double wall = s.wall_seconds;
  const double cpu = s.cpu_seconds;
  data::write_npy(job.dir / "samples.npy", s.samples.data(), {static_cast<std::int64_t>(s.samples.size())});
  result["samples"] = "samples.npy";
  result["count"] = static_cast<std::int64_t>(s.samples.size());
  result["concurrency"] = s.callers;
  result["wall_seconds"] = wall;
  result["cpu_seconds"] = cpu;
  result["cpu_utilisation"] = wall > 0 ? cpu / wall : 0.0;  // in cores: 2.0 = two cores busy
  result["images_per_second"] = wall > 0 ? static_cast<double>(s.samples.size()) * b.batch / wall : 0.0;
  result["rss_steady_kb"] = proc_status_kb("VmRSS");
  result["peak_rss_kb"] = proc_status_kb("VmHWM");
  result["stopped_short"] = s.stopped_short;
  result["stopped_early"] = s.stopped_early;
  result["input"] = input_note;
  result["executed"] = executed(info, artifact, backend);
  write_file_atomic(job.dir / "result.json", dump_json(result, 2) + "\n");
  return 0;
}

int run_job(const fs::path& job_file) {
  const Job job = job_from_json([&] {
    try {
      return nlohmann::json::parse(read_file_text(job_file));
    } catch (const nlohmann::json::exception& e) {
      fail(ExitCode::kInput, fmt::format("'{}': not valid JSON: {}", job_file.string(), e.what()));
    }
  }());
  const backends::BackendInfo& info = backends::find_backend(job.backend);
  backends::check_options(info, job.options);
  const artifact::Artifact artifact = artifact::describe(job.artifact);
  if (const std::string why = info.refusal(artifact); !why.empty()) {
    fail(ExitCode::kUsage, fmt::format("{} ('{}')", why, artifact.path.string()));
  }
  data::SplitTensors tensors = data::load_split_tensors(job.tensors);
  // The file's own layout (TensorFlow and TFLite files take NHWC): the same
  // images transposed here, once, before the model is loaded, so no timed call
  // ever includes a transpose, and every format sees the same pixels.
  const std::string given_layout = tensors.preprocess.layout == data::Layout::kNHWC ? "NHWC" : "NCHW";
  data::to_layout(tensors, artifact.layout == "NHWC" ? data::Layout::kNHWC : data::Layout::kNCHW);
  const auto& shape = tensors.x.shape;  // [N, C, H, W] or [N, H, W, C]
  const bool nhwc = tensors.preprocess.layout == data::Layout::kNHWC;
  const nlohmann::json input_note{{"layout", artifact.layout},
                                  {"tensors_layout", given_layout},
                                  {"transposed", given_layout != artifact.layout}};
  const std::int64_t h = nhwc ? shape[1] : shape[2], w = nhwc ? shape[2] : shape[3];
  if ((artifact.height > 0 && artifact.height != h) || (artifact.width > 0 && artifact.width != w)) {
    fail(ExitCode::kInput, fmt::format("'{}' expects {}x{} images, the tensors in '{}' are {}x{}",
                                       artifact.path.string(), artifact.height, artifact.width,
                                       job.tensors.string(), h, w));
  }

  auto backend = backends::create_backend(info);
  const auto t0 = Clock::now();
  backend->load(artifact, job.options, job.threads);
  const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (job.mode == "bench") return run_bench(job, info, artifact, *backend, tensors, load_s, input_note);

  const auto n = static_cast<std::int64_t>(tensors.count);
  const std::int64_t per_image = shape[1] * shape[2] * shape[3];
  const float* x = tensors.x.as_f32();
  const std::int64_t* y = tensors.y.as_i64();
  std::vector<float> logits;
  std::int64_t classes = 0, correct = 0;
  const auto t1 = Clock::now();
  for (std::int64_t i = 0; i < n; i += job.batch) {
    const std::int64_t b = std::min<std::int64_t>(job.batch, n - i);
    std::vector<std::int64_t> bshape{b, shape[1], shape[2], shape[3]};
    const backends::Logits out = backend->infer(x + i * per_image, bshape);
    if (out.batch != b || out.classes < 1 ||
        static_cast<std::int64_t>(out.values.size()) != out.batch * out.classes) {
      fail(ExitCode::kInput, fmt::format("backend '{}' returned {} values as [{}, {}] for a batch of {}", info.name,
                                         out.values.size(), out.batch, out.classes, b));
    }
    if (classes == 0) classes = out.classes;
    if (out.classes != classes) fail(ExitCode::kInput, "backend returned a different class count between batches");
    for (std::int64_t r = 0; r < b; ++r) {
      const float* row = out.values.data() + r * classes;
      const auto best = std::max_element(row, row + classes) - row;
      if (best == y[i + r]) ++correct;
    }
    logits.insert(logits.end(), out.values.begin(), out.values.end());
  }
  const double infer_s = std::chrono::duration<double>(Clock::now() - t1).count();
  if (!tensors.classes.empty() && classes != static_cast<std::int64_t>(tensors.classes.size())) {
    fail(ExitCode::kInput, fmt::format("'{}' gives {} outputs, the tensors have {} classes", artifact.path.string(),
                                       classes, tensors.classes.size()));
  }
  if (job.write_logits) data::write_npy(job.dir / "logits.npy", logits.data(), {n, classes});

  nlohmann::json result{{"backend", info.name},
                        {"backend_version", info.version},
                        {"settings", backend->settings()},
                        {"artifact", artifact::to_json(artifact)},
                        {"artifact_path", artifact.path.string()},
                        {"count", n},
                        {"classes", classes},
                        {"top1", n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0},
                        {"load_seconds", load_s},
                        {"infer_seconds", infer_s},
                        {"batch", job.batch},
                        {"threads", job.threads}};
  if (job.write_logits) result["logits"] = "logits.npy";
  result["input"] = input_note;
  result["executed"] = executed(info, artifact, *backend);
  write_file_atomic(job.dir / "result.json", dump_json(result, 2) + "\n");
  return 0;
}

}  // namespace

int worker_main(const fs::path& job_file) {
  try {
    return run_job(job_file);
  } catch (const std::bad_alloc&) {
    std::fputs("inferbench worker: error: out of memory (std::bad_alloc)\n", stderr);
    return kWorkerOutOfMemory;
  } catch (const Error& e) {
    std::fprintf(stderr, "inferbench worker: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    // Frameworks report a failed allocation in their own words.
    const std::string what = e.what();
    for (const char* oom : {"bad_alloc", "can't allocate memory", "Cannot allocate memory", "out of memory"}) {
      if (what.find(oom) != std::string::npos) {
        std::fprintf(stderr, "inferbench worker: error: out of memory: %s\n", e.what());
        return kWorkerOutOfMemory;
      }
    }
    std::fprintf(stderr, "inferbench worker: error: %s\n", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
}

}  // namespace inferbench::worker
