// Locks on files (common/lock.h) and child-process lifetime and signals
// (common/process.h). Children are forked by the tests; waits on other
// processes are pipes where the test can have one, bounded polls of /proc
// where it cannot (a process reparented away from the test).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "common/lock.h"
#include "common/process.h"
#include "testutil/fixtures.h"
#include "testutil/processes.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int wait_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

TEST(FileLock, ASecondAcquireIsRefusedNamingTheHolder) {
  testutil::TempDir dir;
  const fs::path path = dir / "sub" / "x.lock";
  EXPECT_FALSE(lock_holder(path).has_value());  // no file: nobody
  FileLock first = FileLock::acquire(path, "the first", false, "busy");
  ASSERT_TRUE(first.held());
  const auto h = lock_holder(path);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->pid, getpid());
  EXPECT_EQ(h->what, "the first");
  EXPECT_TRUE(process_alive(h->pid, h->start_ticks));
  // Another open file description conflicts, in this process too.
  testutil::expect_error([&] { (void)FileLock::acquire(path, "the second", false, "folder in use"); }, kExitBusy,
                         "folder in use: '" + path.string() + "' is locked by the first (pid " +
                             std::to_string(getpid()));
  first.release();
  EXPECT_FALSE(lock_holder(path).has_value());
  EXPECT_TRUE(FileLock::acquire(path, "the second", false, "busy").held());
}

TEST(FileLock, AFolderThatCannotBeMadeIsNamedAsTheCause) {
  testutil::TempDir dir;
  testutil::write_text(dir / "out", "a file where the lock's folder should be");
  const fs::path path = dir / "out" / "locks" / "x.lock";
  testutil::expect_error([&] { (void)FileLock::acquire(path, "a study", false, "busy"); }, ExitCode::kOutput,
                         "cannot create the folder '" + (dir / "out" / "locks").string() + "' for the lock file 'x.lock'");
  // A folder that exists but where the file cannot be made: the open's own error.
  fs::create_directories(dir / "dir" / "x.lock" / "y");  // a folder where the lock file should be
  testutil::expect_error([&] { (void)FileLock::acquire(dir / "dir" / "x.lock", "a study", false, "busy"); },
                         ExitCode::kOutput, "cannot open the lock file '" + (dir / "dir" / "x.lock").string() + "'");
}

TEST(FileLock, ChildrenInheritItAndKeepItWhileTheyLive) {
  testutil::TempDir dir;
  const fs::path path = dir / "x.lock";
  FileLock lock = FileLock::acquire(path, "parent", false, "busy");
  int release[2];
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // holds the inherited descriptor until the pipe closes
    close(release[1]);
    char c;
    (void)!read(release[0], &c, 1);
    _exit(0);
  }
  close(release[0]);
  lock.release();
  const auto h = lock_holder(path);
  ASSERT_TRUE(h.has_value()) << "the child's descriptor holds it";
  EXPECT_NE(std::find(h->holders.begin(), h->holders.end(), child), h->holders.end());
  EXPECT_NE(h->describe().find("pid " + std::to_string(child)), std::string::npos) << h->describe();
  close(release[1]);
  wait_status(child);
  EXPECT_FALSE(lock_holder(path).has_value());
}

