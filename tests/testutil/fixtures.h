#pragma once
// Fixtures the tests make for themselves: temporary trees, images of every
// kind (including broken ones), and a way to run the inferbench binary.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "common/error.h"

namespace inferbench::testutil {

// A fresh directory under the system temp dir, removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// A w x h CV_8UC3 (BGR, as OpenCV writes) image with a seeded pattern, so
// different seeds give different file contents.
cv::Mat pattern_image(int width, int height, std::uint64_t seed);

// Encodes with OpenCV by the extension of `path` (.jpg/.png/.bmp/.webp) and
// writes it, creating parent directories. Returns the path.
std::filesystem::path write_image(const std::filesystem::path& path, const cv::Mat& image);
std::vector<std::uint8_t> encode_image(const std::string& ext, const cv::Mat& image);

// A 4-component (CMYK, Adobe-inverted as Photoshop writes) JPEG, via libjpeg.
void write_cmyk_jpeg(const std::filesystem::path& path, int width, int height);

void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes);
void write_text(const std::filesystem::path& path, const std::string& text);

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs f() and expects an inferbench::Error with this exit code whose
// message contains `needle`.
template <typename F>
void expect_error(F&& f, ExitCode code, const std::string& needle) {
  try {
    f();
    FAIL() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

struct CliOptions {
  // RLIMIT_FSIZE for the child: writes past this many bytes fail (EFBIG), as
  // on a full disk. 0 = no limit.
  std::uint64_t file_size_limit = 0;
};

// Runs the built inferbench binary with `args` (no shell), capturing output.
CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options = {});

// Starts the binary without waiting; stdout/stderr go to the given files.
// Returns the child's pid (reap it with wait_cli).
int spawn_cli(const std::vector<std::string>& args, const std::filesystem::path& out, const std::filesystem::path& err);
// Waits for a spawned child; returns its exit code, or 128 + signal.
int wait_cli(int pid);

// A preprocessed test split as `data export-tensors` writes it (x.npy,
// y.npy, meta.json): `count` pattern images cycling through `classes` class
// names ("class0", ...), preprocessed to size x size with the imagenet preset.
std::filesystem::path write_split_tensors(const std::filesystem::path& dir, int count, int size, int classes,
                                          std::uint64_t seed = 1);

}  // namespace inferbench::testutil
