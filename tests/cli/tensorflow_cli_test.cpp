// TensorFlow's formats end to end through the binary (issue 14): `export`
// writes a SavedModel folder and .tflite files (FP32, FP16 weights,
// calibrated full-integer INT8) from the same checkpoint, NHWC; `verify` runs
// them in the `tensorflow` backend (TF C API), the `litert` backend (LiteRT's
// interpreter in embedded Python) and in OpenVINO's TensorFlow and TFLite
// readers against the LibTorch reference, each worker transposing
// the NCHW test tensors to the file's layout before loading it; a corrupt
// .tflite and a truncated SavedModel are named failures in their own workers
// while the other rows pass; a missing TensorFlow costs only its variants; a
// LiteRT that dies inside a run is that row's recorded crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <string>

#include "common/files.h"
#include "common/process.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"
#include "testutil/text.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using testutil::contains;
using testutil::run_cli;

class TensorFlowCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testutil::TempDir();
    testutil::CheckpointSpec spec;
    spec.width_mult = 0.25;
    spec.image_size = 32;
    checkpoint_ = testutil::make_checkpoint(dir_->path() / "ckpt", spec);
    tensors_ = testutil::write_split_tensors(dir_->path() / "test", 20, 32, 3);
    calibration_ = testutil::write_split_tensors(dir_->path() / "calibration", 24, 32, 3, 5);
    exports_ = dir_->path() / "exports";
    export_result_ = new testutil::CliResult(
        run_cli({"--quiet", "export", checkpoint_.string(), "--out", exports_.string(), "--format",
                 "savedmodel,tflite,tflite-fp16,tflite-int8", "--calibration", calibration_.string(),
                 "--calibration-count", "16", "--json"}));
  }
  static void TearDownTestSuite() {
    delete export_result_;
    delete dir_;
  }

  // verify.json's rows by (artifact file name, backend).
  static std::map<std::pair<std::string, std::string>, nlohmann::json> verify(const std::vector<std::string>& files,
                                                                             const fs::path& out, int expect_exit) {
    // The files first: --backends takes every value after it.
    std::vector<std::string> a{"--quiet", "verify"};
    a.insert(a.end(), files.begin(), files.end());
    a.insert(a.end(), {"--checkpoint", checkpoint_.string(), "--tensors", tensors_.string(), "--out", out.string(),
                       "--backends", "tensorflow,openvino,litert"});
    const auto r = run_cli(a);
    EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
    const auto j = nlohmann::json::parse(read_file_text(out / "verify.json"));
    std::map<std::pair<std::string, std::string>, nlohmann::json> rows;
    for (const auto& row : j["results"]) {
      rows[{fs::path(row["artifact"].get<std::string>()).filename().string(), row["backend"]}] = row;
    }
    return rows;
  }

  static testutil::TempDir* dir_;
  static fs::path checkpoint_, tensors_, calibration_, exports_;
  static testutil::CliResult* export_result_;
};
testutil::TempDir* TensorFlowCli::dir_ = nullptr;
fs::path TensorFlowCli::checkpoint_, TensorFlowCli::tensors_, TensorFlowCli::calibration_, TensorFlowCli::exports_;
testutil::CliResult* TensorFlowCli::export_result_ = nullptr;

