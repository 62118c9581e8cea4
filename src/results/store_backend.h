#pragma once
// Private to src/results: what a results database must do for results::Store
// (store.h), one implementation per engine: SQLite (sqlite_store.cpp, the
// embedded default) and PostgreSQL (postgres_store.cpp, the shared store of a
// fleet). Store checks the API's preconditions (an empty run key, a sample
// that is not finite) before it calls one; each honours the contract of
// store.h with its engine's means (a transaction per run, a schema version,
// a study lock that readers can see).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "results/store.h"

namespace inferbench::results::detail {

class Backend {
 public:
  virtual ~Backend() = default;

  [[nodiscard]] virtual const std::string& location() const = 0;

  virtual std::int64_t begin_study(const std::string& name, const nlohmann::json& plan) = 0;
  virtual std::int64_t import_study(const StudyData& data) = 0;
  virtual std::optional<Study> find_study(std::string_view name) = 0;
  virtual std::vector<Study> studies() = 0;
  virtual void set_study_status(std::int64_t study_id, StudyStatus status) = 0;
  virtual bool has_run(std::int64_t study_id, std::string_view run_key) = 0;
  virtual std::int64_t record_run(const RunRecord& run) = 0;
  virtual std::vector<RunRecord> runs(std::int64_t study_id) = 0;
  virtual StudyData load(std::int64_t study_id) = 0;
  virtual std::unique_ptr<StudyLock> lock_study(const std::string& name, const std::string& what,
                                                const std::string& busy_message) = 0;
};

std::unique_ptr<Backend> open_sqlite(const std::string& path, const Store::Options& options);
std::unique_ptr<Backend> open_sqlite_read_only(const std::string& path);
std::unique_ptr<Backend> open_postgres(const std::string& url, const Store::Options& options, bool read_only);

// Shared by both engines.
std::string result_column_list(std::string_view prefix);  // result_fields() names, comma-separated, each prefixed
std::string to_text(const nlohmann::json& j);             // as stored: compact, keys sorted
nlohmann::json parse_stored_json(const std::string& location, const std::string& text, std::string_view what);
bool is_final(RunStatus status);  // ok, failed, skipped: --resume does not repeat them

// Calls bind(value) for each result_fields() member of `r`, in order: a
// std::string, an std::int64_t (the int members), an optional<std::int64_t>
// or an optional<double>.
template <typename Bind>
void bind_result_fields(const Result& r, Bind&& bind) {
  for (const ResultField& f : result_fields()) {
    std::visit(
        [&](auto member) {
          const auto& value = r.*member;
          if constexpr (std::is_same_v<std::decay_t<decltype(value)>, int>) {
            bind(static_cast<std::int64_t>(value));
          } else {
            bind(value);
          }
        },
        f.member);
  }
}

// Sets each result_fields() member of `r` from the columns first, first + 1,
// ... of a row: `row` has is_null(col), text(col), int64(col), real(col).
template <typename Row>
void read_result_fields(Result& r, const Row& row, int first) {
  int col = first;
  for (const ResultField& f : result_fields()) {
    std::visit(
        [&](auto member) {
          auto& value = r.*member;
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string>) {
            value = row.text(col);
          } else if constexpr (std::is_same_v<T, int>) {
            value = static_cast<int>(row.int64(col));
          } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
            value = row.is_null(col) ? T() : T(row.int64(col));
          } else {
            value = row.is_null(col) ? T() : T(row.real(col));
          }
        },
        f.member);
    ++col;
  }
}

}  // namespace inferbench::results::detail
