#include "train/seeds.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace inferbench::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kMetrics[] = {"top1", "top5", "macro_f1"};

}  // namespace

int parse_seeds(std::string_view text) {
  const bool digits = !text.empty() && text.size() <= 9 &&
                      std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  const int n = digits ? std::stoi(std::string(text)) : 0;
  if (!digits || n < 1 || n > kMaxSeeds) {
    fail(ExitCode::kUsage,
         fmt::format("--seeds '{}': expected a whole number of seeds from 1 to {} (the seeds are --seed, --seed + 1, "
                     "...)",
                     text, kMaxSeeds));
  }
  return n;
}

std::vector<std::uint64_t> seed_list(std::uint64_t first, int n) {
  if (n > 1 && first > std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(n - 1)) {
    fail(ExitCode::kUsage, fmt::format("--seed {} with --seeds {}: the seeds --seed .. --seed + {} pass 2^64 - 1", first,
                                       n, n - 1));
  }
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(first + static_cast<std::uint64_t>(i));
  return out;
}

fs::path seed_dir(const fs::path& out, std::uint64_t first, std::uint64_t seed) {
  return seed == first ? out : out / fmt::format("seed-{}", seed);
}

double sample_std(const std::vector<double>& values) {
  if (values.size() < 2) return 0.0;
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double ss = 0.0;
  for (const double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(values.size() - 1));
}

json seed_summary(const std::vector<SeedRun>& runs) {
  json s;
  s["n"] = runs.size();
  s["first_seed"] = runs.empty() ? json(nullptr) : json(runs.front().seed);
  s["seeds"] = json::array();
  s["runs"] = json::array();
  double seconds = 0.0;
  for (const auto& r : runs) {
    s["seeds"].push_back(r.seed);
    json row = {{"seed", r.seed}, {"dir", r.dir.string()}, {"status", r.status}, {"seconds", r.seconds}};
    for (const char* m : kMetrics) {
      row[m] = r.test.is_object() && r.test.contains(m) ? r.test[m] : json(nullptr);
    }
    s["runs"].push_back(std::move(row));
    seconds += r.seconds;
  }
  s["seconds"] = seconds;
  json metrics = json::object();
  for (const char* m : kMetrics) {
    std::vector<double> values;
    for (const auto& r : runs) {
      if (r.test.is_object() && r.test.contains(m) && r.test[m].is_number()) values.push_back(r.test[m].get<double>());
    }
    if (values.empty()) continue;
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    metrics[m] = {{"values", values},
                  {"mean", mean},
                  {"std", values.size() > 1 ? json(sample_std(values)) : json(nullptr)},
                  {"min", *std::min_element(values.begin(), values.end())},
                  {"max", *std::max_element(values.begin(), values.end())}};
  }
  s["metrics"] = metrics;
  return s;
}

std::string seed_table(const json& summary) {
  auto pct = [](const json& v) { return v.is_number() ? fmt::format("{:.2f}%", 100 * v.get<double>()) : "-"; };
  auto f1 = [](const json& v) { return v.is_number() ? fmt::format("{:.3f}", v.get<double>()) : "-"; };
  std::string t = fmt::format("{:<22} {:>8} {:>8} {:>9} {:>9}\n", "seed", "top-1", "top-5", "macro-F1", "train s");
  for (const auto& r : summary.at("runs")) {
    t += fmt::format("{:<22} {:>8} {:>8} {:>9} {:>9.0f}\n",
                     fmt::format("{}{}", r.at("seed").get<std::uint64_t>(),
                                 r.at("status") == "completed" ? "" : " (" + r.at("status").get<std::string>() + ")"),
                     pct(r.at("top1")), pct(r.at("top5")), f1(r.at("macro_f1")), r.at("seconds").get<double>());
  }
  // Mean, spread and range; the standard deviation of a percentage in points.
  const json& m = summary.at("metrics");
  auto row = [&](const char* key, const std::string& label, bool points) {
    auto get = [&](const char* name) { return m.contains(name) ? m[name].value(key, json(nullptr)) : json(nullptr); };
    auto pc = [&](const char* name) {
      const json v = get(name);
      if (!points) return pct(v);
      return v.is_number() ? fmt::format("{:.2f}", 100 * v.get<double>()) : std::string("-");
    };
    t += fmt::format("{:<22} {:>8} {:>8} {:>9}\n", label, pc("top1"), pc("top5"), f1(get("macro_f1")));
  };
  row("mean", "mean", false);
  row("std", "std (sample, points)", true);
  row("min", "min", false);
  row("max", "max", false);
  return t;
}

}  // namespace inferbench::train
