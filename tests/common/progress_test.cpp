#include "common/progress.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace inferbench {
namespace {

TEST(ProgressTest, FormatsDurationsForHumans) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(ProgressTest, CountsFromManyThreadsAndStaysQuietForShortWork) {
  testing::internal::CaptureStderr();
  {
    Progress p("unit", 8000, "items");
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&p] {
        for (int i = 0; i < 2000; ++i) p.advance();
      });
    }
    threads.clear();
    EXPECT_EQ(p.done(), 8000U);
  }
  // Finished well within the one-second delay: nothing printed.
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace inferbench
