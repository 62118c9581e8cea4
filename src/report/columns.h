#pragma once
// The CSV columns of a stored run (internal to src/report), written once for
// both CSV views of a study: `inferbench results export --format csv`
// (export.cpp) is these columns, all of them, in this order; the report's
// results.csv (tables.cpp) takes some of them under its own names (with
// units: median_ms is `median`) beside the columns it derives.
//
// Cells: text as stored; integers in decimal; a figure in the shortest text
// that reads back as the same double (figure_cell), empty when unset; the
// summary and the configuration as compact JSON.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "results/store.h"

namespace inferbench::report {

struct RunColumn {
  std::string name;  // as in the database: study, run_id, run_key, ..., the result_fields(), summary, configuration
  std::function<std::string(const results::Study&, const results::RunRecord&)> cell;
};

// In the order of `results export --format csv`.
const std::vector<RunColumn>& run_columns();
// The column named `name`; std::logic_error when there is none.
const RunColumn& run_column(std::string_view name);

// A figure as every CSV cell writes it: the shortest text that reads back as
// the same double, "" when unset.
std::string figure_cell(const std::optional<double>& v);

}  // namespace inferbench::report
