#include "data/scan.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/error.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/progress.h"
#include "data/image.h"
#include "data/split.h"  // one_class_warning

namespace inferbench::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Split folder names of a pre-split layout (compared lower-case).
std::optional<std::string> split_folder(std::string_view name) {
  const std::string n = lower(name);
  if (n == "train" || n == "training") return "train";
  if (n == "val" || n == "valid" || n == "validation") return "val";
  if (n == "test" || n == "testing") return "test";
  if (n == "predict" || n == "prediction") return "predict";
  return std::nullopt;
}

int split_order(std::string_view s) {
  if (s == "train") return 0;
  if (s == "val") return 1;
  if (s == "test") return 2;
  return 3;
}

bool hidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

// A file found by the walk, before it is read.
struct Found {
  std::string path;
  std::string folder_class;  // class folder name as spelled on disk ("" = none)
  std::string source_split;
  std::string preset_reason;  // set when the walk itself found a problem (loop, dangling link)
};

struct DirKey {
  dev_t dev;
  ino_t ino;
  auto operator<=>(const DirKey&) const = default;
};

// Recursive walk that follows symbolic links (datasets are often assembled
// from links) but never enters the same directory twice, so a link loop ends
// as a rejected entry instead of an endless walk.
void walk(const fs::path& dir, const std::string& folder_class, const std::string& source_split,
          std::set<DirKey>& visited, std::vector<Found>& out) {
  std::vector<fs::path> children;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) children.push_back(it->path());
  if (ec) {
    out.push_back({dir.string(), folder_class, source_split,
                   fmt::format("{}: cannot list folder: {}", reason::kUnreadable, ec.message())});
    return;
  }
  std::sort(children.begin(), children.end());
  for (const auto& child : children) {
    struct stat st {};
    if (::stat(child.c_str(), &st) != 0) {
      const int err = errno;
      const char* what = err == ELOOP ? "symlink loop" : err == ENOENT ? "dangling symlink" : std::strerror(err);
      out.push_back({child.string(), folder_class, source_split, fmt::format("{}: {}", reason::kUnreadable, what)});
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (!visited.insert({st.st_dev, st.st_ino}).second) {
        out.push_back({child.string(), folder_class, source_split,
                       fmt::format("{}: symlink loop (folder already scanned through another path)",
                                   reason::kUnreadable)});
        continue;
      }
      walk(child, folder_class, source_split, visited, out);
    } else if (S_ISREG(st.st_mode)) {
      out.push_back({child.string(), folder_class, source_split, ""});
    } else {
      out.push_back({child.string(), folder_class, source_split,
                     fmt::format("{}: not a regular file", reason::kUnreadable)});
    }
  }
}

ManifestEntry examine(const Found& f, int min_size) {
  ManifestEntry e;
  e.path = f.path;
  e.source_split = f.source_split;
  if (!f.preset_reason.empty()) {
    e.status = Status::kRejected;
    e.reason = f.preset_reason;
    return e;
  }
  std::vector<std::uint8_t> bytes;
  {
    std::ifstream in(f.path, std::ios::binary);
    if (!in) {
      e.status = Status::kRejected;
      e.reason = fmt::format("{}: {}", reason::kUnreadable, std::strerror(errno));
      return e;
    }
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      e.status = Status::kRejected;
      e.reason = fmt::format("{}: read error", reason::kUnreadable);
      return e;
    }
  }
  e.bytes = bytes.size();
  if (!bytes.empty()) e.hash = content_hash(bytes);
  const auto img = decode_image(bytes);
  e.format = std::string(to_string(img.format));
  if (!img.ok()) {
    e.status = Status::kRejected;
    e.reason = fmt::format("{}: {}", to_string(img.status), img.message);
    return e;
  }
  e.width = img.rgb.cols;
  e.height = img.rgb.rows;
  e.color = img.source_color + (img.source_bit_depth == 16 ? "16" : "");
  e.converted = img.converted();
  if (e.width < min_size || e.height < min_size) {
    e.status = Status::kRejected;
    e.reason = fmt::format("{}: {}x{} is smaller than the minimum {}x{}", reason::kTooSmall, e.width, e.height,
                           min_size, min_size);
  }
  return e;
}

}  // namespace

