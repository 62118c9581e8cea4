#include "data/split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "common/hash.h"

namespace inferbench::data {

std::string_view to_string(Balance b) {
  switch (b) {
    case Balance::kNone: return "none";
    case Balance::kUndersample: return "undersample";
    case Balance::kOversample: return "oversample";
    case Balance::kClassWeights: return "class-weights";
  }
  return "?";
}

Balance parse_balance(std::string_view s) {
  for (auto b : {Balance::kNone, Balance::kUndersample, Balance::kOversample, Balance::kClassWeights}) {
    if (to_string(b) == s) return b;
  }
  fail(ExitCode::kUsage,
       fmt::format("unknown balancing strategy '{}' (expected none, undersample, oversample, class-weights)", s));
}

void SplitOptions::validate() const {
  for (auto [name, v] : {std::pair{"train", train}, std::pair{"val", val}, std::pair{"test", test}}) {
    if (!(v >= 0.0 && v <= 1.0)) fail(ExitCode::kUsage, fmt::format("--{} must be in [0, 1], got {}", name, v));
  }
  if (std::abs(train + val + test - 1.0) > 1e-6) {
    fail(ExitCode::kUsage, fmt::format("--train, --val and --test must add up to 1, got {} + {} + {} = {}", train, val,
                                       test, train + val + test));
  }
  if (train <= 0.0) fail(ExitCode::kUsage, "--train must be greater than 0");
}

namespace {

// Position of an image in [0, 1): a function of its content and the seed only.
double unit_key(const std::string& hash, std::uint64_t seed) {
  return static_cast<double>(seeded_key(hash, seed) >> 11) * 0x1.0p-53;
}

bool is_balancing_reason(const std::string& r) {
  return r.starts_with(reason::kTestSurplus) || r.starts_with(reason::kUndersampled);
}

}  // namespace

std::string one_class_warning(const std::vector<std::string>& with_images) {
  if (with_images.size() >= kMinClasses) return "";
  const std::string which =
      with_images.empty() ? "no class has usable images" : fmt::format("only one class has usable images ('{}')", with_images[0]);
  return fmt::format("{}: a classifier needs at least {} classes, and `inferbench train` refuses fewer", which,
                     kMinClasses);
}

nlohmann::json split_manifest(Manifest& manifest, const SplitOptions& options) {
  options.validate();
  const bool has_dataset_split = std::any_of(manifest.entries.begin(), manifest.entries.end(), [](const auto& e) {
    return e.source_split == "train" || e.source_split == "test" || e.source_split == "val";
  });
  const bool keep_dataset_split = options.use_dataset_split && has_dataset_split;
  // Salts keep the split draw independent of the val-carving and balancing draws.
  const std::uint64_t split_seed = options.seed;
  const std::uint64_t carve_seed = options.seed ^ 0x5bd1e995ULL;
  const std::uint64_t order_seed = options.seed ^ 0x27d4eb2fULL;

  // Re-splitting starts from the scan's decisions, not from an earlier split's balancing.
  for (auto& e : manifest.entries) {
    if (e.status == Status::kExcluded && is_balancing_reason(e.reason)) {
      e.status = Status::kUsed;
      e.reason.clear();
    }
    e.repeat = 1;
    e.weight = 1.0;
    if (!e.used()) continue;
    if (keep_dataset_split) {
      if (e.source_split == "test") {
        e.split = Split::kTest;
      } else if (e.source_split == "val") {
        e.split = Split::kVal;
      } else {
        const double val_share = options.val / (options.train + options.val);
        e.split = unit_key(e.hash, carve_seed) < val_share ? Split::kVal : Split::kTrain;
      }
    } else {
      const double u = unit_key(e.hash, split_seed);
      e.split = u < options.train ? Split::kTrain : u < options.train + options.val ? Split::kVal : Split::kTest;
    }
  }

  // Entries of one class and split, ordered by a seeded key of their content:
  // balancing keeps a prefix of this order, so the choice is stable too.
  auto members = [&](const std::string& cls, Split split) {
    std::vector<ManifestEntry*> out;
    for (auto& e : manifest.entries) {
      if (e.used() && e.label == cls && e.split == split) out.push_back(&e);
    }
    std::sort(out.begin(), out.end(), [&](const ManifestEntry* a, const ManifestEntry* b) {
      const auto ka = seeded_key(a->hash, order_seed);
      const auto kb = seeded_key(b->hash, order_seed);
      return ka != kb ? ka < kb : a->path < b->path;
    });
    return out;
  };

  nlohmann::json summary;
  summary["seed"] = options.seed;
  summary["fractions"] = {{"train", options.train}, {"val", options.val}, {"test", options.test}};
  summary["dataset_split_kept"] = keep_dataset_split;
  summary["classes"] = manifest.classes;
  nlohmann::json warnings = nlohmann::json::array();

  std::vector<std::string> active;  // classes with at least one used image
  std::vector<std::string> empty;
  for (const auto& c : manifest.classes) {
    const bool any = std::any_of(manifest.entries.begin(), manifest.entries.end(),
                                 [&](const auto& e) { return e.used() && e.label == c; });
    (any ? active : empty).push_back(c);
  }
  summary["empty_classes"] = empty;
  for (const auto& c : empty) warnings.push_back(fmt::format("class '{}' has no usable images", c));
  if (const std::string w = one_class_warning(active); !w.empty()) warnings.push_back(w);

  // Balanced test split: every class gets as many test images as the smallest.
  summary["test_balanced"] = options.balance_test;
  if (options.balance_test && !active.empty()) {
    std::size_t target = SIZE_MAX;
    std::string smallest;
    for (const auto& c : active) {
      const auto n = members(c, Split::kTest).size();
      if (n < target) {
        target = n;
        smallest = c;
      }
    }
    if (target == 0) {
      fail(ExitCode::kInput,
           fmt::format("class '{}' has no test images, so the test split cannot be balanced; add images, raise "
                       "--test, or pass --no-balance-test",
                       smallest));
    }
    nlohmann::json surplus = nlohmann::json::object();
    for (const auto& c : active) {
      auto m = members(c, Split::kTest);
      if (m.size() > target) surplus[c] = m.size() - target;
      for (std::size_t i = target; i < m.size(); ++i) {
        m[i]->status = Status::kExcluded;
        m[i]->reason = fmt::format("{}: class '{}' has {} test images, the test split is balanced to {} per class",
                                   reason::kTestSurplus, c, m.size(), target);
      }
    }
    summary["test_per_class"] = target;
    summary["test_surplus"] = surplus;
  }

  // Training balance.
  summary["train_balance"] = std::string(to_string(options.train_balance));
  if (options.train_balance != Balance::kNone && !active.empty()) {
    std::map<std::string, std::vector<ManifestEntry*>> train;
    std::size_t lo = SIZE_MAX;
    std::size_t hi = 0;
    std::size_t total = 0;
    for (const auto& c : active) {
      train[c] = members(c, Split::kTrain);
      lo = std::min(lo, train[c].size());
      hi = std::max(hi, train[c].size());
      total += train[c].size();
    }
    if (lo == 0) {
      for (const auto& c : active) {
        if (train[c].empty()) {
          fail(ExitCode::kInput, fmt::format("class '{}' has no training images, so training cannot be balanced", c));
        }
      }
    }
    nlohmann::json effective = nlohmann::json::object();
    nlohmann::json weights = nlohmann::json::object();
    for (const auto& c : active) {
      auto& m = train[c];
      switch (options.train_balance) {
        case Balance::kUndersample:
          for (std::size_t i = lo; i < m.size(); ++i) {
            m[i]->status = Status::kExcluded;
            m[i]->reason = fmt::format("{}: class '{}' has {} training images, undersampled to {}",
                                       reason::kUndersampled, c, m.size(), lo);
          }
          effective[c] = lo;
          break;
        case Balance::kOversample: {
          // Every image is drawn hi / n times; the hi % n first (by key) once more.
          const std::size_t base = hi / m.size();
          const std::size_t extra = hi % m.size();
          for (std::size_t i = 0; i < m.size(); ++i) m[i]->repeat = static_cast<int>(base + (i < extra ? 1 : 0));
          effective[c] = hi;
          break;
        }
        case Balance::kClassWeights: {
          // sklearn's "balanced": n_samples / (n_classes * n_class_samples).
          const double w = static_cast<double>(total) / (static_cast<double>(active.size()) * static_cast<double>(m.size()));
          for (auto* e : m) e->weight = w;
          weights[c] = w;
          effective[c] = m.size();
          break;
        }
        case Balance::kNone: break;
      }
    }
    summary["train_effective_per_class"] = effective;
    if (options.train_balance == Balance::kClassWeights) summary["class_weights"] = weights;
  }

  // Final counts (used images only; oversampled repeats counted once).
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& c : manifest.classes) counts[c] = {{"train", 0}, {"val", 0}, {"test", 0}};
  std::map<std::string, std::size_t> totals{{"train", 0}, {"val", 0}, {"test", 0}};
  for (const auto& e : manifest.entries) {
    if (!e.used() || e.label.empty()) continue;
    const std::string s(to_string(e.split));
    if (!totals.contains(s)) continue;
    counts[e.label][s] = counts[e.label][s].get<int>() + 1;
    ++totals[s];
  }
  for (const auto& c : active) {
    if (counts[c]["val"].get<int>() == 0 && options.val > 0) {
      warnings.push_back(fmt::format("class '{}' has no validation images", c));
    }
  }
  summary["counts"] = counts;
  summary["totals"] = totals;
  summary["warnings"] = warnings;
  return summary;
}

}  // namespace inferbench::data