TEST_F(TensorFlowCli, ExportWritesEveryTensorFlowFormatInNhwcWithItsConverterRecorded) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const fs::path sm = exports_ / "mobilenet_v2.savedmodel";
  ASSERT_TRUE(fs::is_regular_file(sm / "saved_model.pb"));
  ASSERT_TRUE(fs::is_directory(sm / "variables"));
  for (const char* f : {"mobilenet_v2.tflite", "mobilenet_v2-fp16.tflite", "mobilenet_v2-int8.tflite"}) {
    EXPECT_TRUE(fs::is_regular_file(exports_ / f)) << f;
  }
  // FP16 weights halve the file; INT8 shrinks it further (a quarter of the weights, plus per-channel scales).
  const auto fp32 = fs::file_size(exports_ / "mobilenet_v2.tflite");
  EXPECT_LT(fs::file_size(exports_ / "mobilenet_v2-fp16.tflite"), fp32 * 6 / 10);
  EXPECT_LT(fs::file_size(exports_ / "mobilenet_v2-int8.tflite"), fp32 / 2);

  const auto side = nlohmann::json::parse(read_file_text(exports_ / "mobilenet_v2.savedmodel.json"));
  EXPECT_EQ(side["format"], "savedmodel");
  EXPECT_EQ(side["input"]["layout"], "NHWC");
  EXPECT_EQ(side["preprocess"]["layout"], "nhwc");
  EXPECT_EQ(side["input"]["name"], "serving_default_input:0");  // the signature's tensor, what the C API feeds
  EXPECT_EQ(side["source"]["converter"]["writer"], "keras.Model.export(format='tf_saved_model')");
  EXPECT_EQ(side["source"]["converter"]["tensorflow"], "2.21.0");
  EXPECT_EQ(side["source"]["converter"]["input_shape"], nlohmann::json::parse("[null, 32, 32, 3]"));

  const auto int8 = nlohmann::json::parse(read_file_text(exports_ / "mobilenet_v2-int8.tflite.json"));
  EXPECT_EQ(int8["precision"], "int8");
  EXPECT_EQ(int8["source"]["calibration"]["images"], 16);
  EXPECT_EQ(int8["source"]["calibration"]["of"], 24);
  EXPECT_TRUE(contains(int8["source"]["quantization"].value("recipe", ""), "TFLITE_BUILTINS_INT8"))
      << int8["source"]["quantization"].dump();
  // Float in and out: the harness feeds floats; the quantize op is inside the file.
  EXPECT_EQ(int8["source"]["converter"]["tensors"]["input"]["dtype"], "float32");
  EXPECT_EQ(int8["source"]["converter"]["tensors"]["input"]["shape_signature"], nlohmann::json::parse("[-1, 32, 32, 3]"));
}

TEST_F(TensorFlowCli, TensorFlowAndOpenVinoRunEveryFileAgainstTheReferenceInItsOwnLayout) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const auto rows = verify({(exports_ / "mobilenet_v2.savedmodel").string(), (exports_ / "mobilenet_v2.tflite").string(),
                            (exports_ / "mobilenet_v2-fp16.tflite").string(),
                            (exports_ / "mobilenet_v2-int8.tflite").string()},
                           dir_->path() / "v1", 0);
  for (const auto& key : std::vector<std::pair<std::string, std::string>>{
           {"mobilenet_v2.savedmodel", "tensorflow"},
           {"mobilenet_v2.savedmodel", "openvino"},
           {"mobilenet_v2.tflite", "openvino"},
           {"mobilenet_v2-fp16.tflite", "openvino"},
           {"mobilenet_v2-int8.tflite", "openvino"},
           {"mobilenet_v2.tflite", "litert"},
           {"mobilenet_v2-fp16.tflite", "litert"},
           {"mobilenet_v2-int8.tflite", "litert"}}) {
    SCOPED_TRACE(key.first + " in " + key.second);
    ASSERT_TRUE(rows.contains(key));
    const auto& row = rows.at(key);
    EXPECT_EQ(row["status"], "pass") << row.dump();
  }
  // LiteRT computes the reference's function from the FP32 file, through XNNPACK,
  // and the INT8 file's convolutions in int8 (its own evidence: operand types and
  // the ops the delegate took).
  EXPECT_LT(rows.at({"mobilenet_v2.tflite", "litert"})["max_abs_diff"].get<double>(), 1e-4);
  const auto& lf = rows.at({"mobilenet_v2.tflite", "litert"})["executed"];
  EXPECT_EQ(lf["precision"], "fp32") << lf.dump();
  EXPECT_EQ(lf["delegate"], "XNNPACK") << lf.dump();
  EXPECT_EQ(lf["ops_delegated"], lf["ops"]) << lf.dump();
  const auto& l16 = rows.at({"mobilenet_v2-fp16.tflite", "litert"})["executed"];
  EXPECT_EQ(l16["precision"], "fp32") << l16.dump();
  EXPECT_TRUE(contains(l16.value("note", ""), "FP16 weights, FP32 compute")) << l16.dump();
  const auto& l8 = rows.at({"mobilenet_v2-int8.tflite", "litert"})["executed"];
  EXPECT_EQ(l8["precision"], "int8") << l8.dump();
  EXPECT_EQ(l8["float_compute_ops"], 0) << l8.dump();
  EXPECT_GT(l8["integer_compute_ops"].get<int>(), 10) << l8.dump();
  // FP32 files compute the reference's function.
  EXPECT_LT(rows.at({"mobilenet_v2.savedmodel", "tensorflow"})["max_abs_diff"].get<double>(), 1e-4);
  EXPECT_LT(rows.at({"mobilenet_v2.tflite", "openvino"})["max_abs_diff"].get<double>(), 1e-4);
  // TensorFlow does not load TFLite (no backend claims what it cannot read).
  EXPECT_FALSE(rows.contains({"mobilenet_v2.tflite", "tensorflow"}));
  // The INT8 file ran integer kernels (else the worker fails it as "fell back to float").
  EXPECT_NE(rows.at({"mobilenet_v2-int8.tflite", "openvino"})["executed"]["precision"], "fp32");

  // Each worker fed the file NHWC, transposed from the NCHW tensors before loading.
  const auto result = nlohmann::json::parse(
      read_file_text(dir_->path() / "v1" / "workers" / "mobilenet_v2.savedmodel__tensorflow" / "result.json"));
  EXPECT_EQ(result["input"]["layout"], "NHWC");
  EXPECT_EQ(result["input"]["tensors_layout"], "NCHW");
  EXPECT_EQ(result["input"]["transposed"], true);
  EXPECT_EQ(result["settings"]["intra_op_parallelism_threads"], 1);
  EXPECT_EQ(result["settings"]["onednn"], true);
  EXPECT_EQ(result["executed"]["precision"], "fp32");
  const auto lite = nlohmann::json::parse(
      read_file_text(dir_->path() / "v1" / "workers" / "mobilenet_v2.tflite__litert" / "result.json"));
  EXPECT_EQ(lite["input"]["layout"], "NHWC");
  EXPECT_EQ(lite["input"]["transposed"], true);
  EXPECT_EQ(lite["settings"]["num_threads"], 1);
  EXPECT_EQ(lite["settings"]["xnnpack"], true);
  EXPECT_EQ(lite["settings"]["litert_version"], "2.3.0");
}

