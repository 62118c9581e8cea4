// Writes the seed corpora of the harnesses (all but pickle and pth, which
// make_seeds.py writes with Python's own pickle and torch.save), each input
// made by the code that writes that format, so that a seed is what the
// parser meets in real use:
//   fuzz_make_seeds OUT   ->  OUT/<harness>/<name>
#include <fmt/format.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/files.h"
#include "data/manifest.h"
#include "data/tensor_file.h"
#include "model/builders.h"
#include "model/ir.h"
#include "pipeline/run.h"
#include "split_fixture.h"
#include "worker/job.h"

namespace fs = std::filesystem;
using namespace inferbench;
using nlohmann::json;

namespace {

fs::path g_out;

void put(const std::string& harness, const std::string& name, std::string_view bytes) {
  fs::create_directories(g_out / harness);
  write_file_atomic(g_out / harness / name, bytes);
}

void put_file(const std::string& harness, const std::string& name, const fs::path& from) {
  put(harness, name, read_file_text(from));
}

void csv_seeds() {
  put("csv", "plain", "a,b,c\n1,2,3\n");
  put("csv", "quoted", csv_row({"with,comma", "with \"quote\"", "multi\nline", ""}) + "x,y\r\nlast");
  put("csv", "empty-fields", ",,\n\n\"\"\n");
}

void manifest_seeds() {
  data::Manifest m;
  data::ManifestEntry used;
  used.path = "/data/apple/a,1.jpg";
  used.label = "apple";
  used.source_split = "train";
  used.split = data::Split::kTrain;
  used.hash = "0123456789abcdef0123456789abcdef";
  used.format = "jpeg";
  used.width = 128;
  used.height = 96;
  used.color = "rgb";
  used.bytes = 4096;
  used.repeat = 2;
  used.weight = 1.25;
  m.entries.push_back(used);
  data::ManifestEntry test = used;
  test.path = "/data/banana/\"b\".png";
  test.label = "banana";
  test.split = data::Split::kTest;
  test.format = "png";
  test.color = "gray";
  test.converted = true;
  test.repeat = 1;
  test.weight = 1.0;
  m.entries.push_back(test);
  data::ManifestEntry rejected;
  rejected.path = "/data/cherry/empty.jpg";
  rejected.label = "cherry";
  rejected.status = data::Status::kRejected;
  rejected.reason = std::string(data::reason::kZeroBytes);
  m.entries.push_back(rejected);
  data::ManifestEntry excluded = used;
  excluded.path = "/data/unlabeled/x.webp";
  excluded.label = "";
  excluded.split = data::Split::kNone;
  excluded.status = data::Status::kExcluded;
  excluded.reason = std::string(data::reason::kUnlabeled);
  m.entries.push_back(excluded);
  const fs::path tmp = g_out / "manifest.tmp.csv";
  data::write_manifest(tmp, m);
  put_file("manifest", "four-entries.csv", tmp);
  data::write_manifest(tmp, data::Manifest{});
  put_file("manifest", "header-only.csv", tmp);
  fs::remove(tmp);
}

void config_seeds() {
  put("config", "defaults.json", pipeline::default_config().dump(2));
  put("config", "empty.json", "{}");
  put("config", "small.json",
      json{{"synth", {{"per-class", 20}, {"size", 64}}},
           {"models", {{{"model", "mobilenet_v2"}, {"size", 32}, {"train", {{"epochs", 1}}}}}},
           {"bench",
            {{"backends", {"onnxruntime", "openvino"}},
             {"scenarios", {"single-stream", "offline"}},
             {"threads", {1, 2}},
             {"options", {{"onnxruntime", {{"graph_optimization", "all"}}}}},
             {"timing", {{"min_count", 10}, {"min_seconds", 0.1}, {"max_seconds", 1.0}}}}}}
          .dump());
  put("config", "plan.json",
      json{{"scenarios", {"batch", "cold-start"}}, {"batches", {1, 8}}, {"cold_runs", 3}, {"seed", 7},
           {"timeout_s", 60.0}, {"memory_bytes", 1 << 30}, {"order", "random"}}
          .dump());
}

void ir_seeds() {
  for (const auto& name : model::known_models()) {
    json j;
    model::to_json(j, model::build_model(name, 10));
    put("ir", name + ".json", j.dump());
  }
  model::BuildOptions narrow;
  narrow.width_mult = 0.25;
  json j;
  model::to_json(j, model::build_model("mobilenet_v2", 3, narrow));
  put("ir", "mobilenet_v2-0.25.json", j.dump());
}

void npy_seeds() {
  const fs::path tmp = g_out / "npy.tmp";
  const std::vector<float> f{0.5F, -1.0F, 2.0F, 3.0F, 4.0F, 5.0F};
  const std::vector<std::int64_t> i{1, 2, 3, -4};
  data::write_npy(tmp, f.data(), {2, 3});
  put_file("npy", "f4-2x3.npy", tmp);
  data::write_npy(tmp, f.data(), {});
  put_file("npy", "f4-scalar.npy", tmp);
  data::write_npy(tmp, i.data(), {4});
  put_file("npy", "i8-4.npy", tmp);
  data::write_npy(tmp, i.data(), {0, 3});
  put_file("npy", "i8-0x3.npy", tmp);
  put("npy", "u1-3.npy", data::npy_header("|u1", {3}) + std::string("\x01\x02\x03", 3));
  fs::remove(tmp);
}

void split_seeds() {
  const fs::path dir = g_out / "split.tmp";
  fs::create_directories(dir);
  const json meta = fuzz::write_split_fixture(dir);
  put("split_tensors", "meta.json", meta.dump(2));
  json nhwc = meta;
  nhwc["preprocess"]["layout"] = "nhwc";
  put("split_tensors", "meta-nhwc.json", nhwc.dump());
  fs::remove_all(dir);
}

void image_seeds() {
  cv::Mat bgr(6, 5, CV_8UC3);
  cv::randu(bgr, 0, 255);
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  cv::Mat deep;
  bgr.convertTo(deep, CV_16UC3, 257.0);
  const auto enc = [](const std::string& name, const std::string& ext, const cv::Mat& img,
                      const std::vector<int>& params = {}) {
    std::vector<std::uint8_t> buf;
    if (!cv::imencode(ext, img, buf, params)) throw std::runtime_error("imencode " + ext + " failed");
    put("image", name, std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
  };
  enc("rgb.jpg", ".jpg", bgr);
  enc("progressive.jpg", ".jpg", bgr, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  enc("gray.jpg", ".jpg", gray);
  enc("rgb.png", ".png", bgr);
  enc("gray.png", ".png", gray);
  enc("rgba.png", ".png", bgra);
  enc("rgb16.png", ".png", deep);
  enc("rgb.bmp", ".bmp", bgr);
  enc("gray.bmp", ".bmp", gray);
  enc("rgb.webp", ".webp", bgr);
  enc("lossless.webp", ".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 101});
}

void worker_seeds() {
  worker::Job verify;
  verify.backend = "onnxruntime";
  verify.artifact = "/out/export/mobilenet_v2/mobilenet_v2.onnx";
  verify.options = {{"graph_optimization", "all"}};
  verify.tensors = "/out/tensors/test-64-imagenet";
  verify.dir = "/out/work/00001-0";
  put("worker_job", "verify.json", worker::to_json(verify).dump(2));
  worker::Job bench = verify;
  bench.mode = "bench";
  bench.bench.scenario = "offline";
  bench.bench.concurrency = 2;
  bench.bench.max_count = 1000;
  bench.threads = 2;
  bench.write_logits = false;
  put("worker_job", "bench.json", worker::to_json(bench).dump());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  csv_seeds();
  manifest_seeds();
  config_seeds();
  ir_seeds();
  npy_seeds();
  split_seeds();
  image_seeds();
  worker_seeds();
  return 0;
}
