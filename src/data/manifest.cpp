#include "data/manifest.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/csv.h"
#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"

namespace inferbench::data {

namespace fs = std::filesystem;

std::string_view to_string(Split s) {
  switch (s) {
    case Split::kNone: return "none";
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
    case Split::kPredict: return "predict";
  }
  return "?";
}

std::optional<Split> parse_split(std::string_view s) {
  for (auto v : {Split::kNone, Split::kTrain, Split::kVal, Split::kTest, Split::kPredict}) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

std::string_view to_string(Status s) {
  switch (s) {
    case Status::kUsed: return "used";
    case Status::kRejected: return "rejected";
    case Status::kExcluded: return "excluded";
  }
  return "?";
}

std::optional<Status> parse_status(std::string_view s) {
  for (auto v : {Status::kUsed, Status::kRejected, Status::kExcluded}) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

std::int64_t Manifest::class_index(std::string_view label) const {
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (classes[i] == label) return static_cast<std::int64_t>(i);
  }
  fail(ExitCode::kInput, fmt::format("label '{}' is not one of the manifest's {} classes", label, classes.size()));
}

std::vector<const ManifestEntry*> Manifest::used_in(Split split) const {
  std::vector<const ManifestEntry*> out;
  for (const auto& e : entries) {
    if (e.used() && e.split == split) out.push_back(&e);
  }
  return out;
}

void write_manifest(const fs::path& path, const Manifest& manifest) {
  std::string text(kManifestColumns);
  text += '\n';
  for (const auto& e : manifest.entries) {
    text += csv_row({e.path, e.label, e.source_split, std::string(to_string(e.split)), e.hash,
                     std::string(to_string(e.status)), e.reason, e.format, std::to_string(e.width),
                     std::to_string(e.height), e.color, e.converted ? "1" : "0", std::to_string(e.bytes),
                     std::to_string(e.repeat), fmt::format("{}", e.weight)});
  }
  write_file_atomic(path, text);
}

namespace {

template <typename T>
T parse_number(const std::string& s, const std::string& where, const char* column) {
  T value{};
  const auto* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    fail(ExitCode::kInput, fmt::format("{}: column '{}' must be a whole number, got '{}'", where, column, s));
  }
  return value;
}

double parse_double(const std::string& s, const std::string& where, const char* column) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    fail(ExitCode::kInput, fmt::format("{}: column '{}' must be a finite number, got '{}'", where, column, s));
  }
  return v;
}

}  // namespace

Manifest read_manifest(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    fail(ExitCode::kInput,
         fmt::format("manifest '{}' does not exist or is not a file (make one with `inferbench data split`)",
                     path.string()));
  }
  const std::string source = path.string();
  const auto rows = parse_csv(read_file_text(path), source);
  if (rows.empty()) fail(ExitCode::kInput, fmt::format("manifest '{}' is empty", source));
  if (csv_row(rows[0]) != std::string(kManifestColumns) + "\n") {
    fail(ExitCode::kInput, fmt::format("'{}' is not an inferbench manifest: expected header '{}'", source,
                                       kManifestColumns));
  }
  Manifest m;
  std::vector<std::string> labels;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const std::string where = fmt::format("{}: row {}", source, i + 1);
    if (r.size() != 15) {
      fail(ExitCode::kInput, fmt::format("{}: expected 15 columns, got {}", where, r.size()));
    }
    ManifestEntry e;
    e.path = r[0];
    e.label = r[1];
    e.source_split = r[2];
    const auto split = parse_split(r[3]);
    if (!split) fail(ExitCode::kInput, fmt::format("{}: unknown split '{}'", where, r[3]));
    e.split = *split;
    e.hash = r[4];
    const auto status = parse_status(r[5]);
    if (!status) fail(ExitCode::kInput, fmt::format("{}: unknown status '{}' (used, rejected, excluded)", where, r[5]));
    e.status = *status;
    e.reason = r[6];
    e.format = r[7];
    e.width = parse_number<int>(r[8], where, "width");
    e.height = parse_number<int>(r[9], where, "height");
    e.color = r[10];
    e.converted = r[11] == "1";
    e.bytes = parse_number<std::uint64_t>(r[12], where, "bytes");
    e.repeat = parse_number<int>(r[13], where, "repeat");
    e.weight = parse_double(r[14], where, "weight");
    if (e.repeat < 0 || !(e.weight >= 0.0)) {
      fail(ExitCode::kInput, fmt::format("{}: repeat and weight must not be negative", where));
    }
    if (e.path.empty()) fail(ExitCode::kInput, fmt::format("{}: empty path", where));
    if (e.used() && (e.label.empty() || e.hash.empty())) {
      fail(ExitCode::kInput, fmt::format("{}: a used entry needs a label and a hash", where));
    }
    if (!e.label.empty()) labels.push_back(e.label);
    m.entries.push_back(std::move(e));
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  m.classes = std::move(labels);
  return m;
}

std::vector<std::string> find_stale_entries(const Manifest& manifest, bool rehash) {
  std::vector<std::string> stale;
  for (const auto& e : manifest.entries) {
    if (!e.used()) continue;
    std::error_code ec;
    const auto size = fs::file_size(e.path, ec);
    if (ec) {
      stale.push_back(fmt::format("'{}' is gone ({})", e.path, ec.message()));
      continue;
    }
    if (size != e.bytes) {
      stale.push_back(fmt::format("'{}' changed size ({} bytes, manifest says {})", e.path, size, e.bytes));
      continue;
    }
    if (rehash && content_hash(read_file_bytes(e.path)) != e.hash) {
      stale.push_back(fmt::format("'{}' changed content (hash differs from the manifest)", e.path));
    }
  }
  return stale;
}

}  // namespace inferbench::data