TEST_F(TensorFlowCli, ACorruptTfliteAndATruncatedSavedModelAreNamedFailuresAndTheRestPasses) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const fs::path bad = dir_->path() / "bad";
  fs::create_directories(bad);
  // A .tflite cut in half, with the good file's sidecar.
  std::vector<std::uint8_t> bytes = read_file_bytes(exports_ / "mobilenet_v2.tflite");
  bytes.resize(bytes.size() / 2);
  testutil::write_bytes(bad / "cut.tflite", bytes);
  fs::copy_file(exports_ / "mobilenet_v2.tflite.json", bad / "cut.tflite.json");
  // A SavedModel whose saved_model.pb is truncated.
  fs::copy(exports_ / "mobilenet_v2.savedmodel", bad / "cut.savedmodel", fs::copy_options::recursive);
  fs::copy_file(exports_ / "mobilenet_v2.savedmodel.json", bad / "cut.savedmodel.json");
  bytes = read_file_bytes(bad / "cut.savedmodel" / "saved_model.pb");
  bytes.resize(bytes.size() / 3);
  testutil::write_bytes(bad / "cut.savedmodel" / "saved_model.pb", bytes);

  const auto rows = verify({(bad / "cut.tflite").string(), (bad / "cut.savedmodel").string(),
                            (exports_ / "mobilenet_v2.savedmodel").string()},
                           dir_->path() / "v2", 6);
  for (const auto& key : std::vector<std::pair<std::string, std::string>>{{"cut.tflite", "openvino"},
                                                                         {"cut.tflite", "litert"},
                                                                         {"cut.savedmodel", "tensorflow"},
                                                                         {"cut.savedmodel", "openvino"}}) {
    SCOPED_TRACE(key.first + " in " + key.second);
    ASSERT_TRUE(rows.contains(key));
    const auto& row = rows.at(key);
    EXPECT_NE(row["status"], "pass") << row.dump();
    EXPECT_TRUE(contains(row.dump(), key.first)) << "the failure names the file: " << row.dump();
  }
  EXPECT_TRUE(contains(rows.at({"cut.savedmodel", "tensorflow"}).dump(), "cannot load this SavedModel"))
      << rows.at({"cut.savedmodel", "tensorflow"}).dump();
  EXPECT_TRUE(contains(rows.at({"cut.tflite", "litert"}).dump(), "LiteRT 2.3.0 cannot load it"))
      << rows.at({"cut.tflite", "litert"}).dump();
  EXPECT_TRUE(contains(rows.at({"cut.tflite", "litert"}).dump(), "status 3")) << rows.at({"cut.tflite", "litert"}).dump();
  EXPECT_EQ(rows.at({"mobilenet_v2.savedmodel", "tensorflow"})["status"], "pass");
  EXPECT_EQ(rows.at({"mobilenet_v2.savedmodel", "openvino"})["status"], "pass");
}

