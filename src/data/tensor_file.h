#pragma once
// NumPy .npy files (format version 1.0, little-endian, C order): the form in
// which the preprocessed test split reaches benchmark workers, readable by
// numpy.load for cross-checks.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/manifest.h"
#include "data/preprocess.h"

namespace inferbench::data {

struct NpyArray {
  std::string dtype;                 // numpy descr: "<f4", "<i8", "|u1"
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;   // raw little-endian data, C order

  [[nodiscard]] std::size_t element_count() const;
  // Typed views; throw std::logic_error if the dtype does not match.
  [[nodiscard]] const float* as_f32() const;
  [[nodiscard]] const std::int64_t* as_i64() const;
};

// Written atomically (temporary file + rename). Throws Error(kOutput).
void write_npy(const std::filesystem::path& path, const float* data, const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, const std::int64_t* data, const std::vector<std::int64_t>& shape);

// Throws Error(kInput) naming the file for a bad magic, an unsupported version
// or dtype, Fortran order, or a data size that does not match the header.
NpyArray read_npy(const std::filesystem::path& path);

// The complete .npy v1.0 preamble (magic, version, length, dict, padding to a
// multiple of 64 bytes, '\n') for an array of `dtype` and `shape`, byte for
// byte as numpy.save (>= 1.20) writes it. write_npy = this header + the data.
std::string npy_header(std::string_view dtype, const std::vector<std::int64_t>& shape);

// --- The preprocessed split as benchmark workers read it -------------------
//
// <dir>/x.npy    float32, [N,3,H,W] (NCHW) or [N,H,W,3] (NHWC), in manifest order
// <dir>/y.npy    int64 [N], class ids (index into classes)
// <dir>/meta.json  format_version, split, count, classes, preprocess (config),
//                layout, dtype, shape, images [{path, hash, label}] in order,
//                files {"x.npy": {hash, bytes}, "y.npy": {...}}
// meta.json is written last, so a directory with a meta.json is complete.

inline constexpr int kSplitTensorsFormatVersion = 1;

struct ExportedTensors {
  std::filesystem::path x_path;
  std::filesystem::path y_path;
  std::filesystem::path meta_path;
  std::size_t count = 0;
  std::vector<std::int64_t> shape;  // of x
  std::string x_hash;               // content_hash of the whole x.npy file
  std::string y_hash;
};

// At most `at_most` images of the split (0 = all): a seeded uniform draw
// without replacement when the split has more (common/rng.h), kept in
// manifest order; the whole split when it has at_most or fewer. For INT8
// calibration, which needs a few hundred training images, not all of them.
struct TensorSample {
  std::size_t at_most = 0;
  std::uint64_t seed = 1;
};

// Runs the used entries of `split` (or the sample of them) through the Loader
// (no augmentation, manifest order) and writes the three files atomically;
// a sample is recorded in meta.json ("sample": at_most, seed, of = the split's
// size). Throws Error(kInput) for an empty split or an unreadable image
// (naming it), Error(kUsage) for a bad config, Error(kOutput) when a file
// cannot be written.
ExportedTensors export_split_tensors(const Manifest& manifest, Split split, const PreprocessConfig& config,
                                     const std::filesystem::path& out_dir, int threads,
                                     const TensorSample& sample = {});

struct SplitTensors {
  NpyArray x;
  NpyArray y;
  PreprocessConfig preprocess;
  std::vector<std::string> classes;
  Split split = Split::kNone;
  std::size_t count = 0;
  std::vector<std::string> image_paths;   // in tensor order
  std::vector<std::string> image_hashes;  // content hashes of the source images
};

// Reads a directory written by export_split_tensors and checks meta.json
// against x.npy and y.npy (dtype, shape, count, file hashes, label range).
// Throws Error(kInput) naming the offending file on any mismatch.
SplitTensors load_split_tensors(const std::filesystem::path& dir);

// Rewrites t.x (float32, 4-D) in `layout` (NCHW [N,C,H,W] <-> NHWC [N,H,W,C]),
// and t.preprocess.layout with it; a no-op when it already is. The same
// pixels, transposed: what preprocessing in the other layout would have given.
void to_layout(SplitTensors& t, Layout layout);

}  // namespace inferbench::data
