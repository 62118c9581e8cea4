#include "common/csv.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace inferbench {
namespace {

TEST(CsvTest, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_row({"a", "", "c,d"}), "a,,\"c,d\"\n");
}

TEST(CsvTest, ParsesWhatItWritesIncludingEdgeCases) {
  const std::vector<std::vector<std::string>> rows = {
      {"path", "label"}, {"/x/a,b.jpg", "Apple"}, {"", ""}, {"multi\nline \"q\"", "\xE6\x97\xA5"}};
  std::string text;
  for (const auto& r : rows) text += csv_row(r);
  EXPECT_EQ(parse_csv(text, "t.csv"), rows);
  // CRLF line ends and a missing final newline are accepted.
  EXPECT_EQ(parse_csv("a,b\r\nc,d", "t.csv"), (std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d"}}));
}

TEST(CsvTest, MalformedInputNamesFileAndLine) {
  try {
    parse_csv("a,b\n\"open,field\n", "bad.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_STREQ(e.what(), "bad.csv:2: unterminated quoted field");
  }
  try {
    parse_csv("\"closed\"junk,b\n", "bad.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "bad.csv:1: unexpected character after a closing quote");
  }
}

}  // namespace
}  // namespace inferbench
