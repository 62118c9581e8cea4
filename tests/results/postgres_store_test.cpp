// The PostgreSQL results store against a real server the test starts
// (testutil::PostgresServer: initdb + pg_ctl on 127.0.0.1): the same contract
// as the SQLite file (exact round trips, resume keys, one snapshot), two
// writers at once, the study lock across sessions, a server restarted in the
// middle of a study, a server gone for good, a wrong password, an address
// nothing answers on, databases that are not ours; and a study moved
// SQLite -> PostgreSQL -> SQLite through `results export` / `import`'s JSON
// without losing a field.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/lock.h"
#include "report/export.h"
#include "results/postgres.h"
#include "results/store.h"
#include "testutil/fixtures.h"
#include "testutil/postgres_server.h"
#include "testutil/results_fixture.h"

namespace inferbench::results {
namespace {

namespace fs = std::filesystem;
using testutil::ended_run;
using testutil::expect_error;
using testutil::export_without_ids;
using testutil::full_run;
using testutil::PostgresServer;
using testutil::TempDir;

class PostgresStore : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(PostgresServer::bin_dir().empty()) << "no PostgreSQL server: scripts/setup.sh installs it";
    server_ = std::make_unique<PostgresServer>();
    url_ = server_->create_database("results");
  }

  std::unique_ptr<PostgresServer> server_;
  std::string url_;
};

