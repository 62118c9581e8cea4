#pragma once
// Reads a PyTorch state_dict written by Python's torch.save, so weights trained
// elsewhere (torchvision's ImageNet weights, a user's own checkpoint) can seed
// a TorchModel by parameter name (`--init-from FILE`).
//
// Contract:
// - Accepts both formats torch.save writes: the zip archive (the default since
//   PyTorch 1.6: <dir>/data.pkl plus one <dir>/data/<key> record per storage)
//   and the legacy stream (_use_new_zipfile_serialization=False, as in older
//   torchvision weight files). Storage data must be little-endian.
// - The pickled object may be the state_dict itself (a dict or OrderedDict of
//   tensors; OrderedDict's `_metadata` is ignored) or a training checkpoint
//   that holds it under "state_dict" or "model"; the checkpoint's other entries
//   (epoch, optimiser state, ...) are ignored. A "module." prefix on a key
//   (nn.DataParallel) is removed.
// - Only the subset of pickle that torch.save emits is interpreted; nothing
//   from the file is ever executed. Objects of classes it does not know become
//   opaque placeholders, which are an error only where a tensor is needed.
// - Every tensor returned owns its memory (CPU, contiguous, the file's dtype).
// - Every failure (missing or unreadable file, not a torch.save file, truncated
//   or malformed archive or pickle, unsupported storage type, missing storage
//   record, a value that is not a tensor) throws Error(ExitCode::kInput) with a
//   message that names the file. Garbage input never crashes.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

namespace inferbench::train {

std::map<std::string, torch::Tensor> read_state_dict(const std::filesystem::path& path);

}  // namespace inferbench::train
