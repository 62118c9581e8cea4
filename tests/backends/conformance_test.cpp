// The backend contract (src/backends/backend.h), checked the same way on every
// backend the registry lists as available (the test double "test-fault"
// aside), once for each artifact format it loads: its description, loading,
// logits against the LibTorch reference at batch 1, 4 and 3 through the
// dynamic batch dimension, the thread count in force, and the errors for
// broken files, unknown option keys, thread counts below one and inputs of
// another shape. A backend added to the registry is covered without editing
// this file; what a backend cannot do is recorded below as data, with the
// reason, so a change in it shows as a failure here.
//
// The per-backend tests (onnxruntime_test.cpp, ...) keep only what is
// specific to one backend: its options, its messages, its own formats.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "artifact/artifact.h"
#include "artifact/format.h"
#include "backends/backend.h"
#include "common/error.h"
#include "common/files.h"
#include "export/exporter.h"
#include "export/inference_model.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"

namespace inferbench::backends {
namespace {

namespace fs = std::filesystem;
using testutil::expect_error;

constexpr int kSize = 32;
constexpr std::int64_t kClasses = 3;
constexpr std::int64_t kMaxBatch = 4;
constexpr double kFp32Tolerance = 1e-3;      // times max(1, max |reference logit|)
constexpr const char* kTestDouble = "test-fault";  // crashes and hangs on purpose; tested by the worker tests

// The architectures every backend runs, small ones first.
struct Model {
  std::string name;
  double width_mult = 1.0;
};
const std::vector<Model> kModels{{"mobilenet_v2", 0.25}, {"efficientnet_b0"}, {"resnet50"}};

// What a backend cannot do with one of our exports: expected failures, each
// asserted (the Error's code and a needle of its message), not skipped.
enum class Limit {
  kCannotLoad,  // load() throws Error(kInput)
  kBatchOne,    // loads and runs batch 1; infer() of a larger batch throws Error(kInput)
};
struct KnownLimit {
  std::string backend, format, model;
  Limit limit;
  std::string needle;  // in the Error's message
  std::string reason;
};
const std::vector<KnownLimit> kKnownLimits{
    {"opencv-dnn", "onnx", "mobilenet_v2", Limit::kCannotLoad, "Clip",
     "Debian's OpenCV 4.6 ONNX importer rejects Clip with min/max as inputs (opset >= 11), our ReLU6"},
    {"opencv-dnn", "onnx", "efficientnet_b0", Limit::kBatchOne, "only at batch size 1",
     "OpenCV 4.6 imports a graph at batch 1 and its Scale layer (squeeze-excitation's per-sample Mul) keeps that "
     "shape (opencv/opencv#17063)"},
};

const KnownLimit* known_limit(const std::string& backend, const std::string& format, const std::string& model) {
  for (const KnownLimit& k : kKnownLimits)
    if (k.backend == backend && k.format == format && k.model == model) return &k;
  return nullptr;
}

// Where a backend departs from the contract today. Issue 13 changes no
// behaviour, so these are recorded and asserted as they are (a fix shows as a
// failure here, and the entry goes).
const std::map<std::string, std::string> kAcceptsThreadsBelowOne{
    {"opencv-dnn", "load() passes threads to cv::setNumThreads, for which 0 means no threading and < 0 the default"},
};

struct Param {
  std::string backend;
  std::string format;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.backend << " on " << p.format; }
std::string param_name(const testing::TestParamInfo<Param>& info) {
  std::string name = info.param.backend + "_" + info.param.format;
  std::replace_if(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) == 0; },
                  '_');
  return name;
}

// Every available backend but the test double, once per format it loads.
std::vector<Param> conformance_params() {
  std::vector<Param> out;
  for (const BackendInfo& b : registry()) {
    if (!b.available || b.name == kTestDouble) continue;
    for (const std::string& f : b.formats) out.push_back({b.name, f});
  }
  return out;
}

