#include "report/export.h"

#include <fmt/format.h>

#include <type_traits>
#include <variant>

#include "common/csv.h"
#include "common/json.h"

namespace inferbench::report {

namespace {

using results::ResultField;
using results::RunRecord;

// As the database stores JSON (results/store.cpp): compact, keys sorted.
std::string compact(const nlohmann::json& j) { return dump_json(j, -1); }

nlohmann::json optional_json(const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json result_json(const results::Result& r) {
  nlohmann::json j = nlohmann::json::object();
  for (const ResultField& f : results::result_fields()) {
    std::visit(
        [&](auto member) {
          const auto& value = r.*member;
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, int>) {
            j[f.name] = value;
          } else {
            j[f.name] = optional_json(value);
          }
        },
        f.member);
  }
  j["summary"] = r.summary;
  return j;
}

// Shortest text that reads back as the same double.
std::string csv_number(const auto& v) { return v ? fmt::format("{}", *v) : std::string(); }

}  // namespace

nlohmann::json export_study_json(results::Store& store, std::int64_t study_id) {
  const results::StudyData data = store.load(study_id);
  const results::Study& study = data.study;
  nlohmann::json runs_json = nlohmann::json::array();
  for (const RunRecord& run : data.runs) {
    runs_json.push_back({{"id", run.id},
                         {"run_key", run.run_key},
                         {"started_at", run.started_at},
                         {"finished_at", run.finished_at},
                         {"status", results::to_string(run.status)},
                         {"reason", run.reason},
                         {"environment", run.environment},
                         {"configuration", run.configuration},
                         {"result", result_json(run.result)},
                         {"samples", run.samples}});
  }
  return {{"schema", kJsonSchemaName},
          {"version", results::kSchemaVersion},
          {"study",
           {{"id", study.id},
            {"name", study.name},
            {"created_at", study.created_at},
            {"status", results::to_string(study.status)},
            {"plan", study.plan}}},
          {"runs", std::move(runs_json)}};
}

const std::vector<std::string>& export_csv_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c = {"study", "run_id", "run_key", "status", "reason", "started_at", "finished_at"};
    for (const ResultField& f : results::result_fields()) c.emplace_back(f.name);
    c.emplace_back("summary");
    c.emplace_back("configuration");
    return c;
  }();
  return columns;
}

std::string export_study_csv(results::Store& store, std::int64_t study_id) {
  const results::StudyData data = store.load(study_id);
  std::string out = csv_row(export_csv_columns());
  for (const RunRecord& run : data.runs) {
    std::vector<std::string> row = {data.study.name,
                                    std::to_string(run.id),
                                    run.run_key,
                                    std::string(results::to_string(run.status)),
                                    run.reason,
                                    run.started_at,
                                    run.finished_at};
    for (const ResultField& f : results::result_fields()) {
      std::visit(
          [&](auto member) {
            const auto& value = run.result.*member;
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::string>) {
              row.push_back(value);
            } else if constexpr (std::is_same_v<T, int>) {
              row.push_back(std::to_string(value));
            } else {
              row.push_back(csv_number(value));
            }
          },
          f.member);
    }
    row.push_back(compact(run.result.summary));
    row.push_back(compact(run.configuration));
    out += csv_row(row);
  }
  return out;
}

}  // namespace inferbench::report
