// Throughput of the image pipeline: decode + resize + normalise of in-memory
// 256x256 JPEGs to 224x224 float NCHW ImageNet tensors, per thread count.
// benchmarks/preprocess_pil.py does the same work with PIL + torchvision on
// the same files (--write_jpegs=DIR writes them); run_preprocess.sh runs both.
//
// OpenCV's own thread pool is limited to one thread: each benchmark thread
// must use exactly one core, or the "one thread" figure would borrow others.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/rng.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "data/tensor_file.h"

namespace {

using inferbench::Rng;
namespace data = inferbench::data;

constexpr int kImages = 64;
constexpr int kSide = 256;

// Photo-like content so the JPEG decoder does realistic work: a smooth
// colour field, a few solid shapes with hard edges, blur, then sensor-like
// noise. Flat synthetic patterns decode several times faster than photos.
cv::Mat synthetic_photo(std::uint64_t seed) {
  Rng rng(seed);
  cv::Mat f(kSide, kSide, CV_32FC3);
  double fx[3];
  double fy[3];
  double ph[3];
  for (int c = 0; c < 3; ++c) {
    fx[c] = rng.uniform(0.005, 0.04);
    fy[c] = rng.uniform(0.005, 0.04);
    ph[c] = rng.uniform(0.0, 6.28);
  }
  for (int y = 0; y < kSide; ++y) {
    auto* row = f.ptr<cv::Vec3f>(y);
    for (int x = 0; x < kSide; ++x) {
      for (int c = 0; c < 3; ++c) {
        row[x][c] = static_cast<float>(128.0 + 90.0 * std::sin(fx[c] * x + fy[c] * y + ph[c]));
      }
    }
  }
  for (int i = 0; i < 6; ++i) {
    const cv::Scalar colour(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
    const cv::Point centre(rng.uniform_int(0, kSide - 1), rng.uniform_int(0, kSide - 1));
    const cv::Size axes(rng.uniform_int(10, 70), rng.uniform_int(10, 70));
    cv::ellipse(f, centre, axes, rng.uniform(0, 180), 0, 360, colour, cv::FILLED, cv::LINE_AA);
  }
  cv::GaussianBlur(f, f, cv::Size(0, 0), 1.2);
  cv::Mat noise(kSide, kSide, CV_32FC3);
  cv::randn(noise, 0.0, 10.0);  // from cv::theRNG(), seeded by the caller
  f += noise;
  cv::Mat out;
  f.convertTo(out, CV_8UC3);
  return out;
}

const std::vector<std::vector<std::uint8_t>>& jpegs() {
  static const std::vector<std::vector<std::uint8_t>> files = [] {
    std::vector<std::vector<std::uint8_t>> v;
    for (int i = 0; i < kImages; ++i) {
      std::vector<std::uint8_t> buf;
      cv::theRNG().state = static_cast<std::uint64_t>(i) + 1000;
      cv::imencode(".jpg", synthetic_photo(static_cast<std::uint64_t>(i)), buf, {cv::IMWRITE_JPEG_QUALITY, 90});
      v.push_back(std::move(buf));
    }
    return v;
  }();
  return files;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

const char* mode_name(bool direct) { return direct ? "direct" : "resize256+crop224"; }

data::PreprocessConfig config(bool direct) {
  data::PreprocessConfig cfg = data::PreprocessConfig::preset("imagenet", 224);  // resize 256, crop 224
  cfg.interpolation = data::Interpolation::kBilinear;
  if (direct) cfg.resize_mode = data::ResizeMode::kDirect;
  return cfg;
}

// Arg 0: Resize(256) + CenterCrop(224) (a no-op resize for 256x256 inputs);
// arg 1: direct bilinear 256 -> 224 resize.
void BM_DecodeResizeNormalize(benchmark::State& state) {
  const auto& files = jpegs();
  const auto cfg = config(state.range(0) == 1);
  std::vector<float> out(cfg.tensor_size());
  auto i = static_cast<std::size_t>(state.thread_index()) * 17;
  const double cpu_start = thread_cpu_seconds();
  for (auto _ : state) {
    const auto decoded = data::decode_image(files[i++ % files.size()]);
    if (!decoded.ok()) {
      state.SkipWithError("decode failed");
      break;
    }
    data::preprocess_into(decoded.rgb, cfg, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  // Images per CPU-second of this thread, averaged over threads: the per-core
  // rate, which other load on a shared machine does not dilute.
  state.counters["images_per_cpu_second"] = benchmark::Counter(
      static_cast<double>(state.iterations()) / (thread_cpu_seconds() - cpu_start), benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(mode_name(state.range(0) == 1));
}
BENCHMARK(BM_DecodeResizeNormalize)->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime()->MinTime(2.0);

// The parts alone, one thread, to show where the time goes.
void BM_DecodeOnly(benchmark::State& state) {
  const auto& files = jpegs();
  std::size_t i = 0;
  for (auto _ : state) {
    auto decoded = data::decode_image(files[i++ % files.size()]);
    benchmark::DoNotOptimize(decoded.rgb.data);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeOnly)->UseRealTime();

void BM_ResizeOnly(benchmark::State& state) {
  const auto rgb = data::decode_image(jpegs()[0]).rgb;
  const auto cfg = config(true);
  for (auto _ : state) {
    auto sized = data::resize_and_crop(rgb, cfg);
    benchmark::DoNotOptimize(sized.data);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResizeOnly)->UseRealTime();

void BM_NormalizeOnly(benchmark::State& state) {
  const auto cfg = config(true);
  const auto sized = data::resize_and_crop(data::decode_image(jpegs()[0]).rgb, cfg);
  std::vector<float> out(cfg.tensor_size());
  for (auto _ : state) {
    data::normalize_into(sized, cfg, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NormalizeOnly)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  cv::setNumThreads(1);
  // Our one flag, taken out before Google Benchmark sees the rest.
  std::vector<char*> args;
  std::string jpeg_dir;
  for (int i = 0; i < argc; ++i) {
    constexpr std::string_view kFlag = "--write_jpegs=";
    if (std::string_view(argv[i]).starts_with(kFlag)) {
      jpeg_dir = std::string(argv[i] + kFlag.size());
    } else {
      args.push_back(argv[i]);
    }
  }
  if (!jpeg_dir.empty()) {
    std::filesystem::create_directories(jpeg_dir);
    std::size_t total = 0;
    for (std::size_t i = 0; i < jpegs().size(); ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "img%03zu.jpg", i);
      std::ofstream(std::filesystem::path(jpeg_dir) / name, std::ios::binary)
          .write(reinterpret_cast<const char*>(jpegs()[i].data()), static_cast<std::streamsize>(jpegs()[i].size()));
      total += jpegs()[i].size();
    }
    // The first image's tensors, so preprocess_pil.py can report how far its output is from ours.
    const auto rgb = data::decode_image(jpegs()[0]).rgb;
    for (const bool direct : {false, true}) {
      const auto cfg = config(direct);
      std::vector<float> out(cfg.tensor_size());
      data::preprocess_into(rgb, cfg, out.data());
      data::write_npy(std::filesystem::path(jpeg_dir) / (std::string("img000.") + mode_name(direct) + ".npy"),
                      out.data(), {3, cfg.image_size, cfg.image_size});
    }
    std::cerr << "wrote " << jpegs().size() << " JPEGs (" << total / jpegs().size() << " bytes on average) to "
              << jpeg_dir << "\n";
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
