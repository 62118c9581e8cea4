// The logits comparison and the parity rules of `verify`.
#include "verify/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "common/error.h"

namespace inferbench::verify {
namespace {

// --- comparison ---------------------------------------------------------------

TEST(Compare, AgreementDiffsAndAccuracy) {
  // Three images of two classes; reference top-1: 0, 1, 0.
  const std::vector<float> r{3, 1, 0, 2, 4, 1};
  const std::vector<float> g{3.5F, 1, 0, 2, 0.5F, 1};
  const std::vector<std::int64_t> labels{0, 1, 1};
  const Comparison c = compare_logits(r, g, labels, 2);
  EXPECT_EQ(c.count, 3);
  EXPECT_NEAR(c.agreement, 2.0 / 3.0, 1e-12);  // the last image flips from 0 to 1
  EXPECT_NEAR(c.reference_top1, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(c.top1, 1.0, 1e-12);
  EXPECT_NEAR(c.max_abs_diff, 3.5, 1e-12);
  EXPECT_NEAR(c.mean_abs_diff, 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(c.reference_range, 4.0, 1e-12);
  EXPECT_EQ(c.correct, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(c.reference_correct, (std::vector<bool>{true, true, false}));
  EXPECT_THROW(compare_logits(r, {1, 2}, labels, 2), std::invalid_argument);
}

TEST(Compare, JudgeUsesPrecisionTolerances) {
  Comparison c;
  c.count = 1000;
  c.agreement = 0.999;
  c.reference_range = 20;
  c.max_abs_diff = 0.019;  // 1e-3 * 20 = 0.02
  EXPECT_TRUE(judge(c, tolerance_for(artifact::Precision::kFP32)).pass);
  c.max_abs_diff = 0.021;
  Verdict v = judge(c, tolerance_for(artifact::Precision::kFP32));
  EXPECT_FALSE(v.pass);
  EXPECT_NE(v.why.find("max |diff|"), std::string::npos) << v.why;
  EXPECT_TRUE(judge(c, tolerance_for(artifact::Precision::kFP16)).pass);
  c.agreement = 0.98;
  v = judge(c, tolerance_for(artifact::Precision::kFP16));
  EXPECT_FALSE(v.pass);
  EXPECT_NE(v.why.find("agreement 98.00%"), std::string::npos) << v.why;
  c.agreement = 1;
  c.max_abs_diff = NAN;
  EXPECT_FALSE(judge(c, tolerance_for(artifact::Precision::kFP16)).pass);
}

TEST(Compare, NanLogitsFail) {
  const std::vector<float> r{1, 0};
  const std::vector<float> g{NAN, 0};
  const Comparison c = compare_logits(r, g, {0}, 2);
  EXPECT_TRUE(std::isinf(c.max_abs_diff));
  EXPECT_FALSE(judge(c, tolerance_for(artifact::Precision::kFP32)).pass);
}

TEST(Compare, ToleranceTableHasOneRulePerPrecisionAndSaysSo) {
  EXPECT_EQ(tolerance_for(artifact::Precision::kFP32).min_agreement, 0.999);
  EXPECT_EQ(tolerance_for(artifact::Precision::kFP32).max_abs_diff_scaled, 1e-3);
  EXPECT_EQ(tolerance_for(artifact::Precision::kFP16).min_agreement, 0.99);
  EXPECT_EQ(tolerance_for(artifact::Precision::kFP16).max_abs_diff_scaled, 5e-2);
  EXPECT_EQ(tolerance_for(artifact::Precision::kBF16).min_agreement, 0.98);
  EXPECT_EQ(tolerance_for(artifact::Precision::kBF16).max_abs_diff_scaled, 1e-1);
  EXPECT_EQ(tolerance_for(artifact::Precision::kINT8).min_agreement, 0.0);
  EXPECT_TRUE(std::isinf(tolerance_for(artifact::Precision::kINT8).max_abs_diff_scaled));
  // The help text and the README quote the table.
  EXPECT_EQ(describe_tolerances(),
            "FP32 passes with >= 99.9% agreement and max |diff| <= 1e-3 x max(1, logit range); FP16 with >= 99% and "
            "5e-2; BF16 with >= 98% and 0.1; INT8 is judged by its accuracy, not parity (finite logits; the top-1 "
            "drop flagged)");
}

// An INT8 row is not failed on parity (its accuracy cost is recorded and
// flagged by verify): logits far apart and borderline images flipped pass;
// logits that are not numbers do not.
TEST(Compare, Int8IsJudgedByItsAccuracyNotParity) {
  Comparison c;
  c.count = 100;
  c.agreement = 0.96;
  c.max_abs_diff = 3.0;
  c.reference_range = 10.0;
  EXPECT_TRUE(judge(c, tolerance_for(artifact::Precision::kINT8)).pass);
  EXPECT_FALSE(judge(c, tolerance_for(artifact::Precision::kFP32)).pass);
  c.agreement = 0.90;
  EXPECT_TRUE(judge(c, tolerance_for(artifact::Precision::kINT8)).pass);
  EXPECT_FALSE(judge(c, tolerance_for(artifact::Precision::kFP16)).pass);
  c.max_abs_diff = std::numeric_limits<double>::quiet_NaN();
  const Verdict v = judge(c, tolerance_for(artifact::Precision::kINT8));
  EXPECT_FALSE(v.pass);
  EXPECT_NE(v.why.find("max |diff| nan"), std::string::npos) << v.why;
}

// --- per-image correctness, as verify.json keeps it ---------------------------

TEST(Compare, CorrectnessRoundTripsAsHexFourImagesADigit) {
  EXPECT_EQ(encode_correct({}), "");
  EXPECT_EQ(encode_correct({true}), "8");
  EXPECT_EQ(encode_correct({true, false, true, true}), "b");
  EXPECT_EQ(encode_correct({true, true, true, true, false, true}), "f4");
  std::vector<bool> many;
  for (int i = 0; i < 1003; ++i) many.push_back(i % 3 == 0 || i % 7 == 0);
  const std::string hex = encode_correct(many);
  EXPECT_EQ(hex.size(), 251U);
  EXPECT_EQ(decode_correct(hex, many.size()), many);
  EXPECT_EQ(decode_correct("f4", 6), (std::vector<bool>{true, true, true, true, false, true}));
}

TEST(Compare, MalformedCorrectnessIsRefused) {
  EXPECT_THROW((void)decode_correct("f4", 9), std::invalid_argument);   // too short for 9 images
  EXPECT_THROW((void)decode_correct("f4", 4), std::invalid_argument);   // too long for 4
  EXPECT_THROW((void)decode_correct("fg", 8), std::invalid_argument);   // not hex
  EXPECT_THROW((void)decode_correct("F4", 8), std::invalid_argument);   // upper case is not the encoding
  EXPECT_THROW((void)decode_correct("f6", 6), std::invalid_argument);   // a padding bit set
}

// --- paired accuracy of two runs (compare) --------------------------------------

nlohmann::json verified(double top1, const std::vector<bool>& correct, const std::string& test_set = "set1") {
  return {{"top1", top1}, {"count", correct.size()}, {"correct", encode_correct(correct)}, {"test_set", test_set}};
}

TEST(Compare, PairedTop1TestsTheSameImagesWithMcNemar) {
  // Twelve images: A right on 10, B on 4; B is right on one image A misses.
  std::vector<bool> a(12, true), b(12, false);
  a[10] = a[11] = false;
  for (int i : {0, 1, 2, 10}) b[static_cast<std::size_t>(i)] = true;
  const PairedTop1 p = paired_top1(verified(10.0 / 12, a), verified(4.0 / 12, b));
  ASSERT_TRUE(p.paired) << p.why;
  EXPECT_EQ(p.test.count, 12U);
  EXPECT_EQ(p.test.only_a, 7U);  // images 3..9
  EXPECT_EQ(p.test.only_b, 1U);  // image 10
  EXPECT_EQ(p.test.p_value, bench::mcnemar_exact_p(7, 1));
  EXPECT_NEAR(p.test.p_value, 0.0703125, 1e-15);  // 2 * (1 + 8) / 256
  EXPECT_DOUBLE_EQ(*p.top1_a, 10.0 / 12);
}

TEST(Compare, PairedTop1RefusesOtherTestSetsAndSaysWhenThereAreNoPredictions) {
  const std::vector<bool> c{true, false, true};
  PairedTop1 p = paired_top1(verified(2.0 / 3, c, "set1"), verified(2.0 / 3, c, "set2"));
  EXPECT_FALSE(p.paired);
  EXPECT_NE(p.why.find("the test sets differ"), std::string::npos) << p.why;
  p = paired_top1(verified(2.0 / 3, c), verified(0.5, {true, false, true, false}));
  EXPECT_FALSE(p.paired);
  EXPECT_NE(p.why.find("the test sets differ (A: 3 images"), std::string::npos) << p.why;
  // A database from before per-image results: top-1s only.
  p = paired_top1({{"top1", 0.9}}, verified(2.0 / 3, c));
  EXPECT_FALSE(p.paired);
  EXPECT_NE(p.why.find("no paired predictions (A kept"), std::string::npos) << p.why;
  EXPECT_DOUBLE_EQ(*p.top1_a, 0.9);
  p = paired_top1(nullptr, nlohmann::json::object());
  EXPECT_FALSE(p.top1_a);
  EXPECT_NE(p.why.find("neither side"), std::string::npos) << p.why;
  nlohmann::json bad = verified(2.0 / 3, c);
  bad["correct"] = "zz";
  EXPECT_THROW((void)paired_top1(bad, verified(2.0 / 3, c)), std::invalid_argument);
}

}  // namespace
}  // namespace inferbench::verify
