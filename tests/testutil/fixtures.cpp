#include "testutil/fixtures.h"

#include <fcntl.h>
#include <jpeglib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <stdexcept>

#include "common/files.h"
#include "common/hash.h"
#include "common/rng.h"
#include "data/manifest.h"
#include "data/tensor_file.h"

namespace inferbench::testutil {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "inferbench-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

cv::Mat pattern_image(int width, int height, std::uint64_t seed) {
  Rng rng(seed);
  cv::Mat img(height, width, CV_8UC3);
  const int base[3] = {rng.uniform_int(0, 255), rng.uniform_int(0, 255), rng.uniform_int(0, 255)};
  const int fx = rng.uniform_int(1, 7);
  const int fy = rng.uniform_int(1, 7);
  for (int y = 0; y < height; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        row[x][c] = static_cast<std::uint8_t>((base[c] + x * fx + y * fy * (c + 1)) % 256);
      }
    }
  }
  return img;
}

std::vector<std::uint8_t> encode_image(const std::string& ext, const cv::Mat& image) {
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(ext, image, buf)) throw std::runtime_error("imencode failed for " + ext);
  return buf;
}

fs::path write_image(const fs::path& path, const cv::Mat& image) {
  write_bytes(path, encode_image(path.extension().string(), image));
  return path;
}

void write_cmyk_jpeg(const fs::path& path, int width, int height) {
  fs::create_directories(path.parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path.string());
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, JCS_CMYK);
  jpeg_set_quality(&cinfo, 90, TRUE);
  cinfo.write_Adobe_marker = TRUE;
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<JSAMPLE> row(static_cast<std::size_t>(width) * 4);
  while (cinfo.next_scanline < cinfo.image_height) {
    const auto y = static_cast<int>(cinfo.next_scanline);
    for (int x = 0; x < width; ++x) {
      row[x * 4 + 0] = static_cast<JSAMPLE>(255 - (x * 255 / width));  // inverted C
      row[x * 4 + 1] = static_cast<JSAMPLE>(255 - (y * 255 / height));
      row[x * 4 + 2] = 200;
      row[x * 4 + 3] = 255;  // inverted K = no black
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_text(const fs::path& path, const std::string& text) {
  write_bytes(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

namespace {

// fork + exec rather than posix_spawn, so the child can get resource limits.
int start_child(const std::vector<std::string>& args, const fs::path& out, const fs::path& err,
                std::uint64_t file_size_limit) {
  std::vector<std::string> argv_s;
  argv_s.emplace_back(INFERBENCH_CLI);
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in_fd = open("/dev/null", O_RDONLY);
    const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    if (file_size_limit > 0) {
      signal(SIGXFSZ, SIG_IGN);  // fail the write with EFBIG instead of killing the process
      const rlimit lim{file_size_limit, file_size_limit};
      setrlimit(RLIMIT_FSIZE, &lim);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

int spawn_cli(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  return start_child(args, out, err, 0);
}

int wait_cli(int pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options) {
  TempDir io;
  const auto out_path = io / "stdout";
  const auto err_path = io / "stderr";
  CliResult result;
  result.exit_code = wait_cli(start_child(args, out_path, err_path, options.file_size_limit));
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

fs::path write_split_tensors(const fs::path& dir, int count, int size, int classes, std::uint64_t seed) {
  data::Manifest manifest;
  for (int k = 0; k < classes; ++k) manifest.classes.push_back("class" + std::to_string(k));
  for (int i = 0; i < count; ++i) {
    const auto path = write_image(dir / "images" / ("img" + std::to_string(i) + ".png"),
                                  pattern_image(size + 8, size + 4, seed * 1000 + static_cast<std::uint64_t>(i)));
    data::ManifestEntry e;
    e.path = path.string();
    e.label = manifest.classes[static_cast<std::size_t>(i % classes)];
    e.split = data::Split::kTest;
    e.hash = content_hash(std::span<const std::uint8_t>(read_file_bytes(path)));
    e.format = "png";
    manifest.entries.push_back(e);
  }
  const fs::path out = dir / "tensors";
  data::export_split_tensors(manifest, data::Split::kTest, data::PreprocessConfig::preset("imagenet", size), out, 1);
  return out;
}

}  // namespace inferbench::testutil
