#include "report/export.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "common/csv.h"
#include "common/error.h"
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

namespace {

// Reads one value of an exported study, naming where it is when it is wrong.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void bad(const std::string& where, std::string_view expected, const nlohmann::json* got) const {
    fail(ExitCode::kInput, fmt::format("'{}': {}: expected {}{}", source_, where, expected,
                                       got == nullptr ? " (missing)" : ", got " + dump_json(*got, -1).substr(0, 80)));
  }
  const nlohmann::json& at(const nlohmann::json& obj, const std::string& where, const char* key) const {
    const auto it = obj.find(key);
    if (it == obj.end()) bad(where + key, "a value", nullptr);
    return *it;
  }
  const nlohmann::json& object(const nlohmann::json& obj, const std::string& where, const char* key) const {
    const nlohmann::json& v = at(obj, where, key);
    if (!v.is_object()) bad(where + key, "an object", &v);
    return v;
  }
  std::string text(const nlohmann::json& obj, const std::string& where, const char* key) const {
    const nlohmann::json& v = at(obj, where, key);
    if (!v.is_string()) bad(where + key, "a string", &v);
    return v.get<std::string>();
  }
  std::int64_t integer(const nlohmann::json& obj, const std::string& where, const char* key) const {
    const nlohmann::json& v = at(obj, where, key);
    if (!v.is_number_integer()) bad(where + key, "an integer", &v);
    return v.get<std::int64_t>();
  }
  std::optional<double> number_or_null(const nlohmann::json& obj, const std::string& where, const char* key) const {
    const nlohmann::json& v = at(obj, where, key);
    if (v.is_null()) return std::nullopt;
    if (!v.is_number() || !std::isfinite(v.get<double>())) bad(where + key, "a number or null", &v);
    return v.get<double>();
  }
  std::optional<std::int64_t> integer_or_null(const nlohmann::json& obj, const std::string& where,
                                              const char* key) const {
    const nlohmann::json& v = at(obj, where, key);
    if (v.is_null()) return std::nullopt;
    if (!v.is_number_integer()) bad(where + key, "an integer or null", &v);
    return v.get<std::int64_t>();
  }
  template <typename Status, typename Parse>
  Status status(const nlohmann::json& obj, const std::string& where, const char* key, Parse parse) const {
    const std::string text_value = text(obj, where, key);
    try {
      return parse(text_value);
    } catch (const Error&) {
      const nlohmann::json got = text_value;
      bad(where + key, "a known status", &got);
    }
  }

 private:
  const std::string& source_;
};

}  // namespace

results::StudyData study_from_json(const nlohmann::json& j, const std::string& source) {
  const Reader r(source);
  if (!j.is_object()) r.bad("the file", "an exported study (a JSON object)", &j);
  if (const std::string schema = r.text(j, "", "schema"); schema != kJsonSchemaName) {
    const nlohmann::json got = schema;
    r.bad("schema", fmt::format("\"{}\"", kJsonSchemaName), &got);
  }
  const std::int64_t version = r.integer(j, "", "version");
  if (version < 1 || version > results::kSchemaVersion) {
    fail(ExitCode::kInput, fmt::format("'{}': version {}: this build reads exports of schema 1 to {}", source, version,
                                       results::kSchemaVersion));
  }
  results::StudyData data;
  const nlohmann::json& study = r.object(j, "", "study");
  data.study.name = r.text(study, "study.", "name");
  if (data.study.name.empty()) r.bad("study.name", "a study name", &study.at("name"));
  data.study.created_at = r.text(study, "study.", "created_at");
  data.study.status = r.status<results::StudyStatus>(study, "study.", "status", results::study_status_from_string);
  data.study.plan = r.at(study, "study.", "plan");

  const nlohmann::json& runs = r.at(j, "", "runs");
  if (!runs.is_array()) r.bad("runs", "an array", &runs);
  std::set<std::string> keys;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string at = fmt::format("runs[{}].", i);
    const nlohmann::json& jr = runs[i];
    if (!jr.is_object()) r.bad(fmt::format("runs[{}]", i), "an object", &jr);
    results::RunRecord run;
    run.run_key = r.text(jr, at, "run_key");
    if (run.run_key.empty() || !keys.insert(run.run_key).second) {
      r.bad(at + "run_key", "a run key not empty and not used by another run", &jr.at("run_key"));
    }
    run.started_at = r.text(jr, at, "started_at");
    run.finished_at = r.text(jr, at, "finished_at");
    run.status = r.status<results::RunStatus>(jr, at, "status", results::run_status_from_string);
    run.reason = r.text(jr, at, "reason");
    run.environment = r.object(jr, at, "environment");
    run.configuration = r.object(jr, at, "configuration");
    const nlohmann::json& jx = r.object(jr, at, "result");
    const std::string rat = at + "result.";
    for (const ResultField& f : results::result_fields()) {
      std::visit(
          [&](auto member) {
            auto& value = run.result.*member;
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::string>) {
              value = r.text(jx, rat, f.name);
            } else if constexpr (std::is_same_v<T, int>) {
              const std::int64_t v = r.integer(jx, rat, f.name);
              if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
                r.bad(rat + f.name, "an integer in int's range", &jx.at(f.name));
              }
              value = static_cast<int>(v);
            } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
              value = r.integer_or_null(jx, rat, f.name);
            } else {
              value = r.number_or_null(jx, rat, f.name);
            }
          },
          f.member);
    }
    run.result.summary = r.object(jx, rat, "summary");
    const nlohmann::json& samples = r.at(jr, at, "samples");
    if (!samples.is_array()) r.bad(at + "samples", "an array of numbers", &samples);
    run.samples.reserve(samples.size());
    for (std::size_t k = 0; k < samples.size(); ++k) {
      const nlohmann::json& v = samples[k];
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        r.bad(fmt::format("{}samples[{}]", at, k), "a finite number (ms)", &v);
      }
      run.samples.push_back(v.get<double>());
    }
    data.runs.push_back(std::move(run));
  }
  return data;
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
