#pragma once
// `inferbench results export`: one study of the results database as JSON or
// CSV, for machines (report.h draws the same study for people).
//
// Contract:
// - export_study_json() is the canonical, schema-versioned machine format:
//   {"schema": kJsonSchemaName, "version": results::kSchemaVersion,
//    "study": {"id", "name", "created_at", "status", "plan"},
//    "runs": [{"id", "run_key", "started_at", "finished_at", "status",
//              "reason", "environment", "configuration",
//              "result": {one key per results::result_fields() member, null
//                         when unset, and "summary"},
//              "samples": [ms, in the order measured]}]}
//   with every field of every run, samples included, runs in the order they
//   were recorded.
// - export_study_csv(): one row per run after a header row, columns in a fixed
//   order (export_csv_columns(): the fields named as in the database, the
//   summary and the configuration as compact JSON), RFC 4180 quoting; unset
//   figures are empty fields, numbers the shortest text that reads back as
//   the same double.
// - Both read the study and its runs in one snapshot (results::Store::load)
//   and throw std::invalid_argument for an unknown study id.
// - study_from_json() reads export_study_json()'s format back (`results
//   import`): every field checked, none defaulted; a value missing or of the
//   wrong type, an unknown status, a sample that is not a finite number, a
//   run key twice, another schema or a newer version is Error(kInput) naming
//   `source` and the field ("runs[3].result.median: expected a number or
//   null"). Ids are not read back: the store that imports gives its own.
//
// Units: as the database holds them (results/store.h).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "results/store.h"

namespace inferbench::report {

// The "schema" field of export_study_json().
inline constexpr std::string_view kJsonSchemaName = "inferbench-results";

nlohmann::json export_study_json(results::Store& store, std::int64_t study_id);
results::StudyData study_from_json(const nlohmann::json& j, const std::string& source);
std::string export_study_csv(results::Store& store, std::int64_t study_id);
const std::vector<std::string>& export_csv_columns();

}  // namespace inferbench::report
