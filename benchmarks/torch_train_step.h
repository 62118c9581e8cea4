#pragma once
// The LibTorch C++ side of the training comparison with PyTorch in Python,
// shared by torch_bench (one process per measurement) and torch_inprocess
// (a shared library that torch_interleaved.py calls from inside the Python
// process, so both sides alternate in one process).
//
// What it does mirrors benchmarks/torch_pytorch.py line for line: the inputs
// are drawn first from `seed` (randn images, randint labels, weights in
// [0.5, 1.5)), the model from `seed + 1` (or loaded from a torchvision
// state_dict), and a step is forward, weighted label-smoothed cross-entropy,
// loss.item(), zero_grad, backward, SGD step with the trainer's defaults.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "model/builders.h"
#include "train/pth_reader.h"
#include "train/torch_model.h"

namespace inferbench::torch_bench {

// The trainer's defaults (src/train/trainer.h), so the step costs what a real one does.
inline constexpr double kLr = 0.05;
inline constexpr double kMomentum = 0.9;
inline constexpr double kWeightDecay = 5e-5;
inline constexpr double kLabelSmoothing = 0.1;

// Per-sample weights, as the trainer's class balancing applies them.
inline torch::Tensor weighted_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                   const torch::Tensor& weights) {
  namespace F = torch::nn::functional;
  const auto per_sample = F::cross_entropy(
      logits, labels, F::CrossEntropyFuncOptions().label_smoothing(kLabelSmoothing).reduction(torch::kNone));
  return (per_sample * weights).sum() / weights.sum();
}

struct TrainBench {
  TrainBench(const std::string& model, std::int64_t classes, std::int64_t size, std::int64_t batch,
             std::uint64_t seed, const std::string& init_from, bool in_place = true)
      : seed_(seed) {
    // Inputs first, from their own seed, so both sides draw the same tensors
    // from LibTorch's generator whatever the models' initialisation consumes.
    torch::manual_seed(seed);
    x = torch::randn({batch, 3, size, size});
    y = torch::randint(classes, {batch}, torch::kLong);
    w = torch::rand({batch}) + 0.5;
    torch::manual_seed(seed + 1);
    net = train::TorchModel(model::build_model(model, classes));
    if (!init_from.empty()) net->load_state(train::read_state_dict(init_from), init_from);
    net->set_in_place(in_place);
  }

  // Training mode, the optimizer, and the dropout / stochastic-depth seed
  // (seed + 2): the Python side reseeds the same way, so with the same
  // weights the first step's loss matches to the last bit.
  void start_training() {
    net->train();
    torch::manual_seed(seed_ + 2);
    opt = std::make_unique<torch::optim::SGD>(
        net->parameters(),
        torch::optim::SGDOptions(kLr).momentum(kMomentum).nesterov(true).weight_decay(kWeightDecay));
  }

  // One SGD step; the loss (read every step, as the trainer's divergence check does).
  double step() {
    const auto loss = weighted_loss(net->forward(x), y, w);
    const double value = loss.item<double>();
    opt->zero_grad();
    loss.backward();
    opt->step();
    return value;
  }

  train::TorchModel net{nullptr};
  torch::Tensor x;
  torch::Tensor y;
  torch::Tensor w;
  std::unique_ptr<torch::optim::SGD> opt;

 private:
  std::uint64_t seed_;
};

}  // namespace inferbench::torch_bench
