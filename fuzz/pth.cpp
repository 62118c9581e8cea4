// read_state_dict (src/train/pth_reader.cpp): a PyTorch checkpoint given to
// `train --init-from`, zip archive (LibTorch's PyTorchStreamReader) or legacy
// stream, pickle and storages. Every tensor returned owns its data.
#include <torch/torch.h>

#include "fuzz.h"
#include "train/pth_reader.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_scratch("weights.pth", data, size);
  std::map<std::string, torch::Tensor> state;
  bool ok = false;
  fuzz::expect_code(
      [&] {
        state = train::read_state_dict(path);
        ok = true;
      },
      {ExitCode::kInput});
  if (!ok) return 0;
  for (const auto& [name, t] : state) {
    if (name.empty()) fuzz::finding("read_state_dict: an empty key");
    if (!t.defined() || !t.is_contiguous()) fuzz::finding("read_state_dict: '" + name + "' undefined or not contiguous");
    // Every byte the tensor claims is read here, in instrumented code: memory
    // it does not own is an AddressSanitizer report.
    const auto* bytes = static_cast<const std::uint8_t*>(t.data_ptr());
    volatile std::uint8_t x = 0;
    const auto n = static_cast<std::size_t>(t.numel()) * t.element_size();
    for (std::size_t i = 0; i < n; ++i) x = x ^ bytes[i];
  }
  return 0;
}