TEST_F(PostgresStore, RecordsAndReadsBackRunsExactly) {
  Store store = Store::open(url_);
  EXPECT_EQ(store.location(), server_->url("results", "***"));  // the password never shown
  const std::int64_t study = store.begin_study("exact", {{"models", {"mobilenet_v2"}}});
  RunRecord a = full_run(study, 1, 5000);
  RunRecord b = ended_run(study, "crashy", RunStatus::kCrashed, "worker killed by signal 11 (SIGSEGV)");
  a.id = store.record_run(a);
  b.id = store.record_run(b);
  // A second connection reads what the first wrote, field for field, bit for bit.
  Store other = Store::open_read_only(url_);
  const StudyData data = other.load(study);
  EXPECT_EQ(data.study.name, "exact");
  EXPECT_EQ(data.study.plan, (nlohmann::json{{"models", {"mobilenet_v2"}}}));
  ASSERT_EQ(data.runs.size(), 2U);
  EXPECT_EQ(data.runs[0], a);
  EXPECT_EQ(data.runs[1], b);
  EXPECT_EQ(*data.runs[0].result.stddev, std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(*data.runs[0].result.min, 0.1 + 0.2);
  EXPECT_EQ(other.studies().size(), 1U);
  EXPECT_EQ(other.find_study("exact")->id, study);
  EXPECT_FALSE(other.find_study("nope").has_value());
  expect_error([&] { store.begin_study("exact", {}); }, ExitCode::kUsage, "already holds a study named 'exact'");
  EXPECT_THROW(other.load(study + 100), std::invalid_argument);
  EXPECT_THROW(store.set_study_status(study + 100, StudyStatus::kFinished), std::invalid_argument);
}

TEST_F(PostgresStore, ResumeKeysSkipFinalRunsAndARetryReplacesItsRun) {
  Store store = Store::open(url_);
  const std::int64_t study = store.begin_study("resume", {});
  store.record_run(ended_run(study, "ok-one", RunStatus::kOk, ""));
  store.record_run(ended_run(study, "skipped", RunStatus::kSkipped, "no such format"));
  const RunRecord crashed = ended_run(study, "flaky", RunStatus::kCrashed, "signal 9");
  store.record_run(crashed);
  EXPECT_TRUE(store.has_run(study, ended_run(study, "ok-one", RunStatus::kOk, "").run_key));
  EXPECT_TRUE(store.has_run(study, ended_run(study, "skipped", RunStatus::kOk, "").run_key));
  EXPECT_FALSE(store.has_run(study, crashed.run_key));  // --resume runs it again
  EXPECT_FALSE(store.has_run(study, "no-such-key"));
  RunRecord retried = full_run(study, 0, 10);
  retried.configuration = crashed.configuration;
  retried.run_key = crashed.run_key;
  store.record_run(retried);
  const auto runs = store.runs(study);
  ASSERT_EQ(runs.size(), 3U);  // replaced, not added
  EXPECT_EQ(runs[2].status, RunStatus::kOk);
  EXPECT_EQ(runs[2].samples.size(), 10U);
  EXPECT_TRUE(store.has_run(study, crashed.run_key));
  store.set_study_status(study, StudyStatus::kFinished);
  EXPECT_EQ(store.find_study("resume")->status, StudyStatus::kFinished);
}

// Two drivers recording into one study at the same moment, and racing to
// create one study name: every run is there once, whole, and one name wins.
TEST_F(PostgresStore, TwoWritersAtOnceLoseNothing) {
  const std::int64_t study = Store::open(url_).begin_study("shared", {});
  constexpr int kEach = 40;
  std::atomic<int> errors{0};
  auto writer = [&](int first) {
    try {
      Store s = Store::open(url_);
      for (int i = 0; i < kEach; ++i) s.record_run(full_run(study, first + i, 200));
    } catch (const std::exception& e) {
      ++errors;
      ADD_FAILURE() << e.what();
    }
  };
  std::thread t1(writer, 0), t2(writer, 1000);
  t1.join();
  t2.join();
  EXPECT_EQ(errors.load(), 0);
  Store reader = Store::open_read_only(url_);
  const auto runs = reader.runs(study);
  ASSERT_EQ(runs.size(), 2U * kEach);
  std::set<std::string> keys;
  for (const auto& r : runs) {
    keys.insert(r.run_key);
    const int index = r.configuration["index"];
    EXPECT_EQ(r, [&] {
      RunRecord want = full_run(study, index, 200);
      want.id = r.id;
      return want;
    }());
  }
  EXPECT_EQ(keys.size(), 2U * kEach);

  std::atomic<int> won{0}, refused{0};
  auto starter = [&] {
    try {
      Store::open(url_).begin_study("race", {});
      ++won;
    } catch (const Error& e) {
      if (e.code() == ExitCode::kUsage) ++refused;
    }
  };
  std::thread s1(starter), s2(starter);
  s1.join();
  s2.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(refused.load(), 1);
}

TEST_F(PostgresStore, TheStudyLockIsExclusiveAndTellsReadersWhetherTheStudyLives) {
  Store owner = Store::open(url_);
  owner.begin_study("live", {});
  Store other = Store::open(url_);
  {
    const auto lock = owner.lock_study("live", "inferbench bench, study 'live'", "study 'live' is being run");
    expect_error([&] { (void)other.lock_study("live", "second", "study 'live' is being run"); }, kExitBusy,
                 "study 'live' is being run: held by PostgreSQL session");
    EXPECT_EQ(other.find_study("live")->status, StudyStatus::kRunning);
    // Another study's lock is another lock.
    EXPECT_NO_THROW((void)other.lock_study("another", "x", "busy"));
  }
  // The owner let go without finishing: to a reader, the study was interrupted.
  EXPECT_EQ(other.find_study("live")->status, StudyStatus::kInterrupted);
  EXPECT_NO_THROW((void)other.lock_study("live", "resumer", "busy"));
}

// The server restarts while a study is recorded: the store reconnects, takes
// its study lock again and goes on; nothing recorded before or after is lost.
TEST_F(PostgresStore, AServerRestartedMidStudyLosesNothing) {
  Store store = Store::open(url_);
  const std::int64_t study = store.begin_study("restart", {});
  const auto lock = store.lock_study("restart", "bench", "busy");
  store.record_run(full_run(study, 1, 100));
  store.record_run(full_run(study, 2, 100));
  server_->restart();
  store.record_run(full_run(study, 3, 100));  // the first statement finds the connection gone
  store.record_run(full_run(study, 4, 100));
  Store other = Store::open(url_);
  EXPECT_EQ(other.runs(study).size(), 4U);
  expect_error([&] { (void)other.lock_study("restart", "second", "busy"); }, kExitBusy, "busy: held by");
  EXPECT_EQ(other.find_study("restart")->status, StudyStatus::kRunning);
}

// A server that stays down: the write is a named error once the reconnect
// timeout is spent, and the database holds the runs before it, whole.
TEST_F(PostgresStore, AServerGoneForGoodIsANamedErrorAndNothingHalfWritten) {
  Store::Options options;
  options.reconnect_timeout_ms = 1500;
  Store store = Store::open(url_, options);
  const std::int64_t study = store.begin_study("gone", {});
  store.record_run(full_run(study, 1, 100));
  server_->stop();
  expect_error([&] { store.record_run(full_run(study, 2, 100)); }, ExitCode::kOutput,
               "lost the connection while recording a run and could not get it back in 1.5 s");
  server_->start();
  Store other = Store::open_read_only(url_);
  const auto runs = other.runs(study);
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0].samples.size(), 100U);
}

TEST_F(PostgresStore, AWrongPasswordAMissingDatabaseAndNoServerAreNamedInputErrors) {
  const std::string wrong = server_->url("results", "not-the-password");
  try {
    Store::open(wrong);
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot connect to the results database 'postgresql://inferbench:***@127.0.0.1:"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("password authentication failed"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("not-the-password"), std::string::npos) << msg;  // never echoed
  }
  expect_error([&] { Store::open_read_only(server_->url("no_such_db")); }, ExitCode::kInput, "does not exist");
  // An address nothing listens on: refused at once, named.
  const std::string nobody = "postgresql://inferbench:x@127.0.0.1:1/results";
  expect_error([&] { Store::open(nobody); }, ExitCode::kInput,
               "cannot connect to the results database 'postgresql://inferbench:***@127.0.0.1:1/results'");
}

