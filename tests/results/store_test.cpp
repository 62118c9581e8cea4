#include "results/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "testutil/fixtures.h"
#include "testutil/results_fixture.h"

namespace inferbench::results {
namespace {

namespace fs = std::filesystem;
using testutil::expect_error;
using testutil::ended_run;
using testutil::full_run;
using testutil::TempDir;

// A raw SQLite connection, for what the Store must not be able to do:
// hand-made old files, tampering, a second writer holding the lock.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(msg + " in: " + sql);
    }
  }
  // The first column of the first row, as text ("" when no row).
  std::string query(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string integrity(const fs::path& path) { return RawDb(path).query("PRAGMA integrity_check"); }

TEST(StoreTest, CreatesReopensAndKeepsStudies) {
  TempDir d;
  const fs::path db = d / "sub/dir/results.sqlite";
  const nlohmann::json plan = {{"models", {"resnet50", "mobilenet_v2"}}, {"threads", {1, 2}}};
  std::int64_t id = 0;
  {
    Store store = Store::open(db);
    EXPECT_EQ(store.location(), db.string());
    id = store.begin_study("fruit", plan);
    EXPECT_GT(id, 0);
    expect_error([&] { store.begin_study("fruit", plan); }, ExitCode::kUsage, "already holds a study named 'fruit'");
    EXPECT_FALSE(store.find_study("other"));
  }
  ASSERT_TRUE(fs::exists(db));
  Store store = Store::open(db);
  const auto study = store.find_study("fruit");
  ASSERT_TRUE(study);
  EXPECT_EQ(study->id, id);
  EXPECT_EQ(study->plan, plan);
  EXPECT_EQ(study->status, StudyStatus::kRunning);
  EXPECT_EQ(study->created_at.size(), 24u) << study->created_at;  // 2024-05-01T12:34:56.789Z
  store.set_study_status(id, StudyStatus::kFinished);
  EXPECT_EQ(store.studies().at(0).status, StudyStatus::kFinished);

  RawDb raw(db);
  EXPECT_EQ(raw.query("PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(raw.query("PRAGMA journal_mode"), "wal");
}

TEST(StoreTest, RecordsAndReadsBackRunsExactly) {
  TempDir d;
  Store store = Store::open(d / "r.sqlite");
  const std::int64_t study = store.begin_study("s", nlohmann::json::object());
  const RunRecord a = full_run(study, 0, 1000);
  const RunRecord b = ended_run(study, "resnet50", RunStatus::kFailed, "unsupported op: Erf");
  const RunRecord c = full_run(study, 1, 0);
  const std::int64_t ida = store.record_run(a);
  const std::int64_t idb = store.record_run(b);
  store.record_run(c);
  EXPECT_LT(ida, idb);

  const std::vector<RunRecord> back = Store::open(d / "r.sqlite").runs(study);
  ASSERT_EQ(back.size(), 3u);
  RunRecord expected = a;
  expected.id = ida;
  EXPECT_EQ(back[0], expected);  // every field, every sample bit for bit
  EXPECT_EQ(back[0].samples, a.samples);
  EXPECT_EQ(back[1].status, RunStatus::kFailed);
  EXPECT_EQ(back[1].reason, "unsupported op: Erf");
  EXPECT_FALSE(back[1].result.median);  // NULL, not 0
  EXPECT_FALSE(back[1].result.count);
  EXPECT_TRUE(back[2].samples.empty());

  // Preconditions are programmer errors.
  RunRecord bad = a;
  bad.run_key.clear();
  EXPECT_THROW(store.record_run(bad), std::invalid_argument);
  bad = a;
  bad.samples.push_back(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW(store.record_run(bad), std::invalid_argument);
  EXPECT_EQ(store.runs(study).size(), 3u);
}

TEST(StoreTest, ResumeKeysSkipFinalRunsAndRetryTheRest) {
  // The key depends on the configuration's content, not on its key order.
  const nlohmann::json c1 = nlohmann::json::parse(R"({"backend": "openvino", "batch": 8, "threads": 2})");
  const nlohmann::json c2 = nlohmann::json::parse(R"({"threads": 2, "batch": 8, "backend": "openvino"})");
  EXPECT_EQ(run_key(c1), run_key(c2));
  EXPECT_NE(run_key(c1), run_key(nlohmann::json::parse(R"({"backend": "openvino", "batch": 8, "threads": 1})")));

  TempDir d;
  Store store = Store::open(d / "r.sqlite");
  const std::int64_t study = store.begin_study("s", nlohmann::json::object());
  const std::int64_t other = store.begin_study("t", nlohmann::json::object());
  const std::pair<RunStatus, bool> cases[] = {{RunStatus::kOk, true},           {RunStatus::kFailed, true},
                                              {RunStatus::kSkipped, true},      {RunStatus::kCrashed, false},
                                              {RunStatus::kTimedOut, false},    {RunStatus::kOutOfMemory, false}};
  for (const auto& [status, done] : cases) {
    const RunRecord r = ended_run(study, std::string(to_string(status)), status, "why");
    EXPECT_FALSE(store.has_run(study, r.run_key));
    store.record_run(r);
    EXPECT_EQ(store.has_run(study, r.run_key), done) << to_string(status);
    EXPECT_FALSE(store.has_run(other, r.run_key));  // keys are per study
  }
  // A crashed run retried on resume replaces its record, samples included.
  RunRecord crashed = full_run(study, 7, 50);
  crashed.status = RunStatus::kCrashed;
  store.record_run(crashed);
  EXPECT_FALSE(store.has_run(study, crashed.run_key));
  const RunRecord retried = full_run(study, 7, 20);
  store.record_run(retried);
  EXPECT_TRUE(store.has_run(study, retried.run_key));
  const auto runs = store.runs(study);
  ASSERT_EQ(runs.size(), 7u);
  EXPECT_EQ(runs.back().status, RunStatus::kOk);
  EXPECT_EQ(runs.back().samples, retried.samples);
  EXPECT_EQ(RawDb(d / "r.sqlite").query("SELECT count(*) FROM samples"), "20");
}

TEST(StoreTest, LoadsAStudyWithItsRuns) {
  TempDir d;
  Store store = Store::open(d / "r.sqlite");
  store.begin_study("other", nlohmann::json::object());
  const std::int64_t study = store.begin_study("fruit", {{"models", {"resnet50"}}});
  store.record_run(full_run(study, 0, 30));
  store.record_run(ended_run(study, "x", RunStatus::kSkipped, "fp16 not supported"));
  store.set_study_status(study, StudyStatus::kFinished);

  const StudyData data = store.load(study);
  EXPECT_EQ(data.study.id, study);
  EXPECT_EQ(data.study.name, "fruit");
  EXPECT_EQ(data.study.status, StudyStatus::kFinished);
  EXPECT_EQ(data.study.plan["models"][0], "resnet50");
  EXPECT_EQ(data.runs, store.runs(study));
  EXPECT_EQ(data.runs.size(), 2u);
  EXPECT_THROW(store.load(study + 100), std::invalid_argument);

  // result_fields() names every column of `results` but run_id and summary, in schema order.
  std::vector<std::string> names;
  for (const ResultField& f : result_fields()) names.emplace_back(f.name);
  ASSERT_EQ(names.size(), 24u);
  EXPECT_EQ(names.front(), "scenario");
  EXPECT_EQ(names.back(), "rss_kb");
  RawDb raw(d / "r.sqlite");
  EXPECT_EQ(raw.query("SELECT count(*) FROM pragma_table_info('results')"), std::to_string(names.size() + 2));
  for (const auto& name : names) {
    EXPECT_EQ(raw.query("SELECT count(*) FROM pragma_table_info('results') WHERE name = '" + name + "'"), "1") << name;
  }
}

// Schema version 1 exactly as that version wrote it. Frozen: it stands for
// files in the field.
constexpr const char* kVersion1Schema = R"sql(
PRAGMA application_id = 1229082179;
CREATE TABLE studies (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, plan TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')));
CREATE TABLE runs (id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  run_key TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'skipped', 'crashed', 'timed-out', 'out-of-memory')),
  reason TEXT NOT NULL, environment TEXT NOT NULL, configuration TEXT NOT NULL, UNIQUE (study_id, run_key));
CREATE TABLE results (run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE, scenario TEXT NOT NULL,
  backend TEXT NOT NULL, model TEXT NOT NULL, artifact TEXT NOT NULL, precision TEXT NOT NULL,
  batch INTEGER NOT NULL, threads INTEGER NOT NULL, count INTEGER, median REAL, p90 REAL, p99 REAL, mean REAL,
  stddev REAL, cv REAL, ci_lo REAL, ci_hi REAL, throughput REAL, load_s REAL, first_inference_s REAL,
  rss_kb INTEGER, summary TEXT NOT NULL);
CREATE TABLE samples (run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
  value REAL NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

TEST(StoreTest, MigratesAVersion1FileKeepingItsData) {
  TempDir d;
  const fs::path db = d / "old.sqlite";
  {
    RawDb raw(db);
    raw.exec(kVersion1Schema);
    raw.exec(R"sql(
INSERT INTO studies VALUES (1, 'old study', '2023-01-01T00:00:00.000Z', '{"models":["resnet50"]}', 'finished');
INSERT INTO runs VALUES (1, 1, 'k1', '2023-01-01T00:00:01.000Z', '2023-01-01T00:00:02.000Z', 'ok', '',
  '{"cpu":"old"}', '{"backend":"torchscript"}');
INSERT INTO results VALUES (1, 'latency', 'torchscript', 'resnet50', 'resnet50.pt', 'fp32', 1, 4, 3,
  0.002, 0.003, 0.004, 0.0025, 0.0005, 0.2, 0.0019, 0.0021, 400.0, 1.5, 0.02, 99999, '{"top1":0.9}');
INSERT INTO samples VALUES (1, 0, 0.002), (1, 1, 0.001), (1, 2, 0.004);
)sql");
  }
  Store store = Store::open(db);
  EXPECT_EQ(RawDb(db).query("PRAGMA user_version"), std::to_string(kSchemaVersion));
  const auto study = store.find_study("old study");
  ASSERT_TRUE(study);
  EXPECT_EQ(study->status, StudyStatus::kFinished);
  EXPECT_TRUE(store.has_run(study->id, "k1"));
  const auto runs = store.runs(study->id);
  ASSERT_EQ(runs.size(), 1u);
  const Result& r = runs[0].result;
  EXPECT_EQ(r.backend, "torchscript");
  EXPECT_EQ(r.threads, 4);
  EXPECT_EQ(r.count, 3);
  EXPECT_EQ(r.median, 0.002);
  EXPECT_EQ(r.rss_kb, 99999);
  EXPECT_EQ(r.summary["top1"], 0.9);
  EXPECT_FALSE(r.p95);  // the columns version 2 added are NULL for old runs
  EXPECT_FALSE(r.min);
  EXPECT_EQ(runs[0].samples, (std::vector<double>{0.002, 0.001, 0.004}));
  EXPECT_EQ(runs[0].configuration["backend"], "torchscript");
  // ... and the new columns work.
  const RunRecord fresh = full_run(study->id, 3, 5);
  store.record_run(fresh);
  EXPECT_EQ(store.runs(study->id).at(1).result.p95, 0.6);
  EXPECT_EQ(integrity(db), "ok");
}

TEST(StoreTest, AReaderReadsAVersion1FileWithoutMigratingIt) {
  TempDir d;
  const fs::path db = d / "old.sqlite";
  {
    RawDb raw(db);
    raw.exec(kVersion1Schema);
    raw.exec(R"sql(
INSERT INTO studies VALUES (1, 'old study', '2023-01-01T00:00:00.000Z', '{}', 'finished');
INSERT INTO runs VALUES (1, 1, 'k1', '2023-01-01T00:00:01.000Z', '2023-01-01T00:00:02.000Z', 'ok', '', '{}', '{}');
INSERT INTO results VALUES (1, 'latency', 'torchscript', 'resnet50', 'resnet50.pt', 'fp32', 1, 4, 3,
  0.002, 0.003, 0.004, 0.0025, 0.0005, 0.2, 0.0019, 0.0021, 400.0, 1.5, 0.02, 99999, '{}');
INSERT INTO samples VALUES (1, 0, 0.002), (1, 1, 0.001);
)sql");
  }
  const std::string bytes = read_file_text(db);
  Store store = Store::open_read_only(db);  // migrated in a copy in memory
  const auto study = store.find_study("old study");
  ASSERT_TRUE(study);
  const auto runs = store.runs(study->id);
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0].result.median, 0.002);
  EXPECT_FALSE(runs[0].result.p95);
  EXPECT_EQ(runs[0].samples, (std::vector<double>{0.002, 0.001}));
  EXPECT_EQ(RawDb(db).query("PRAGMA user_version"), "1");  // the file is as it was
  EXPECT_EQ(read_file_text(db), bytes);
  expect_error([&] { Store::open_read_only(db).begin_study("x", nlohmann::json::object()); }, ExitCode::kOutput,
               "readonly database");  // the copy is not the file: a write through it would be lost
}

TEST(StoreTest, RefusesAFileFromANewerSchema) {
  TempDir d;
  const fs::path db = d / "new.sqlite";
  Store::open(db).begin_study("s", nlohmann::json::object());
  RawDb(db).exec("PRAGMA user_version = 99");
  expect_error([&] { Store::open(db); }, ExitCode::kInput,
               fmt::format("'{}' was written by a newer inferbench (schema 99, this build reads up to {})",
                           db.string(), kSchemaVersion));
  EXPECT_EQ(RawDb(db).query("PRAGMA user_version"), "99");  // left as it was
}

TEST(StoreTest, RefusesFilesThatAreNotResultsDatabases) {
  TempDir d;
  // Text, long enough that SQLite reads a whole header from it.
  const fs::path text = d / "notes.txt";
  std::string junk;
  for (int i = 0; i < 200; ++i) junk += "this is not a database, line " + std::to_string(i) + "\n";
  testutil::write_text(text, junk);
  expect_error([&] { Store::open(text); }, ExitCode::kInput, "'" + text.string() + "' is not an inferbench results");
  EXPECT_EQ(read_file_text(text), junk);  // untouched

  // Another application's SQLite database.
  const fs::path other = d / "other.sqlite";
  RawDb(other).exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);");
  expect_error([&] { Store::open(other); }, ExitCode::kInput, "'" + other.string() + "' is not an inferbench results");
  EXPECT_EQ(RawDb(other).query("SELECT count(*) FROM sqlite_schema"), "1");

  // A folder.
  expect_error([&] { Store::open(d.path()); }, ExitCode::kInput, "cannot open '" + d.path().string() + "'");
}

TEST(StoreTest, AKilledWriterLeavesOnlyCompleteRuns) {
  TempDir d;
  const fs::path db = d / "crash.sqlite";
  constexpr std::size_t kSamples = 20000;  // most of a run's time is inside its transaction
  constexpr int kCommitted = 5;
  std::int64_t study = 0;
  { study = Store::open(db).begin_study("crash", nlohmann::json::object()); }  // closed before fork

  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: record runs for ever, one byte down the pipe after each commit.
    ::close(pipe_fds[0]);
    try {
      Store store = Store::open(db);
      for (int i = 0;; ++i) {
        store.record_run(full_run(study, i, kSamples));
        const char byte = 1;
        if (::write(pipe_fds[1], &byte, 1) != 1) ::_exit(3);
      }
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(pipe_fds[1]);
  int committed = 0;
  char byte = 0;
  while (committed < kCommitted && ::read(pipe_fds[0], &byte, 1) == 1) ++committed;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pipe_fds[0]);
  ASSERT_EQ(committed, kCommitted) << "the writer ended early, status " << status;
  ASSERT_TRUE(WIFSIGNALED(status));

  EXPECT_EQ(integrity(db), "ok");
  Store store = Store::open(db);
  const auto runs = store.runs(study);
  ASSERT_GE(runs.size(), static_cast<std::size_t>(kCommitted));
  for (std::size_t i = 0; i < runs.size(); ++i) {
    RunRecord expected = full_run(study, static_cast<int>(i), kSamples);
    expected.id = runs[i].id;
    EXPECT_EQ(runs[i], expected) << "run " << i << " is incomplete";
  }
  RawDb raw(db);
  EXPECT_EQ(raw.query("SELECT count(*) FROM runs WHERE id NOT IN (SELECT run_id FROM results)"), "0");
  EXPECT_EQ(raw.query("SELECT count(*) FROM samples"), std::to_string(runs.size() * kSamples));
  // And the study goes on.
  store.record_run(full_run(study, static_cast<int>(runs.size()), 10));
  EXPECT_EQ(store.runs(study).size(), runs.size() + 1);
}

TEST(StoreTest, ASecondWriterWaitsThenGetsAClearError) {
  TempDir d;
  const fs::path db = d / "busy.sqlite";
  Store first = Store::open(db);
  const std::int64_t study = first.begin_study("s", nlohmann::json::object());
  first.record_run(full_run(study, 0, 10));

  RawDb holder(db);
  holder.exec("BEGIN IMMEDIATE; INSERT INTO studies (name, created_at, plan, status) "
              "VALUES ('half', 'now', '{}', 'running');");
  // Opening only reads: it does not wait for the lock.
  Store second = Store::open(db, {.busy_timeout_ms = 200});
  EXPECT_EQ(second.runs(study).size(), 1u);  // readers see the last commit
  const auto t0 = std::chrono::steady_clock::now();
  expect_error([&] { second.record_run(full_run(study, 1, 10)); }, ExitCode::kOutput,
               "'" + db.string() + "' is locked by another writer");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 0.15);
  EXPECT_LT(waited, 5.0);

  holder.exec("ROLLBACK");
  second.record_run(full_run(study, 1, 10));  // the lock is free again
  EXPECT_EQ(first.runs(study).size(), 2u);
  EXPECT_FALSE(first.find_study("half"));
  EXPECT_EQ(integrity(db), "ok");
}

}  // namespace
}  // namespace inferbench::results
