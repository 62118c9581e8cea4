// End-to-end tests of the inferbench binary: flags, exit codes, outputs.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/files.h"
#include "data/manifest.h"
#include "data/tensor_file.h"
#include "testutil/fixtures.h"
#include "testutil/text.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using testutil::run_cli;
using testutil::TempDir;

std::string fmt(int i) { return "img_" + std::to_string(i) + ".jpeg"; }

using testutil::contains;

TEST(CliTest, VersionNamesBuildAndLibraries) {
  const auto r = run_cli({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "inferbench 0.1.0 (commit ")) << r.out;
  EXPECT_TRUE(contains(r.out, "OpenCV 4.")) << r.out;
  EXPECT_TRUE(contains(r.out, "build: ")) << r.out;
}

// The commit a build records is the tree's at build time, not at the first
// `cmake` of the build folder (an incremental build after new commits had
// recorded the old one in every result): the source tree's HEAD now.
TEST(CliTest, VersionRecordsTheCommitTheBinaryWasBuiltFrom) {
  const std::string source = INFERBENCH_SOURCE_DIR;
  std::string head;
  if (FILE* p = ::popen(("git -C '" + source + "' rev-parse --short=12 HEAD 2>/dev/null").c_str(), "r")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, p) != nullptr) head = buf;
    ::pclose(p);
  }
  while (!head.empty() && (head.back() == '\n' || head.back() == ' ')) head.pop_back();
  const auto r = run_cli({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (head.empty()) {
    EXPECT_TRUE(contains(r.out, "(commit unknown")) << r.out;  // not a git checkout
  } else {
    EXPECT_TRUE(contains(r.out, "(commit " + head)) << "HEAD is " << head << "; the binary says:\n" << r.out;
  }
}

TEST(CliTest, HelpOnEveryLevelShowsDefaults) {
  auto r = run_cli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "data")) << r.out;
  EXPECT_TRUE(contains(r.out, "Exit codes")) << r.out;
  r = run_cli({"data", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"scan", "split", "synth", "export-tensors"}) EXPECT_TRUE(contains(r.out, sub)) << sub;
  r = run_cli({"data", "scan", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "--min-size")) << r.out;
  EXPECT_TRUE(contains(r.out, "32")) << "default of --min-size not shown:\n" << r.out;
  r = run_cli({"data", "split", "--help"});
  EXPECT_TRUE(contains(r.out, "0.7")) << r.out;
}