TEST_F(TensorFlowCli, AMissingTensorFlowCostsOnlyItsVariants) {
  const fs::path out = dir_->path() / "no-tf";
  ::setenv("INFERBENCH_TF_PYTHON", (dir_->path() / "no-such-python").c_str(), 1);
  const auto r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--format",
                          "onnx,savedmodel,tflite"});
  ::unsetenv("INFERBENCH_TF_PYTHON");
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;  // finished, some variants failed
  EXPECT_TRUE(fs::is_regular_file(out / "mobilenet_v2.onnx"));
  EXPECT_FALSE(fs::exists(out / "mobilenet_v2.savedmodel"));
  EXPECT_FALSE(fs::exists(out / "mobilenet_v2.tflite"));
  EXPECT_TRUE(contains(r.err, "TensorFlow's converter")) << r.err;
  EXPECT_TRUE(contains(r.err, "no-such-python")) << r.err;
}

// The four TensorFlow-format files of the fixture's export came out of one
// converter run (one Python start, one TensorFlow import, one Keras rebuild),
// each with its own writer's report.
TEST_F(TensorFlowCli, EveryTensorFlowFileOfAModelComesFromOneConverterRun) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  std::set<std::string> writers;
  for (const char* f : {"mobilenet_v2.savedmodel.json", "mobilenet_v2.tflite.json", "mobilenet_v2-fp16.tflite.json",
                        "mobilenet_v2-int8.tflite.json"}) {
    SCOPED_TRACE(f);
    const auto side = nlohmann::json::parse(read_file_text(exports_ / f));
    const nlohmann::json& seconds = side["source"]["converter"]["seconds"];
    EXPECT_EQ(seconds.value("jobs_in_this_run", 0), 4) << seconds.dump();
    EXPECT_GT(seconds.value("build", 0.0), 0.0) << seconds.dump();
    writers.insert(side["source"]["converter"].value("writer", ""));
  }
  EXPECT_EQ(writers, (std::set<std::string>{"keras.Model.export(format='tf_saved_model')",
                                            "tf.lite.TFLiteConverter.from_keras_model"}));
}

// One file of that run that cannot be put in place (its path is a folder with
// something in it) is that variant's named failure; the others of the same
// run are written, and export finishes with exit 6.
TEST_F(TensorFlowCli, OneFileOfTheConverterRunFailingCostsOnlyThatFile) {
  const fs::path out = dir_->path() / "e-one-bad";
  testutil::write_text(out / "mobilenet_v2.tflite" / "keep", "in the way");
  const auto r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--format",
                          "savedmodel,tflite,tflite-fp16", "--json"});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  EXPECT_TRUE(fs::is_regular_file(out / "mobilenet_v2.savedmodel" / "saved_model.pb"));
  EXPECT_TRUE(fs::is_regular_file(out / "mobilenet_v2-fp16.tflite"));
  EXPECT_TRUE(fs::is_regular_file(out / "mobilenet_v2-fp16.tflite.json"));
  EXPECT_FALSE(fs::exists(out / "mobilenet_v2.tflite.json"));
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 3U) << r.out;
  EXPECT_EQ(rows[0]["status"], "ok");
  EXPECT_EQ(rows[1]["format"], "tflite");
  EXPECT_EQ(rows[1]["status"], "failed");
  EXPECT_TRUE(contains(rows[1].value("reason", ""), (out / "mobilenet_v2.tflite").string())) << rows[1].dump();
  EXPECT_EQ(rows[2]["status"], "ok");
}

