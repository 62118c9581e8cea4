#include "testutil/checkpoint_fixture.h"

#include <fmt/format.h>

#include <random>

#include "data/preprocess.h"
#include "model/builders.h"
#include "train/checkpoint.h"
#include "train/torch_model.h"

namespace inferbench::testutil {

std::filesystem::path make_checkpoint(const std::filesystem::path& dir, const CheckpointSpec& spec) {
  model::BuildOptions opts;
  opts.width_mult = spec.width_mult;
  torch::manual_seed(spec.seed);
  train::TorchModel net(model::build_model(spec.architecture, spec.classes, opts));
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : net->named_state()) {
      if (name.ends_with("running_mean") || name.ends_with(".bias")) {
        t.normal_(0.0, 0.1);
      } else if (name.ends_with("running_var")) {
        t.uniform_(0.5, 1.5);
      } else if (t.dim() == 1 && t.scalar_type() == torch::kFloat32) {  // batch-norm gamma
        t.uniform_(0.5, 1.5);
      }
    }
  }
  std::vector<std::string> classes;
  for (std::int64_t i = 0; i < spec.classes; ++i) classes.push_back(fmt::format("class{}", i));
  const auto cfg = data::PreprocessConfig::preset("imagenet", spec.image_size);
  const auto path = dir / fmt::format("{}.ckpt", spec.architecture);
  train::save_checkpoint(path, net->graph(), net->named_state(), classes, cfg,
                         nlohmann::json{{"training", {{"fixture", true}, {"seed", spec.seed}}}});
  return path;
}

std::vector<float> reference_logits(const std::filesystem::path& checkpoint, const std::vector<float>& batch,
                                    std::int64_t n, int size) {
  const train::Checkpoint ck = train::load_checkpoint(checkpoint);
  train::TorchModel net(ck.graph);
  net->load_state(ck.state, checkpoint.string());
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::from_blob(const_cast<float*>(batch.data()), {n, 3, size, size}).clone();
  const torch::Tensor y = net->forward(x).contiguous();
  return {y.data_ptr<float>(), y.data_ptr<float>() + y.numel()};
}

std::vector<float> random_batch(std::int64_t n, int size, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> d(0.0F, 1.0F);
  std::vector<float> out(static_cast<std::size_t>(n) * 3 * size * size);
  for (float& v : out) v = d(gen);
  return out;
}

}  // namespace inferbench::testutil