std::map<std::string, std::string> read_alias_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    fail(ExitCode::kInput, fmt::format("alias file '{}' does not exist or is not a file", path.string()));
  }
  std::map<std::string, std::string> aliases;
  const std::string text = read_file_text(path);
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string line(text.substr(start, end - start));
    start = end + 1;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const std::string alias = eq == std::string::npos ? "" : trim(line.substr(0, eq));
    const std::string canonical = eq == std::string::npos ? "" : trim(line.substr(eq + 1));
    if (alias.empty() || canonical.empty()) {
      fail(ExitCode::kInput, fmt::format("{}:{}: expected 'alias = Canonical', got '{}'", path.string(), line_no, line));
    }
    aliases[lower(alias)] = canonical;
  }
  return aliases;
}

ScanResult scan_dataset(const ScanOptions& options) {
  std::error_code ec;
  const fs::path& root = options.root;
  if (!fs::exists(root, ec)) fail(ExitCode::kInput, fmt::format("dataset folder '{}' does not exist", root.string()));
  if (!fs::is_directory(root, ec)) {
    fail(ExitCode::kInput, fmt::format("dataset path '{}' is not a folder (expected DIR/<class>/* or "
                                       "DIR/{{train,test}}/<class>/*)", root.string()));
  }
  if (options.min_size < 1) fail(ExitCode::kUsage, fmt::format("--min-size must be at least 1, got {}", options.min_size));
  const auto aliases = options.alias_file.empty() ? std::map<std::string, std::string>{}
                                                  : read_alias_file(options.alias_file);
  const fs::path abs_root = fs::weakly_canonical(fs::absolute(root));

  // Top level: split folders, class folders, or stray files.
  std::vector<fs::path> top_dirs;
  std::vector<fs::path> top_files;
  for (fs::directory_iterator it(abs_root, ec), end; !ec && it != end; it.increment(ec)) {
    if (hidden(it->path())) continue;
    std::error_code e2;
    (fs::is_directory(it->path(), e2) ? top_dirs : top_files).push_back(it->path());
  }
  if (ec) fail(ExitCode::kInput, fmt::format("cannot list dataset folder '{}': {}", root.string(), ec.message()));
  std::sort(top_dirs.begin(), top_dirs.end());
  std::sort(top_files.begin(), top_files.end());
  if (top_dirs.empty()) {
    fail(ExitCode::kInput, fmt::format("dataset folder '{}' has no class folders (expected DIR/<class>/* or "
                                       "DIR/{{train,test}}/<class>/*)", root.string()));
  }
  std::size_t split_dirs = 0;
  for (const auto& d : top_dirs) split_dirs += split_folder(d.filename().string()).has_value() ? 1 : 0;
  if (split_dirs > 0 && split_dirs != top_dirs.size()) {
    std::vector<std::string> names;
    for (const auto& d : top_dirs) names.push_back(d.filename().string());
    fail(ExitCode::kInput,
         fmt::format("dataset folder '{}' mixes split folders (train/val/test/predict) with other folders ({}); "
                     "use either DIR/<class>/* or DIR/<split>/<class>/*",
                     root.string(), fmt::join(names, ", ")));
  }
  const bool split_layout = split_dirs > 0;

  std::vector<Found> found;
  std::vector<std::string> empty_class_folders;  // as spelled on disk, with their split
  std::set<DirKey> visited;
  struct stat st {};
  if (::stat(abs_root.c_str(), &st) == 0) visited.insert({st.st_dev, st.st_ino});
  for (const auto& f : top_files) {
    found.push_back({f.string(), "", "", fmt::format("{}: file is not inside a class folder", reason::kUnlabeled)});
  }
  auto walk_classes = [&](const fs::path& dir, const std::string& source_split) {
    std::vector<fs::path> class_dirs;
    std::error_code e2;
    for (fs::directory_iterator it(dir, e2), end; !e2 && it != end; it.increment(e2)) {
      if (hidden(it->path())) continue;
      std::error_code e3;
      if (fs::is_directory(it->path(), e3)) {
        class_dirs.push_back(it->path());
      } else {
        found.push_back({it->path().string(), "", source_split,
                         fmt::format("{}: file is not inside a class folder", reason::kUnlabeled)});
      }
    }
    std::sort(class_dirs.begin(), class_dirs.end());
    for (const auto& cd : class_dirs) {
      if (::stat(cd.c_str(), &st) == 0 && !visited.insert({st.st_dev, st.st_ino}).second) {
        found.push_back({cd.string(), cd.filename().string(), source_split,
                         fmt::format("{}: symlink loop (folder already scanned through another path)",
                                     reason::kUnreadable)});
        continue;
      }
      const std::size_t before = found.size();
      walk(cd, cd.filename().string(), source_split, visited, found);
      if (found.size() == before) {
        found.push_back({cd.string(), cd.filename().string(), source_split,
                         fmt::format("{}: class folder has no files", reason::kEmptyClass)});
      }
    }
  };
  if (split_layout) {
    for (const auto& d : top_dirs) {
      const std::string s = *split_folder(d.filename().string());
      if (s == "predict") {
        // Unlabeled by definition: every file below is reported, none is used.
        std::vector<Found> pred;
        walk(d, "", s, visited, pred);
        for (auto& p : pred) {
          if (p.preset_reason.empty()) p.preset_reason = fmt::format("{}: in the unlabeled '{}' folder", reason::kUnlabeled,
                                                                     d.filename().string());
          found.push_back(std::move(p));
        }
      } else {
        walk_classes(d, s);
      }
    }
  } else {
    walk_classes(abs_root, "");
  }

  // Canonical class names: alias target when there is one, otherwise the
  // spelling met first in split order (train, val, test), so that "Apple"
  // (train) and "apple" (test) are one class named "Apple".
  std::map<std::string, std::string> canonical;  // lower(name) -> display
  std::map<std::string, std::set<std::string>> spellings;
  {
    std::vector<const Found*> order;
    for (const auto& f : found) {
      if (!f.folder_class.empty()) order.push_back(&f);
    }
    std::stable_sort(order.begin(), order.end(), [](const Found* a, const Found* b) {
      return split_order(a->source_split) < split_order(b->source_split);
    });
    for (const auto* f : order) {
      const std::string key = lower(f->folder_class);
      auto alias = aliases.find(key);
      const std::string display = alias != aliases.end() ? alias->second : f->folder_class;
      const std::string ckey = lower(display);
      canonical.try_emplace(key, canonical.contains(ckey) ? canonical[ckey] : display);
      canonical.try_emplace(ckey, canonical[key]);
      spellings[canonical[key]].insert(f->folder_class);
    }
  }

  // Read, hash and decode every file in parallel; results keep walk order.
  std::vector<ManifestEntry> entries(found.size());
  {
    Progress progress("scan", found.size(), "files");
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < found.size(); i = next++) {
        entries[i] = examine(found[i], options.min_size);
        if (!found[i].folder_class.empty()) entries[i].label = canonical.at(lower(found[i].folder_class));
        if (entries[i].used() && entries[i].label.empty()) {
          entries[i].status = Status::kExcluded;
          entries[i].reason = std::string(reason::kUnlabeled);
        }
        if (found[i].preset_reason.starts_with(reason::kUnlabeled) ||
            found[i].preset_reason.starts_with(reason::kEmptyClass)) {
          entries[i].status = Status::kExcluded;
        }
        progress.advance();
      }
    };
    const int n = options.threads > 0 ? options.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    std::vector<std::jthread> pool;
    for (int t = 1; t < n; ++t) pool.emplace_back(work);
    work();
  }

  // Exact duplicates. One label: keep one copy (the test copy when the dataset
  // has its own split, so train never holds a test image), reject the rest.
  // Several labels: a label conflict, rejected everywhere.
  std::unordered_map<std::string, std::vector<std::size_t>> by_hash;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].used()) by_hash[entries[i].hash].push_back(i);
  }
  std::size_t duplicate_groups = 0;
  std::size_t conflict_groups = 0;
  nlohmann::json duplicate_list = nlohmann::json::array();
  for (auto& [hash, idx] : by_hash) {
    if (idx.size() < 2) continue;
    std::sort(idx.begin(), idx.end());
    std::set<std::string> labels;
    for (auto i : idx) labels.insert(entries[i].label);
    nlohmann::json group{{"hash", hash}, {"files", nlohmann::json::array()}};
    for (auto i : idx) group["files"].push_back(entries[i].path);
    if (labels.size() > 1) {
      ++conflict_groups;
      group["kind"] = "label-conflict";
      for (auto i : idx) {
        entries[i].status = Status::kRejected;
        std::vector<std::string> others;
        for (auto j : idx) {
          if (j != i) others.push_back(fmt::format("'{}' ({})", entries[j].path, entries[j].label));
        }
        entries[i].reason = fmt::format("{}: same content as {}", reason::kLabelConflict, fmt::join(others, ", "));
      }
    } else {
      ++duplicate_groups;
      group["kind"] = "duplicate";
      std::size_t keep = idx.front();
      for (auto i : idx) {
        if (split_order(entries[i].source_split) == 2 && split_order(entries[keep].source_split) != 2) keep = i;
      }
      group["kept"] = entries[keep].path;
      for (auto i : idx) {
        if (i == keep) continue;
        entries[i].status = Status::kRejected;
        entries[i].reason = fmt::format("{}: same content as '{}'", reason::kDuplicate, entries[keep].path);
      }
    }
    duplicate_list.push_back(std::move(group));
  }
  std::sort(duplicate_list.begin(), duplicate_list.end(),
            [](const nlohmann::json& a, const nlohmann::json& b) { return a["files"][0] < b["files"][0]; });

  ScanResult result;
  result.layout = split_layout ? "split" : "flat";
  for (const auto& [key, display] : canonical) result.manifest.classes.push_back(display);
  std::sort(result.manifest.classes.begin(), result.manifest.classes.end());
  result.manifest.classes.erase(std::unique(result.manifest.classes.begin(), result.manifest.classes.end()),
                                result.manifest.classes.end());
  for (auto& e : entries) {
    if (e.split == Split::kNone) e.split = parse_split(e.source_split).value_or(Split::kNone);
  }
  result.manifest.entries = std::move(entries);

  // The report: what a user checks before trusting a dataset.
  nlohmann::json& r = result.report;
  r["root"] = abs_root.string();
  r["layout"] = result.layout;
  r["classes"] = result.manifest.classes;
  r["min_size"] = options.min_size;
  nlohmann::json counts = nlohmann::json::object();
  nlohmann::json rejected = nlohmann::json::object();
  nlohmann::json converted = nlohmann::json::object();
  nlohmann::json formats = nlohmann::json::object();
  std::size_t used = 0;
  std::size_t n_rejected = 0;
  std::size_t excluded = 0;
  for (const auto& c : result.manifest.classes) counts[c] = nlohmann::json::object();
  for (const auto& e : result.manifest.entries) {
    const std::string split = e.source_split.empty() ? "all" : e.source_split;
    if (e.used()) {
      ++used;
      auto& slot = counts[e.label][split];
      slot = slot.is_null() ? 1 : slot.get<int>() + 1;
      auto& f = formats[e.format];
      f = f.is_null() ? 1 : f.get<int>() + 1;
      if (e.converted) {
        auto& cv = converted[e.color];
        cv = cv.is_null() ? 1 : cv.get<int>() + 1;
      }
    } else {
      (e.status == Status::kRejected ? n_rejected : excluded) += 1;
      const std::string key = e.reason.substr(0, e.reason.find(':'));
      auto& slot = rejected[key];
      slot = slot.is_null() ? 1 : slot.get<int>() + 1;
    }
  }
  r["counts"] = counts;
  r["formats"] = formats;
  r["converted_to_rgb8"] = converted;
  r["totals"] = {{"files", result.manifest.entries.size()}, {"used", used}, {"rejected", n_rejected},
                 {"excluded", excluded}};
  std::vector<std::string> with_images;
  for (const auto& [cls, per] : counts.items()) {
    if (!per.empty()) with_images.push_back(cls);
  }
  nlohmann::json warnings = nlohmann::json::array();
  if (const std::string w = one_class_warning(with_images); !w.empty()) warnings.push_back(w);
  r["warnings"] = warnings;
  r["not_used_by_reason"] = rejected;
  r["duplicate_groups"] = duplicate_groups;
  r["label_conflict_groups"] = conflict_groups;
  r["duplicates"] = duplicate_list;
  nlohmann::json sp = nlohmann::json::object();
  for (const auto& [display, names] : spellings) {
    if (names.size() > 1 || *names.begin() != display) sp[display] = std::vector<std::string>(names.begin(), names.end());
  }
  r["class_folder_spellings"] = sp;
  return result;
}

