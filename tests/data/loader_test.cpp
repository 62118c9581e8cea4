#include "data/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "testutil/fixtures.h"

namespace inferbench::data {
namespace {

using testutil::TempDir;

// Small images keep a whole epoch to a few milliseconds.
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kCount; ++i) {
      const auto path = dir_ / ("img" + std::to_string(i) + ".png");
      testutil::write_image(path, testutil::pattern_image(40 + i, 30 + 2 * i, static_cast<std::uint64_t>(i)));
      samples_.push_back({path, 100 + i});
    }
  }

  LoaderOptions options(std::size_t batch, int threads) const {
    LoaderOptions o;
    o.preprocess.image_size = 16;
    o.preprocess.resize_size = 18;
    o.batch_size = batch;
    o.threads = threads;
    o.prefetch_batches = 2;
    return o;
  }

  static std::vector<Batch> drain(Loader& loader) {
    std::vector<Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
  }

  static std::vector<std::size_t> order_of(const std::vector<Batch>& batches) {
    std::vector<std::size_t> order;
    for (const auto& b : batches) order.insert(order.end(), b.indices.begin(), b.indices.end());
    return order;
  }

  static constexpr int kCount = 10;
  TempDir dir_;
  std::vector<Sample> samples_;
};

TEST_F(LoaderTest, EverySampleOncePerEpochWithItsLabelAndPixels) {
  auto opt = options(3, 2);
  opt.shuffle = true;
  Loader loader(samples_, opt);
  EXPECT_EQ(loader.num_samples(), 10U);
  EXPECT_EQ(loader.num_batches(), 4U);
  for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    const auto batches = drain(loader);
    ASSERT_EQ(batches.size(), 4U);
    EXPECT_EQ(batches.back().size(), 1U);
    auto order = order_of(batches);
    std::sort(order.begin(), order.end());
    std::vector<std::size_t> all(10);
    std::iota(all.begin(), all.end(), std::size_t{0});
    EXPECT_EQ(order, all);
    const std::size_t t = opt.preprocess.tensor_size();
    for (const auto& b : batches) {
      ASSERT_EQ(b.data.size(), b.size() * t);
      for (std::size_t i = 0; i < b.size(); ++i) {
        const Sample& s = samples_[b.indices[i]];
        EXPECT_EQ(b.labels[i], s.label);
        const auto expected = preprocess_file(s.path, opt.preprocess);
        EXPECT_TRUE(std::equal(expected.begin(), expected.end(), b.data.begin() + static_cast<std::ptrdiff_t>(i * t)))
            << s.path;
      }
    }
  }
}

TEST_F(LoaderTest, UnshuffledKeepsSampleOrder) {
  Loader loader(samples_, options(4, 2));
  std::vector<std::size_t> all(10);
  std::iota(all.begin(), all.end(), std::size_t{0});
  EXPECT_EQ(order_of(drain(loader)), all);
}

TEST_F(LoaderTest, OneAndTwoThreadsGiveIdenticalBatches) {
  auto opt = options(3, 1);
  opt.shuffle = true;
  opt.seed = 5;
  opt.augment = AugmentConfig::preset("strong");
  Loader one(samples_, opt);
  opt.threads = 2;
  opt.prefetch_batches = 1;
  Loader two(samples_, opt);
  for (std::uint64_t epoch : {0U, 3U}) {
    one.start_epoch(epoch);
    two.start_epoch(epoch);
    const auto a = drain(one);
    const auto b = drain(two);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].indices, b[i].indices);
      EXPECT_EQ(a[i].labels, b[i].labels);
      EXPECT_EQ(a[i].data, b[i].data) << "batch " << i;
    }
  }
}

TEST_F(LoaderTest, AugmentationVariesByEpoch) {
  auto opt = options(10, 2);
  opt.augment = AugmentConfig::preset("standard");
  Loader loader(samples_, opt);
  loader.start_epoch(0);
  const auto e0 = drain(loader);
  loader.start_epoch(1);
  const auto e1 = drain(loader);
  EXPECT_EQ(e0[0].indices, e1[0].indices);
  EXPECT_NE(e0[0].data, e1[0].data);
}

