#include "data/split.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "common/error.h"
#include "common/hash.h"

namespace inferbench::data {
namespace {

// Manifests are built in memory: splitting reads only hashes and labels.
ManifestEntry image(const std::string& label, int i, const std::string& source_split = "") {
  ManifestEntry e;
  e.label = label;
  e.path = "/ds/" + (source_split.empty() ? "" : source_split + "/") + label + "/" + std::to_string(i) + ".jpg";
  e.hash = content_hash(label + "#" + std::to_string(i));
  e.source_split = source_split;
  e.format = "jpeg";
  return e;
}

Manifest flat(const std::map<std::string, int>& per_class, int first = 0) {
  Manifest m;
  for (const auto& [cls, n] : per_class) {
    m.classes.push_back(cls);
    for (int i = first; i < first + n; ++i) m.entries.push_back(image(cls, i));
  }
  return m;
}

std::map<std::string, Split> assignment(const Manifest& m) {
  std::map<std::string, Split> out;
  for (const auto& e : m.entries) out[e.path] = e.split;
  return out;
}

std::map<std::pair<std::string, Split>, int> counts(const Manifest& m) {
  std::map<std::pair<std::string, Split>, int> out;
  for (const auto& e : m.entries) {
    if (e.used()) ++out[{e.label, e.split}];
  }
  return out;
}

SplitOptions no_balance() {
  SplitOptions o;
  o.balance_test = false;
  return o;
}

TEST(SplitTest, DeterministicBySeedAndDifferentAcrossSeeds) {
  auto a = flat({{"A", 200}, {"B", 200}});
  auto b = a;
  auto c = a;
  split_manifest(a, no_balance());
  split_manifest(b, no_balance());
  auto other = no_balance();
  other.seed = 7;
  split_manifest(c, other);
  EXPECT_EQ(assignment(a), assignment(b));
  EXPECT_NE(assignment(a), assignment(c));
}

TEST(SplitTest, ProportionsAreStratifiedPerClass) {
  auto m = flat({{"A", 2000}, {"B", 1000}});
  split_manifest(m, no_balance());
  const auto n = counts(m);
  for (const auto& [cls, total] : std::map<std::string, double>{{"A", 2000}, {"B", 1000}}) {
    // Binomial spread: 3 standard deviations of a 15% share.
    const double sd = std::sqrt(total * 0.15 * 0.85);
    EXPECT_NEAR(n.at({cls, Split::kTrain}), 0.70 * total, 3 * std::sqrt(total * 0.7 * 0.3)) << cls;
    EXPECT_NEAR(n.at({cls, Split::kVal}), 0.15 * total, 3 * sd) << cls;
    EXPECT_NEAR(n.at({cls, Split::kTest}), 0.15 * total, 3 * sd) << cls;
  }
}

TEST(SplitTest, AddingImagesNeverMovesExistingOnes) {
  auto before = flat({{"A", 100}, {"B", 100}});
  split_manifest(before, no_balance());
  auto after = flat({{"A", 100}, {"B", 100}});
  const auto more = flat({{"A", 50}, {"B", 50}, {"C", 80}}, 1000);
  after.entries.insert(after.entries.end(), more.entries.begin(), more.entries.end());
  after.classes.push_back("C");
  split_manifest(after, no_balance());
  const auto old_assignment = assignment(before);
  const auto new_assignment = assignment(after);
  for (const auto& [path, split] : old_assignment) EXPECT_EQ(new_assignment.at(path), split) << path;
}

TEST(SplitTest, IdenticalContentAlwaysLandsInOneSplit) {
  auto m = flat({{"A", 300}});
  auto twins = m.entries;
  for (auto& e : twins) e.path += ".copy";
  m.entries.insert(m.entries.end(), twins.begin(), twins.end());
  split_manifest(m, no_balance());
  std::map<std::string, Split> by_hash;
  for (const auto& e : m.entries) {
    auto [it, fresh] = by_hash.emplace(e.hash, e.split);
    if (!fresh) {
      EXPECT_EQ(it->second, e.split) << e.path;
    }
  }
}

TEST(SplitTest, KeepsTheDatasetsOwnSplitAndCarvesValFromTrain) {
  Manifest m;
  m.classes = {"A", "B"};
  for (const char* cls : {"A", "B"}) {
    for (int i = 0; i < 400; ++i) m.entries.push_back(image(cls, i, "train"));
    for (int i = 400; i < 450; ++i) m.entries.push_back(image(cls, i, "test"));
  }
  auto opt = no_balance();
  const auto summary = split_manifest(m, opt);
  EXPECT_TRUE(summary["dataset_split_kept"].get<bool>());
  int val = 0;
  for (const auto& e : m.entries) {
    if (e.source_split == "test") {
      EXPECT_EQ(e.split, Split::kTest) << e.path;
    }
    if (e.source_split == "train") {
      EXPECT_NE(e.split, Split::kTest) << e.path;
    }
    val += e.split == Split::kVal ? 1 : 0;
  }
  // val share of train = 0.15 / 0.85 of 800 images, about 141.
  EXPECT_NEAR(val, 800 * 0.15 / 0.85, 3 * std::sqrt(800 * 0.176 * 0.824));

  auto resplit = no_balance();
  resplit.use_dataset_split = false;
  split_manifest(m, resplit);
  int train_from_test = 0;
  for (const auto& e : m.entries) train_from_test += e.source_split == "test" && e.split == Split::kTrain ? 1 : 0;
  EXPECT_GT(train_from_test, 0);
}

TEST(SplitTest, BalancesTheTestSplitAndReportsTheSurplus) {
  auto m = flat({{"A", 400}, {"B", 200}, {"C", 100}});
  SplitOptions opt;  // balance_test on by default
  const auto summary = split_manifest(m, opt);
  const auto n = counts(m);
  const int per_class = summary["test_per_class"].get<int>();
  EXPECT_GT(per_class, 0);
  for (const char* cls : {"A", "B", "C"}) EXPECT_EQ(n.at({cls, Split::kTest}), per_class) << cls;
  int surplus = 0;
  for (const auto& e : m.entries) {
    if (e.status == Status::kExcluded) {
      EXPECT_TRUE(e.reason.starts_with(reason::kTestSurplus)) << e.reason;
      EXPECT_EQ(e.split, Split::kTest);
      ++surplus;
    }
  }
  EXPECT_EQ(surplus, summary["test_surplus"]["A"].get<int>() + summary["test_surplus"]["B"].get<int>() +
                         summary["test_surplus"].value("C", 0));
  EXPECT_GT(summary["test_surplus"]["A"].get<int>(), 0);

  // Splitting again (e.g. with other balancing) starts from a clean slate.
  const auto again = split_manifest(m, opt);
  EXPECT_EQ(again["test_per_class"], summary["test_per_class"]);
  EXPECT_EQ(counts(m), n);
}

TEST(SplitTest, TrainingBalanceStrategies) {
  const std::map<std::string, int> sizes{{"A", 300}, {"B", 100}};
  auto under = flat(sizes);
  SplitOptions opt;
  opt.train_balance = Balance::kUndersample;
  auto s = split_manifest(under, opt);
  auto n = counts(under);
  EXPECT_EQ(n.at({"A", Split::kTrain}), n.at({"B", Split::kTrain}));
  EXPECT_EQ(s["train_effective_per_class"]["A"], n.at({"B", Split::kTrain}));

  auto over = flat(sizes);
  opt.train_balance = Balance::kOversample;
  s = split_manifest(over, opt);
  std::map<std::string, int> drawn;
  std::map<std::string, int> max_repeat;
  for (const auto& e : over.entries) {
    if (e.used() && e.split == Split::kTrain) {
      drawn[e.label] += e.repeat;
      max_repeat[e.label] = std::max(max_repeat[e.label], e.repeat);
    }
  }
  EXPECT_EQ(drawn["A"], drawn["B"]);
  EXPECT_EQ(max_repeat["A"], 1);
  EXPECT_GE(max_repeat["B"], 2);

  auto weighted = flat(sizes);
  opt.train_balance = Balance::kClassWeights;
  s = split_manifest(weighted, opt);
  n = counts(weighted);
  const double na = n.at({"A", Split::kTrain});
  const double nb = n.at({"B", Split::kTrain});
  EXPECT_DOUBLE_EQ(s["class_weights"]["A"].get<double>(), (na + nb) / (2 * na));
  EXPECT_DOUBLE_EQ(s["class_weights"]["B"].get<double>(), (na + nb) / (2 * nb));
  for (const auto& e : weighted.entries) {
    if (e.used() && e.split == Split::kTrain) {
      EXPECT_DOUBLE_EQ(e.weight, s["class_weights"][e.label].get<double>());
    }
  }
}

TEST(SplitTest, FewerThanTwoClassesWithImagesAreWarnedOf) {
  auto warned = [](const nlohmann::json& summary) {
    for (const auto& w : summary["warnings"]) {
      if (w.get<std::string>().find("a classifier needs at least 2 classes") != std::string::npos) return w.get<std::string>();
    }
    return std::string();
  };
  auto one = flat({{"A", 40}});
  EXPECT_EQ(warned(split_manifest(one, SplitOptions{})),
            "only one class has usable images ('A'): a classifier needs at least 2 classes, and `inferbench train` "
            "refuses fewer");
  auto none = flat({{"A", 3}});
  for (auto& e : none.entries) e.status = Status::kRejected;
  EXPECT_NE(warned(split_manifest(none, no_balance())).find("no class has usable images"), std::string::npos);
  auto two = flat({{"A", 40}, {"B", 40}});
  EXPECT_EQ(warned(split_manifest(two, SplitOptions{})), "");
}

TEST(SplitTest, BadOptionsAndImpossibleBalancingAreErrors) {
  auto m = flat({{"A", 10}});
  SplitOptions opt;
  opt.train = 0.8;  // 0.8 + 0.15 + 0.15 != 1
  try {
    split_manifest(m, opt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("add up to 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_balance("sideways"), Error);

  // One image per class: some class must miss the test split.
  auto tiny = flat({{"A", 1}, {"B", 1}, {"C", 1}, {"D", 1}, {"E", 1}});
  try {
    split_manifest(tiny, SplitOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("has no test images"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace inferbench::data