TEST(CliTest, ModelInfoPrintsTorchvisionsParameterCount) {
  const auto r = run_cli({"model", "info", "mobilenet_v2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "total: 3,504,872 parameters")) << r.out;
}

TEST(CliTest, UsageErrorsExitWithTwoAndNameTheCulprit) {
  auto r = run_cli({});
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli({"data", "scan", "somewhere", "--bogus", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--bogus")) << r.err;
  r = run_cli({"data", "synth", "--size", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--size")) << r.err;
  r = run_cli({"data", "synth", "--per-class", "many"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "many")) << r.err;
  r = run_cli({"data", "split", "--train-balance", "sideways", "--manifest", "x.csv"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "sideways")) << r.err;
  r = run_cli({"data", "split"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--manifest or --data")) << r.err;
  r = run_cli({"data", "export-tensors", "--manifest", "m.csv", "--resize-mode", "stretchy"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "stretchy")) << r.err;
  r = run_cli({"data", "export-tensors", "--manifest", "m.csv", "--layout", "chwn"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "chwn")) << r.err;
  r = run_cli({"model", "info", "vgg16"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "vgg16")) << r.err;
  r = run_cli({"model", "info", "resnet50", "--size", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--size")) << r.err;
}

TEST(CliTest, InputErrorsExitWithThreeAndNameTheFile) {
  TempDir d;
  auto r = run_cli({"data", "scan", (d / "no-such-dir").string(), "--out", (d / "out").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "no-such-dir")) << r.err;
  EXPECT_FALSE(fs::exists(d / "out/scan-manifest.csv"));
  testutil::write_text(d / "junk.csv", "not,a,manifest\n");
  r = run_cli({"data", "split", "--manifest", (d / "junk.csv").string(), "--out", (d / "out").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "junk.csv")) << r.err;
  r = run_cli({"data", "export-tensors", "--manifest", (d / "missing.csv").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "missing.csv")) << r.err;
}

TEST(CliTest, ScanSplitAndExportAKaggleLikeTree) {
  TempDir d;
  const fs::path root = d / "MY_data";
  std::uint64_t seed = 0;
  const std::vector<std::pair<std::string, std::string>> names = {
      {"Apple", "apple"}, {"strawberries", "stawberries"}, {"Mango", "mango"}};
  for (const auto& [tr, te] : names) {
    for (int i = 0; i < 12; ++i) testutil::write_image(root / "train" / tr / fmt(i), testutil::pattern_image(40, 36, ++seed));
    for (int i = 0; i < 5; ++i) testutil::write_image(root / "test" / te / fmt(i), testutil::pattern_image(40, 36, ++seed));
  }
  testutil::write_image(root / "predict/img_0.jpeg", testutil::pattern_image(40, 36, ++seed));
  testutil::write_text(root / "train/Apple/broken.jpeg", "not an image");
  testutil::write_text(d / "aliases.txt", "stawberries = Strawberries\nstrawberries = Strawberries\n");
  const std::string out = (d / "out").string();

  auto r = run_cli({"-q", "data", "scan", root.string(), "--aliases", (d / "aliases.txt").string(), "--out", out,
                    "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["classes"], (std::vector<std::string>{"Apple", "Mango", "Strawberries"}));
  EXPECT_EQ(report["counts"]["Strawberries"]["train"], 12);
  EXPECT_EQ(report["counts"]["Strawberries"]["test"], 5);
  EXPECT_EQ(report["not_used_by_reason"]["not-an-image"], 1);
  EXPECT_EQ(report["not_used_by_reason"]["unlabeled"], 1);
  EXPECT_EQ(nlohmann::json::parse(read_file_text(d / "out/scan-report.json")), report);

  r = run_cli({"data", "split", "--manifest", out + "/scan-manifest.csv", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Strawberries")) << r.out;
  const auto manifest = data::read_manifest(d / "out/manifest.csv");
  std::map<std::string, int> test_per_class;
  for (const auto* e : manifest.used_in(data::Split::kTest)) ++test_per_class[e->label];
  EXPECT_EQ(test_per_class, (std::map<std::string, int>{{"Apple", 5}, {"Mango", 5}, {"Strawberries", 5}}));
  EXPECT_FALSE(manifest.used_in(data::Split::kVal).empty());

  r = run_cli({"data", "export-tensors", "--manifest", out + "/manifest.csv", "--size", "32", "--out", out + "/t"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto x = data::read_npy(d / "out/t/x.npy");
  const auto y = data::read_npy(d / "out/t/y.npy");
  EXPECT_EQ(x.shape, (std::vector<std::int64_t>{15, 3, 32, 32}));
  EXPECT_EQ(y.shape, (std::vector<std::int64_t>{15}));
  EXPECT_TRUE(fs::exists(d / "out/t/meta.json"));

  // --sample N --seed S (the main job's INT8 calibration images): N distinct
  // training images in manifest order, the same for the same seed, recorded
  // in meta.json; a split of N or fewer is written whole.
  const auto train = manifest.used_in(data::Split::kTrain);
  ASSERT_GT(train.size(), 10u);
  auto sample = [&](const std::string& name, const char* n, const char* draw_seed) {
    auto res = run_cli({"data", "export-tensors", "--manifest", out + "/manifest.csv", "--split", "train", "--size",
                        "16", "--sample", n, "--seed", draw_seed, "--out", out + "/" + name});
    EXPECT_EQ(res.exit_code, 0) << res.err;
    return nlohmann::json::parse(read_file_text(d / "out" / name / "meta.json"));
  };
  const auto a = sample("s1", "10", "3"), b = sample("s2", "10", "3"), c = sample("s3", "10", "4");
  EXPECT_EQ(a["count"], 10);
  EXPECT_EQ(a["sample"], (nlohmann::json{{"at_most", 10}, {"seed", 3}, {"of", train.size()}}));
  EXPECT_EQ(a["images"], b["images"]);
  EXPECT_EQ(read_file_bytes(d / "out/s1/x.npy"), read_file_bytes(d / "out/s2/x.npy"));
  EXPECT_NE(a["images"], c["images"]);
  std::map<std::string, std::size_t> order;
  for (std::size_t i = 0; i < train.size(); ++i) order[train[i]->path] = i;
  std::size_t last = 0;
  std::set<std::string> seen;
  for (const auto& img : a["images"]) {
    const std::string path = img["path"];
    ASSERT_TRUE(order.count(path)) << path << " is not a training image";
    EXPECT_TRUE(seen.insert(path).second) << path << " drawn twice";
    EXPECT_GE(order[path], last);
    last = order[path];
  }
  const auto whole = sample("s4", std::to_string(train.size() + 5).c_str(), "3");
  EXPECT_EQ(whole["count"], train.size());
  EXPECT_FALSE(whole.contains("sample"));
}

TEST(CliTest, SynthIsDeterministicBySeed) {
  TempDir d;
  const std::string a = (d / "a").string();
  const std::string b = (d / "b").string();
  auto r = run_cli({"data", "synth", "--out", a, "--per-class", "2", "--size", "64", "--seed", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"data", "synth", "--out", b, "--per-class", "2", "--size", "64", "--seed", "5", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(a)) {
    if (!e.is_regular_file()) continue;
    ++files;
    const auto twin = fs::path(b) / fs::relative(e.path(), a);
    EXPECT_EQ(read_file_bytes(e.path()), read_file_bytes(twin)) << twin;
  }
  EXPECT_EQ(files, 20);
}

// Stability on real files: adding images to the tree and splitting again
// moves none of the images that were already there.
TEST(CliTest, AddingImagesAndResplittingKeepsEveryExistingAssignment) {
  TempDir d;
  const fs::path root = d / "ds";
  std::uint64_t seed = 1000;
  for (const char* cls : {"Kiwi", "Mango"}) {
    for (int i = 0; i < 40; ++i) testutil::write_image(root / cls / fmt(i), testutil::pattern_image(36, 36, ++seed));
  }
  const std::string out1 = (d / "one").string();
  auto r = run_cli({"-q", "data", "split", "--data", root.string(), "--no-balance-test", "--out", out1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* cls : {"Kiwi", "Mango", "Cherry"}) {
    for (int i = 40; i < 70; ++i) testutil::write_image(root / cls / fmt(i), testutil::pattern_image(36, 36, ++seed));
  }
  const std::string out2 = (d / "two").string();
  r = run_cli({"-q", "data", "split", "--data", root.string(), "--no-balance-test", "--out", out2});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = data::read_manifest(out1 + "/manifest.csv");
  const auto after = data::read_manifest(out2 + "/manifest.csv");
  std::map<std::string, data::Split> now;
  for (const auto& e : after.entries) now[e.path] = e.split;
  ASSERT_EQ(before.entries.size(), 80U);
  ASSERT_EQ(after.entries.size(), 170U);
  for (const auto& e : before.entries) EXPECT_EQ(now.at(e.path), e.split) << e.path;
}

TEST(CliTest, ScanAndSplitWarnOfAOneClassDatasetOnStderr) {
  TempDir d;
  for (int i = 0; i < 6; ++i) testutil::write_image(d / "ds" / "Apple" / fmt(i), testutil::pattern_image(40, 36, 1 + i));
  const std::string out = (d / "out").string();
  const std::string warning = "warning: only one class has usable images ('Apple'): a classifier needs at least 2";
  auto r = run_cli({"data", "scan", (d / "ds").string(), "--out", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, warning)) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["warnings"].size(), 1U);  // stdout stays JSON
  r = run_cli({"data", "split", "--manifest", out + "/scan-manifest.csv", "--out", out, "--no-balance-test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, warning)) << r.err;
  EXPECT_FALSE(contains(r.out, "warning")) << r.out;
}

}  // namespace
}  // namespace inferbench
