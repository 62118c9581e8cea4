#include "data/tensor_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "testutil/fixtures.h"

namespace inferbench::data {
namespace {

namespace fs = std::filesystem;
using testutil::TempDir;

std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no inferbench::Error thrown";
  return {};
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// Debian's interpreter, where python3-numpy lives (not a pyenv python3 on PATH).
constexpr const char* kPython = "/usr/bin/python3";

bool have_numpy() {
  static const bool ok = std::system((std::string(kPython) + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

std::string run_python(const std::string& script) {
  const std::string cmd = std::string(kPython) + " -c \"" + script + "\" 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  pclose(p);
  return out;
}

TEST(Npy, HeaderBytesMatchNumpySave) {
  // As numpy.save writes it: 21-digit growth room on the first dimension,
  // spaces to a 64-byte boundary, '\n'. 0x76 = 118 header bytes, 128 in all.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string expected =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(118 - dict.size() - 1, ' ') + "\n";
  EXPECT_EQ(npy_header("<f4", {2, 3}), expected);
  const std::string one_d = npy_header("<i8", {5});
  EXPECT_EQ(one_d.size(), 128U);
  EXPECT_NE(one_d.find("'shape': (5,), }"), std::string::npos);
  EXPECT_EQ(npy_header("|u1", {}).find("'shape': (), }"), 51U);
  for (const auto& shape : std::vector<std::vector<std::int64_t>>{{1}, {123456789012, 3, 224, 224}, {0, 7}}) {
    const std::string h = npy_header("<f4", shape);
    EXPECT_EQ(h.size() % 64, 0U);
    EXPECT_EQ(h.back(), '\n');
    EXPECT_EQ(static_cast<std::size_t>(static_cast<unsigned char>(h[8]) | (static_cast<unsigned char>(h[9]) << 8)),
              h.size() - 10);
  }
}

TEST(Npy, RoundTripFloatAndInt) {
  TempDir dir;
  const std::vector<float> f{1.5F, -2.0F, 3.25F, 0.0F, 1e-7F, 42.0F};
  write_npy(dir / "f.npy", f.data(), {2, 3});
  const NpyArray a = read_npy(dir / "f.npy");
  EXPECT_EQ(a.dtype, "<f4");
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  ASSERT_EQ(a.element_count(), 6U);
  EXPECT_EQ(std::vector<float>(a.as_f32(), a.as_f32() + 6), f);
  EXPECT_THROW((void)a.as_i64(), std::logic_error);

  const std::vector<std::int64_t> i{7, -1, 1LL << 40};
  write_npy(dir / "i.npy", i.data(), {3});
  const NpyArray b = read_npy(dir / "i.npy");
  EXPECT_EQ(b.dtype, "<i8");
  EXPECT_EQ(std::vector<std::int64_t>(b.as_i64(), b.as_i64() + 3), i);
  EXPECT_THROW((void)b.as_f32(), std::logic_error);

  write_npy(dir / "empty.npy", static_cast<const float*>(nullptr), {0, 3});
  EXPECT_EQ(read_npy(dir / "empty.npy").element_count(), 0U);
  EXPECT_EQ(fs::file_size(dir / "f.npy"), 128U + 24U);
}

TEST(Npy, ReadErrorsNameTheFile) {
  TempDir dir;
  const std::vector<float> f(12, 1.0F);
  write_npy(dir / "good.npy", f.data(), {3, 4});
  auto good = read_file_bytes(dir / "good.npy");

  auto truncated = good;
  truncated.resize(truncated.size() - 4);
  testutil::write_bytes(dir / "truncated.npy", truncated);
  std::string msg = input_error([&] { read_npy(dir / "truncated.npy"); });
  EXPECT_NE(msg.find("truncated.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  auto magic = good;
  magic[1] = 'X';
  testutil::write_bytes(dir / "magic.npy", magic);
  msg = input_error([&] { read_npy(dir / "magic.npy"); });
  EXPECT_NE(msg.find("magic.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad magic"), std::string::npos) << msg;

  // Same header length, so only the dtype differs.
  std::string f8 = npy_header("<f4", {3, 4});
  f8.replace(f8.find("<f4"), 3, "<f8");
  auto f8_bytes = bytes_of(f8);
  f8_bytes.resize(f8_bytes.size() + 96);
  testutil::write_bytes(dir / "f8.npy", f8_bytes);
  msg = input_error([&] { read_npy(dir / "f8.npy"); });
  EXPECT_NE(msg.find("f8.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'<f8'"), std::string::npos) << msg;

  std::string fortran = npy_header("<f4", {3, 4});
  fortran.replace(fortran.find("False"), 5, "True ");
  auto fortran_bytes = bytes_of(fortran);
  fortran_bytes.resize(fortran_bytes.size() + 48);
  testutil::write_bytes(dir / "fortran.npy", fortran_bytes);
  msg = input_error([&] { read_npy(dir / "fortran.npy"); });
  EXPECT_NE(msg.find("Fortran"), std::string::npos) << msg;

  auto version = good;
  version[6] = 9;
  testutil::write_bytes(dir / "version.npy", version);
  msg = input_error([&] { read_npy(dir / "version.npy"); });
  EXPECT_NE(msg.find("version 9"), std::string::npos) << msg;

  auto longer = good;
  longer.push_back(0);
  testutil::write_bytes(dir / "longer.npy", longer);
  EXPECT_NE(input_error([&] { read_npy(dir / "longer.npy"); }).find("longer.npy"), std::string::npos);

  testutil::write_bytes(dir / "tiny.npy", {0x93, 'N'});
  EXPECT_NE(input_error([&] { read_npy(dir / "tiny.npy"); }).find("tiny.npy"), std::string::npos);
  EXPECT_NE(input_error([&] { read_npy(dir / "absent.npy"); }).find("absent.npy"), std::string::npos);
}

TEST(Npy, CrossReadsWithNumpy) {
  if (!have_numpy()) GTEST_SKIP() << "numpy is not importable by " << kPython << " (apt-get install python3-numpy)";
  TempDir dir;
  const std::vector<float> f{0.5F, 1.5F, -2.5F, 4.0F, 8.0F, 16.0F};
  write_npy(dir / "ours.npy", f.data(), {3, 2});
  const std::string ours = (dir / "ours.npy").string();
  const std::string theirs = (dir / "theirs.npy").string();
  const std::string resaved = (dir / "resaved.npy").string();
  // numpy.save of what it read from our file must give back our file byte for byte.
  const std::string out = run_python("import numpy as np; a = np.load('" + ours + "');"
                                     " print(a.dtype, a.shape, a.sum(), a[2, 1]); np.save('" + resaved + "', a);"
                                     " print(open('" + ours + "', 'rb').read() ==" +
                                     " open('" + resaved + "', 'rb').read());"
                                     " np.save('" + theirs + "', np.arange(6, dtype=np.float32).reshape(3, 2));"
                                     " np.save('" + theirs + ".i8', np.array([3, -4], dtype=np.int64))");
  EXPECT_EQ(out, "float32 (3, 2) 27.5 16.0\nTrue\n");
  const NpyArray back = read_npy(theirs);
  EXPECT_EQ(back.shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(back.as_f32()[5], 5.0F);
  const NpyArray ints = read_npy(theirs + ".i8.npy");
  EXPECT_EQ(ints.as_i64()[1], -4);
}

class SplitTensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifest_.classes = {"apple", "kiwi"};
    for (int i = 0; i < 5; ++i) {
      const auto path = testutil::write_image(dir_ / ("img" + std::to_string(i) + ".png"),
                                              testutil::pattern_image(30 + 3 * i, 24, static_cast<std::uint64_t>(i)));
      ManifestEntry e;
      e.path = path.string();
      e.label = i % 2 == 0 ? "apple" : "kiwi";
      e.split = i == 2 ? Split::kTrain : Split::kTest;  // one entry of another split, left out
      e.hash = content_hash(std::span<const std::uint8_t>(read_file_bytes(path)));
      e.format = "png";
      manifest_.entries.push_back(e);
    }
    manifest_.entries[3].status = Status::kRejected;  // not used: left out too
    config_ = PreprocessConfig::preset("imagenet", 16);
  }

  TempDir dir_;
  Manifest manifest_;
  PreprocessConfig config_;
};

TEST_F(SplitTensorsTest, ExportsUsedTestEntriesInManifestOrder) {
  const auto out = export_split_tensors(manifest_, Split::kTest, config_, dir_ / "tensors", 2);
  EXPECT_EQ(out.count, 3U);
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{3, 3, 16, 16}));

  const SplitTensors t = load_split_tensors(dir_ / "tensors");
  EXPECT_EQ(t.count, 3U);
  EXPECT_EQ(t.split, Split::kTest);
  EXPECT_EQ(t.classes, manifest_.classes);
  EXPECT_EQ(t.preprocess.image_size, 16);
  EXPECT_EQ(t.x.shape, out.shape);
  const std::vector<std::size_t> used{0, 1, 4};
  ASSERT_EQ(t.image_paths.size(), 3U);
  const std::size_t n = config_.tensor_size();
  for (std::size_t k = 0; k < used.size(); ++k) {
    const auto& e = manifest_.entries[used[k]];
    EXPECT_EQ(t.image_paths[k], e.path);
    EXPECT_EQ(t.image_hashes[k], e.hash);
    EXPECT_EQ(t.y.as_i64()[k], manifest_.class_index(e.label));
    const auto expected = preprocess_file(e.path, config_);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), t.x.as_f32() + k * n)) << e.path;
  }