// The script itself: a job whose writer fails (here a calibration array that
// is not one) leaves its reason in its own report, and the other job of the
// same run is written; the run exits 0.
TEST_F(TensorFlowCli, TheConverterScriptKeepsAJobsFailureToThatJob) {
  const fs::path d = dir_->path() / "script";
  const auto r0 = run_cli({"--quiet", "export", checkpoint_.string(), "--out", d.string(), "--format", "onnx"});
  ASSERT_EQ(r0.exit_code, 0) << r0.err;
  testutil::write_text(d / "bad.npy", "not an array");
  const nlohmann::json jobs = nlohmann::json::array(
      {{{"kind", "tflite"}, {"precision", "fp32"}, {"out", (d / "a.tflite").string()},
        {"report", (d / "a.json").string()}},
       {{"kind", "tflite"}, {"precision", "int8"}, {"out", (d / "b.tflite").string()},
        {"report", (d / "b.json").string()}, {"calibration", (d / "bad.npy").string()}}});
  testutil::write_text(d / "jobs.json", jobs.dump());
  const ProgramResult r = run_program({INFERBENCH_TEST_TF_PYTHON, INFERBENCH_TEST_TO_TENSORFLOW_PY, "--model",
                                       (d / "mobilenet_v2.onnx").string(), "--jobs", (d / "jobs.json").string(),
                                       "--report", (d / "run.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output_tail;
  EXPECT_TRUE(fs::is_regular_file(d / "a.tflite"));
  EXPECT_FALSE(fs::exists(d / "b.tflite"));
  const auto a = nlohmann::json::parse(read_file_text(d / "a.json"));
  EXPECT_FALSE(a.contains("error")) << a.dump();
  EXPECT_EQ(a["writer"], "tf.lite.TFLiteConverter.from_keras_model");
  const auto b = nlohmann::json::parse(read_file_text(d / "b.json"));
  EXPECT_TRUE(contains(b.value("error", ""), "bad.npy")) << b.dump();
  EXPECT_TRUE(contains(b.value("error", ""), "not a calibration array")) << b.dump();
  const auto run = nlohmann::json::parse(read_file_text(d / "run.json"));
  EXPECT_EQ(run["jobs"], 2);
  EXPECT_EQ(run["written"], 1);
}

// A jobs file the converter script cannot use is its exit 3, naming the file
// and what is wrong, before it imports TensorFlow (no fixture export needed).
TEST(TensorFlowScript, AMalformedJobsFileIsANamedInputError) {
  testutil::TempDir d;
  const fs::path jobs = d.path() / "jobs.json";
  const auto job = [&](nlohmann::json j) {
    j.update({{"out", (d.path() / "a.tflite").string()}, {"report", (d.path() / "a.json").string()}}, true);
    return nlohmann::json::array({j}).dump();
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not a jobs file"},
      {"[]", "expected a non-empty list of jobs"},
      {R"([{"kind": "tflite", "out": 3, "report": "r.json"}])", "job 0 needs the strings kind, out and report"},
      {job({{"kind", "pb"}}), "job 0: kind 'pb' is not savedmodel or tflite"},
      {job({{"kind", "tflite"}, {"precision", "int4"}}), "job 0: precision 'int4' is not fp32, fp16 or int8"},
  };
  for (const auto& [text, needle] : cases) {
    testutil::write_text(jobs, text);
    const ProgramResult r =
        run_program({INFERBENCH_TEST_TF_PYTHON, INFERBENCH_TEST_TO_TENSORFLOW_PY, "--model",
                     (d.path() / "none.onnx").string(), "--jobs", jobs.string(), "--report",
                     (d.path() / "run.json").string()});
    EXPECT_EQ(r.exit_code, 3) << text << ": " << r.output_tail;
    EXPECT_TRUE(contains(r.output_tail, "'" + jobs.string() + "': " + needle)) << text << ": " << r.output_tail;
    EXPECT_FALSE(fs::exists(d.path() / "run.json")) << text;
  }
}

// A bad option value is the worker's usage error (exit 2, naming the key and
// the values it takes), recorded in that row; verify finishes (exit 6).
TEST_F(TensorFlowCli, ABadTensorFlowOptionIsANamedUsageErrorOfItsRow) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const fs::path out = dir_->path() / "v3";
  const auto r = run_cli({"--quiet", "verify", (exports_ / "mobilenet_v2.savedmodel").string(), "--checkpoint",
                          checkpoint_.string(), "--tensors", tensors_.string(), "--out", out.string(), "--backends",
                          "tensorflow", "--option", "tensorflow:onednn=2"});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  const auto j = nlohmann::json::parse(read_file_text(out / "verify.json"));
  ASSERT_EQ(j["results"].size(), 1U);
  const std::string reason = j["results"][0].value("reason", "");
  EXPECT_TRUE(contains(reason, "status 2")) << reason;
  EXPECT_TRUE(contains(reason, "onednn")) << reason;
  EXPECT_TRUE(contains(reason, "1, 0") || contains(reason, "1|0")) << reason;
}

// Calibration images of another size than the model's: the INT8 .tflite is a
// usage error naming the fix (exit 2), as for the ONNX INT8 route.
TEST_F(TensorFlowCli, Int8CalibrationOfAnotherSizeIsANamedUsageError) {
  const fs::path small = testutil::write_split_tensors(dir_->path() / "cal-24", 8, 24, 3, 5);
  const auto r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", (dir_->path() / "e-bad").string(),
                          "--format", "tflite-int8", "--calibration", small.string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "TFLite INT8") || contains(r.err, "calibration images")) << r.err;
  EXPECT_TRUE(contains(r.err, "--size 32")) << r.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "e-bad" / "mobilenet_v2-int8.tflite"));
}

