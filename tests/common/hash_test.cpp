#include "common/hash.h"

#include <gtest/gtest.h>

#include <set>

#include "common/rng.h"

namespace inferbench {
namespace {

TEST(HashTest, StableHexDigestsThatSeeContent) {
  const auto a = content_hash(std::string_view("apple"));
  EXPECT_EQ(a.size(), 32U);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a, content_hash(std::string_view("apple")));
  EXPECT_NE(a, content_hash(std::string_view("applf")));
  const std::string s = "apple";
  EXPECT_EQ(a, content_hash(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())));
  // XXH3-128 of the empty input, a published test vector of xxHash.
  EXPECT_EQ(content_hash(std::string_view("")), "99aa06d3014798d86001c324468d497f");
}

TEST(HashTest, SeededKeysDependOnSeedAndSpreadUniformly) {
  const auto h = content_hash(std::string_view("x"));
  EXPECT_EQ(seeded_key(h, 1), seeded_key(h, 1));
  EXPECT_NE(seeded_key(h, 1), seeded_key(h, 2));
  int low = 0;
  for (int i = 0; i < 10000; ++i) low += seeded_key(content_hash(std::to_string(i)), 3) < (1ULL << 63) ? 1 : 0;
  EXPECT_NEAR(low, 5000, 300);  // 6 standard deviations
}

TEST(RngTest, ReproducibleAndInRange) {
  Rng a(5);
  Rng b(5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  Rng r(9);
  double sum = 0;
  double sq = 0;
  std::set<int> ints;
  for (int i = 0; i < 20000; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const int k = r.uniform_int(-2, 2);
    ASSERT_GE(k, -2);
    ASSERT_LE(k, 2);
    ints.insert(k);
    const double z = r.normal();
    sum += z;
    sq += z * z;
  }
  EXPECT_EQ(ints.size(), 5U);
  EXPECT_NEAR(sum / 20000, 0.0, 0.05);
  EXPECT_NEAR(sq / 20000, 1.0, 0.05);
  EXPECT_NE(r.fork(1).next_u64(), r.fork(2).next_u64());
}

}  // namespace
}  // namespace inferbench
