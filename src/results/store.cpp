#include "results/store.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "common/error.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/lock.h"
#include "results/sqlite.h"

namespace inferbench::results {

namespace fs = std::filesystem;
using sqlite::Connection;
using sqlite::ReadTransaction;
using sqlite::Statement;
using sqlite::Transaction;

// ---------------------------------------------------------------------------
// Schema. Each step takes a database from version k to k + 1 and runs in one
// transaction with the user_version bump, so a file is always at exactly one
// version. Never edit a step that has shipped: add the next one.

namespace {

// "IBNC": marks the file as ours in the SQLite header (PRAGMA application_id).
constexpr int kApplicationId = 0x49424E43;  // = 1229082179, as migration 1 writes it

// Samples are rows (run_id, seq, value), not a BLOB of doubles: any SQL
// client (the sqlite3 shell, a notebook, PostgreSQL for a shared store)
// reads them without knowing our byte layout, and REAL is an IEEE double, so
// they round-trip exactly. Written with one prepared statement inside the
// run's transaction, into a WITHOUT ROWID table clustered on (run_id, seq),
// 100,000 samples take about 0.1 s and 2 MB (some 21 bytes a sample against
// a BLOB's 8): small next to the run they belong to, and never timed.
constexpr const char* kMigrations[] = {
    // 1: the first schema.
    R"sql(
PRAGMA application_id = 1229082179;
CREATE TABLE studies (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  plan TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted'))
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  run_key TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'skipped', 'crashed', 'timed-out', 'out-of-memory')),
  reason TEXT NOT NULL,
  environment TEXT NOT NULL,
  configuration TEXT NOT NULL,
  UNIQUE (study_id, run_key)
);
CREATE TABLE results (
  run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  scenario TEXT NOT NULL,
  backend TEXT NOT NULL,
  model TEXT NOT NULL,
  artifact TEXT NOT NULL,
  precision TEXT NOT NULL,
  batch INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  count INTEGER,
  median REAL,
  p90 REAL,
  p99 REAL,
  mean REAL,
  stddev REAL,
  cv REAL,
  ci_lo REAL,
  ci_hi REAL,
  throughput REAL,
  load_s REAL,
  first_inference_s REAL,
  rss_kb INTEGER,
  summary TEXT NOT NULL
);
CREATE TABLE samples (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
)sql",
    // 2: the rest of METHODOLOGY.md's percentile list.
    R"sql(
ALTER TABLE results ADD COLUMN min REAL;
ALTER TABLE results ADD COLUMN p95 REAL;
ALTER TABLE results ADD COLUMN p999 REAL;
ALTER TABLE results ADD COLUMN max REAL;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration step per schema version");

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

std::string result_column_list(std::string_view prefix) {
  std::string out;
  for (const ResultField& f : kResultFields) {
    if (!out.empty()) out += ", ";
    out += prefix;
    out += f.name;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Opening a file: is it ours, the connection's settings, the migrations.

std::int64_t pragma_int(Connection& conn, const char* sql) {
  Statement s(conn, sql);
  if (!s.step("reading the schema version")) return 0;
  return s.int64(0);
}

nlohmann::json parse_stored_json(const Connection& conn, const std::string& text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ExitCode::kInput, fmt::format("'{}': malformed {} JSON: {}", conn.path().string(), what, e.what()));
  }
}

std::string to_text(const nlohmann::json& j) { return dump_json(j, -1); }

// Checks that the file is ours and not from a newer build, before changing
// anything in it.
void check_ours(Connection& conn) {
  const fs::path& path = conn.path();
  // The first read of the file: a file that is not SQLite fails here.
  const std::int64_t version = pragma_int(conn, "PRAGMA user_version");
  const std::int64_t app_id = pragma_int(conn, "PRAGMA application_id");
  const std::string file = path.string();
  if (app_id != 0 && app_id != kApplicationId) {
    fail(ExitCode::kInput, fmt::format("'{}' is not an inferbench results database (it belongs to another "
                                       "application: SQLite application_id {:#x})",
                                       file, app_id));
  }
  if (version == 0 && pragma_int(conn, "SELECT count(*) FROM sqlite_schema") > 0) {
    fail(ExitCode::kInput,
         fmt::format("'{}' is not an inferbench results database (an SQLite database with other tables)", file));
  }
  if (version > kSchemaVersion) {
    fail(ExitCode::kInput, fmt::format("'{}' was written by a newer inferbench (schema {}, this build reads up to {})",
                                       file, version, kSchemaVersion));
  }
}

std::unique_ptr<Connection> connect(const fs::path& path, int busy_timeout_ms) {
  auto conn = sqlite::open(path, busy_timeout_ms);
  check_ours(*conn);
  return conn;
}

void configure(Connection& conn) {
  // WAL: a commit is one append to the -wal file, readers never block the
  // writer, and a crash at any point leaves the last committed state.
  {
    Statement s(conn, "PRAGMA journal_mode = WAL");
    if (!s.step("switching to WAL") || s.text(0) != "wal") {
      fail(ExitCode::kOutput,
           fmt::format("'{}': cannot use write-ahead logging (a file system without shared memory?)",
                       conn.path().string()));
    }
  }
  // synchronous=NORMAL is safe with WAL: the WAL is fsync'd at checkpoints,
  // not at every commit. A crashed process (kill -9, a signal, OOM) loses no
  // commit: it is in the OS's page cache. Only a power loss or kernel crash
  // can roll back the last few commits, and even then the database stays
  // consistent, never corrupted; the lost runs are simply run again by
  // --resume. FULL would add an fsync per run for nothing we need.
  conn.exec("PRAGMA synchronous = NORMAL", "setting synchronous");
  // Off by default in SQLite, per connection: ON DELETE CASCADE and the
  // references between tables rely on it.
  conn.exec("PRAGMA foreign_keys = ON", "enabling foreign keys");
}

void migrate(Connection& conn) {
  // Up to date: no write lock taken, so opening never waits for another writer.
  if (pragma_int(conn, "PRAGMA user_version") >= kSchemaVersion) return;
  for (;;) {
    Transaction t(conn);
    // Read again under the write lock: another process may have migrated.
    const std::int64_t version = pragma_int(conn, "PRAGMA user_version");
    if (version >= kSchemaVersion) return;  // (rolls back the empty transaction)
    conn.exec(kMigrations[version], "migrating the schema");
    conn.exec(fmt::format("PRAGMA user_version = {}", version + 1).c_str(), "migrating the schema");
    t.commit();
  }
}

}  // namespace

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