TEST_F(PostgresStore, ReadersNeverWriteAndRefuseDatabasesThatAreNotOurs) {
  expect_error([&] { Store::open_read_only(url_); }, ExitCode::kInput, "holds no inferbench results yet");
  Store writer = Store::open(url_);
  const std::int64_t study = writer.begin_study("s", {});
  Store reader = Store::open_read_only(url_);
  expect_error([&] { reader.begin_study("t", {}); }, ExitCode::kOutput, "read-only transaction");
  expect_error([&] { reader.record_run(full_run(study, 1, 3)); }, ExitCode::kOutput, "read-only transaction");
  EXPECT_EQ(reader.runs(study).size(), 0U);

  // Another application's tables of the same names.
  const std::string foreign = server_->create_database("foreign_app");
  {
    pg::Connection c(foreign);
    c.exec("CREATE TABLE runs (id integer)");
  }
  expect_error([&] { Store::open(foreign); }, ExitCode::kInput, "other tables named runs");
  // A newer inferbench's database.
  {
    pg::Connection c(url_);
    c.exec("UPDATE inferbench_schema SET version = 99");
  }
  expect_error([&] { Store::open_read_only(url_); }, ExitCode::kInput, "written by a newer inferbench (schema 99");
}

// SQLite -> JSON -> PostgreSQL -> JSON -> SQLite: the exports are equal but
// for the ids, every figure and sample exact.
TEST_F(PostgresStore, AStudyMovesBetweenSqliteAndPostgresWithoutLoss) {
  TempDir d;
  Store sqlite = Store::open((d.path() / "a.db").string());
  const std::int64_t id = sqlite.begin_study("moved", {{"backends", {"onnxruntime", "openvino"}}, {"note", "é ü"}});
  for (int i = 0; i < 3; ++i) sqlite.record_run(full_run(id, i, 1000 + i));
  sqlite.record_run(ended_run(id, "failed-one", RunStatus::kFailed, "load failed: 'x.onnx': bad magic"));
  sqlite.set_study_status(id, StudyStatus::kFinished);
  const nlohmann::json from_sqlite = report::export_study_json(sqlite, id);

  Store pg = Store::open(url_);
  const std::int64_t pg_id = pg.import_study(report::study_from_json(from_sqlite, "a.json"));
  const nlohmann::json from_pg = report::export_study_json(pg, pg_id);
  EXPECT_EQ(export_without_ids(from_pg), export_without_ids(from_sqlite));
  expect_error([&] { pg.import_study(report::study_from_json(from_sqlite, "a.json")); }, ExitCode::kUsage,
               "already holds a study named 'moved'");

  Store back = Store::open((d.path() / "b.db").string());
  const std::int64_t back_id = back.import_study(report::study_from_json(from_pg, "b.json"));
  EXPECT_EQ(export_without_ids(report::export_study_json(back, back_id)), export_without_ids(from_sqlite));
  EXPECT_EQ(back.find_study("moved")->status, StudyStatus::kFinished);
}

// study_from_json names what is wrong in an export, and where.
TEST(StudyFromJson, NamesTheFieldThatIsWrong) {
  TempDir d;
  Store s = Store::open((d.path() / "r.db").string());
  const std::int64_t id = s.begin_study("x", {});
  s.record_run(full_run(id, 1, 3));
  s.record_run(full_run(id, 2, 3));
  const nlohmann::json good = report::export_study_json(s, id);
  EXPECT_EQ(report::study_from_json(good, "f.json").runs.size(), 2U);
  auto broken = [&](auto edit, const std::string& needle) {
    nlohmann::json j = good;
    edit(j);
    expect_error([&] { report::study_from_json(j, "f.json"); }, ExitCode::kInput, "'f.json': " + needle);
  };
  broken([](nlohmann::json& j) { j["schema"] = "other"; }, "schema: expected \"inferbench-results\"");
  broken([](nlohmann::json& j) { j["version"] = kSchemaVersion + 1; },
         fmt::format("version {}: this build reads exports of schema 1 to {}", kSchemaVersion + 1, kSchemaVersion));
  broken([](nlohmann::json& j) { j["study"].erase("name"); }, "study.name: expected a value (missing)");
  broken([](nlohmann::json& j) { j["runs"][1]["result"]["median"] = "fast"; },
         "runs[1].result.median: expected a number or null, got \"fast\"");
  broken([](nlohmann::json& j) { j["runs"][0]["result"]["batch"] = 1.5; }, "runs[0].result.batch: expected an integer");
  broken([](nlohmann::json& j) { j["runs"][0]["status"] = "great"; }, "runs[0].status: expected a known status");
  broken([](nlohmann::json& j) { j["runs"][1]["samples"][2] = nullptr; },
         "runs[1].samples[2]: expected a finite number (ms)");
  broken([](nlohmann::json& j) { j["runs"][1]["run_key"] = j["runs"][0]["run_key"]; },
         "runs[1].run_key: expected a run key not empty and not used by another run");
  broken([](nlohmann::json& j) { j["runs"] = nlohmann::json::object(); }, "runs: expected an array");
}

}  // namespace
}  // namespace inferbench::results
