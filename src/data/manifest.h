#pragma once
// The manifest: every file of a dataset with its class, split, content hash
// and status. It is the single source of truth for every stage after the
// scan; nothing is silently dropped (a file not used says why).
//
// On disk it is CSV with a fixed header (see kManifestColumns); paths are
// absolute, so a manifest can be read from anywhere.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inferbench::data {

enum class Split { kNone, kTrain, kVal, kTest, kPredict };
std::string_view to_string(Split s);
std::optional<Split> parse_split(std::string_view s);

enum class Status {
  kUsed,      // takes part in its split
  kRejected,  // cannot be used (see reason): bad file, duplicate, label conflict
  kExcluded,  // a good image left out on purpose (see reason): unlabeled, balancing surplus
};
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

// Machine-readable reasons (the `reason` column starts with one of these,
// followed by ": detail" when there is one).
namespace reason {
inline constexpr std::string_view kZeroBytes = "zero-bytes";
inline constexpr std::string_view kNotAnImage = "not-an-image";
inline constexpr std::string_view kTruncated = "truncated";
inline constexpr std::string_view kUndecodable = "undecodable";
inline constexpr std::string_view kTooSmall = "too-small";
inline constexpr std::string_view kUnreadable = "unreadable";
inline constexpr std::string_view kEmptyClass = "empty-class";  // a class folder with no files (the folder's entry)
inline constexpr std::string_view kDuplicate = "duplicate";
inline constexpr std::string_view kLabelConflict = "label-conflict";
inline constexpr std::string_view kUnlabeled = "unlabeled";
inline constexpr std::string_view kTestSurplus = "test-balance-surplus";
inline constexpr std::string_view kUndersampled = "undersampled";
}  // namespace reason

struct ManifestEntry {
  std::string path;          // absolute
  std::string label;         // canonical class name; empty when unlabeled or unknown
  std::string source_split;  // split given by the dataset's layout ("train", "test", ...), or ""
  Split split = Split::kNone;
  std::string hash;          // content hash (hex); empty when the file could not be read
  Status status = Status::kUsed;
  std::string reason;        // empty when used
  std::string format;        // jpeg/png/bmp/webp, or "" when not an image
  int width = 0;
  int height = 0;
  std::string color;         // colour form in the file ("rgb", "gray", "cmyk", "rgba", "rgb16", ...)
  bool converted = false;    // converted to 8-bit RGB on load
  std::uint64_t bytes = 0;
  int repeat = 1;            // times this image is drawn per training epoch (oversampling)
  double weight = 1.0;       // loss weight of this image's class (class-weight balancing)

  [[nodiscard]] bool used() const { return status == Status::kUsed; }
};

struct Manifest {
  std::vector<ManifestEntry> entries;
  std::vector<std::string> classes;  // canonical names, sorted; index = class id

  // Class id of a label; throws Error(kInput) for an unknown label.
  [[nodiscard]] std::int64_t class_index(std::string_view label) const;
  // Used entries of one split, in manifest order.
  [[nodiscard]] std::vector<const ManifestEntry*> used_in(Split split) const;
};

inline constexpr std::string_view kManifestColumns =
    "path,label,source_split,split,hash,status,reason,format,width,height,color,converted,bytes,repeat,weight";

// Atomic write. Throws Error(kOutput).
void write_manifest(const std::filesystem::path& path, const Manifest& manifest);
// Throws Error(kInput) naming the file and line for a missing file, a wrong
// header, or a bad value in a row.
Manifest read_manifest(const std::filesystem::path& path);

// Checks that every used entry's file still exists with the same size (and,
// when `rehash`, the same content hash). Returns one message per stale entry.
std::vector<std::string> find_stale_entries(const Manifest& manifest, bool rehash);

}  // namespace inferbench::data
