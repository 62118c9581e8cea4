// The INT8 route end to end through the binary (issue 15): `export --format
// onnx-int8` calibrates ONNX Runtime's static quantizer on inferbench's own
// tensors (the same seed gives the same file), `verify` proves from ONNX
// Runtime's profiler that integer kernels ran, a run made to fall back to
// float is a recorded failure, and bad calibration inputs are named errors
// while the other formats are still written.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/files.h"
#include "common/hash.h"
#include "export/exporter.h"
#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"
#include "testutil/text.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using testutil::contains;
using testutil::run_cli;

class PrecisionCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testutil::TempDir();
    testutil::CheckpointSpec spec;
    spec.width_mult = 0.25;
    spec.image_size = 32;
    checkpoint_ = testutil::make_checkpoint(dir_->path() / "ckpt", spec);
    tensors_ = testutil::write_split_tensors(dir_->path() / "test", 20, 32, 3);
    // Calibration images: others than the test images (another pattern seed).
    calibration_ = testutil::write_split_tensors(dir_->path() / "calibration", 24, 32, 3, 5);
  }
  static void TearDownTestSuite() { delete dir_; }

  static testutil::CliResult export_int8(const fs::path& out, std::vector<std::string> extra) {
    std::vector<std::string> a{"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--format",
                               "onnx-int8", "--calibration", calibration_.string(), "--json"};
    a.insert(a.end(), extra.begin(), extra.end());
    return run_cli(a);
  }
  static nlohmann::json verify(const fs::path& artifact, const fs::path& out, std::vector<std::string> extra,
                               int expect_exit) {
    std::vector<std::string> a{"--quiet", "verify", "--checkpoint", checkpoint_.string(), "--tensors",
                               tensors_.string(), artifact.string(), "--out", out.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    if (std::find(extra.begin(), extra.end(), "--backends") == extra.end()) {
      a.insert(a.end(), {"--backends", "onnxruntime"});
    }
    const auto r = run_cli(a);
    if (expect_exit >= 0) {
      EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
    }
    return nlohmann::json::parse(read_file_text(out / "verify.json"));
  }

  // The checkpoint's FP32 OpenVINO IR, written into `out`.
  static fs::path export_ir(const fs::path& out) {
    EXPECT_EQ(run_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--format", "openvino"})
                  .exit_code,
              0);
    return out / "mobilenet_v2.xml";
  }
  // Whether /proc/cpuinfo lists one of `flags` (the arithmetic a reduced precision needs).
  static bool cpu_has(std::initializer_list<const char*> flags) {
    std::ifstream cpuinfo("/proc/cpuinfo");
    const std::string text((std::istreambuf_iterator<char>(cpuinfo)), std::istreambuf_iterator<char>());
    return std::any_of(flags.begin(), flags.end(), [&](const char* f) { return contains(text, std::string(" ") + f); });
  }

  static testutil::TempDir* dir_;
  static fs::path checkpoint_, tensors_, calibration_;
};
testutil::TempDir* PrecisionCli::dir_ = nullptr;
fs::path PrecisionCli::checkpoint_, PrecisionCli::tensors_, PrecisionCli::calibration_;

TEST(CalibrationDraw, DistinctSeededAndTheSameEverywhere) {
  const auto a = exporters::draw_calibration(100, 30, 7);
  ASSERT_EQ(a.size(), 30U);
  EXPECT_EQ(std::set<std::size_t>(a.begin(), a.end()).size(), 30U);  // without replacement
  for (const auto i : a) EXPECT_LT(i, 100U);
  EXPECT_EQ(a, exporters::draw_calibration(100, 30, 7));
  EXPECT_NE(a, exporters::draw_calibration(100, 30, 8));
  // Pinned values (SplitMix64 + Fisher-Yates, computed independently in
  // Python): no compiler or standard library can move the draw.
  EXPECT_EQ(exporters::draw_calibration(10, 3, 7), (std::vector<std::size_t>{7, 0, 4}));
  EXPECT_EQ(exporters::draw_calibration(100, 5, 1), (std::vector<std::size_t>{65, 53, 66, 56, 61}));
  const auto all = exporters::draw_calibration(10, 10, 3);
  EXPECT_EQ(std::set<std::size_t>(all.begin(), all.end()).size(), 10U);  // a permutation
  EXPECT_TRUE(exporters::draw_calibration(5, 0, 1).empty());
}

