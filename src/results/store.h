#pragma once
// The results database: one SQLite file per study collection (the embedded
// default), or a PostgreSQL database that several machines write to at once
// (the shared store of a fleet). The same schema, the same queries and the
// same contract on both; where an engine differs, it says so below.
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
// - PostgreSQL (a location "postgresql://..." or "postgres://...", a libpq
//   URI): the schema version is a row of the table inferbench_schema, and
//   migrations run under a transaction-scoped advisory lock; concurrent
//   writers are PostgreSQL's ordinary concurrent transactions (no file lock,
//   no busy timeout; two drivers recording runs at once lose nothing). A
//   server that cannot be reached, a refused password or a database that
//   does not exist is Error(kInput) naming the URI (its password shown as
//   ***). A connection lost mid-study (the server restarted) is reconnected
//   and the operation in hand run again, for up to
//   Options::reconnect_timeout_ms; past that, Error(kOutput). Every operation
//   is one transaction, and record_run() replaces a run under the same key,
//   so running one again after a commit whose answer was lost changes
//   nothing. A read-only store is a read-only session
//   (default_transaction_read_only).
// - The study lock (lock_study()): one process runs a study at a time, and a
//   reader sees whether a study marked "running" still has its owner (it
//   reads as interrupted when not). SQLite: a file lock beside the database
//   (common/lock.h: study_lock_path); PostgreSQL: a session advisory lock on
//   the store's connection, taken again after a reconnect.
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

namespace detail {
class Backend;  // one per engine (results/store_backend.h)
}  // namespace detail

// The newest schema this build writes and reads.
inline constexpr int kSchemaVersion = 2;

// How a run ended. ok, failed (the backend said why) and skipped (an
// unsupported combination) are final: --resume does not repeat them. crashed,
// timed-out and out-of-memory may be transient, so --resume runs them again.
enum class RunStatus { kOk, kFailed, kSkipped, kCrashed, kTimedOut, kOutOfMemory };
std::string_view to_string(RunStatus status);             // "ok", "failed", ..., "timed-out", "out-of-memory"
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
  std::optional<std::int64_t> rss_kb;                 // peak RSS of the worker
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
  std::string reason;                                       // why it did not succeed ("" when ok)
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

// True when `location` names a PostgreSQL database ("postgresql://...",
// "postgres://..."), not a file.
bool is_postgres_location(std::string_view location);

// A study's lock, held until destroyed (see the contract above).
class StudyLock {
 public:
  virtual ~StudyLock() = default;
};

class Store {
 public:
  struct Options {
    int busy_timeout_ms = 10000;       // SQLite: how long a writer waits for another writer's lock
    int reconnect_timeout_ms = 60000;  // PostgreSQL: how long to try to get a lost connection back
  };

  // Opens `location`: an SQLite file, created (with its parent folders) when
  // missing, or a PostgreSQL URI, whose schema is created when missing; either
  // is migrated to kSchemaVersion. See the contract above for the errors.
  static Store open(const std::string& location);
  static Store open(const std::string& location, const Options& options);

  // Opens an existing `path` for reading only, as the read commands do
  // (`results`, `compare`, `report`): it never creates, migrates or writes the
  // file, and reads it in a read-only folder too (results/sqlite.h). A missing
  // path, a folder, a zero-byte file, an SQLite file with no inferbench schema
  // or anything else that is not a results database is Error(kInput) naming
  // it. An older schema is migrated in a private in-memory copy. Writing
  // through it fails with Error(kOutput).
  // A PostgreSQL URI: a read-only session on a database that must already
  // hold the schema (Error(kInput) when it does not).
  static Store open_read_only(const std::string& location);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // The file's path, or the URI with its password shown as ***: what messages name.
  [[nodiscard]] const std::string& location() const;

  // Starts a new study; Error(kUsage) when one of that name exists (resume it instead).
  std::int64_t begin_study(const std::string& name, const nlohmann::json& plan);
  // Writes a whole study (as another store's load() read it, or as
  // `results import` parsed it) in one transaction: its name, created_at,
  // status and plan, and its runs in their order with every field and
  // sample; ids are this store's own. Returns the new study's id.
  // Error(kUsage) when a study of that name exists.
  std::int64_t import_study(const StudyData& data);
  // Takes the study's lock for this process (see the contract above). Busy:
  // Error(kExitBusy, common/lock.h) whose message begins with
  // `busy_message`, then names the holder. `what` is recorded as the holder.
  [[nodiscard]] std::unique_ptr<StudyLock> lock_study(const std::string& name, const std::string& what,
                                                      const std::string& busy_message);
  std::optional<Study> find_study(std::string_view name);  // nullopt when there is none
  std::vector<Study> studies();                            // in the order they were started
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
  explicit Store(std::unique_ptr<detail::Backend> impl);

  std::unique_ptr<detail::Backend> impl_;
};

}  // namespace inferbench::results