// One architecture's checkpoint, its fp32 artifacts (made on first use, one
// folder per format so a format's companion files, such as OpenVINO's .bin,
// are the only other files there) and the reference logits of one batch.
struct ModelFiles {
  testutil::TempDir dir;
  fs::path checkpoint;
  std::unique_ptr<exporters::InferenceModel> folded;
  std::map<std::string, std::optional<artifact::Artifact>> artifacts;  // by format; nullopt: nothing writes it
  std::vector<float> batch;       // kMaxBatch x 3 x kSize x kSize
  std::vector<float> batch_nhwc;  // the same images, kMaxBatch x kSize x kSize x 3 (TensorFlow's formats)
  std::vector<float> reference;   // kMaxBatch x kClasses, LibTorch eval mode
};

// The batch in the artifact's layout, and the shape of its first n images.
const float* batch_for(const ModelFiles& m, const artifact::Artifact& a) {
  return a.layout == "NHWC" ? m.batch_nhwc.data() : m.batch.data();
}
std::vector<std::int64_t> shape_for(const artifact::Artifact& a, std::int64_t n, std::int64_t channels = 3) {
  if (a.layout == "NHWC") return {n, kSize, kSize, channels};
  return {n, channels, kSize, kSize};
}

ModelFiles& model_files(const Model& model) {
  static std::map<std::string, std::unique_ptr<ModelFiles>> cache;
  auto& slot = cache[model.name];
  if (slot) return *slot;
  auto m = std::make_unique<ModelFiles>();
  at::set_num_threads(1);  // the reference: see the threads note on kInferThreads
  testutil::CheckpointSpec spec;
  spec.architecture = model.name;
  spec.width_mult = model.width_mult;
  spec.image_size = kSize;
  spec.classes = kClasses;
  fs::create_directories(m->dir / "checkpoint");
  m->checkpoint = testutil::make_checkpoint(m->dir / "checkpoint", spec);
  m->batch = testutil::random_batch(kMaxBatch, kSize, 5);
  m->batch_nhwc.resize(m->batch.size());
  for (std::int64_t i = 0; i < kMaxBatch; ++i)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t p = 0; p < kSize * kSize; ++p)
        m->batch_nhwc[static_cast<std::size_t>((i * kSize * kSize + p) * 3 + c)] =
            m->batch[static_cast<std::size_t>((i * 3 + c) * kSize * kSize + p)];
  m->reference = testutil::reference_logits(m->checkpoint, m->batch, kMaxBatch, kSize);
  slot = std::move(m);
  return *slot;
}

// The model's fp32 artifact in `format`: the checkpoint itself (described from
// its extension, as `bench` does with a bare file) or the export of the first
// available exporter that writes it; nullopt when none in this build does.
std::optional<artifact::Artifact> artifact_for(const Model& model, const std::string& format) {
  ModelFiles& m = model_files(model);
  auto it = m.artifacts.find(format);
  if (it != m.artifacts.end()) return it->second;
  std::optional<artifact::Artifact> made;
  if (format == "checkpoint") {
    made = artifact::describe(m.checkpoint);
  } else {
    for (const exporters::ExportVariant& v : exporters::export_variants()) {
      if (v.exporter->format != format || v.precision != artifact::Precision::kFP32 || !v.exporter->available) continue;
      if (!m.folded) {
        m.folded = std::make_unique<exporters::InferenceModel>(exporters::load_inference_model(m.checkpoint, true));
      }
      exporters::ExportOptions options;
      options.out = v.file(m.dir / format, model.name);
      made = exporters::write_variant(v, *m.folded, options);
      break;
    }
  }
  return m.artifacts.emplace(format, made).first->second;
}

// The first model the backend loads (the one its error and settings cases use).
std::optional<Model> loadable_model(const Param& p) {
  for (const Model& model : kModels) {
    const KnownLimit* k = known_limit(p.backend, p.format, model.name);
    if (k == nullptr || k->limit != Limit::kCannotLoad) return model;
  }
  return std::nullopt;
}

