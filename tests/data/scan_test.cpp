#include "data/scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/error.h"
#include "testutil/fixtures.h"

namespace inferbench::data {
namespace {

namespace fs = std::filesystem;
using testutil::pattern_image;
using testutil::TempDir;
using testutil::write_image;

const ManifestEntry& entry_for(const Manifest& m, const fs::path& p) {
  const std::string want = (fs::weakly_canonical(p.parent_path()) / p.filename()).string();
  for (const auto& e : m.entries) {
    if (e.path == want) return e;
  }
  throw std::runtime_error("no manifest entry for " + want);
}

std::map<std::string, int> used_per_class(const Manifest& m, const std::string& split = "") {
  std::map<std::string, int> out;
  for (const auto& e : m.entries) {
    if (e.used() && (split.empty() || e.source_split == split)) ++out[e.label];
  }
  return out;
}

ScanResult scan(const fs::path& root, const fs::path& aliases = {}) {
  ScanOptions opt;
  opt.root = root;
  opt.alias_file = aliases;
  opt.threads = 2;
  return scan_dataset(opt);
}

TEST(ScanTest, FlatLayoutUsesEveryGoodImage) {
  TempDir d;
  std::uint64_t seed = 0;
  for (const char* cls : {"Apple", "Banana", "Cherry"}) {
    for (int i = 0; i < 4; ++i) write_image(d / (std::string("ds/") + cls + "/" + std::to_string(i) + ".jpg"), pattern_image(48, 40, ++seed));
  }
  const auto r = scan(d / "ds");
  EXPECT_EQ(r.layout, "flat");
  EXPECT_EQ(r.manifest.classes, (std::vector<std::string>{"Apple", "Banana", "Cherry"}));
  EXPECT_EQ(used_per_class(r.manifest), (std::map<std::string, int>{{"Apple", 4}, {"Banana", 4}, {"Cherry", 4}}));
  EXPECT_EQ(r.report["totals"]["used"], 12);
  for (const auto& e : r.manifest.entries) {
    EXPECT_TRUE(fs::path(e.path).is_absolute());
    EXPECT_EQ(e.hash.size(), 32U);
    EXPECT_EQ(e.format, "jpeg");
    EXPECT_EQ(e.width, 48);
    EXPECT_EQ(e.height, 40);
    EXPECT_EQ(e.split, Split::kNone);
  }
}

TEST(ScanTest, FewerThanTwoClassesWithImagesAreWarnedOf) {
  TempDir d;
  for (int i = 0; i < 4; ++i) write_image(d / ("ds/Apple/" + std::to_string(i) + ".jpg"), pattern_image(48, 40, 1 + i));
  testutil::write_text(d / "ds/Banana/broken.jpg", "not an image");  // a folder, but no usable image
  auto r = scan(d / "ds");
  EXPECT_EQ(r.manifest.classes, (std::vector<std::string>{"Apple", "Banana"}));
  ASSERT_EQ(r.report["warnings"].size(), 1U) << r.report.dump();
  EXPECT_EQ(r.report["warnings"][0], "only one class has usable images ('Apple'): a classifier needs at least 2 "
                                     "classes, and `inferbench train` refuses fewer");
  write_image(d / "ds/Banana/ok.jpg", pattern_image(48, 40, 99));
  r = scan(d / "ds");
  EXPECT_EQ(r.report["warnings"], nlohmann::json::array());
}

// The real Kaggle fruit set: MY_data/{train,test,predict}/<class>/img_N.jpeg,
// with class folders spelled differently between splits.
TEST(ScanTest, KaggleLikeLayoutMatchesClassesAcrossSplits) {
  TempDir d;
  const fs::path root = d / "MY_data";
  const std::vector<std::pair<std::string, std::string>> train_test = {
      {"Apple", "apple"}, {"Banana", "Banana"}, {"strawberries", "stawberries"}, {"pinenapple", "Pineapple"},
      {"Kiwi", "kiwi"}};
  std::uint64_t seed = 100;
  for (const auto& [tr, te] : train_test) {
    for (int i = 0; i < 3; ++i) write_image(root / "train" / tr / ("img_" + std::to_string(i) + ".jpeg"), pattern_image(40, 40, ++seed));
    for (int i = 0; i < 2; ++i) write_image(root / "test" / te / ("img_" + std::to_string(i) + ".jpeg"), pattern_image(40, 40, ++seed));
  }
  for (int i = 0; i < 3; ++i) write_image(root / "predict" / ("img_" + std::to_string(i) + ".jpeg"), pattern_image(40, 40, ++seed));
  testutil::write_text(d / "aliases.txt",
                       "# Kaggle fruit set misspellings\nstawberries = Strawberries\nstrawberries=Strawberries\n"
                       "pinenapple = Pineapple\n");

  const auto r = scan(root, d / "aliases.txt");
  EXPECT_EQ(r.layout, "split");
  EXPECT_EQ(r.manifest.classes, (std::vector<std::string>{"Apple", "Banana", "Kiwi", "Pineapple", "Strawberries"}));
  const std::map<std::string, int> three{{"Apple", 3}, {"Banana", 3}, {"Kiwi", 3}, {"Pineapple", 3}, {"Strawberries", 3}};
  const std::map<std::string, int> two{{"Apple", 2}, {"Banana", 2}, {"Kiwi", 2}, {"Pineapple", 2}, {"Strawberries", 2}};
  EXPECT_EQ(used_per_class(r.manifest, "train"), three);
  EXPECT_EQ(used_per_class(r.manifest, "test"), two);
  // predict/ is reported, never mixed in.
  int unlabeled = 0;
  for (const auto& e : r.manifest.entries) {
    if (e.source_split == "predict") {
      ++unlabeled;
      EXPECT_EQ(e.status, Status::kExcluded);
      EXPECT_TRUE(e.reason.starts_with("unlabeled")) << e.reason;
      EXPECT_EQ(e.split, Split::kPredict);
      EXPECT_TRUE(e.label.empty());
    }
  }
  EXPECT_EQ(unlabeled, 3);
  EXPECT_EQ(r.report["not_used_by_reason"]["unlabeled"], 3);
  EXPECT_EQ(r.report["counts"]["Strawberries"]["test"], 2);
  EXPECT_EQ(r.report["class_folder_spellings"]["Strawberries"],
            (std::vector<std::string>{"stawberries", "strawberries"}));

  // Without the alias file the misspellings stay separate classes (case still folds).
  const auto plain = scan(root);
  EXPECT_EQ(plain.manifest.classes,
            (std::vector<std::string>{"Apple", "Banana", "Kiwi", "Pineapple", "pinenapple", "stawberries",
                                      "strawberries"}));
}

TEST(ScanTest, EveryBadFileIsRejectedWithItsReason) {
  TempDir d;
  const fs::path root = d / "ds";
  write_image(root / "A/good.jpg", pattern_image(64, 64, 1));
  write_image(root / "B/good.png", pattern_image(64, 64, 2));
  const auto jpg = testutil::encode_image(".jpg", pattern_image(64, 64, 3));
  testutil::write_bytes(root / "A/truncated.jpg", std::vector<std::uint8_t>(jpg.begin(), jpg.begin() + 300));
  std::vector<std::uint8_t> corrupt = {0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9};
  testutil::write_bytes(root / "A/corrupt.jpg", corrupt);
  testutil::write_text(root / "A/notes.jpg", "this is a text file named like a JPEG\n");
  testutil::write_bytes(root / "A/empty.jpg", {});
  write_image(root / "A/tiny.png", pattern_image(8, 100, 4));
  testutil::write_cmyk_jpeg(root / "B/cmyk.jpg", 64, 48);
  write_image(root / "B/deep.png", cv::Mat(40, 40, CV_16UC3, cv::Scalar(1000, 30000, 65535)));
  write_image(root / "B/gray.png", cv::Mat(40, 40, CV_8UC1, cv::Scalar(9)));
  write_image(root / "B/pic.webp", pattern_image(50, 50, 5));
  write_image(root / "B/pic.bmp", pattern_image(50, 50, 6));
  testutil::write_bytes(root / "B/really-png.jpg", testutil::encode_image(".png", pattern_image(50, 50, 7)));
  write_image(root / "B/\xC3\xA4pfel \xE6\x97\xA5\xE6\x9C\xAC.png", pattern_image(50, 50, 8));  // "äpfel 日本"
  fs::create_directories(root / "Empty");
  fs::create_directory_symlink("..", root / "A/loop");  // points back to the dataset root
  fs::create_symlink(root / "A/missing.jpg", root / "A/dangling.jpg");

  const auto r = scan(root);
  const auto& m = r.manifest;
  auto reason_of = [&](const std::string& rel) { return entry_for(m, root / rel).reason; };
  EXPECT_TRUE(entry_for(m, root / "A/good.jpg").used());
  EXPECT_TRUE(reason_of("A/truncated.jpg").starts_with("truncated")) << reason_of("A/truncated.jpg");
  EXPECT_TRUE(reason_of("A/corrupt.jpg").starts_with("undecodable")) << reason_of("A/corrupt.jpg");
  EXPECT_TRUE(reason_of("A/notes.jpg").starts_with("not-an-image")) << reason_of("A/notes.jpg");
  EXPECT_TRUE(reason_of("A/empty.jpg").starts_with("zero-bytes")) << reason_of("A/empty.jpg");
  EXPECT_TRUE(reason_of("A/tiny.png").starts_with("too-small")) << reason_of("A/tiny.png");
  EXPECT_TRUE(reason_of("A/loop").starts_with("unreadable: symlink loop")) << reason_of("A/loop");
  EXPECT_TRUE(reason_of("A/dangling.jpg").starts_with("unreadable: dangling symlink")) << reason_of("A/dangling.jpg");
  for (const char* bad : {"A/truncated.jpg", "A/corrupt.jpg", "A/notes.jpg", "A/empty.jpg", "A/tiny.png", "A/loop"}) {
    EXPECT_EQ(entry_for(m, root / bad).status, Status::kRejected) << bad;
  }

  const auto& cmyk = entry_for(m, root / "B/cmyk.jpg");
  EXPECT_TRUE(cmyk.used());
  EXPECT_EQ(cmyk.color, "cmyk");
  EXPECT_TRUE(cmyk.converted);
  const auto& deep = entry_for(m, root / "B/deep.png");
  EXPECT_TRUE(deep.used());
  EXPECT_EQ(deep.color, "rgb16");
  EXPECT_TRUE(deep.converted);
  EXPECT_EQ(entry_for(m, root / "B/gray.png").color, "gray");
  EXPECT_EQ(entry_for(m, root / "B/pic.webp").format, "webp");
  EXPECT_EQ(entry_for(m, root / "B/pic.bmp").format, "bmp");
  EXPECT_EQ(entry_for(m, root / "B/really-png.jpg").format, "png");  // by content, not extension
  EXPECT_TRUE(entry_for(m, root / "B/\xC3\xA4pfel \xE6\x97\xA5\xE6\x9C\xAC.png").used());

  // The empty class folder is recorded (so a later stage can say the class has no images).
  const auto& empty = entry_for(m, root / "Empty");
  EXPECT_EQ(empty.label, "Empty");
  EXPECT_TRUE(empty.reason.starts_with("empty-class")) << empty.reason;
  EXPECT_NE(std::find(m.classes.begin(), m.classes.end(), "Empty"), m.classes.end());

  EXPECT_EQ(r.report["totals"]["used"], 9);
  EXPECT_EQ(r.report["converted_to_rgb8"]["cmyk"], 1);
  EXPECT_EQ(r.report["converted_to_rgb8"]["rgb16"], 1);
  EXPECT_EQ(r.report["converted_to_rgb8"]["gray"], 1);
  EXPECT_EQ(r.report["not_used_by_reason"]["unreadable"], 2);
  const std::string table = format_report_table(r.report);
  EXPECT_NE(table.find("truncated"), std::string::npos) << table;
  EXPECT_NE(table.find("cmyk"), std::string::npos) << table;
}

TEST(ScanTest, DuplicatesKeepOneCopyAndCrossClassCopiesAreConflicts) {
  TempDir d;
  const fs::path root = d / "ds";
  const auto same = pattern_image(50, 50, 42);
  write_image(root / "Apple/a1.png", same);
  write_image(root / "Apple/a1-copy.png", same);
  write_image(root / "Apple/a2.png", pattern_image(50, 50, 43));
  const auto conflict = pattern_image(50, 50, 44);
  write_image(root / "Apple/x.png", conflict);
  write_image(root / "Mango/x.png", conflict);
  write_image(root / "Mango/m1.png", pattern_image(50, 50, 45));

  const auto r = scan(root);
  const auto& m = r.manifest;
  EXPECT_TRUE(entry_for(m, root / "Apple/a1-copy.png").used());  // first by path order is kept
  const auto& dup = entry_for(m, root / "Apple/a1.png");
  EXPECT_EQ(dup.status, Status::kRejected);
  EXPECT_TRUE(dup.reason.starts_with("duplicate")) << dup.reason;
  for (const char* p : {"Apple/x.png", "Mango/x.png"}) {
    const auto& e = entry_for(m, root / p);
    EXPECT_EQ(e.status, Status::kRejected);
    EXPECT_TRUE(e.reason.starts_with("label-conflict")) << e.reason;
  }
  EXPECT_EQ(r.report["duplicate_groups"], 1);
  EXPECT_EQ(r.report["label_conflict_groups"], 1);
  EXPECT_EQ(used_per_class(m), (std::map<std::string, int>{{"Apple", 2}, {"Mango", 1}}));
}

TEST(ScanTest, DuplicateAcrossDatasetSplitsKeepsTheTestCopy) {
  TempDir d;
  const fs::path root = d / "ds";
  const auto same = pattern_image(50, 50, 7);
  write_image(root / "train/Kiwi/a.png", same);
  write_image(root / "test/kiwi/b.png", same);
  write_image(root / "train/Kiwi/c.png", pattern_image(50, 50, 8));
  const auto r = scan(root);
  EXPECT_TRUE(entry_for(r.manifest, root / "test/kiwi/b.png").used());
  EXPECT_EQ(entry_for(r.manifest, root / "train/Kiwi/a.png").status, Status::kRejected);
}

TEST(ScanTest, BadRootsAndAliasFilesAreInputErrors) {
  TempDir d;
  auto expect_input_error = [](const fs::path& root, const fs::path& aliases, const std::string& needle) {
    try {
      scan(root, aliases);
      FAIL() << "expected an error for " << root;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kInput);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_input_error(d / "nope", {}, "does not exist");
  testutil::write_text(d / "file.txt", "x");
  expect_input_error(d / "file.txt", {}, "is not a folder");
  fs::create_directories(d / "empty");
  expect_input_error(d / "empty", {}, "has no class folders");
  write_image(d / "mixed/train/A/1.png", pattern_image(40, 40, 1));
  write_image(d / "mixed/Banana/1.png", pattern_image(40, 40, 2));
  expect_input_error(d / "mixed", {}, "mixes split folders");

  write_image(d / "ok/A/1.png", pattern_image(40, 40, 3));
  expect_input_error(d / "ok", d / "missing-aliases.txt", "missing-aliases.txt");
  testutil::write_text(d / "bad-aliases.txt", "good = Good\nthis line has no equals sign\n");
  expect_input_error(d / "ok", d / "bad-aliases.txt", "bad-aliases.txt:2");
}

}  // namespace
}  // namespace inferbench::data