TEST_F(PrecisionCli, Int8IsCalibratedDeterministicallyAndRunsIntegerKernels) {
  const fs::path e1 = dir_->path() / "e1", e2 = dir_->path() / "e2", e3 = dir_->path() / "e3";
  auto r = export_int8(e1, {"--calibration-count", "16", "--calibration-seed", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path file = e1 / "mobilenet_v2-int8.onnx";
  ASSERT_TRUE(fs::exists(file)) << r.out;
  const auto side = nlohmann::json::parse(read_file_text(file.string() + ".json"));
  EXPECT_EQ(side["precision"], "int8");
  const auto& q = side["source"]["quantization"];
  EXPECT_EQ(q["quantizer"], "onnxruntime.quantization.quantize_static");
  EXPECT_EQ(q["settings"]["per_channel"], true);
  EXPECT_EQ(q["settings"]["weight_type"], "QInt8");
  EXPECT_EQ(q["settings"]["activation_type"], "QUInt8");
  EXPECT_GT(q["nodes"].value("QuantizeLinear", 0), 0) << q.dump();
  EXPECT_EQ(q["calibration_images"], 16);
  EXPECT_EQ(side["source"]["calibration"]["images"], 16);
  EXPECT_EQ(side["source"]["calibration"]["of"], 24);
  EXPECT_EQ(side["source"]["calibration"]["seed"], 7);
  for (const auto& p : fs::directory_iterator(e1)) {
    EXPECT_FALSE(contains(p.path().filename().string(), ".tmp")) << "scratch left behind: " << p.path();
  }

  // Same images and seed: the same bytes. Another seed draws other images.
  ASSERT_EQ(export_int8(e2, {"--calibration-count", "16", "--calibration-seed", "7"}).exit_code, 0);
  ASSERT_EQ(export_int8(e3, {"--calibration-count", "16", "--calibration-seed", "8"}).exit_code, 0);
  const std::string h1 = content_hash(std::span<const std::uint8_t>(read_file_bytes(file)));
  EXPECT_EQ(h1, content_hash(std::span<const std::uint8_t>(read_file_bytes(e2 / "mobilenet_v2-int8.onnx"))));
  EXPECT_NE(h1, content_hash(std::span<const std::uint8_t>(read_file_bytes(e3 / "mobilenet_v2-int8.onnx"))));
  EXPECT_NE(side["source"]["calibration"]["tensor_hash"],
            nlohmann::json::parse(read_file_text((e3 / "mobilenet_v2-int8.onnx").string() + ".json"))["source"]
                                 ["calibration"]["tensor_hash"]);

  // ONNX Runtime's profiler: integer convolutions ran, and no float one.
  const auto v = verify(file, dir_->path() / "v-int8", {}, -1);
  ASSERT_EQ(v["results"].size(), 1U);
  const auto& row = v["results"][0];
  ASSERT_TRUE(row.contains("executed")) << row.dump();
  EXPECT_EQ(row["executed"]["precision"], "int8") << row.dump();
  EXPECT_GT(row["executed"]["integer_compute_kernels"].get<int>(), 0);
  EXPECT_EQ(row["executed"]["float_compute_kernels"].get<int>(), 0);
  EXPECT_GT(row["executed"]["kernels"].value("QLinearConv", 0), 0) << row.dump();
  EXPECT_TRUE(row.contains("top1_drop"));
  EXPECT_NEAR(row["top1_drop"].get<double>(), row["reference_top1"].get<double>() - row["top1"].get<double>(), 1e-12);
  EXPECT_EQ(row["status"], "pass") << row.dump();  // judged by its accuracy: top1_drop, accuracy_flag

  // OpenVINO compiles the same QDQ file to integer convolutions (its runtime model says so).
  const auto ov = verify(file, dir_->path() / "v-int8-ov", {"--backends", "openvino"}, -1);
  ASSERT_EQ(ov["results"].size(), 1U);
  const auto& ov_row = ov["results"][0];
  ASSERT_TRUE(ov_row.contains("executed")) << ov_row.dump();
  EXPECT_TRUE(ov_row["executed"]["precision"] == "int8" || ov_row["executed"]["precision"] == "mixed")
      << ov_row.dump();
  EXPECT_GT(ov_row["executed"]["integer_compute_kernels"].get<int>(), 0) << ov_row.dump();
  EXPECT_GT(ov_row["executed"]["layers"]["Convolution"].value("u8", 0), 0) << ov_row.dump();

  // The FP32 file of the same checkpoint: float kernels only.
  r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", (dir_->path() / "fp32").string(), "--format",
               "onnx"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto f = verify(dir_->path() / "fp32" / "mobilenet_v2.onnx", dir_->path() / "v-fp32", {}, 0);
  EXPECT_EQ(f["results"][0]["executed"]["precision"], "fp32") << f.dump();
  EXPECT_EQ(f["results"][0]["executed"]["integer_compute_kernels"].get<int>(), 0);
  EXPECT_FALSE(f["results"][0].contains("accuracy_flag"));  // FP32 loses nothing
}

#ifdef INFERBENCH_TEST_OPENVINO_INT8
// NNCF on the OpenVINO IR (issue 15's OpenVINO route): the same calibration
// draw as the ONNX INT8, its versions and recipe in the sidecar, the same
// bytes from the same images, other bytes from other images, and OpenVINO's
// runtime model runs its convolutions on integer kernels.
TEST_F(PrecisionCli, OpenVinoInt8IsNncfCalibratedDeterministicallyAndRunsIntegerKernels) {
  const auto export_nncf = [](const fs::path& out, const std::string& seed) {
    return run_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--format", "openvino-int8",
                    "--calibration", calibration_.string(), "--calibration-count", "16", "--calibration-seed", seed,
                    "--json"});
  };
  const fs::path n1 = dir_->path() / "n1", n2 = dir_->path() / "n2", n3 = dir_->path() / "n3";
  const auto r = export_nncf(n1, "7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path xml = n1 / "mobilenet_v2-int8.xml", bin = n1 / "mobilenet_v2-int8.bin";
  ASSERT_TRUE(fs::exists(xml) && fs::exists(bin)) << r.out;
  const auto side = nlohmann::json::parse(read_file_text(xml.string() + ".json"));
  EXPECT_EQ(side["format"], "openvino");
  EXPECT_EQ(side["precision"], "int8");
  const auto& q = side["source"]["quantization"];
  EXPECT_EQ(q["quantizer"], "nncf.quantize");
  EXPECT_EQ(q["nncf"], "3.4.0");
  EXPECT_EQ(q["settings"]["preset"], "MIXED");
  EXPECT_EQ(q["calibration_images"], 16);
  EXPECT_GT(q["fake_quantize_nodes"].get<int>(), 0) << q.dump();
  EXPECT_EQ(side["source"]["calibration"]["images"], 16);
  EXPECT_EQ(side["source"]["calibration"]["seed"], 7);
  for (const auto& p : fs::directory_iterator(n1)) {
    EXPECT_FALSE(contains(p.path().filename().string(), ".tmp")) << "scratch left behind: " << p.path();
  }

  ASSERT_EQ(export_nncf(n2, "7").exit_code, 0);
  ASSERT_EQ(export_nncf(n3, "8").exit_code, 0);
  const auto hash = [](const fs::path& p) { return content_hash(std::span<const std::uint8_t>(read_file_bytes(p))); };
  EXPECT_EQ(hash(bin), hash(n2 / "mobilenet_v2-int8.bin"));
  EXPECT_EQ(hash(xml), hash(n2 / "mobilenet_v2-int8.xml"));
  EXPECT_NE(hash(bin), hash(n3 / "mobilenet_v2-int8.bin"));

  const auto v = verify(xml, dir_->path() / "v-nncf", {"--backends", "openvino"}, -1);
  ASSERT_EQ(v["results"].size(), 1U);
  const auto& row = v["results"][0];
  ASSERT_TRUE(row.contains("executed")) << row.dump();
  EXPECT_TRUE(row["executed"]["precision"] == "int8" || row["executed"]["precision"] == "mixed") << row.dump();
  EXPECT_GT(row["executed"]["integer_compute_kernels"].get<int>(), 0) << row.dump();
  EXPECT_GT(row["executed"]["layers"]["Convolution"].value("u8", 0) +
                row["executed"]["layers"]["Convolution"].value("i8", 0),
            0)
      << row.dump();
  EXPECT_EQ(row["status"], "pass") << row.dump();
  EXPECT_TRUE(row.contains("top1_drop")) << row.dump();
}
#endif

// A BF16 request on an FP32 IR: executed in BF16 where the CPU computes it,
// and where it does not, the runtime model says f32 and so does the row: a
// request the plugin ignored is shown, not hidden.
TEST_F(PrecisionCli, OpenVinoReportsThePrecisionItExecuted) {
  const fs::path ir = export_ir(dir_->path() / "ir");
  const bool bf16 = cpu_has({"avx512_bf16", "amx_bf16"});
  const auto f32 = verify(ir, dir_->path() / "v-ir-f32", {"--backends", "openvino"}, 0);
  EXPECT_EQ(f32["results"][0]["executed"]["precision"], "fp32") << f32.dump();
  const auto b = verify(ir, dir_->path() / "v-ir-bf16",
                        {"--backends", "openvino", "--option", "openvino:precision=bf16"}, -1);
  const auto& row = b["results"][0];
  EXPECT_EQ(row["executed"]["precision"], bf16 ? "bf16" : "fp32") << row.dump();
  EXPECT_EQ(row["settings"]["requested"]["precision"], "bf16");
  EXPECT_EQ(row["precision"], "bf16");  // the option asked for it: the row is named so
  EXPECT_EQ(row["artifact_precision"], "fp32");
}

// The compute-precision axis: verify and bench ask the OpenVINO IR and the
// LibTorch checkpoint for each precision, each a row named by the precision
// asked and verified by that precision's rule, with the runtime's own answer
// beside it; bench's rows carry their own variant's accuracy, and compare
// matches FP32 against BF16 run by run.
TEST_F(PrecisionCli, ComputePrecisionsAreRowsOfTheirOwnInVerifyAndBench) {
  const fs::path ir = export_ir(dir_->path() / "ir-compute");
  const bool bf16 = cpu_has({"avx512_bf16", "amx_bf16"});
  const bool fp16 = cpu_has({"avx512_fp16", "amx_fp16"});
  const fs::path vdir = dir_->path() / "v-compute";
  const auto v = verify(ir, vdir,
                        {"--backends", "openvino,libtorch", "--precision", "fp32,bf16,fp16"}, 0);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& r : v["results"]) {
    const std::string k = r["backend"].get<std::string>() + ":" + r["precision"].get<std::string>();
    EXPECT_TRUE(rows.emplace(k, r).second) << "two rows for " << k;
  }
  ASSERT_EQ(rows.size(), 4U) << v.dump();  // libtorch offers bf16 only, on its checkpoint; openvino all three
  const auto& lt = rows.at("libtorch:bf16");
  EXPECT_EQ(fs::path(lt["artifact"].get<std::string>()), checkpoint_);
  EXPECT_EQ(lt["executed"]["precision"], "bf16") << lt.dump();
  EXPECT_EQ(lt["executed"]["forward_output_dtype"], "BFloat16");
  EXPECT_DOUBLE_EQ(lt["tolerance"]["min_agreement"].get<double>(), 0.98);
  for (const char* p : {"fp32", "bf16", "fp16"}) {
    const auto& r = rows.at(std::string("openvino:") + p);
    EXPECT_EQ(r["status"], "pass") << r.dump();
    EXPECT_EQ(r["artifact_precision"], "fp32");
    EXPECT_EQ(r["settings"]["requested"]["precision"], std::string(p) == "fp32" ? "f32" : std::string(p) == "bf16" ? "bf16" : "f16");
  }
  // What ran, from the runtime model: the reduced precision where the CPU computes it, else what the plugin chose.
  // An f16 hint on a CPU without FP16 arithmetic but with BF16 (AMD EPYC with avx512_bf16) runs in bf16:
  // the plugin's choice, shown in the row as asked fp16, ran bf16.
  EXPECT_EQ(rows.at("openvino:fp32")["executed"]["precision"], "fp32");
  EXPECT_EQ(rows.at("openvino:bf16")["executed"]["precision"], bf16 ? "bf16" : "fp32");
  EXPECT_EQ(rows.at("openvino:fp16")["executed"]["precision"], fp16 ? "fp16" : bf16 ? "bf16" : "fp32");

  // bench: four rows (two backends x fp32, bf16), each with its own variant's verify figures.
  const fs::path db = dir_->path() / "compute.db";
  const auto b = run_cli({"--quiet", "bench", checkpoint_.string(), ir.string(), "--backends",
                          "openvino,libtorch", "--precision", "fp32,bf16", "--tensors", tensors_.string(),
                          "--scenarios", "single-stream", "--warmup", "1", "--warmup-seconds", "0", "--min-count",
                          "30", "--min-seconds", "0", "--peak-seconds", "0", "--threads", "1", "--db", db.string(),
                          "--study", "s", "--work-dir", (dir_->path() / "work").string(), "--verify",
                          (vdir / "verify.json").string(), "--no-machine-lock"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto j = nlohmann::json::parse(
      run_cli({"results", "--db", db.string(), "export", "s", "--format", "json"}).out);
  std::set<std::string> seen;
  for (const auto& run : j["runs"]) {
    const auto& res = run["result"];
    const std::string k = res["backend"].get<std::string>() + ":" + res["precision"].get<std::string>();
    seen.insert(k);
    EXPECT_EQ(run["status"], "ok") << run.dump();
    ASSERT_TRUE(res["summary"].contains("verify")) << k;
    if (k != "libtorch:fp32") {  // the reference row has no agreement of its own to compare
      EXPECT_EQ(res["summary"]["verify"]["top1"], rows.at(k)["top1"]) << k;
      EXPECT_EQ(res["summary"]["verify"]["agreement"], rows.at(k)["agreement"]) << k;
    }
    EXPECT_EQ(run["configuration"].contains("requested_precision"), res["precision"] == "bf16") << run.dump();
  }
  EXPECT_EQ(seen, (std::set<std::string>{"libtorch:fp32", "libtorch:bf16", "openvino:fp32", "openvino:bf16"}));
  const auto c = run_cli({"compare", "s:openvino:fp32", "s:openvino:bf16", "--db", db.string(), "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(nlohmann::json::parse(c.out)["matches"].size(), 1U) << c.out;
}

TEST_F(PrecisionCli, AnInt8ModelThatFallsBackToFloatIsARecordedFailure) {
  const fs::path out = dir_->path() / "fallback";
  ASSERT_EQ(export_int8(out, {"--calibration-count", "8"}).exit_code, 0);
  // Without ORT's extended rewrites the QDQ pairs stay around float Conv
  // kernels: the same file, computed in float.
  const auto v = verify(out / "mobilenet_v2-int8.onnx", dir_->path() / "v-fallback",
                        {"--option", "onnxruntime:graph_optimization_level=basic"}, 6);
  ASSERT_EQ(v["results"].size(), 1U);
  const auto& row = v["results"][0];
  EXPECT_EQ(row["status"], "failed") << row.dump();
  EXPECT_TRUE(contains(row["reason"].get<std::string>(), "fell back to float")) << row.dump();
  EXPECT_TRUE(contains(row["reason"].get<std::string>(), "\"Conv\"")) << row.dump();
}

TEST_F(PrecisionCli, BadCalibrationInputsAreNamedAndTheOtherFormatsWritten) {
  auto r = export_int8(dir_->path() / "bad1", {"--calibration-count", "1000"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--calibration-count 1000")) << r.err;
  EXPECT_TRUE(contains(r.err, "has 24 images")) << r.err;

  r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", (dir_->path() / "bad2").string(), "--format",
               "onnx-int8"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "needs calibration images")) << r.err;

  r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", (dir_->path() / "bad3").string(), "--format",
               "onnx-int8", "--calibration", (dir_->path() / "nowhere").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "nowhere")) << r.err;

  const fs::path small = testutil::write_split_tensors(dir_->path() / "small", 4, 16, 3);
  r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", (dir_->path() / "bad4").string(), "--format",
               "onnx-int8", "--calibration", small.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "export the split with --size 32")) << r.err;

  // A quantizer that crashes: that variant fails, named, and every other format is written.
  const fs::path crash = dir_->path() / "crashing-python";
  testutil::write_text(crash, "#!/bin/sh\nkill -SEGV $$\n");
  ASSERT_EQ(chmod(crash.c_str(), 0755), 0);
  const fs::path out = dir_->path() / "crash";
  setenv("INFERBENCH_QUANTIZE_PYTHON", crash.c_str(), 1);
  r = run_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--calibration",
               calibration_.string(), "--json"});
  unsetenv("INFERBENCH_QUANTIZE_PYTHON");
  EXPECT_EQ(r.exit_code, 6) << r.err;  // finished, one variant failed
  const auto written = nlohmann::json::parse(r.out);
  bool int8_failed = false, onnx_ok = false, nncf_seen = false;
  for (const auto& w : written) {
    if (w["format"] == "onnx-int8") {
      int8_failed = w["status"] == "failed" && contains(w["reason"].get<std::string>(), "exited with status 139");
      EXPECT_TRUE(int8_failed) << w.dump();
    }
    if (w["format"] == "onnx") onnx_ok = w["status"] == "ok";
#ifdef INFERBENCH_TEST_OPENVINO_INT8
    if (w["format"] == "openvino-int8") {  // NNCF runs with the same interpreter: the same named failure
      nncf_seen = true;
      EXPECT_EQ(w["status"], "failed") << w.dump();
      EXPECT_TRUE(contains(w.value("reason", ""), "NNCF")) << w.dump();
      EXPECT_TRUE(contains(w.value("reason", ""), "exited with status 139")) << w.dump();
    }
#endif
  }
  EXPECT_TRUE(int8_failed) << r.out;
  EXPECT_TRUE(onnx_ok) << r.out;