TEST_F(LoaderTest, ShuffleDiffersByEpochAndIsReproducibleBySeed) {
  auto opt = options(5, 2);
  opt.shuffle = true;
  opt.seed = 1;
  Loader a(samples_, opt);
  Loader b(samples_, opt);
  opt.seed = 2;
  Loader c(samples_, opt);
  a.start_epoch(0);
  const auto a0 = order_of(drain(a));
  a.start_epoch(1);
  const auto a1 = order_of(drain(a));
  b.start_epoch(1);
  const auto b1 = order_of(drain(b));
  c.start_epoch(1);
  const auto c1 = order_of(drain(c));
  EXPECT_NE(a0, a1);
  EXPECT_EQ(a1, b1);
  EXPECT_NE(a1, c1);
}

TEST_F(LoaderTest, DropLastDropsTheShortBatch) {
  auto opt = options(3, 2);
  opt.drop_last = true;
  Loader loader(samples_, opt);
  EXPECT_EQ(loader.num_batches(), 3U);
  const auto batches = drain(loader);
  ASSERT_EQ(batches.size(), 3U);
  for (const auto& b : batches) EXPECT_EQ(b.size(), 3U);
  EXPECT_FALSE(loader.next().has_value());  // stays at the end
}

TEST_F(LoaderTest, CorruptFileRaisesInputErrorNamingIt) {
  testutil::write_text(samples_[4].path, "garbage, not an image");
  Loader loader(samples_, options(3, 2));
  ASSERT_TRUE(loader.next().has_value());  // samples 0-2
  try {
    (void)loader.next();  // samples 3-5
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("img4.png"), std::string::npos) << e.what();
  }
  // The failed batch is consumed; the rest of the epoch still comes.
  auto rest = loader.next();
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->indices, (std::vector<std::size_t>{6, 7, 8}));
}

TEST_F(LoaderTest, MissingFileRaisesInputErrorNamingIt) {
  samples_[0].path = dir_ / "gone.png";
  Loader loader(samples_, options(2, 1));
  try {
    (void)loader.next();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("gone.png"), std::string::npos) << e.what();
  }
}

TEST_F(LoaderTest, RestartMidEpochGivesTheFullEpochAgain) {
  auto opt = options(2, 2);
  opt.shuffle = true;
  opt.seed = 9;
  Loader fresh(samples_, opt);
  const auto expected = drain(fresh);

  Loader loader(samples_, opt);
  ASSERT_TRUE(loader.next().has_value());
  ASSERT_TRUE(loader.next().has_value());
  loader.start_epoch(0);
  const auto again = drain(loader);
  ASSERT_EQ(again.size(), expected.size());
  for (std::size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].indices, expected[i].indices);
    EXPECT_EQ(again[i].data, expected[i].data);
  }
}

TEST_F(LoaderTest, DestructionMidEpochJoinsCleanly) {
  {
    Loader loader(samples_, options(1, 2));
    ASSERT_TRUE(loader.next().has_value());
  }
  {
    Loader never_started(samples_, options(1, 2));
  }
  {
    Loader started_only(samples_, options(1, 2));
    started_only.start_epoch(4);
  }
  SUCCEED();
}

TEST_F(LoaderTest, EmptyListAndBadOptions) {
  Loader empty({}, options(4, 2));
  EXPECT_EQ(empty.num_batches(), 0U);
  EXPECT_FALSE(empty.next().has_value());
  EXPECT_THROW(Loader(samples_, options(0, 1)), Error);
  auto opt = options(2, 1);
  opt.preprocess.std[0] = -1.0F;
  EXPECT_THROW(Loader(samples_, opt), Error);
}

}  // namespace
}  // namespace inferbench::data
