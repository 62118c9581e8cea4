// The shared vocabulary: formats, precisions, artifact descriptions and their
// sidecars; and the two registries that list backends and exporters by it.
#include "artifact/artifact.h"
#include "artifact/identity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "backends/backend.h"
#include "common/error.h"
#include "export/exporter.h"
#include "testutil/fixtures.h"

namespace inferbench::artifact {
namespace {

namespace fs = std::filesystem;
using testutil::expect_error;
using testutil::TempDir;
using testutil::write_text;

TEST(Precision, NamesRoundTripAndBadNamesAreUsageErrors) {
  for (const Precision p : all_precisions()) EXPECT_EQ(parse_precision(to_string(p)), p);
  EXPECT_EQ(to_string(Precision::kFP32), "fp32");
  EXPECT_EQ(to_string(Precision::kBF16), "bf16");
  EXPECT_EQ(join({Precision::kFP32, Precision::kINT8}), "fp32, int8");
  expect_error([] { (void)parse_precision("FP32", "--precision"); }, ExitCode::kUsage,
               "--precision: unknown precision 'FP32' (expected fp32, fp16, bf16, int8)");
  nlohmann::json j = Precision::kFP16;
  EXPECT_EQ(j, "fp16");
  EXPECT_EQ(j.get<Precision>(), Precision::kFP16);
  EXPECT_THROW((void)nlohmann::json("half").get<Precision>(), nlohmann::json::exception);
}

TEST(Format, ExtensionsNameTheFormatAndUnknownOnesAreRefused) {
  EXPECT_EQ(format_of("a/model.ckpt"), "checkpoint");
  EXPECT_EQ(format_of("model.pt"), "torchscript");
  EXPECT_EQ(format_of("model.PTH"), "torchscript");
  EXPECT_EQ(format_of("model.onnx"), "onnx");
  EXPECT_EQ(format_of("model.xml"), "openvino");
  EXPECT_EQ(format_of("model.tflite"), "tflite");
  EXPECT_EQ(format_of("model.savedmodel"), "savedmodel");
  EXPECT_EQ(find_format("tflite").layout, "NHWC");
  EXPECT_TRUE(find_format("savedmodel").directory);
  EXPECT_FALSE(find_format("onnx").directory);
  expect_error([] { (void)format_of("model.caffemodel"); }, ExitCode::kUsage,
               "'model.caffemodel': unknown model format '.caffemodel' (expected .ckpt, .pt, .onnx, .xml, .savedmodel "
               "or .tflite)");
  expect_error([] { (void)format_of("model"); }, ExitCode::kUsage, "'no extension'");
  expect_error([] { (void)find_format("keras"); }, ExitCode::kUsage, "unknown artifact format 'keras'");
  std::set<std::string> names;
  for (const FormatInfo& f : formats()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name << " listed twice";
    ASSERT_FALSE(f.extensions.empty()) << f.name;
    EXPECT_EQ(find_format(f.name).name, f.name);
    EXPECT_EQ(format_of("x" + f.extensions.front()), f.name);
  }
}

TEST(Sidecar, RoundTripsEveryFieldAndNamesTheFileWhenMalformed) {
  TempDir dir;
  const fs::path model = dir / "m-fp16.xml";
  write_text(model, "<net/>");
  Artifact a;
  a.path = model;
  a.format = "openvino";
  a.precision = Precision::kFP16;
  a.model = "mobilenet_v2";
  a.layout = "NHWC";
  a.height = a.width = 64;
  a.dynamic_batch = false;
  a.classes = {"a", "b"};
  a.source = {{"checkpoint", "x.ckpt"}};
  write_sidecar(a);
  EXPECT_EQ(sidecar_path(model), dir / "m-fp16.xml.json");
  const Artifact b = describe(model);
  EXPECT_EQ(to_json(b), to_json(a));
  EXPECT_EQ(b.precision, Precision::kFP16);

  nlohmann::json j = to_json(a);
  j["precision"] = "fp8";
  write_text(sidecar_path(model), j.dump());
  expect_error([&] { (void)describe(model); }, ExitCode::kInput, "m-fp16.xml.json': malformed artifact description");
  expect_error([&] { (void)describe(model); }, ExitCode::kInput, "unknown precision 'fp8'");
  write_text(sidecar_path(model), "{not json");
  expect_error([&] { (void)describe(model); }, ExitCode::kInput, "not valid JSON");
  expect_error([&] { (void)describe(dir / "missing.onnx"); }, ExitCode::kInput, "model file not found");

  // A bare file is described from its extension.
  const fs::path onnx = dir / "bare.onnx";
  write_text(onnx, "x");
  EXPECT_EQ(describe(onnx).format, "onnx");
  EXPECT_EQ(describe(onnx).precision, Precision::kFP32);
}

TEST(ExportFolder, ListsTheWrittenExtensionsOnlyAndNamesAnEmptyFolder) {
  TempDir dir;
  for (const char* f : {"m.pt", "m.onnx", "m.xml", "m.bin", "m.ckpt", "m.onnx.json", "notes.txt"}) write_text(dir / f, "x");
  const auto found = artifacts_in(dir.path(), false);
  ASSERT_EQ(found.size(), 3U);
  EXPECT_EQ(found[0].filename(), "m.onnx");
  EXPECT_EQ(found[1].filename(), "m.pt");
  EXPECT_EQ(found[2].filename(), "m.xml");
  EXPECT_EQ(artifacts_in(dir.path(), true).size(), 4U);
  TempDir empty;
  expect_error([&] { (void)artifacts_in(empty.path(), false); }, ExitCode::kInput,
               "holds no .pt, .onnx, .xml, .savedmodel or .tflite artifact");
  expect_error([&] { (void)artifacts_in(dir / "m.pt", false); }, ExitCode::kInput, "not a folder of exports");
  // TensorFlow's: a .tflite file and a SavedModel folder are listed too.
  write_text(dir / "m.tflite", "x");
  fs::create_directories(dir / "m.savedmodel" / "variables");
  EXPECT_EQ(artifacts_in(dir.path(), false).size(), 5U);
}

// A SavedModel is a folder: its identity is every file in it, its sidecar sits
// beside it, and a bare one is described as NHWC from its saved_model.pb.
TEST(FolderArtifact, IsNamedHashedAndDescribedByItsContent) {
  TempDir dir;
  const fs::path sm = dir / "m.savedmodel";
  fs::create_directories(sm / "variables");
  write_text(sm / "saved_model.pb", "graph");
  write_text(sm / "variables" / "variables.index", "index");
  write_text(sm / "variables" / "variables.data-00000-of-00001", "weights");
  EXPECT_EQ(sidecar_path(sm), dir / "m.savedmodel.json");
  EXPECT_EQ(sidecar_path(fs::path(sm.string() + "/")), dir / "m.savedmodel.json");
  EXPECT_EQ(artifact_files(sm).size(), 3U);

  const std::string id = content_identity(sm);
  fs::copy(sm, dir / "copy.savedmodel", fs::copy_options::recursive);
  EXPECT_EQ(content_identity(dir / "copy.savedmodel"), id) << "content, not the folder's name";
  write_text(dir / "copy.savedmodel" / "variables" / "variables.data-00000-of-00001", "other weights");
  EXPECT_NE(content_identity(dir / "copy.savedmodel"), id) << "every file counts, not only saved_model.pb";

  const Artifact bare = describe(fs::path(sm.string() + "/"));
  EXPECT_EQ(bare.format, "savedmodel");
  EXPECT_EQ(bare.layout, "NHWC");
  EXPECT_EQ(bare.path, sm);
  // A SavedModel under another name is one by its saved_model.pb.
  fs::rename(dir / "copy.savedmodel", dir / "exported_model");
  EXPECT_EQ(describe(dir / "exported_model").format, "savedmodel");
  // Any other folder is not a model.
  fs::create_directories(dir / "photos");
  expect_error([&] { (void)describe(dir / "photos"); }, ExitCode::kInput, "a folder, not a model file");
  // A .tflite described bare takes NHWC too.
  write_text(dir / "m.tflite", "x");
  EXPECT_EQ(describe(dir / "m.tflite").layout, "NHWC");
}

// The registries list the folders' own descriptions, in the vocabulary above.
TEST(Registries, EveryBackendAndExporterSpeaksTheFormatTable) {
  for (const backends::BackendInfo& b : backends::registry()) {
    EXPECT_FALSE(b.name.empty());
    EXPECT_FALSE(b.description.empty()) << b.name;
    EXPECT_FALSE(b.precisions.empty()) << b.name;
    for (const std::string& f : b.formats) EXPECT_NO_THROW((void)find_format(f)) << b.name << ": " << f;
    EXPECT_EQ(b.available, static_cast<bool>(b.create)) << b.name;
    EXPECT_EQ(b.available, b.reason.empty()) << b.name << ": " << b.reason;
  }
  std::set<std::string> names;
  for (const exporters::ExportVariant& v : exporters::export_variants()) {
    EXPECT_TRUE(names.insert(v.name()).second) << v.name();
    EXPECT_NO_THROW((void)find_format(v.exporter->format)) << v.name();
    EXPECT_EQ(v.exporter->available, static_cast<bool>(v.exporter->write)) << v.name();
  }
  // The names and files `export` has always used.
  for (const char* n : {"torchscript", "onnx", "openvino", "openvino-fp16"}) EXPECT_TRUE(names.count(n)) << n;
  for (const exporters::ExportVariant& v : exporters::export_variants()) {
    if (v.name() == "openvino-fp16") {
      EXPECT_EQ(v.file("out", "resnet50"), fs::path("out/resnet50-fp16.xml"));
    }
    if (v.name() == "onnx") {
      EXPECT_EQ(v.file("out", "resnet50"), fs::path("out/resnet50.onnx"));
    }
  }
}

TEST(Registries, ABackendIsHandedOnlyTheFormatsAndPrecisionsItLists) {
  backends::BackendInfo b;
  b.formats = {"onnx"};
  b.precisions = {Precision::kFP32};
  Artifact a;
  a.format = "onnx";
  EXPECT_TRUE(b.loads(a));
  a.precision = Precision::kINT8;
  EXPECT_FALSE(b.loads(a));
  EXPECT_EQ(b.refusal(a), "backend '' loads fp32 artifacts, not int8");
  a.precision = Precision::kFP32;
  a.format = "openvino";
  EXPECT_FALSE(b.loads(a));
  EXPECT_EQ(b.refusal(a), "backend '' does not load openvino files");
  const backends::BackendInfo off = backends::unavailable(b, "no SDK");
  EXPECT_FALSE(off.available);
  EXPECT_EQ(off.reason, "no SDK");
  expect_error([&] { (void)backends::create_backend(off); }, ExitCode::kUnavailable, "is unavailable: no SDK");
}

// A compute precision is one of the backend's own option values, on formats it loads.
TEST(Registries, ComputePrecisionsAreOptionValuesOnTheBackendsOwnFormats) {
  int offering = 0;
  for (const backends::BackendInfo& b : backends::registry()) {
    if (b.precision_option.empty()) {
      EXPECT_TRUE(b.compute.empty()) << b.name;
      continue;
    }
    ++offering;
    const bool listed = std::any_of(b.options.begin(), b.options.end(),
                                    [&](const backends::OptionSpec& o) { return o.key == b.precision_option; });
    EXPECT_TRUE(listed) << b.name << ": '" << b.precision_option << "' is not one of its options";
    ASSERT_FALSE(b.compute.empty()) << b.name;
    EXPECT_EQ(b.compute.front().precision, Precision::kFP32) << b.name;
    for (const auto& f : b.compute_formats) EXPECT_TRUE(b.takes_format(f)) << b.name << ": " << f;
  }
  EXPECT_GE(offering, 2);  // openvino (inference precision hint) and libtorch (bf16 copy)
}

TEST(PrecisionVariants, OneRowPerAskedPrecisionTheBackendOffersOnItsOwnFormat) {
  backends::BackendInfo b;
  b.name = "x";
  b.formats = {"openvino", "onnx"};
  b.precision_option = "precision";
  b.compute = {{Precision::kFP32, "f32"}, {Precision::kBF16, "bf16"}, {Precision::kFP16, "f16"}};
  b.compute_formats = {"openvino"};
  Artifact ir;
  ir.format = "openvino";
  const backends::Options given{{"hint", "latency"}};
  auto names = [](const std::vector<backends::PrecisionVariant>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) {
      out.push_back(std::string(to_string(x.precision)) + ":" + backends::option_or(x.options, "precision", "-") + ":" +
                    backends::option_or(x.options, "hint", "-"));
    }
    return out;
  };
  // Table order whatever the order asked; the FP32 row keeps the options as given
  // (its run key is the one it had before precisions were an axis).
  EXPECT_EQ(names(backends::precision_variants(b, ir, given, {Precision::kBF16, Precision::kFP32, Precision::kFP16})),
            (std::vector<std::string>{"fp32:-:latency", "fp16:f16:latency", "bf16:bf16:latency"}));
  EXPECT_EQ(names(backends::precision_variants(b, ir, given, {})), (std::vector<std::string>{"fp32:-:latency"}));
  // Not asked for FP32: only the reduced rows. INT8 is no compute precision of it: no row.
  EXPECT_EQ(names(backends::precision_variants(b, ir, {}, {Precision::kBF16, Precision::kINT8})),
            (std::vector<std::string>{"bf16:bf16:-"}));
  // The option given by the user decides, and names the row.
  EXPECT_EQ(names(backends::precision_variants(b, ir, {{"precision", "bf16"}}, {Precision::kFP32, Precision::kFP16})),
            (std::vector<std::string>{"bf16:bf16:-"}));
  EXPECT_EQ(names(backends::precision_variants(b, ir, {{"precision", "f64"}}, {Precision::kBF16})),
            (std::vector<std::string>{"fp32:f64:-"}));  // the backend refuses the value when it loads
  // Another format of the backend, or a file stored in another precision: once, as it is.
  Artifact onnx;
  onnx.format = "onnx";
  EXPECT_EQ(names(backends::precision_variants(b, onnx, {}, {Precision::kFP32, Precision::kBF16})),
            (std::vector<std::string>{"fp32:-:-"}));
  Artifact int8 = ir;
  int8.precision = Precision::kINT8;
  EXPECT_EQ(names(backends::precision_variants(b, int8, {}, {Precision::kBF16})), (std::vector<std::string>{"int8:-:-"}));
  // A backend without a precision option: every file once, in its own precision.
  backends::BackendInfo plain;
  plain.formats = {"onnx"};
  EXPECT_EQ(names(backends::precision_variants(plain, onnx, {}, {Precision::kFP32, Precision::kBF16})),
            (std::vector<std::string>{"fp32:-:-"}));
}

}  // namespace
}  // namespace inferbench::artifact