// inter_op_threads below 1 is that row's usage error, naming the key.
TEST_F(TensorFlowCli, InterOpThreadsBelowOneIsANamedUsageErrorOfItsRow) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const fs::path out = dir_->path() / "v4";
  const auto r = run_cli({"--quiet", "verify", (exports_ / "mobilenet_v2.savedmodel").string(), "--checkpoint",
                          checkpoint_.string(), "--tensors", tensors_.string(), "--out", out.string(), "--backends",
                          "tensorflow", "--option", "tensorflow:inter_op_threads=0"});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  const auto j = nlohmann::json::parse(read_file_text(out / "verify.json"));
  ASSERT_EQ(j["results"].size(), 1U);
  const std::string reason = j["results"][0].value("reason", "");
  EXPECT_TRUE(contains(reason, "status 2")) << reason;
  EXPECT_TRUE(contains(reason, "inter_op_threads")) << reason;
}

// No TensorFlow library where the build expects it: the backend is listed
// unavailable with the path and the fix, and its rows say so (never a crash).
TEST_F(TensorFlowCli, AMissingTensorFlowLibraryMakesTheBackendUnavailableWithTheReason) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const std::string missing = (dir_->path() / "no-libtensorflow_cc.so.2").string();
  ::setenv("INFERBENCH_TF_LIBRARY", missing.c_str(), 1);
  const auto listed = run_cli({"backends"});
  const fs::path out = dir_->path() / "v5";
  const auto r = run_cli({"--quiet", "verify", (exports_ / "mobilenet_v2.savedmodel").string(), "--checkpoint",
                          checkpoint_.string(), "--tensors", tensors_.string(), "--out", out.string(), "--backends",
                          "tensorflow"});
  ::unsetenv("INFERBENCH_TF_LIBRARY");
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(contains(listed.out, "no TensorFlow C API library at '" + missing + "'")) << listed.out;
  EXPECT_TRUE(contains(listed.out, "scripts/install_sdks.sh")) << listed.out;
  const auto j = nlohmann::json::parse(read_file_text(out / "verify.json"));
  ASSERT_EQ(j["results"].size(), 1U) << r.out << r.err;
  EXPECT_EQ(j["results"][0]["status"], "unavailable");
  EXPECT_TRUE(contains(j["results"][0].value("reason", ""), missing));
}