std::string run_key(const nlohmann::json& configuration) { return content_hash(to_text(configuration)); }

std::span<const ResultField> result_fields() { return kResultFields; }

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

// ---------------------------------------------------------------------------

Store::Store(std::unique_ptr<sqlite::Connection> conn) : conn_(std::move(conn)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

const fs::path& Store::path() const { return conn_->path(); }

Store Store::open(const fs::path& path) { return open(path, Options{}); }

Store Store::open(const fs::path& path, const Options& options) {
  auto conn = connect(path, options.busy_timeout_ms);
  configure(*conn);
  migrate(*conn);
  return Store(std::move(conn));
}

Store Store::open_read_only(const fs::path& path) {
  auto conn = sqlite::open_read_only(path, Options{}.busy_timeout_ms);
  check_ours(*conn);
  const std::int64_t version = pragma_int(*conn, "PRAGMA user_version");
  if (version == 0) {
    // A writer would lay the schema down here; a reader has nothing to read.
    fail(ExitCode::kInput,
         fmt::format("'{}' is not an inferbench results database (an SQLite database with no tables)", path.string()));
  }
  if (version < kSchemaVersion) {
    conn = sqlite::copy_to_memory(*conn);
    migrate(*conn);
    // Writes to the copy would be lost: refuse them as the file would.
    conn->exec("PRAGMA query_only = 1", "making the copy read-only");
  }
  return Store(std::move(conn));
}

std::int64_t Store::begin_study(const std::string& name, const nlohmann::json& plan) {
  Transaction t(*conn_);
  {
    Statement find(*conn_, "SELECT id FROM studies WHERE name = ?");
    find.bind(1, name);
    if (find.step()) {
      fail(ExitCode::kUsage, fmt::format("'{}' already holds a study named '{}' (resume it, or choose another name)",
                                         path().string(), name));
    }
  }
  Statement s(*conn_, "INSERT INTO studies (name, created_at, plan, status) VALUES (?, ?, ?, ?)");
  s.bind(1, name).bind(2, utc_now()).bind(3, to_text(plan)).bind(4, to_string(StudyStatus::kRunning));
  s.step("starting a study");
  const std::int64_t id = conn_->last_insert_rowid();
  t.commit();
  return id;
}

namespace {

constexpr const char* kStudyColumns = "SELECT id, name, created_at, plan, status FROM studies";

Study read_study(const Connection& conn, const Statement& s) {
  Study study;
  study.id = s.int64(0);
  study.name = s.text(1);
  study.created_at = s.text(2);
  study.plan = parse_stored_json(conn, s.text(3), "study plan");
  study.status = study_status_from_string(s.text(4));
  // A study marked running whose lock is there but no longer held lost its
  // owner (kill -9, a crash): it is interrupted, and --resume continues it.
  // No lock file (a study begun without one): as stored.
  if (study.status == StudyStatus::kRunning) {
    const fs::path lock = study_lock_path(conn.path(), study.name);
    std::error_code ec;
    if (fs::exists(lock, ec) && !lock_holder(lock)) study.status = StudyStatus::kInterrupted;
  }
  return study;
}

}  // namespace

std::optional<Study> Store::find_study(std::string_view name) {
  Statement s(*conn_, fmt::format("{} WHERE name = ?", kStudyColumns));
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return read_study(*conn_, s);
}

std::vector<Study> Store::studies() {
  Statement s(*conn_, fmt::format("{} ORDER BY id", kStudyColumns));
  std::vector<Study> out;
  while (s.step()) out.push_back(read_study(*conn_, s));
  return out;
}

StudyData Store::load(std::int64_t study_id) {
  ReadTransaction t(*conn_);
  StudyData data;
  {
    Statement s(*conn_, fmt::format("{} WHERE id = ?", kStudyColumns));
    s.bind(1, study_id);
    if (!s.step()) throw std::invalid_argument(fmt::format("no study with id {} in '{}'", study_id, path().string()));
    data.study = read_study(*conn_, s);
  }
  data.runs = runs(study_id);
  return data;
}

void Store::set_study_status(std::int64_t study_id, StudyStatus status) {
  Transaction t(*conn_);
  Statement s(*conn_, "UPDATE studies SET status = ? WHERE id = ?");
  s.bind(1, to_string(status)).bind(2, study_id);
  s.step("updating a study");
  if (conn_->changes() != 1) {
    throw std::invalid_argument(fmt::format("no study with id {} in '{}'", study_id, path().string()));
  }
  t.commit();
}

bool Store::has_run(std::int64_t study_id, std::string_view key) {
  Statement s(*conn_, "SELECT status FROM runs WHERE study_id = ? AND run_key = ?");
  s.bind(1, study_id).bind(2, key);
  if (!s.step()) return false;
  const RunStatus status = run_status_from_string(s.text(0));
  return status == RunStatus::kOk || status == RunStatus::kFailed || status == RunStatus::kSkipped;
}

std::int64_t Store::record_run(const RunRecord& run) {
  if (run.run_key.empty()) throw std::invalid_argument("record_run: empty run key");
  for (double v : run.samples) {
    if (!std::isfinite(v)) throw std::invalid_argument("record_run: a sample is not a finite number");
  }
  Transaction t(*conn_);
  {
    // A retried run replaces its earlier record (its result and samples go by cascade).
    Statement del(*conn_, "DELETE FROM runs WHERE study_id = ? AND run_key = ?");
    del.bind(1, run.study_id).bind(2, run.run_key);
    del.step("replacing a run");
  }
  Statement ins(*conn_,
                "INSERT INTO runs (study_id, run_key, started_at, finished_at, status, reason, environment, "
                "configuration) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, run.study_id)
      .bind(2, run.run_key)
      .bind(3, run.started_at)
      .bind(4, run.finished_at)
      .bind(5, to_string(run.status))
      .bind(6, run.reason)
      .bind(7, to_text(run.environment))
      .bind(8, to_text(run.configuration));
  ins.step("recording a run");
  const std::int64_t id = conn_->last_insert_rowid();

  std::string placeholders;
  for (std::size_t i = 0; i < std::size(kResultFields); ++i) placeholders += ", ?";
  Statement res(*conn_, fmt::format("INSERT INTO results (run_id, {}, summary) VALUES (?{}, ?)",
                                    result_column_list(""), placeholders));
  int param = 1;
  res.bind(param++, id);
  for (const ResultField& f : kResultFields) {
    std::visit(
        [&](auto member) {
          const auto& value = run.result.*member;
          if constexpr (std::is_same_v<std::decay_t<decltype(value)>, int>) {
            res.bind(param, static_cast<std::int64_t>(value));
          } else {
            res.bind(param, value);
          }
        },
        f.member);
    ++param;
  }
  res.bind(param, to_text(run.result.summary));
  res.step("recording a result");

  Statement sample(*conn_, "INSERT INTO samples (run_id, seq, value) VALUES (?, ?, ?)");
  for (std::size_t i = 0; i < run.samples.size(); ++i) {
    sample.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, run.samples[i]);
    sample.step("recording samples");
    sample.reset();
  }
  t.commit();
  return id;
}

std::vector<RunRecord> Store::runs(std::int64_t study_id) {
  ReadTransaction t(*conn_);
  Statement s(*conn_, fmt::format("SELECT r.id, r.run_key, r.started_at, r.finished_at, r.status, r.reason, "
                                  "r.environment, r.configuration, {}, x.summary FROM runs r "
                                  "LEFT JOIN results x ON x.run_id = r.id WHERE r.study_id = ? ORDER BY r.id",
                                  result_column_list("x.")));
  s.bind(1, study_id);
  Statement samples(*conn_, "SELECT value FROM samples WHERE run_id = ? ORDER BY seq");
  std::vector<RunRecord> out;
  while (s.step()) {
    RunRecord run;
    run.id = s.int64(0);
    run.study_id = study_id;
    run.run_key = s.text(1);
    run.started_at = s.text(2);
    run.finished_at = s.text(3);
    run.status = run_status_from_string(s.text(4));
    run.reason = s.text(5);
    run.environment = parse_stored_json(*conn_, s.text(6), "environment");
    run.configuration = parse_stored_json(*conn_, s.text(7), "configuration");
    int col = 8;
    for (const ResultField& f : kResultFields) {
      std::visit(
          [&](auto member) {
            auto& value = run.result.*member;
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::string>) {
              value = s.text(col);
            } else if constexpr (std::is_same_v<T, int>) {
              value = static_cast<int>(s.int64(col));
            } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
              value = s.is_null(col) ? T() : T(s.int64(col));
            } else {
              value = s.is_null(col) ? T() : T(s.real(col));
            }
          },
          f.member);
      ++col;
    }
    if (!s.is_null(col)) run.result.summary = parse_stored_json(*conn_, s.text(col), "result summary");

    samples.bind(1, run.id);
    while (samples.step()) run.samples.push_back(samples.real(0));
    samples.reset();
    out.push_back(std::move(run));
  }
  return out;
}

}  // namespace inferbench::results
