#include "report/export.h"

#include <fmt/format.h>

#include <stdexcept>
#include <type_traits>
#include <variant>

#include "common/csv.h"
#include "common/json.h"
#include "report/columns.h"

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

// The cell of one result_fields() member.
std::string result_cell(const results::Result& r, const results::ResultMember& member) {
  return std::visit(
      [&](auto m) -> std::string {
        const auto& value = r.*m;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return value;
        } else if constexpr (std::is_same_v<T, int>) {
          return std::to_string(value);
        } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
          return value ? std::to_string(*value) : std::string();
        } else {
          return figure_cell(value);
        }
      },
      member);
}

}  // namespace

std::string figure_cell(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string(); }

const std::vector<RunColumn>& run_columns() {
  using results::Study;
  static const std::vector<RunColumn> columns = [] {
    std::vector<RunColumn> c = {
        {"study", [](const Study& s, const RunRecord&) { return s.name; }},
        {"run_id", [](const Study&, const RunRecord& r) { return std::to_string(r.id); }},
        {"run_key", [](const Study&, const RunRecord& r) { return r.run_key; }},
        {"status", [](const Study&, const RunRecord& r) { return std::string(results::to_string(r.status)); }},
        {"reason", [](const Study&, const RunRecord& r) { return r.reason; }},
        {"started_at", [](const Study&, const RunRecord& r) { return r.started_at; }},
        {"finished_at", [](const Study&, const RunRecord& r) { return r.finished_at; }},
    };
    for (const ResultField& f : results::result_fields()) {
      c.push_back({f.name, [member = f.member](const Study&, const RunRecord& r) {
                     return result_cell(r.result, member);
                   }});
    }
    c.push_back({"summary", [](const Study&, const RunRecord& r) { return compact(r.result.summary); }});
    c.push_back({"configuration", [](const Study&, const RunRecord& r) { return compact(r.configuration); }});
    return c;
  }();
  return columns;
}

const RunColumn& run_column(std::string_view name) {
  for (const RunColumn& c : run_columns()) {
    if (c.name == name) return c;
  }
  throw std::logic_error(fmt::format("no stored CSV column '{}'", name));
}

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
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const RunColumn& c : run_columns()) n.push_back(c.name);
    return n;
  }();
  return names;
}

std::string export_study_csv(results::Store& store, std::int64_t study_id) {
  const results::StudyData data = store.load(study_id);
  std::string out = csv_row(export_csv_columns());
  for (const RunRecord& run : data.runs) {
    std::vector<std::string> row;
    for (const RunColumn& c : run_columns()) row.push_back(c.cell(data.study, run));
    out += csv_row(row);
  }
  return out;
}

}  // namespace inferbench::report
