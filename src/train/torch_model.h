#pragma once
// The LibTorch module built from a model IR graph: what `inferbench train`
// trains and what the LibTorch eager backend runs.
//
// Contract:
// - Every tensor of the graph is registered under its IR name, which is
//   torchvision's state_dict key ("features.0.0.weight"), through a tree of
//   submodules, so named_parameters()/named_buffers() give torchvision's keys
//   and a torchvision state_dict loads by name.
// - forward() follows the graph's node order; train()/eval() switch batch
//   norm statistics, dropout and stochastic depth exactly as torchvision does.
// - Weights start as torchvision initialises them (Kaiming-normal fan-out
//   convolutions, unit/zero batch norm, small-normal linear layers), drawn
//   from LibTorch's generator: seed it with torch::manual_seed first.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "model/ir.h"

namespace inferbench::train {

class TorchModelImpl : public torch::nn::Module {
 public:
  explicit TorchModelImpl(model::Graph graph);

  torch::Tensor forward(const torch::Tensor& input);

  [[nodiscard]] const model::Graph& graph() const { return graph_; }

  // Every parameter and buffer by IR name, in graph order.
  [[nodiscard]] std::vector<std::pair<std::string, torch::Tensor>> named_state() const;

  // Copies tensors in by name. Missing or unexpected keys and shape mismatches
  // throw Error(kInput) listing them (up to a few of each), naming `source`.
  // Values are converted to each tensor's dtype.
  void load_state(const std::map<std::string, torch::Tensor>& state, const std::string& source);

  // Names of the classifier's tensors (the last linear layer): what
  // fine-tuning replaces when the class count differs, and what stays
  // trainable with a frozen backbone.
  [[nodiscard]] std::vector<std::string> classifier_tensor_names() const;

  // Freezes every parameter but the classifier's, and keeps batch norm on its
  // running statistics even in train() mode (fine-tuning a frozen backbone).
  void freeze_backbone();

  // Whether forward() may write activations and adds into tensors nobody
  // reads any more (on by default; see forward()). Off gives the plain
  // out-of-place computation, the reference the tests compare against.
  void set_in_place(bool on) { in_place_ = on; }
  // How many ops of the last forward() wrote into their input.
  [[nodiscard]] int last_in_place_ops() const { return last_in_place_; }

 private:
  model::Graph graph_;
  std::vector<std::vector<torch::Tensor>> tensors_;  // per node, in node.params order
  std::vector<int> last_use_;                        // per node: last node that reads its output
  std::vector<int> readers_;                         // per node: how many node inputs read its output
  bool batchnorm_frozen_ = false;
  bool in_place_ = true;
  int last_in_place_ = 0;

  [[nodiscard]] bool overwritable_under_autograd(int id) const;
};
TORCH_MODULE(TorchModel);

}  // namespace inferbench::train