  const auto meta = nlohmann::json::parse(read_file_text(out.meta_path));
  EXPECT_EQ(meta.at("format_version"), kSplitTensorsFormatVersion);
  EXPECT_EQ(meta.at("layout"), "nchw");
  EXPECT_EQ(meta.at("dtype"), "float32");
  EXPECT_EQ(meta.at("files").at("x.npy").at("hash"),
            content_hash(std::span<const std::uint8_t>(read_file_bytes(out.x_path))));
  EXPECT_EQ(meta.at("preprocess").at("interpolation"), "bilinear");
}

TEST_F(SplitTensorsTest, NhwcLayoutIsRecorded) {
  config_.layout = Layout::kNHWC;
  const auto out = export_split_tensors(manifest_, Split::kTest, config_, dir_ / "nhwc", 1);
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{3, 16, 16, 3}));
  EXPECT_EQ(load_split_tensors(dir_ / "nhwc").preprocess.layout, Layout::kNHWC);
}

// What a worker does for a TensorFlow file (NHWC) fed the NCHW test tensors:
// the transpose gives exactly the tensors preprocessing in NHWC writes, and
// back again the NCHW ones.
TEST_F(SplitTensorsTest, ToLayoutGivesWhatPreprocessingInThatLayoutWrites) {
  export_split_tensors(manifest_, Split::kTest, config_, dir_ / "nchw", 1);
  config_.layout = Layout::kNHWC;
  export_split_tensors(manifest_, Split::kTest, config_, dir_ / "nhwc", 1);
  const SplitTensors nchw = load_split_tensors(dir_ / "nchw");
  const SplitTensors nhwc = load_split_tensors(dir_ / "nhwc");

  SplitTensors t = load_split_tensors(dir_ / "nchw");
  to_layout(t, Layout::kNHWC);
  EXPECT_EQ(t.preprocess.layout, Layout::kNHWC);
  EXPECT_EQ(t.x.shape, nhwc.x.shape);
  EXPECT_EQ(t.x.bytes, nhwc.x.bytes);
  to_layout(t, Layout::kNHWC);  // already: unchanged
  EXPECT_EQ(t.x.bytes, nhwc.x.bytes);
  to_layout(t, Layout::kNCHW);
  EXPECT_EQ(t.x.shape, nchw.x.shape);
  EXPECT_EQ(t.x.bytes, nchw.x.bytes);
  EXPECT_EQ(t.y.bytes, nchw.y.bytes);  // labels and order untouched

  SplitTensors bad = load_split_tensors(dir_ / "nchw");
  bad.x.shape = {static_cast<std::int64_t>(bad.x.element_count())};
  testutil::expect_error([&] { to_layout(bad, Layout::kNHWC); }, ExitCode::kInput, "cannot be transposed");
}