// Numbers are checked at one thread: on a busy two-core machine, OpenMP
// threads spin-waiting for each other make every convolution far slower. The
// thread count itself is checked by SettingsReportTheThreadsInForce.
constexpr int kInferThreads = 1;

std::unique_ptr<Backend> loaded(const BackendInfo& info, const artifact::Artifact& a, const Options& options = {},
                                int threads = kInferThreads) {
  check_options(info, options);
  auto backend = create_backend(info);
  backend->load(a, options, threads);
  return backend;
}

// Runs the first n images of the batch and compares with the reference's first n rows.
void expect_matches(Backend& backend, const ModelFiles& m, const artifact::Artifact& a, std::int64_t n) {
  SCOPED_TRACE("batch " + std::to_string(n));
  const Logits got = backend.infer(batch_for(m, a), shape_for(a, n));
  ASSERT_EQ(got.batch, n);
  ASSERT_EQ(got.classes, kClasses);
  ASSERT_EQ(got.values.size(), static_cast<std::size_t>(n * kClasses));
  double scale = 1.0;
  double diff = 0.0;
  for (std::size_t i = 0; i < got.values.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(m.reference[i])));
    diff = std::max(diff, static_cast<double>(std::abs(got.values[i] - m.reference[i])));
  }
  EXPECT_LE(diff, kFp32Tolerance * scale) << "max |logit difference| " << diff << " (max |logit| " << scale << ")";
}

// The model file and, beside it, its companions (every other file of its
// export folder but the sidecar), copied to `dir` under the stem `stem`.
fs::path copy_with_companions(const fs::path& model_file, const fs::path& dir, const std::string& stem) {
  for (const auto& entry : fs::directory_iterator(model_file.parent_path())) {
    const fs::path& p = entry.path();
    if (p == model_file || p == artifact::sidecar_path(model_file)) continue;
    fs::copy_file(p, dir / (stem + p.extension().string()));
  }
  const fs::path copy = dir / (stem + model_file.extension().string());
  fs::copy_file(model_file, copy);
  return copy;
}

class EveryBackend : public testing::TestWithParam<Param> {
 protected:
  [[nodiscard]] const BackendInfo& info() const { return find_backend(GetParam().backend); }

  // The artifact of the first model the backend loads; skips (saying why)
  // when no exporter of this build writes the format.
  std::optional<artifact::Artifact> primary(Model* which = nullptr) {
    const std::optional<Model> model = loadable_model(GetParam());
    if (!model) {
      ADD_FAILURE() << "kKnownLimits says " << GetParam().backend << " loads no model in " << GetParam().format;
      return std::nullopt;
    }
    if (which != nullptr) *which = *model;
    return artifact_for(*model, GetParam().format);
  }
};

TEST_P(EveryBackend, DescribesItself) {
  const BackendInfo& b = info();
  EXPECT_EQ(b.name, GetParam().backend);
  EXPECT_TRUE(b.available);
  EXPECT_TRUE(b.reason.empty()) << b.reason;
  EXPECT_FALSE(b.description.empty());
  EXPECT_EQ(b.description.find('\n'), std::string::npos) << "one line: " << b.description;
  EXPECT_FALSE(b.version.empty());
  EXPECT_TRUE(static_cast<bool>(b.create));

  std::set<std::string> known_formats;
  for (const artifact::FormatInfo& f : artifact::formats()) known_formats.insert(f.name);
  EXPECT_FALSE(b.formats.empty());
  EXPECT_EQ(std::set<std::string>(b.formats.begin(), b.formats.end()).size(), b.formats.size()) << "formats repeat";
  for (const std::string& f : b.formats) EXPECT_TRUE(known_formats.contains(f)) << "unknown format " << f;

  EXPECT_FALSE(b.precisions.empty());
  EXPECT_EQ(std::set<artifact::Precision>(b.precisions.begin(), b.precisions.end()).size(), b.precisions.size())
      << "precisions repeat";

  std::set<std::string> keys;
  for (const OptionSpec& o : b.options) {
    EXPECT_FALSE(o.key.empty());
    EXPECT_TRUE(keys.insert(o.key).second) << "option " << o.key << " is listed twice";
    EXPECT_FALSE(o.help.empty()) << "option " << o.key << " has no help";
  }
}

