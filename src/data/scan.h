#pragma once
// Dataset scan: an image tree becomes a manifest (no split assigned yet
// beyond what the layout says) plus a report.
//
// Layouts (detected): DIR/<class>/* ("flat"), and pre-split
// DIR/{train,val,test,predict}/<class>/* ("split"; split folder names are
// matched case-insensitively, "valid"/"validation" mean val). A "predict"
// folder holds unlabeled images: reported and excluded, never mixed in.
// Class folders are matched case-insensitively across splits, and an alias
// file maps misspellings ("stawberries = Strawberries").
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "data/manifest.h"

namespace inferbench::data {

struct ScanOptions {
  std::filesystem::path root;
  std::filesystem::path alias_file;  // optional
  int min_size = 32;                 // reject images whose width or height is smaller
  int threads = 0;                   // 0 = all hardware threads
};

// Alias file: one "alias = Canonical" per line; '#' starts a comment; names
// compared case-insensitively. Throws Error(kInput) naming file and line.
std::map<std::string, std::string> read_alias_file(const std::filesystem::path& path);

struct ScanResult {
  Manifest manifest;
  nlohmann::json report;  // counts per class and split, rejections by reason, duplicates, warnings
  std::string layout;     // "flat" or "split"
};

// Throws Error(kInput) when the root is missing, not a directory, or holds no
// class folders. Individual bad files never throw: they become rejected entries.
ScanResult scan_dataset(const ScanOptions& options);

// Human-readable table of a scan or split report.
std::string format_report_table(const nlohmann::json& report);

}  // namespace inferbench::data
