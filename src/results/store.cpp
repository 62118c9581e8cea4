#include "results/store.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "common/error.h"
#include "common/hash.h"
#include "common/json.h"
#include "results/store_backend.h"

namespace inferbench::results {

// ---------------------------------------------------------------------------
// What both engines share: the result columns, stored JSON, the statuses.

namespace {

// Behind result_fields() (store.h). A new member needs the migration step
// that adds its column.
const ResultField kResultFields[] = {
    {"scenario", &Result::scenario},
    {"backend", &Result::backend},
    {"model", &Result::model},
    {"artifact", &Result::artifact},
    {"precision", &Result::precision},
    {"batch", &Result::batch},
    {"threads", &Result::threads},
    {"count", &Result::count},
    {"min", &Result::min},
    {"median", &Result::median},
    {"p90", &Result::p90},
    {"p95", &Result::p95},
    {"p99", &Result::p99},
    {"p999", &Result::p999},
    {"max", &Result::max},
    {"mean", &Result::mean},
    {"stddev", &Result::stddev},
    {"cv", &Result::cv},
    {"ci_lo", &Result::ci_lo},
    {"ci_hi", &Result::ci_hi},
    {"throughput", &Result::throughput},
    {"load_s", &Result::load_s},
    {"first_inference_s", &Result::first_inference_s},
    {"rss_kb", &Result::rss_kb},
};

}  // namespace

namespace detail {

std::string result_column_list(std::string_view prefix) {
  std::string out;
  for (const ResultField& f : kResultFields) {
    if (!out.empty()) out += ", ";
    out += prefix;
    out += f.name;
  }
  return out;
}

std::string to_text(const nlohmann::json& j) {
  return dump_json(j, -1);
}

nlohmann::json parse_stored_json(const std::string& location, const std::string& text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("'{}': malformed {} JSON: {}", location, what, e.what()));
  }
}

bool is_final(RunStatus status) {
  return status == RunStatus::kOk || status == RunStatus::kFailed || status == RunStatus::kSkipped;
}

}  // namespace detail

// ---------------------------------------------------------------------------

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kOk: return "ok";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kSkipped: return "skipped";
    case RunStatus::kCrashed: return "crashed";
    case RunStatus::kTimedOut: return "timed-out";
    case RunStatus::kOutOfMemory: return "out-of-memory";
  }
  throw std::logic_error("unknown RunStatus");
}

RunStatus run_status_from_string(std::string_view text) {
  for (RunStatus s : {RunStatus::kOk, RunStatus::kFailed, RunStatus::kSkipped, RunStatus::kCrashed,
                      RunStatus::kTimedOut, RunStatus::kOutOfMemory}) {
    if (to_string(s) == text) return s;
  }
  fail(ExitCode::kInput, fmt::format("unknown run status '{}'", text));
}

std::string_view to_string(StudyStatus status) {
  switch (status) {
    case StudyStatus::kRunning: return "running";
    case StudyStatus::kFinished: return "finished";
    case StudyStatus::kInterrupted: return "interrupted";
  }
  throw std::logic_error("unknown StudyStatus");
}

StudyStatus study_status_from_string(std::string_view text) {
  for (StudyStatus s : {StudyStatus::kRunning, StudyStatus::kFinished, StudyStatus::kInterrupted}) {
    if (to_string(s) == text) return s;
  }
  fail(ExitCode::kInput, fmt::format("unknown study status '{}'", text));
}

std::string run_key(const nlohmann::json& configuration) {
  return content_hash(detail::to_text(configuration));
}

std::span<const ResultField> result_fields() {
  return kResultFields;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, ms);
}

bool is_postgres_location(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

#ifndef INFERBENCH_HAVE_POSTGRES
std::unique_ptr<detail::Backend> detail::open_postgres(const std::string&, const Store::Options&, bool) {
  fail(ExitCode::kUnavailable,
       "this build has no PostgreSQL results store: libpq was not found when it was built (scripts/setup.sh "
       "installs libpq-dev; then rebuild)");
}
#endif

// ---------------------------------------------------------------------------

Store::Store(std::unique_ptr<detail::Backend> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

const std::string& Store::location() const {
  return impl_->location();
}

Store Store::open(const std::string& location) {
  return open(location, Options{});
}

Store Store::open(const std::string& location, const Options& options) {
  if (is_postgres_location(location)) return Store(detail::open_postgres(location, options, false));
  return Store(detail::open_sqlite(location, options));
}

Store Store::open_read_only(const std::string& location) {
  if (is_postgres_location(location)) return Store(detail::open_postgres(location, Options{}, true));
  return Store(detail::open_sqlite_read_only(location));
}

std::int64_t Store::begin_study(const std::string& name, const nlohmann::json& plan) {
  return impl_->begin_study(name, plan);
}

namespace {

void check_run(const RunRecord& run, std::string_view doing) {
  if (run.run_key.empty()) throw std::invalid_argument(fmt::format("{}: empty run key", doing));
  for (double v : run.samples) {
    if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("{}: a sample is not a finite number", doing));
  }
}

}  // namespace

std::int64_t Store::import_study(const StudyData& data) {
  if (data.study.name.empty()) throw std::invalid_argument("import_study: empty study name");
  for (const RunRecord& run : data.runs) check_run(run, "import_study");
  return impl_->import_study(data);
}

std::unique_ptr<StudyLock> Store::lock_study(const std::string& name, const std::string& what,
                                             const std::string& busy_message) {
  return impl_->lock_study(name, what, busy_message);
}

std::optional<Study> Store::find_study(std::string_view name) {
  return impl_->find_study(name);
}

std::vector<Study> Store::studies() {
  return impl_->studies();
}

void Store::set_study_status(std::int64_t study_id, StudyStatus status) {
  impl_->set_study_status(study_id, status);
}

bool Store::has_run(std::int64_t study_id, std::string_view key) {
  return impl_->has_run(study_id, key);
}

std::int64_t Store::record_run(const RunRecord& run) {
  check_run(run, "record_run");
  return impl_->record_run(run);
}

std::vector<RunRecord> Store::runs(std::int64_t study_id) {
  return impl_->runs(study_id);
}

StudyData Store::load(std::int64_t study_id) {
  return impl_->load(study_id);
}

}  // namespace inferbench::results