TEST(FileLock, WaitBlocksUntilTheHolderLetsGo) {
  testutil::TempDir dir;
  const fs::path path = dir / "x.lock";
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    close(release[1]);
    const FileLock held = FileLock::acquire(path, "the holder", false, "busy");
    (void)!write(ready[1], "x", 1);
    char c;
    (void)!read(release[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  bool waited = false;
  const FileLock mine = FileLock::acquire(path, "the waiter", true, "busy", [&](const LockHolder& h) {
    waited = true;
    EXPECT_EQ(h.pid, child);
    EXPECT_EQ(h.what, "the holder");
    close(release[1]);  // now let go: the wait below ends when the child exits
  });
  EXPECT_TRUE(waited);
  EXPECT_TRUE(mine.held());
  EXPECT_EQ(lock_holder(path)->pid, getpid());
  wait_status(child);
}

TEST(FileLock, StudyAndMachineLockPaths) {
  const fs::path a = study_lock_path("out/results.db", "run 1/x");
  EXPECT_EQ(a.parent_path(), fs::path("out/results.db.locks"));
  EXPECT_EQ(a.filename().string().rfind("run_1_x-", 0), 0U) << a;
  EXPECT_NE(a, study_lock_path("out/results.db", "run 1_x"));  // same safe name, another study
  EXPECT_EQ(study_lock_path("out/results.db", "s"), study_lock_path("out/results.db", "s"));
  setenv("INFERBENCH_MACHINE_LOCK", "off", 1);
  EXPECT_TRUE(machine_lock_path().empty());
  setenv("INFERBENCH_MACHINE_LOCK", "/somewhere/m.lock", 1);
  EXPECT_EQ(machine_lock_path(), fs::path("/somewhere/m.lock"));
  unsetenv("INFERBENCH_MACHINE_LOCK");
  EXPECT_EQ(machine_lock_path().filename(), fs::path("inferbench-bench.lock"));
}

TEST(Process, AChildThatAskedToDieWithItsParentDoesSo) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    const pid_t me = getpid();
    const pid_t grandchild = fork();
    if (grandchild == 0) {
      die_with_parent(me);
      const pid_t self = getpid();
      (void)!write(report[1], &self, sizeof self);
      for (;;) pause();
    }
    for (;;) pause();
  }
  close(report[1]);
  pid_t grandchild = 0;
  ASSERT_EQ(read(report[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  EXPECT_TRUE(testutil::process_running(grandchild));
  kill(parent, SIGKILL);
  wait_status(parent);
  EXPECT_TRUE(testutil::poll_until([&] { return !testutil::process_running(grandchild); }, 10s));
  testutil::kill_if_running(grandchild);
}

TEST(Process, StopSignalsRecordAndForwardInsteadOfEnding) {
  {
    StopSignals stop;
    EXPECT_EQ(StopSignals::caught(), 0);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      setpgid(0, 0);
      signal(SIGTERM, SIG_DFL);  // fork keeps the scope's handler; exec would reset it
      (void)!write(ready[1], "x", 1);
      for (;;) pause();
    }
    setpgid(child, child);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    close(ready[1]);
    StopSignals::add_child(child);
    raise(SIGTERM);  // would end this test without the scope
    EXPECT_EQ(StopSignals::caught(), SIGTERM);
    EXPECT_EQ(StopSignals::interrupted_exit_code(), 143);
    const int status = wait_status(child);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGTERM);  // forwarded to its group
    StopSignals::remove_child(child);
    raise(SIGINT);
    EXPECT_EQ(StopSignals::caught(), SIGTERM);  // the first one counts
  }
  struct sigaction now {};
  sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);  // restored
  {
    StopSignals again;
    EXPECT_EQ(StopSignals::caught(), 0);  // a new scope starts clean
  }
}

// CI found `inferbench run` waiting forever for a stage that a SIGTERM had
// reached the run just as the stage was forked: the handler ran before the
// child was registered, so nothing was forwarded to it. Here the signal is
// certainly received before the child exists; it must still reach it.
TEST(Process, AStopSignalReceivedWhileAChildStartsReachesIt) {
  StopSignals stop;
  raise(SIGTERM);
  ASSERT_EQ(StopSignals::caught(), SIGTERM);
  const pid_t child = fork_child();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_EQ(getpgid(child), child);  // a group of its own
  int status = 0;
  const bool ended = testutil::poll_until([&] { return waitpid(child, &status, WNOHANG) == child; }, 10s);
  if (!ended) {
    kill(-child, SIGKILL);
    wait_status(child);
  }
  StopSignals::remove_child(child);
  ASSERT_TRUE(ended) << "the child started after the signal was received never got it";
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  // The mask the fork held the signals with is lifted again in this process.
  sigset_t now;
  sigemptyset(&now);
  pthread_sigmask(SIG_SETMASK, nullptr, &now);
  EXPECT_FALSE(sigismember(&now, SIGTERM));
  EXPECT_FALSE(sigismember(&now, SIGINT));
}

TEST(Process, AChildForkedWithoutAStopSignalRunsOnAndDefaultsItsHandlers) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  StopSignals stop;
  const pid_t child = fork_child();
  ASSERT_GE(child, 0);
  if (child == 0) {
    struct sigaction term {};
    sigaction(SIGTERM, nullptr, &term);
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    const char ok = term.sa_handler == SIG_DFL && !sigismember(&mask, SIGTERM) ? 'y' : 'n';
    (void)!write(report[1], &ok, 1);
    for (;;) pause();
  }
  close(report[1]);
  char ok = 0;
  ASSERT_EQ(read(report[0], &ok, 1), 1);
  close(report[0]);
  EXPECT_EQ(ok, 'y') << "the child kept the parent's handler or its blocked mask";
  EXPECT_TRUE(testutil::process_running(child));  // nothing was sent to it
  kill(-child, SIGKILL);
  wait_status(child);
  StopSignals::remove_child(child);
}

TEST(Process, StartTicksNameOneProcess) {
  const auto t = process_start_ticks(getpid());
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(process_alive(getpid(), *t));
  EXPECT_FALSE(process_alive(getpid(), *t + 1));
  EXPECT_FALSE(process_start_ticks(0).has_value());
  EXPECT_NE(process_command_line(getpid()).find("common_test"), std::string::npos);
  ASSERT_TRUE(load_average().has_value());
  const auto before = machine_busy_cpu_seconds();
  ASSERT_TRUE(before.has_value());
  volatile double x = 0;
  for (int i = 0; i < 50'000'000; ++i) x = x + 1;
  EXPECT_GT(*machine_busy_cpu_seconds(), *before);
}

}  // namespace
}  // namespace inferbench