TEST_P(EveryBackend, LogitsMatchTheLibTorchReference) {
  const BackendInfo& b = info();
  for (const Model& model : kModels) {
    SCOPED_TRACE(model.name);
    const std::optional<artifact::Artifact> a = artifact_for(model, GetParam().format);
    if (!a) GTEST_SKIP() << "no exporter in this build writes " << GetParam().format;
    EXPECT_TRUE(b.loads(*a)) << "its own format and fp32 are listed";
    const KnownLimit* limit = known_limit(b.name, GetParam().format, model.name);
    if (limit != nullptr) std::cout << b.name << ", " << model.name << ": known limit: " << limit->reason << "\n";
    if (limit != nullptr && limit->limit == Limit::kCannotLoad) {
      expect_error([&] { loaded(b, *a); }, ExitCode::kInput, limit->needle);
      expect_error([&] { loaded(b, *a); }, ExitCode::kInput, a->path.string());
      continue;
    }
    auto backend = loaded(b, *a);
    const ModelFiles& m = model_files(model);
    // Batch 1, then larger and smaller batches through the one loaded model.
    for (const std::int64_t n : {std::int64_t{1}, kMaxBatch, std::int64_t{3}}) {
      if (n > 1 && limit != nullptr && limit->limit == Limit::kBatchOne) {
        expect_error([&] { backend->infer(batch_for(m, *a), shape_for(*a, n)); }, ExitCode::kInput, limit->needle);
        continue;
      }
      expect_matches(*backend, m, *a, n);
    }
  }
}

TEST_P(EveryBackend, SettingsReportTheThreadsInForce) {
  const std::optional<artifact::Artifact> a = primary();
  if (!a) GTEST_SKIP() << "no exporter in this build writes " << GetParam().format;
  for (const int threads : {1, 2}) {
    const nlohmann::json s = loaded(info(), *a, {}, threads)->settings();
    std::cout << GetParam().backend << " settings, threads=" << threads << ": " << s.dump() << "\n";
    ASSERT_TRUE(s.is_object());
    EXPECT_EQ(s.at("threads"), threads);
  }
}

TEST_P(EveryBackend, EveryOptionAtItsDefaultValueIsAccepted) {
  Model model;
  const std::optional<artifact::Artifact> a = primary(&model);
  if (!a) GTEST_SKIP() << "no exporter in this build writes " << GetParam().format;
  Options defaults;
  for (const OptionSpec& o : info().options)
    if (!o.default_value.empty()) defaults[o.key] = o.default_value;  // "" = the SDK's own, not a value to give
  auto backend = loaded(info(), *a, defaults);
  expect_matches(*backend, model_files(model), *a, 1);
}

TEST_P(EveryBackend, BrokenFilesAreInputErrorsNamingTheFile) {
  const std::optional<artifact::Artifact> a = primary();
  if (!a) GTEST_SKIP() << "no exporter in this build writes " << GetParam().format;
  testutil::TempDir dir;
  const std::string ext = a->path.extension().string();
  // A SavedModel is a folder: its graph file, saved_model.pb, is what is cut or replaced.
  const bool folder = artifact::find_format(a->format).directory;

  artifact::Artifact truncated = *a;
  fs::path graph_file;
  if (folder) {
    truncated.path = dir / ("truncated" + ext);
    fs::copy(a->path, truncated.path, fs::copy_options::recursive);
    graph_file = truncated.path / "saved_model.pb";
  } else {
    truncated.path = copy_with_companions(a->path, dir.path(), "truncated");
    graph_file = truncated.path;
  }
  std::vector<std::uint8_t> bytes = read_file_bytes(graph_file);
  ASSERT_GT(bytes.size(), 1000U);
  bytes.resize(bytes.size() / 2);
  testutil::write_bytes(graph_file, bytes);

  artifact::Artifact text = *a;
  text.path = dir / ("notes" + ext);
  if (folder) {
    fs::create_directories(text.path);
    testutil::write_text(text.path / "saved_model.pb", "this is not a model\n");
  } else {
    testutil::write_text(text.path, "this is not a model\n");
  }

  artifact::Artifact missing = *a;
  missing.path = dir / ("missing" + ext);

  for (const artifact::Artifact& broken : {truncated, text, missing}) {
    SCOPED_TRACE(broken.path.string());
    expect_error([&] { loaded(info(), broken); }, ExitCode::kInput, broken.path.string());
  }
}