// A fake ai_edge_litert ahead of the real site-packages (for numpy): it loads
// like LiteRT and kills its own process on the second invoke, so the worker
// dies of SIGSEGV in the middle of the split. The row is a recorded crash with
// the signal; the file's other rows are unaffected.
TEST_F(TensorFlowCli, ALiteRtThatDiesMidRunIsARecordedCrashOfItsRow) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const fs::path fake = dir_->path() / "fake-site";
  fs::create_directories(fake / "ai_edge_litert");
  testutil::write_text(fake / "ai_edge_litert" / "__init__.py", "__version__ = '2.3.0'\n");
  testutil::write_text(fake / "ai_edge_litert" / "interpreter.py", R"(import enum, os, signal
import numpy as np
class OpResolverType(enum.Enum):
    AUTO = 0
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3
class Interpreter:
    def __init__(self, model_path=None, num_threads=None, experimental_op_resolver_type=None):
        self.calls = 0
    def get_input_details(self):
        return [{"name": "x", "index": 0, "shape": np.array([1, 32, 32, 3]),
                 "shape_signature": np.array([-1, 32, 32, 3]), "dtype": np.float32}]
    def get_output_details(self):
        return [{"name": "y", "index": 1, "shape": np.array([1, 10]), "dtype": np.float32}]
    def resize_tensor_input(self, index, shape, strict=False):
        self.n = shape[0]
    def allocate_tensors(self):
        pass
    def set_tensor(self, index, value):
        pass
    def invoke(self):
        self.calls += 1
        if self.calls == 2:
            os.kill(os.getpid(), signal.SIGSEGV)
    def get_tensor(self, index):
        return np.zeros((self.n, 10), np.float32)
)");
  const std::string site = fake.string() + ":" + INFERBENCH_TEST_LITERT_SITE;
  ::setenv("INFERBENCH_LITERT_SITE", site.c_str(), 1);
  const fs::path out = dir_->path() / "v6";
  const auto r = run_cli({"--quiet", "verify", (exports_ / "mobilenet_v2.tflite").string(), "--checkpoint",
                          checkpoint_.string(), "--tensors", tensors_.string(), "--out", out.string(), "--backends",
                          "litert,openvino", "--batch", "8"});
  ::unsetenv("INFERBENCH_LITERT_SITE");
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  const auto j = nlohmann::json::parse(read_file_text(out / "verify.json"));
  std::map<std::string, nlohmann::json> by_backend;
  for (const auto& row : j["results"]) by_backend[row["backend"]] = row;
  ASSERT_TRUE(by_backend.contains("litert")) << j.dump();
  EXPECT_EQ(by_backend["litert"]["status"], "crashed") << by_backend["litert"].dump();
  EXPECT_TRUE(contains(by_backend["litert"].dump(), "signal 11"))
      << by_backend["litert"].dump();
  EXPECT_EQ(by_backend["openvino"]["status"], "pass") << by_backend["openvino"].dump();
}

