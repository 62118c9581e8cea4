#pragma once
// What makes two artifacts the same: their content, not their file name. A
// results row is joined to its accuracy (verify.json) by the model and this
// hash, since names repeat (every model's checkpoint is `model.ckpt`).
#include <filesystem>
#include <string>
#include <vector>

namespace inferbench::artifact {

// The content hash (common/hash.h: XXH3-128, 32 hex digits) of an artifact's
// bytes: for one file, content_hash of the file, the same value export records
// as a checkpoint's `checkpoint_hash`; for an OpenVINO .xml, a hash over the
// .xml's and its .bin's hashes (the weights are part of the model); for a
// folder (a SavedModel), a hash over the relative path and hash of every file
// in it, in path order. Throws Error(kInput) naming the file when it cannot be
// read.
std::string content_identity(const std::filesystem::path& artifact);

// The files an artifact is made of: itself; an .xml and its .bin; every
// regular file under a folder, sorted. Files that do not exist are left out.
std::vector<std::filesystem::path> artifact_files(const std::filesystem::path& artifact);

}  // namespace inferbench::artifact
