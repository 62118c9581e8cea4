#include "data/manifest.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "testutil/fixtures.h"

namespace inferbench::data {
namespace {

namespace fs = std::filesystem;
using testutil::TempDir;

ManifestEntry sample_entry(const std::string& path, const std::string& label) {
  ManifestEntry e;
  e.path = path;
  e.label = label;
  e.source_split = "train";
  e.split = Split::kVal;
  e.hash = "0123456789abcdef0123456789abcdef";
  e.format = "jpeg";
  e.width = 640;
  e.height = 480;
  e.color = "cmyk";
  e.converted = true;
  e.bytes = 12345;
  e.repeat = 3;
  e.weight = 1.25;
  return e;
}

TEST(ManifestTest, RoundTripsEveryFieldIncludingAwkwardPaths) {
  TempDir d;
  Manifest m;
  m.entries.push_back(sample_entry("/data/with,comma/and \"quotes\"/x.jpg", "Apple"));
  m.entries.push_back(sample_entry("/data/\xE6\x97\xA5\xE6\x9C\xAC/line\nbreak.jpg", "Banana"));
  auto rejected = sample_entry("/data/bad.jpg", "Apple");
  rejected.status = Status::kRejected;
  rejected.reason = "truncated: JPEG has no end-of-image marker, really";
  rejected.split = Split::kNone;
  m.entries.push_back(rejected);
  write_manifest(d / "m.csv", m);
  const Manifest back = read_manifest(d / "m.csv");
  ASSERT_EQ(back.entries.size(), 3U);
  EXPECT_EQ(back.classes, (std::vector<std::string>{"Apple", "Banana"}));
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& a = m.entries[i];
    const auto& b = back.entries[i];
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.label, b.label);
    EXPECT_EQ(a.source_split, b.source_split);
    EXPECT_EQ(a.split, b.split);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.format, b.format);
    EXPECT_EQ(a.width, b.width);
    EXPECT_EQ(a.height, b.height);
    EXPECT_EQ(a.color, b.color);
    EXPECT_EQ(a.converted, b.converted);
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_EQ(a.repeat, b.repeat);
    EXPECT_DOUBLE_EQ(a.weight, b.weight);
  }
  EXPECT_EQ(back.class_index("Banana"), 1);
  EXPECT_EQ(back.used_in(Split::kVal).size(), 2U);
  EXPECT_THROW((void)back.class_index("Durian"), Error);
}

void expect_bad_manifest(const fs::path& p, const std::string& needle) {
  try {
    read_manifest(p);
    FAIL() << "expected an error reading " << p;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ManifestTest, RejectsMalformedFilesNamingTheProblem) {
  TempDir d;
  expect_bad_manifest(d / "missing.csv", "does not exist");
  testutil::write_text(d / "empty.csv", "");
  expect_bad_manifest(d / "empty.csv", "is empty");
  testutil::write_text(d / "other.csv", "a,b,c\n1,2,3\n");
  expect_bad_manifest(d / "other.csv", "not an inferbench manifest");
  const std::string header = std::string(kManifestColumns) + "\n";
  testutil::write_text(d / "short.csv", header + "/x.jpg,Apple,train\n");
  expect_bad_manifest(d / "short.csv", "row 2: expected 15 columns");
  testutil::write_text(d / "split.csv", header + "/x.jpg,Apple,,sideways,h,used,,jpeg,1,1,rgb,0,10,1,1\n");
  expect_bad_manifest(d / "split.csv", "unknown split 'sideways'");
  testutil::write_text(d / "num.csv", header + "/x.jpg,Apple,,train,h,used,,jpeg,wide,1,rgb,0,10,1,1\n");
  expect_bad_manifest(d / "num.csv", "'width' must be a whole number, got 'wide'");
  testutil::write_text(d / "w.csv", header + "/x.jpg,Apple,,train,h,used,,jpeg,1,1,rgb,0,10,1,-2\n");
  expect_bad_manifest(d / "w.csv", "must not be negative");
  testutil::write_text(d / "nolabel.csv", header + "/x.jpg,,,train,h,used,,jpeg,1,1,rgb,0,10,1,1\n");
  expect_bad_manifest(d / "nolabel.csv", "needs a label and a hash");
  testutil::write_text(d / "quote.csv", header + "\"/x.jpg,Apple\n");
  expect_bad_manifest(d / "quote.csv", "unterminated quoted field");
}

TEST(ManifestTest, FindsFilesThatChangedOrWentAway) {
  TempDir d;
  const auto a = testutil::write_image(d / "a.png", testutil::pattern_image(30, 30, 1));
  const auto b = testutil::write_image(d / "b.png", testutil::pattern_image(30, 30, 2));
  const auto c = testutil::write_image(d / "c.png", testutil::pattern_image(30, 30, 3));
  Manifest m;
  for (const auto& p : {a, b, c}) {
    ManifestEntry e = sample_entry(p.string(), "A");
    e.bytes = fs::file_size(p);
    e.hash = content_hash(read_file_bytes(p));
    m.entries.push_back(e);
  }
  EXPECT_TRUE(find_stale_entries(m, true).empty());
  fs::remove(a);
  auto bytes = read_file_bytes(b);
  bytes[bytes.size() / 2] ^= 0xFF;  // same size, other content
  testutil::write_bytes(b, bytes);
  const auto quick = find_stale_entries(m, false);
  ASSERT_EQ(quick.size(), 1U);
  EXPECT_NE(quick[0].find("is gone"), std::string::npos);
  const auto full = find_stale_entries(m, true);
  ASSERT_EQ(full.size(), 2U);
  EXPECT_NE(full[1].find("changed content"), std::string::npos);
}

}  // namespace
}  // namespace inferbench::data
