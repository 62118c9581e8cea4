#include <fmt/format.h>

#include <stdexcept>
#include <type_traits>
#include <variant>

#include "common/error.h"
#include "common/lock.h"
#include "results/sqlite.h"
#include "results/store_backend.h"

// The SQLite engine of results::Store (store.h): one file, WAL, the schema
// version in PRAGMA user_version, the study lock a file beside the database.

namespace inferbench::results::detail {

namespace fs = std::filesystem;
using sqlite::Connection;
using sqlite::ReadTransaction;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

// ---------------------------------------------------------------------------
// Schema. Each step takes a database from version k to k + 1 and runs in one
// transaction with the user_version bump, so a file is always at exactly one
// version. Never edit a step that has shipped: add the next one.

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

// ---------------------------------------------------------------------------
// Opening a file: is it ours, the connection's settings, the migrations.

std::int64_t pragma_int(Connection& conn, const char* sql) {
  Statement s(conn, sql);
  if (!s.step("reading the schema version")) return 0;
  return s.int64(0);
}

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
      fail(ExitCode::kOutput, fmt::format("'{}': cannot use write-ahead logging (a file system without shared memory?)",
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

// ---------------------------------------------------------------------------

constexpr const char* kStudyColumns = "SELECT id, name, created_at, plan, status FROM studies";

class FileStudyLock final : public StudyLock {
 public:
  explicit FileStudyLock(FileLock lock) : lock_(std::move(lock)) {}

 private:
  FileLock lock_;
};

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(std::unique_ptr<Connection> conn)
      : conn_(std::move(conn)), location_(conn_->path().string()) {}

  [[nodiscard]] const std::string& location() const override { return location_; }

  std::int64_t begin_study(const std::string& name, const nlohmann::json& plan) override {
    Transaction t(*conn_);
    const std::int64_t id = insert_study(name, utc_now(), plan, StudyStatus::kRunning);
    t.commit();
    return id;
  }

  std::int64_t import_study(const StudyData& data) override {
    Transaction t(*conn_);
    const std::int64_t id = insert_study(data.study.name, data.study.created_at, data.study.plan, data.study.status);
    for (RunRecord run : data.runs) {
      run.study_id = id;
      insert_run(run);
    }
    t.commit();
    return id;
  }

  std::optional<Study> find_study(std::string_view name) override {
    Statement s(*conn_, fmt::format("{} WHERE name = ?", kStudyColumns));
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return read_study(s);
  }

  std::vector<Study> studies() override {
    Statement s(*conn_, fmt::format("{} ORDER BY id", kStudyColumns));
    std::vector<Study> out;
    while (s.step()) out.push_back(read_study(s));
    return out;
  }

  void set_study_status(std::int64_t study_id, StudyStatus status) override {
    Transaction t(*conn_);
    Statement s(*conn_, "UPDATE studies SET status = ? WHERE id = ?");
    s.bind(1, to_string(status)).bind(2, study_id);
    s.step("updating a study");
    if (conn_->changes() != 1) {
      throw std::invalid_argument(fmt::format("no study with id {} in '{}'", study_id, location_));
    }
    t.commit();
  }

  bool has_run(std::int64_t study_id, std::string_view key) override {
    Statement s(*conn_, "SELECT status FROM runs WHERE study_id = ? AND run_key = ?");
    s.bind(1, study_id).bind(2, key);
    if (!s.step()) return false;
    return is_final(run_status_from_string(s.text(0)));
  }

  std::int64_t record_run(const RunRecord& run) override {
    Transaction t(*conn_);
    const std::int64_t id = insert_run(run);
    t.commit();
    return id;
  }

  StudyData load(std::int64_t study_id) override {
    ReadTransaction t(*conn_);
    StudyData data;
    {
      Statement s(*conn_, fmt::format("{} WHERE id = ?", kStudyColumns));
      s.bind(1, study_id);
      if (!s.step()) throw std::invalid_argument(fmt::format("no study with id {} in '{}'", study_id, location_));
      data.study = read_study(s);
    }
    data.runs = runs(study_id);
    return data;
  }

  std::vector<RunRecord> runs(std::int64_t study_id) override;

  std::unique_ptr<StudyLock> lock_study(const std::string& name, const std::string& what,
                                        const std::string& busy_message) override {
    return std::make_unique<FileStudyLock>(
        FileLock::acquire(study_lock_path(conn_->path(), name), what, false, busy_message));
  }

 private:
  // Inside the caller's transaction.
  std::int64_t insert_study(const std::string& name, const std::string& created_at, const nlohmann::json& plan,
                            StudyStatus status) {
    {
      Statement find(*conn_, "SELECT id FROM studies WHERE name = ?");
      find.bind(1, name);
      if (find.step()) {
        fail(ExitCode::kUsage,
             fmt::format("'{}' already holds a study named '{}' (resume it, or choose another name)", location_, name));
      }
    }
    Statement s(*conn_, "INSERT INTO studies (name, created_at, plan, status) VALUES (?, ?, ?, ?)");
    s.bind(1, name).bind(2, created_at).bind(3, to_text(plan)).bind(4, to_string(status));
    s.step("starting a study");
    return conn_->last_insert_rowid();
  }

  std::int64_t insert_run(const RunRecord& run);

  Study read_study(const Statement& s) {
    Study study;
    study.id = s.int64(0);
    study.name = s.text(1);
    study.created_at = s.text(2);
    study.plan = parse_stored_json(location_, s.text(3), "study plan");
    study.status = study_status_from_string(s.text(4));
    // A study marked running whose lock is there but no longer held lost its
    // owner (kill -9, a crash): it is interrupted, and --resume continues it.
    // No lock file (a study begun without one): as stored.
    if (study.status == StudyStatus::kRunning) {
      const fs::path lock = study_lock_path(conn_->path(), study.name);
      std::error_code ec;
      if (fs::exists(lock, ec) && !lock_holder(lock)) study.status = StudyStatus::kInterrupted;
    }
    return study;
  }

  std::unique_ptr<Connection> conn_;
  std::string location_;
};

std::int64_t SqliteBackend::insert_run(const RunRecord& run) {
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
  for (std::size_t i = 0; i < result_fields().size(); ++i) placeholders += ", ?";
  Statement res(*conn_, fmt::format("INSERT INTO results (run_id, {}, summary) VALUES (?{}, ?)", result_column_list(""),
                                    placeholders));
  int param = 1;
  res.bind(param++, id);
  bind_result_fields(run.result, [&](const auto& value) { res.bind(param++, value); });
  res.bind(param, to_text(run.result.summary));
  res.step("recording a result");

  Statement sample(*conn_, "INSERT INTO samples (run_id, seq, value) VALUES (?, ?, ?)");
  for (std::size_t i = 0; i < run.samples.size(); ++i) {
    sample.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, run.samples[i]);
    sample.step("recording samples");
    sample.reset();
  }
  return id;
}

std::vector<RunRecord> SqliteBackend::runs(std::int64_t study_id) {
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
    run.environment = parse_stored_json(location_, s.text(6), "environment");
    run.configuration = parse_stored_json(location_, s.text(7), "configuration");
    read_result_fields(run.result, s, 8);
    const int col = 8 + static_cast<int>(result_fields().size());
    if (!s.is_null(col)) run.result.summary = parse_stored_json(location_, s.text(col), "result summary");

    samples.bind(1, run.id);
    while (samples.step()) run.samples.push_back(samples.real(0));
    samples.reset();
    out.push_back(std::move(run));
  }
  return out;
}

}  // namespace

std::unique_ptr<Backend> open_sqlite(const std::string& path, const Store::Options& options) {
  auto conn = connect(path, options.busy_timeout_ms);
  configure(*conn);
  migrate(*conn);
  return std::make_unique<SqliteBackend>(std::move(conn));
}

std::unique_ptr<Backend> open_sqlite_read_only(const std::string& path) {
  auto conn = sqlite::open_read_only(path, Store::Options{}.busy_timeout_ms);
  check_ours(*conn);
  const std::int64_t version = pragma_int(*conn, "PRAGMA user_version");
  if (version == 0) {
    // A writer would lay the schema down here; a reader has nothing to read.
    fail(ExitCode::kInput,
         fmt::format("'{}' is not an inferbench results database (an SQLite database with no tables)", path));
  }
  if (version < kSchemaVersion) {
    conn = sqlite::copy_to_memory(*conn);
    migrate(*conn);
    // Writes to the copy would be lost: refuse them as the file would.
    conn->exec("PRAGMA query_only = 1", "making the copy read-only");
  }
  return std::make_unique<SqliteBackend>(std::move(conn));
}

}  // namespace inferbench::results::detail