TEST_P(EveryBackend, UnknownOptionKeysAreUsageErrors) {
  expect_error([&] { check_options(info(), {{"bogus", "1"}}); }, ExitCode::kUsage, "bogus");
  expect_error([&] { check_options(info(), {{"bogus", "1"}}); }, ExitCode::kUsage, GetParam().backend);
}

TEST_P(EveryBackend, ThreadsBelowOneAreUsageErrors) {
  const std::optional<artifact::Artifact> a = primary();
  if (!a) GTEST_SKIP() << "no exporter in this build writes " << GetParam().format;
  const auto gap = kAcceptsThreadsBelowOne.find(GetParam().backend);
  for (const int threads : {0, -1}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    if (gap != kAcceptsThreadsBelowOne.end()) {
      std::cout << GetParam().backend << ": known gap: " << gap->second << "\n";
      EXPECT_NO_THROW(loaded(info(), *a, {}, threads));
      continue;
    }
    expect_error([&] { loaded(info(), *a, {}, threads); }, ExitCode::kUsage, "threads");
  }
}

TEST_P(EveryBackend, AnInputWithAnotherChannelCountIsAnInputError) {
  const std::optional<artifact::Artifact> a = primary();
  if (!a) GTEST_SKIP() << "no exporter in this build writes " << GetParam().format;
  auto backend = loaded(info(), *a);
  const std::vector<float> x(static_cast<std::size_t>(4 * kSize * kSize), 0.0F);
  expect_error([&] { backend->infer(x.data(), shape_for(*a, 1, 4)); }, ExitCode::kInput, a->path.string());
}

INSTANTIATE_TEST_SUITE_P(BackendConformance, EveryBackend, testing::ValuesIn(conformance_params()), param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(EveryBackend);  // a build with no backend SDK at all

TEST(BackendConformance, EveryRegisteredBackendIsAvailableOrSaysWhy) {
  std::set<std::string> names;
  for (const BackendInfo& b : registry()) {
    EXPECT_TRUE(names.insert(b.name).second) << b.name << " is registered twice";
    EXPECT_NE(b.available, !b.reason.empty()) << b.name << ": available=" << b.available << ", reason '" << b.reason
                                              << "'";
    EXPECT_EQ(b.available, static_cast<bool>(b.create)) << b.name;
  }
}

// The tables above name backends, formats and models that exist, so a rename
// cannot turn an expected failure into a silent pass.
TEST(BackendConformance, TheKnownLimitsNameWhatExists) {
  for (const KnownLimit& k : kKnownLimits) {
    const BackendInfo& b = find_backend(k.backend);
    EXPECT_NE(std::find(b.formats.begin(), b.formats.end(), k.format), b.formats.end()) << k.backend << " " << k.format;
    EXPECT_TRUE(std::any_of(kModels.begin(), kModels.end(), [&](const Model& m) { return m.name == k.model; }))
        << k.model;
    EXPECT_FALSE(k.needle.empty());
    EXPECT_FALSE(k.reason.empty());
  }
  for (const auto& [backend, why] : kAcceptsThreadsBelowOne) {
    EXPECT_NO_THROW(find_backend(backend));
    EXPECT_FALSE(why.empty());
  }
}

}  // namespace
}  // namespace inferbench::backends
