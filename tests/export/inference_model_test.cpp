// make_inference_model keeps the function: the folded graph, run by LibTorch
// with the folded weights, gives the logits of the checkpoint's own module.
#include "export/inference_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "testutil/checkpoint_fixture.h"
#include "testutil/fixtures.h"
#include "train/checkpoint.h"
#include "train/torch_model.h"

namespace inferbench::exporters {
namespace {

constexpr int kSize = 32;
constexpr std::int64_t kBatch = 4;

struct Arch {
  std::string name;
  double width_mult = 1.0;
};

std::string arch_name(const testing::TestParamInfo<Arch>& info) { return info.param.name; }
void PrintTo(const Arch& arch, std::ostream* os) { *os << arch.name; }  // for gtest's messages

torch::Tensor run(train::TorchModel& net, const std::vector<float>& batch) {
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor x = torch::from_blob(const_cast<float*>(batch.data()), {kBatch, 3, kSize, kSize}).clone();
  return net->forward(x);
}

class InferenceModelTest : public testing::TestWithParam<Arch> {};

TEST_P(InferenceModelTest, FoldingBatchNormKeepsTheLogits) {
  testutil::TempDir dir;
  testutil::CheckpointSpec spec;
  spec.architecture = GetParam().name;
  spec.width_mult = GetParam().width_mult;
  spec.image_size = kSize;
  const auto ckpt = testutil::make_checkpoint(dir.path(), spec);
  const auto batch = testutil::random_batch(kBatch, kSize, 11);

  const train::Checkpoint ck = train::load_checkpoint(ckpt);
  train::TorchModel reference(ck.graph);
  reference->load_state(ck.state, ckpt.string());
  const torch::Tensor expected = run(reference, batch);

  const InferenceModel folded = load_inference_model(ckpt, /*fold_batch_norm=*/true);
  EXPECT_GT(folded.folded_batch_norms, 0);
  for (const model::Node& n : folded.graph.nodes) {
    EXPECT_NE(n.op, model::OpKind::kBatchNorm2d) << n.name << " was not folded";
    EXPECT_NE(n.op, model::OpKind::kDropout) << n.name;
    EXPECT_NE(n.op, model::OpKind::kStochasticDepth) << n.name;
  }

  std::map<std::string, torch::Tensor> state;
  for (const auto& [name, w] : folded.weights) {
    state[name] = torch::from_blob(const_cast<float*>(w.values.data()), w.shape, torch::kFloat32).clone();
  }
  train::TorchModel net(folded.graph);
  net->load_state(state, "folded weights");
  const torch::Tensor got = run(net, batch);

  ASSERT_EQ(got.sizes(), expected.sizes());
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  const double diff = (got - expected).abs().max().item<double>();
  EXPECT_LT(diff, 1e-4 * scale) << "max |logit difference| " << diff << " (max |logit| " << scale << ")";
}

INSTANTIATE_TEST_SUITE_P(Architectures, InferenceModelTest,
                         testing::Values(Arch{"mobilenet_v2", 0.25}, Arch{"efficientnet_b0"}, Arch{"resnet50"}),
                         arch_name);

}  // namespace
}  // namespace inferbench::exporters
