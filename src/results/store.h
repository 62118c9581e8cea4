#pragma once
// The results database: one SQLite file per study collection.
//
// Contract:
// - Every run is written in ONE transaction (run row + result row + raw
//   samples), so a crash (kill -9, power loss) loses at most the run in
//   flight; a file is never left holding half a run. A re-run asks has_run()
//   and skips what is done (--resume).
// - The schema version lives in `PRAGMA user_version`; open() migrates an
//   older file forward, one transaction per version step, and refuses a file
//   from a newer inferbench with Error(kInput).
// - A second writer (another process on the same file) waits up to
//   Options::busy_timeout_ms for the write lock, then gets Error(kOutput)
//   saying the file is locked; neither writer corrupts the file.
// - Errors: a file that is not an inferbench results database, or is from a
//   newer schema, is Error(kInput) naming it; a write that fails (locked, disk
//   full, read-only) is Error(kOutput) naming it. Breaking the API's own
//   preconditions (an empty run key, a NaN sample) is std::invalid_argument.
// - The Store reads and writes; the views of a study (the JSON and CSV
//   exports, src/report/export.h, and the report, src/report/report.h) are
//   drawn from what load() and runs() return.
//
// Units (as the bench runner, src/bench/runner.cpp, writes them): raw samples
// and the latency figures (min ... max, mean, stddev, ci_lo/ci_hi) in
// milliseconds per request (one batch; for cold-start, load plus first
// inference of one fresh worker); load_s and first_inference_s in seconds;
// throughput in images per second; memory in KiB. Timestamps are ISO 8601 UTC
// text (utc_now()).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace inferbench::results {

namespace sqlite {
class Connection;  // the SQLite handle (results/sqlite.h)
}  // namespace sqlite

// The newest schema this build writes and reads.
inline constexpr int kSchemaVersion = 2;

// How a run ended. ok, failed (the backend said why) and skipped (an
// unsupported combination) are final: --resume does not repeat them. crashed,
// timed-out and out-of-memory may be transient, so --resume runs them again.
enum class RunStatus { kOk, kFailed, kSkipped, kCrashed, kTimedOut, kOutOfMemory };
std::string_view to_string(RunStatus status);           // "ok", "failed", ..., "timed-out", "out-of-memory"
RunStatus run_status_from_string(std::string_view text);  // Error(kInput) when unknown

enum class StudyStatus { kRunning, kFinished, kInterrupted };
std::string_view to_string(StudyStatus status);  // "running", "finished", "interrupted"
StudyStatus study_status_from_string(std::string_view text);

struct Study {
  std::int64_t id = 0;
  std::string name;
  std::string created_at;
  nlohmann::json plan;  // the whole plan the study was started with
  StudyStatus status = StudyStatus::kRunning;
};

// What one run measured. The identity fields (scenario ... threads) repeat
// parts of RunRecord::configuration as columns so SQL and CSV can group by
// them. Every measured figure is optional: a failed or skipped run has none,
// and the database holds NULL, not a made-up zero.
struct Result {
  std::string scenario;  // e.g. "latency", "throughput"
  std::string backend;
  std::string model;
  std::string artifact;
  std::string precision;  // the precision that actually executed
  int batch = 0;
  int threads = 0;

  std::optional<std::int64_t> count;  // number of timed samples
  std::optional<double> min, median, p90, p95, p99, p999, max, mean, stddev;
  std::optional<double> cv;            // stddev / mean
  std::optional<double> ci_lo, ci_hi;  // 95% bootstrap interval of the median
  std::optional<double> throughput;
  std::optional<double> load_s, first_inference_s;
  std::optional<std::int64_t> rss_kb;  // peak RSS of the worker
  nlohmann::json summary = nlohmann::json::object();  // every other figure (accuracy, parity, ...)

  friend bool operator==(const Result&, const Result&) = default;
};

// The columns of the `results` table after run_id, in schema order: each
// Result member but `summary`, with its column name. The SQL, the JSON and
// CSV exports all walk this one list, so they cannot drift apart.
using ResultMember = std::variant<std::string Result::*, int Result::*, std::optional<std::int64_t> Result::*,
                                  std::optional<double> Result::*>;
struct ResultField {
  const char* name;
  ResultMember member;
};
std::span<const ResultField> result_fields();

struct RunRecord {
  std::int64_t id = 0;  // set by the store; ignored by record_run()
  std::int64_t study_id = 0;
  std::string run_key;  // stable hash of the configuration, unique within a study (run_key())
  std::string started_at;
  std::string finished_at;
  RunStatus status = RunStatus::kOk;
  std::string reason;  // why it did not succeed ("" when ok)
  nlohmann::json environment = nlohmann::json::object();    // machine, OS, library versions, build
  nlohmann::json configuration = nlohmann::json::object();  // everything that defines the run
  Result result;
  std::vector<double> samples;  // raw latencies in ms, in the order measured (finite values)

  friend bool operator==(const RunRecord&, const RunRecord&) = default;
};

// A study with its runs, as load() reads them.
struct StudyData {
  Study study;
  std::vector<RunRecord> runs;  // as runs() returns them
};

// A stable key for a configuration: the content hash of its canonical JSON
// (nlohmann sorts object keys), so the same configuration always gets the
// same key, in any process, whatever order its fields were set in.
std::string run_key(const nlohmann::json& configuration);

// Now, as "2024-05-01T12:34:56.789Z".
std::string utc_now();

class Store {
 public:
  struct Options {
    int busy_timeout_ms = 10000;  // how long a writer waits for another writer's lock
  };

  // Opens `path`, creating it (and its parent folders) when missing and
  // migrating it to kSchemaVersion. See the contract above for the errors.
  static Store open(const std::filesystem::path& path);
  static Store open(const std::filesystem::path& path, const Options& options);

  // Opens an existing `path` for reading only, as the read commands do
  // (`results`, `compare`, `report`): it never creates, migrates or writes the
  // file, and reads it in a read-only folder too (results/sqlite.h). A missing
  // path, a folder, a zero-byte file, an SQLite file with no inferbench schema
  // or anything else that is not a results database is Error(kInput) naming
  // it. An older schema is migrated in a private in-memory copy. Writing
  // through it fails with Error(kOutput).
  static Store open_read_only(const std::filesystem::path& path);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  [[nodiscard]] const std::filesystem::path& path() const;

  // Starts a new study; Error(kUsage) when one of that name exists (resume it instead).
  std::int64_t begin_study(const std::string& name, const nlohmann::json& plan);
  std::optional<Study> find_study(std::string_view name);  // nullopt when there is none
  std::vector<Study> studies();                             // in the order they were started
  // std::invalid_argument for an unknown id (as for load()).
  void set_study_status(std::int64_t study_id, StudyStatus status);

  // True when the study holds a final (ok, failed or skipped) run under this key.
  bool has_run(std::int64_t study_id, std::string_view run_key);

  // Writes the run, its result and its samples in one transaction and returns
  // the run's id. A run already recorded under the same key (a crashed run
  // being retried by --resume) is replaced in the same transaction.
  std::int64_t record_run(const RunRecord& run);

  // The study's runs in the order they were recorded, with their samples.
  std::vector<RunRecord> runs(std::int64_t study_id);

  // The study and its runs, read in one snapshot: its status and its runs are
  // from the same moment, even while another process records runs.
  // std::invalid_argument for an unknown id.
  StudyData load(std::int64_t study_id);

 private:
  explicit Store(std::unique_ptr<sqlite::Connection> conn);

  std::unique_ptr<sqlite::Connection> conn_;
};

}  // namespace inferbench::results