// LiteRT's built-in kernels instead of XNNPACK (xnnpack=0): the same function,
// no delegate, said in the row; a bad value is that row's usage error.
TEST_F(TensorFlowCli, XnnpackOffRunsLiteRtsOwnKernelsAndABadValueIsANamedUsageError) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const fs::path out = dir_->path() / "v7";
  auto r = run_cli({"--quiet", "verify", (exports_ / "mobilenet_v2-int8.tflite").string(), "--checkpoint",
                    checkpoint_.string(), "--tensors", tensors_.string(), "--out", out.string(), "--backends",
                    "litert", "--option", "litert:xnnpack=0"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(read_file_text(out / "verify.json"));
  ASSERT_EQ(j["results"].size(), 1U);
  EXPECT_EQ(j["results"][0]["status"], "pass") << j.dump();
  EXPECT_EQ(j["results"][0]["executed"]["delegate_nodes"], 0) << j.dump();
  EXPECT_EQ(j["results"][0]["executed"]["precision"], "int8") << j.dump();

  r = run_cli({"--quiet", "verify", (exports_ / "mobilenet_v2.tflite").string(), "--checkpoint", checkpoint_.string(),
               "--tensors", tensors_.string(), "--out", (dir_->path() / "v8").string(), "--backends", "litert",
               "--option", "litert:xnnpack=yes"});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  j = nlohmann::json::parse(read_file_text(dir_->path() / "v8" / "verify.json"));
  ASSERT_EQ(j["results"].size(), 1U);
  const std::string reason = j["results"][0].value("reason", "");
  EXPECT_TRUE(contains(reason, "status 2")) << reason;
  EXPECT_TRUE(contains(reason, "xnnpack")) << reason;
}

// An FP32 .tflite described as INT8: LiteRT's own evidence (float32
// convolutions) makes it a failed variant, "fell back to float", not a pass.
TEST_F(TensorFlowCli, AnInt8TfliteThatRanFloatKernelsIsAFailedVariant) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const fs::path bad = dir_->path() / "fake-int8";
  fs::create_directories(bad);
  fs::copy_file(exports_ / "mobilenet_v2.tflite", bad / "float-int8.tflite");
  fs::copy_file(exports_ / "mobilenet_v2-int8.tflite.json", bad / "float-int8.tflite.json");
  const fs::path out = dir_->path() / "v9";
  const auto r = run_cli({"--quiet", "verify", (bad / "float-int8.tflite").string(), "--checkpoint",
                          checkpoint_.string(), "--tensors", tensors_.string(), "--out", out.string(), "--backends",
                          "litert"});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(read_file_text(out / "verify.json"));
  ASSERT_EQ(j["results"].size(), 1U);
  EXPECT_NE(j["results"][0]["status"], "pass") << j.dump();
  EXPECT_TRUE(contains(j["results"][0].dump(), "fell back to float")) << j.dump();
}

// The TFLite converter's full-integer INT8 is deterministic as inferbench
// feeds it: the same calibration draw gives the same bytes, another seed other
// bytes (issue 15: calibration is deterministic, for every quantizer route).
TEST_F(TensorFlowCli, TfliteInt8IsTheSameFileForTheSameCalibrationDraw) {
  ASSERT_EQ(export_result_->exit_code, 0) << export_result_->err;
  const auto export_int8 = [](const fs::path& out, const std::string& seed) {
    return run_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--format", "tflite-int8",
                    "--calibration", calibration_.string(), "--calibration-count", "16", "--calibration-seed", seed});
  };
  const fs::path same = dir_->path() / "int8-same", other = dir_->path() / "int8-other";
  const std::string default_seed = std::to_string(nlohmann::json::parse(read_file_text(
      exports_ / "mobilenet_v2-int8.tflite.json"))["source"]["calibration"]["seed"].get<std::uint64_t>());
  ASSERT_EQ(export_int8(same, default_seed).exit_code, 0);
  ASSERT_EQ(export_int8(other, default_seed + "1").exit_code, 0);
  const auto bytes = [](const fs::path& p) { return read_file_bytes(p); };
  EXPECT_EQ(bytes(exports_ / "mobilenet_v2-int8.tflite"), bytes(same / "mobilenet_v2-int8.tflite"));
  EXPECT_NE(bytes(exports_ / "mobilenet_v2-int8.tflite"), bytes(other / "mobilenet_v2-int8.tflite"));
}

// No ai_edge_litert in the site-packages named: unavailable with the path and the fix.
TEST_F(TensorFlowCli, AMissingLiteRtMakesTheBackendUnavailableWithTheReason) {
  const fs::path empty = dir_->path() / "empty-site";
  fs::create_directories(empty);
  ::setenv("INFERBENCH_LITERT_SITE", empty.c_str(), 1);
  const auto listed = run_cli({"backends"});
  ::unsetenv("INFERBENCH_LITERT_SITE");
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(contains(listed.out, "no ai_edge_litert package in INFERBENCH_LITERT_SITE='" + empty.string() + "'"))
      << listed.out;
  // Built as it should be, it lists the pinned version.
  const auto ok = run_cli({"backends"});
  EXPECT_TRUE(contains(ok.out, "litert")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "2.3.0")) << ok.out;
}

}  // namespace
}  // namespace inferbench