std::string format_report_table(const nlohmann::json& report) {
  std::string out;
  std::vector<std::string> splits;
  for (const auto& [cls, per] : report.at("counts").items()) {
    for (const auto& [split, n] : per.items()) {
      if (std::find(splits.begin(), splits.end(), split) == splits.end()) splits.push_back(split);
    }
  }
  std::sort(splits.begin(), splits.end(), [](const std::string& a, const std::string& b) {
    return split_order(a) < split_order(b) || (split_order(a) == split_order(b) && a < b);
  });
  std::size_t width = 5;
  for (const auto& [cls, per] : report.at("counts").items()) width = std::max(width, cls.size());
  out += fmt::format("{:<{}}", "class", width);
  for (const auto& s : splits) out += fmt::format(" {:>8}", s);
  out += fmt::format(" {:>8}\n", "total");
  std::map<std::string, long> column_totals;
  long grand = 0;
  for (const auto& [cls, per] : report.at("counts").items()) {
    out += fmt::format("{:<{}}", cls, width);
    long total = 0;
    for (const auto& s : splits) {
      const long n = per.contains(s) ? per.at(s).get<long>() : 0;
      total += n;
      column_totals[s] += n;
      out += fmt::format(" {:>8}", n);
    }
    grand += total;
    out += fmt::format(" {:>8}\n", total);
  }
  out += fmt::format("{:<{}}", "total", width);
  for (const auto& s : splits) out += fmt::format(" {:>8}", column_totals[s]);
  out += fmt::format(" {:>8}\n", grand);
  if (report.contains("not_used_by_reason") && !report.at("not_used_by_reason").empty()) {
    out += "\nnot used, by reason:\n";
    for (const auto& [why, n] : report.at("not_used_by_reason").items()) out += fmt::format("  {:<24} {:>6}\n", why, n.get<long>());
  }
  if (report.contains("converted_to_rgb8") && !report.at("converted_to_rgb8").empty()) {
    out += "\nconverted to 8-bit RGB:\n";
    for (const auto& [color, n] : report.at("converted_to_rgb8").items()) out += fmt::format("  {:<24} {:>6}\n", color, n.get<long>());
  }
  return out;
}

}  // namespace inferbench::data