TEST_F(SplitTensorsTest, ReaderRejectsTamperedFilesNamingThem) {
  const fs::path d = dir_ / "t";
  export_split_tensors(manifest_, Split::kTest, config_, d, 2);

  auto x = read_file_bytes(d / "x.npy");
  x[200] ^= 1;
  testutil::write_bytes(d / "x.npy", x);
  std::string msg = input_error([&] { load_split_tensors(d); });
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hash"), std::string::npos) << msg;

  export_split_tensors(manifest_, Split::kTest, config_, d, 2);
  auto meta = nlohmann::json::parse(read_file_text(d / "meta.json"));
  meta["count"] = 4;
  write_file_atomic(d / "meta.json", meta.dump());
  msg = input_error([&] { load_split_tensors(d); });
  EXPECT_NE(msg.find("meta.json"), std::string::npos) << msg;

  export_split_tensors(manifest_, Split::kTest, config_, d, 2);
  fs::remove(d / "y.npy");
  msg = input_error([&] { load_split_tensors(d); });
  EXPECT_NE(msg.find("y.npy"), std::string::npos) << msg;

  write_file_atomic(d / "meta.json", std::string_view("{not json"));
  msg = input_error([&] { load_split_tensors(d); });
  EXPECT_NE(msg.find("meta.json"), std::string::npos) << msg;
}

TEST_F(SplitTensorsTest, EmptySplitAndBadImageAreInputErrors) {
  std::string msg = input_error([&] { export_split_tensors(manifest_, Split::kVal, config_, dir_ / "v", 1); });
  EXPECT_NE(msg.find("val"), std::string::npos) << msg;

  testutil::write_text(manifest_.entries[1].path, "corrupt");
  msg = input_error([&] { export_split_tensors(manifest_, Split::kTest, config_, dir_ / "c", 2); });
  EXPECT_NE(msg.find("img1.png"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir_ / "c" / "meta.json"));
}

}  // namespace
}  // namespace inferbench::data