#ifdef INFERBENCH_TEST_OPENVINO_INT8
  EXPECT_TRUE(nncf_seen) << r.out;
#else
  (void)nncf_seen;
#endif
  EXPECT_FALSE(fs::exists(out / "mobilenet_v2-int8.onnx"));
  EXPECT_FALSE(fs::exists(out / "mobilenet_v2-int8.xml"));
  EXPECT_TRUE(fs::exists(out / "mobilenet_v2.onnx"));
}

// Ctrl-C while the quantizer runs: it is forwarded to the quantizer, export
// exits 130 (not "failed, next variant") and writes no INT8 file. The stand-in
// quantizer says it started through a FIFO the test blocks on (no sleeps).
TEST_F(PrecisionCli, AnInterruptWhileQuantizingStopsTheExport) {
  const fs::path fifo = dir_->path() / "started.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const fs::path slow = dir_->path() / "slow-python";
  testutil::write_text(slow, "#!/bin/sh\necho started > '" + fifo.string() + "'\nexec sleep 600\n");
  ASSERT_EQ(chmod(slow.c_str(), 0755), 0);
  const fs::path out = dir_->path() / "interrupted";
  setenv("INFERBENCH_QUANTIZE_PYTHON", slow.c_str(), 1);
  const int pid = testutil::spawn_cli({"--quiet", "export", checkpoint_.string(), "--out", out.string(), "--format",
                                       "onnx-int8", "--calibration", calibration_.string()},
                                      dir_->path() / "interrupted.out", dir_->path() / "interrupted.err");
  unsetenv("INFERBENCH_QUANTIZE_PYTHON");
  {
    std::ifstream started(fifo);  // blocks until the stand-in quantizer runs
    std::string word;
    started >> word;
    EXPECT_EQ(word, "started");
  }
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(testutil::wait_cli(pid), 130);
  const std::string err = read_file_text(dir_->path() / "interrupted.err");
  EXPECT_TRUE(contains(err, "interrupted while ONNX Runtime's quantizer ran")) << err;
  EXPECT_FALSE(fs::exists(out / "mobilenet_v2-int8.onnx"));
  EXPECT_FALSE(fs::exists(out / "mobilenet_v2-int8.xml"));
}

}  // namespace
}  // namespace inferbench
