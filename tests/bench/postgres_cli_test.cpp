// `bench --db postgresql://...` end to end through the real binary, against a
// PostgreSQL server the test starts (testutil::PostgresServer), with the test
// backend: every read command (results, compare, report) on the same URI, a
// study moved to an SQLite file with `results export` / `import`, the server
// restarted while a study runs, a study killed mid-run and resumed, and a
// wrong password or an unreachable server as a named error that never shows
// the password. No sleeps: the test backend reports through FIFOs that the
// test blocks on.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "results/store.h"
#include "testutil/fixtures.h"
#include "testutil/postgres_server.h"
#include "testutil/processes.h"
#include "testutil/results_fixture.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using testutil::export_without_ids;
using testutil::run_cli;

class PostgresCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setenv("INFERBENCH_TEST_BACKENDS", "1", 1); }
  static void TearDownTestSuite() { unsetenv("INFERBENCH_TEST_BACKENDS"); }

  void SetUp() override {
    ASSERT_FALSE(testutil::PostgresServer::bin_dir().empty()) << "no PostgreSQL server: scripts/setup.sh installs it";
    server_ = std::make_unique<testutil::PostgresServer>();
    url_ = server_->create_database("fleet");
    tensors_ = testutil::write_split_tensors(dir_.path() / "split", 6, 8, 3);
  }

  // A model file for the test backend, with its sidecar (and per-artifact fault).
  fs::path artifact(const std::string& name, const nlohmann::json& fault = nullptr) {
    const fs::path p = dir_.path() / "models" / name;
    testutil::write_text(p, "read by nothing but the test backend");
    nlohmann::json side{{"format", "onnx"},
                        {"model", "fake"},
                        {"input", {{"layout", "NCHW"}, {"height", 8}, {"width", 8}, {"dynamic_batch", true}}},
                        {"classes", {"class0", "class1", "class2"}},
                        {"source", nlohmann::json::object()}};
    if (!fault.is_null()) side["source"]["test_fault"] = fault;
    testutil::write_text(p.string() + ".json", side.dump());
    return p;
  }

  std::vector<std::string> bench_args(const std::string& study, const std::string& db, std::vector<std::string> extra) {
    std::vector<std::string> a{"--quiet",
                               "bench",
                               "--tensors",
                               tensors_.string(),
                               "--backends",
                               "test-fault",
                               "--db",
                               db,
                               "--study",
                               study,
                               "--work-dir",
                               (dir_.path() / "work").string(),
                               "--warmup",
                               "2",
                               "--warmup-seconds",
                               "0",
                               "--min-count",
                               "40",
                               "--min-seconds",
                               "0.05",
                               "--peak-seconds",
                               "0.05",
                               "--threads",
                               "1",
                               "--scenarios",
                               "single-stream",
                               "--json"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  std::vector<results::RunRecord> runs(const std::string& study) {
    results::Store store = results::Store::open_read_only(url_);
    return store.runs(store.find_study(study).value().id);
  }

  testutil::TempDir dir_;
  std::unique_ptr<testutil::PostgresServer> server_;
  std::string url_;
  fs::path tensors_;
};

TEST_F(PostgresCli, BenchWritesThereAndEveryReadCommandReadsIt) {
  const auto fast = artifact("m.onnx", {{"latency_us", 2000}});
  auto r = run_cli(bench_args("fast", url_, {fast.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto slow = artifact("m.onnx", {{"latency_us", 4000}});
  r = run_cli(bench_args("slow", url_, {slow.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(testutil::PostgresServer::kPassword), std::string::npos) << r.err;

  r = run_cli({"results", "--db", url_, "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fast"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("finished"), std::string::npos) << r.out;
  r = run_cli({"results", "--db", url_, "show", "slow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("test-fault"), std::string::npos) << r.out;

  r = run_cli({"compare", "fast", "slow", "--db", url_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out)["matches"];
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_GT(rows[0]["ratio_b_over_a"].get<double>(), 1.5);
  EXPECT_EQ(rows[0]["faster"], "a");

  r = run_cli({"report", "--db", url_, "--study", "slow", "--out", (dir_.path() / "report").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file_text(dir_.path() / "report" / "report.html").find("m.onnx"), std::string::npos);

  // To an SQLite file and back out: the same study but for the ids.
  const fs::path exported = dir_.path() / "slow.json";
  r = run_cli({"results", "--db", url_, "export", "slow", "--out", exported.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path file = dir_.path() / "copy" / "results.db";
  r = run_cli({"results", "--db", file.string(), "import", exported.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("imported study 'slow' (1 runs)"), std::string::npos) << r.out;
  r = run_cli({"results", "--db", file.string(), "export", "slow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(export_without_ids(nlohmann::json::parse(r.out)),
            export_without_ids(nlohmann::json::parse(read_file_text(exported))));
  // A second import of the same name is refused; --as gives it another.
  r = run_cli({"results", "--db", url_, "import", exported.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("already holds a study named 'slow'"), std::string::npos) << r.err;
  r = run_cli({"results", "--db", url_, "import", exported.string(), "--as", "slow-again"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(runs("slow-again").size(), 1U);
  testutil::write_text(dir_.path() / "broken.json", "{\"schema\": \"inferbench-results\", \"version\": 2}");
  r = run_cli({"results", "--db", url_, "import", (dir_.path() / "broken.json").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("study: expected a value (missing)"), std::string::npos) << r.err;
}

// The server restarts while b's worker is loading: the study reconnects, takes
// its lock again and finishes with every run recorded.
TEST_F(PostgresCli, AServerRestartDuringAStudyLosesNoRun) {
  const fs::path loading_b = dir_.path() / "b.fifo", loading_c = dir_.path() / "c.fifo";
  ASSERT_EQ(mkfifo(loading_b.c_str(), 0600), 0);
  ASSERT_EQ(mkfifo(loading_c.c_str(), 0600), 0);
  const auto a = artifact("a.onnx");
  const auto b = artifact("b.onnx", {{"notify", loading_b.string()}});
  const auto c = artifact("c.onnx", {{"notify", loading_c.string()}});
  const int pid =
      testutil::spawn_cli(bench_args("restart", url_, {a.string(), b.string(), c.string(), "--order", "sequential"}),
                          dir_.path() / "out", dir_.path() / "err");
  {
    std::ifstream in(loading_b);  // b's worker is loading: a's run is committed
    int worker = 0;
    in >> worker;
    ASSERT_GT(worker, 0);
  }
  server_->restart();
  {
    std::ifstream in(loading_c);  // c loads only now, after the restart
    int worker = 0;
    in >> worker;
    ASSERT_GT(worker, 0);
  }
  ASSERT_EQ(testutil::wait_cli(pid), 0) << read_file_text(dir_.path() / "err");
  const std::string err = read_file_text(dir_.path() / "err");
  EXPECT_NE(err.find("results: lost the connection to 'postgresql://inferbench:***@"), std::string::npos) << err;
  const auto rs = runs("restart");
  ASSERT_EQ(rs.size(), 3U);
  for (const auto& run : rs) EXPECT_EQ(run.status, results::RunStatus::kOk) << run.reason;
  results::Store store = results::Store::open_read_only(url_);
  EXPECT_EQ(store.find_study("restart")->status, results::StudyStatus::kFinished);
}

TEST_F(PostgresCli, AKilledStudyReadsAsInterruptedAndResumes) {
  const fs::path fifo = dir_.path() / "hang.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto a = artifact("a.onnx");
  const auto b = artifact("b.onnx", {{"fault", "hang"}, {"at", "load"}, {"notify", fifo.string()}});
  auto args = bench_args("resume", url_, {a.string(), b.string(), "--order", "sequential"});
  const int pid = testutil::spawn_cli(args, dir_.path() / "out1", dir_.path() / "err1");
  int worker_pid = 0;
  {
    std::ifstream in(fifo);
    in >> worker_pid;
  }
  ASSERT_GT(worker_pid, 0);
  // While it runs, a second run of the same study is refused (the advisory lock).
  const auto second = run_cli(args);
  EXPECT_EQ(second.exit_code, 8) << second.err;
  EXPECT_NE(second.err.find("held by PostgreSQL session"), std::string::npos) << second.err;
  kill(pid, SIGKILL);
  EXPECT_EQ(testutil::wait_cli(pid), 128 + SIGKILL);
  kill(worker_pid, SIGKILL);
  fs::remove(fifo);  // b no longer hangs

  // The killed process's session ends with it, and its lock with the session.
  bool interrupted = false;
  testutil::poll_until(
      [&] {
        const auto r = run_cli({"results", "--db", url_, "list"});
        interrupted = r.out.find("interrupted") != std::string::npos;
        return interrupted;
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(interrupted);
  args.push_back("--resume");
  const auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["resumed"], 1);
  EXPECT_EQ(runs("resume").size(), 2U);
}

TEST_F(PostgresCli, AWrongPasswordOrNoServerIsANamedErrorThatHidesThePassword) {
  const auto a = artifact("a.onnx");
  const std::string wrong = server_->url("fleet", "sekrit-wrong");
  auto r = run_cli(bench_args("x", wrong, {a.string()}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("password authentication failed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("sekrit-wrong"), std::string::npos) << r.err;
  r = run_cli({"results", "--db", "postgresql://inferbench:sekrit@127.0.0.1:1/fleet", "list"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot connect to the results database 'postgresql://inferbench:***@127.0.0.1:1/fleet'"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("sekrit"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace inferbench
