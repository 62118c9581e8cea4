// Reading a results database never writes it: Store::open_read_only and the
// read commands (`results list/show/export`, `compare`, `report`) on files
// that are missing, empty, foreign, corrupt, read-only or in a read-only
// folder. Permission bits do not stop root, so the cases that need them run
// in a forked child that first becomes nobody (uid/gid 65534) when the test
// runs as root, and that child checks the bits are in force before it reads:
// a test that could not create the condition fails rather than passes.
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "results/store.h"
#include "testutil/fixtures.h"
#include "testutil/results_fixture.h"

namespace inferbench::results {
namespace {

namespace fs = std::filesystem;
using testutil::expect_error;
using testutil::full_run;
using testutil::run_cli;
using testutil::TempDir;

// What a reader must leave as it found it: the bytes and the mtime.
struct FileState {
  std::string bytes;
  fs::file_time_type mtime;
  bool operator==(const FileState&) const = default;
};
FileState state_of(const fs::path& p) { return {read_file_text(p), fs::last_write_time(p)}; }

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// A database with two studies, "a" and "b", of two runs each (their runs
// match, so `compare a b` has rows), closed cleanly (no -wal left).
void write_two_studies(const fs::path& db) {
  Store store = Store::open(db);
  for (const char* name : {"a", "b"}) {
    const std::int64_t id = store.begin_study(name, nlohmann::json::object());
    for (int i : {1, 2}) {
      RunRecord r = full_run(id, i, 50);
      r.environment = {{"cpu", {{"model", "Test CPU"}}}};  // as the bench writes it (the report reads its fields)
      store.record_run(r);
    }
  }
}

// Runs `body` in a forked child that cannot write `target` (a folder: cannot
// create a file in it; a file: cannot open it for writing; see the top of the
// file) and returns body's return value, 0 for success; 90-92 mean the child
// could not become unprivileged or could write `target` after all.
int as_reader_who_cannot_write(const fs::path& target, const std::function<int()>& body) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) return 99;
  if (pid == 0) {
    if (geteuid() == 0) {
      if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(90);
      if (geteuid() == 0) _exit(91);
    }
    if (fs::is_directory(target)) {
      const fs::path probe = target / "probe-can-write";
      const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
      if (fd >= 0) {
        ::close(fd);
        ::unlink(probe.c_str());
        _exit(92);  // the folder is writable: the test would prove nothing
      }
    } else {
      const int fd = ::open(target.c_str(), O_WRONLY);
      if (fd >= 0) _exit(92);
    }
    int rc = 93;
    try {
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "reader: %s\n", e.what());
      rc = 94;
    }
    std::fflush(stderr);
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A folder the unprivileged reader can enter and read but not write, holding
// the database; restored on destruction so TempDir can remove it.
class ReadOnlyFolder {
 public:
  explicit ReadOnlyFolder(const TempDir& d) : dir_(d / "ro") {
    fs::permissions(d.path(), fs::perms(0755));  // mkdtemp made it 0700: nobody could not enter
    fs::create_directories(dir_);
  }
  ~ReadOnlyFolder() {
    std::error_code ec;
    fs::permissions(dir_, fs::perms(0755), ec);
  }
  ReadOnlyFolder(const ReadOnlyFolder&) = delete;
  ReadOnlyFolder& operator=(const ReadOnlyFolder&) = delete;
  [[nodiscard]] const fs::path& path() const { return dir_; }
  void lock() {
    for (const auto& e : fs::directory_iterator(dir_)) fs::permissions(e.path(), fs::perms(0444));
    fs::permissions(dir_, fs::perms(0555));
  }

 private:
  fs::path dir_;
};

// What a reader in the child checks: every study and run reads back whole.
int check_reads_back(const fs::path& db, std::size_t runs_per_study) {
  Store store = Store::open_read_only(db);
  const auto studies = store.studies();
  if (studies.size() != 2) return 1;
  for (const auto& s : studies) {
    const StudyData data = store.load(s.id);
    if (data.runs.size() != runs_per_study) return 2;
    for (const auto& r : data.runs) {
      if (r.samples.size() != 50 || r.status != RunStatus::kOk) return 3;
    }
  }
  return 0;
}

TEST(ReadOnlyStore, NamesWhatIsNotAResultsDatabaseAndLeavesItAlone) {
  TempDir d;
  // Missing: nothing is created, not even the folder.
  expect_error([&] { Store::open_read_only(d / "sub" / "r.db"); }, ExitCode::kInput,
               "'" + (d / "sub" / "r.db").string() + "': no results database there");
  EXPECT_FALSE(fs::exists(d / "sub"));

  // Zero bytes: SQLite would call it an empty database and a writer would lay
  // the schema into it; a reader says what it is and leaves it at 0 bytes.
  const fs::path empty = d / "empty.db";
  testutil::write_text(empty, "");
  const FileState empty_before = state_of(empty);
  expect_error([&] { Store::open_read_only(empty); }, ExitCode::kInput,
               "'" + empty.string() + "' is empty (0 bytes), not an inferbench results database");
  EXPECT_EQ(state_of(empty), empty_before);
  EXPECT_EQ(listing(d.path()), (std::set<std::string>{"empty.db"}));

  // Text.
  const fs::path text = d / "notes.txt";
  std::string junk;
  for (int i = 0; i < 200; ++i) junk += "not a database, line " + std::to_string(i) + "\n";
  testutil::write_text(text, junk);
  const FileState text_before = state_of(text);
  expect_error([&] { Store::open_read_only(text); }, ExitCode::kInput,
               "'" + text.string() + "' is not an inferbench results database");
  EXPECT_EQ(state_of(text), text_before);

  // Another application's SQLite file, and an SQLite file with no tables.
  const fs::path other = d / "other.sqlite";
  const fs::path bare = d / "bare.sqlite";
  for (const auto& [path, sql] : {std::pair{other, "CREATE TABLE t (x); INSERT INTO t VALUES (1);"},
                                  std::pair{bare, "CREATE TABLE t (x); DROP TABLE t;"}}) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  const FileState other_before = state_of(other), bare_before = state_of(bare);
  expect_error([&] { Store::open_read_only(other); }, ExitCode::kInput,
               "'" + other.string() + "' is not an inferbench results database (an SQLite database with other");
  expect_error([&] { Store::open_read_only(bare); }, ExitCode::kInput,
               "'" + bare.string() + "' is not an inferbench results database (an SQLite database with no tables)");
  EXPECT_EQ(state_of(other), other_before);
  EXPECT_EQ(state_of(bare), bare_before);

  // A folder.
  expect_error([&] { Store::open_read_only(d.path()); }, ExitCode::kInput,
               "'" + d.path().string() + "' is a folder, not a results database");
}

TEST(ReadOnlyStore, ReadsEverythingAndCannotWrite) {
  TempDir d;
  const fs::path db = d / "r.db";
  write_two_studies(db);
  const FileState before = state_of(db);
  {
    Store store = Store::open_read_only(db);
    const auto a = store.find_study("a");
    ASSERT_TRUE(a);
    const StudyData data = store.load(a->id);
    ASSERT_EQ(data.runs.size(), 2U);
    RunRecord expected = full_run(a->id, 2, 50);
    expected.id = data.runs[1].id;
    expected.environment = {{"cpu", {{"model", "Test CPU"}}}};
    EXPECT_EQ(data.runs[1], expected);
    EXPECT_FALSE(store.has_run(a->id, "no such key"));
    expect_error([&] { store.begin_study("c", nlohmann::json::object()); }, ExitCode::kOutput,
                 "readonly database");
    expect_error([&] { store.set_study_status(a->id, StudyStatus::kFinished); }, ExitCode::kOutput,
                 "readonly database");
    expect_error([&] { store.record_run(full_run(a->id, 3, 5)); }, ExitCode::kOutput, "readonly database");
  }
  EXPECT_EQ(state_of(db), before);
  EXPECT_EQ(Store::open_read_only(db).runs(1).size(), 2U);
}

TEST(ReadOnlyStore, ReadsADatabaseInAReadOnlyFolder) {
  TempDir d;
  ReadOnlyFolder folder(d);
  const fs::path db = folder.path() / "results.db";
  write_two_studies(db);
  ASSERT_EQ(listing(folder.path()), (std::set<std::string>{"results.db"}));  // closed cleanly, in WAL mode
  folder.lock();
  const FileState before = state_of(db);
  EXPECT_EQ(as_reader_who_cannot_write(folder.path(), [&] { return check_reads_back(db, 2); }), 0);
  EXPECT_EQ(state_of(db), before);
  EXPECT_EQ(listing(folder.path()), (std::set<std::string>{"results.db"}));
}

TEST(ReadOnlyStore, ReadsAReadOnlyFileInAFolderItCanWrite) {
  TempDir d;
  fs::permissions(d.path(), fs::perms(0755));
  const fs::path dir = d / "rw";
  fs::create_directories(dir);
  const fs::path db = dir / "results.db";
  write_two_studies(db);
  fs::permissions(db, fs::perms(0444));
  fs::permissions(dir, fs::perms(0777));  // SQLite may make its -shm here; the file itself stays read-only
  const FileState before = state_of(db);
  EXPECT_EQ(as_reader_who_cannot_write(db, [&] { return check_reads_back(db, 2); }), 0);
  EXPECT_EQ(state_of(db), before);
}

TEST(ReadOnlyStore, ReadsTheLogOfAKilledWriterInAReadOnlyFolder) {
  TempDir d;
  ReadOnlyFolder folder(d);
  const fs::path db = folder.path() / "results.db";
  // A writer killed before it closed: its commits are in results.db-wal only.
  std::fflush(stdout);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      auto* store = new Store(Store::open(db));  // never destroyed: the connection is not closed
      for (const char* name : {"a", "b"}) {
        const std::int64_t id = store->begin_study(name, nlohmann::json::object());
        for (int i = 0; i < 3; ++i) store->record_run(full_run(id, i, 50));
      }
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_GT(fs::file_size(db.string() + "-wal"), 0U);
  folder.lock();
  const FileState before = state_of(db);
  EXPECT_EQ(as_reader_who_cannot_write(folder.path(), [&] { return check_reads_back(db, 3); }), 0);
  EXPECT_EQ(state_of(db), before);

  // Without its -shm index the log cannot be read where no index can be made:
  // a named error, not the stale main file.
  fs::permissions(folder.path(), fs::perms(0755));
  fs::remove(db.string() + "-shm");
  folder.lock();
  EXPECT_EQ(as_reader_who_cannot_write(folder.path(),
                                       [&] {
                                         try {
                                           Store::open_read_only(db).studies();
                                         } catch (const Error& e) {
                                           const std::string m = e.what();
                                           std::fprintf(stderr, "reader: %s\n", m.c_str());
                                           return e.code() == ExitCode::kInput &&
                                                          m.find("write-ahead log") != std::string::npos
                                                      ? 0
                                                      : 11;
                                         }
                                         return 12;
                                       }),
            0);
  EXPECT_EQ(state_of(db), before);
}

// ---------------------------------------------------------------------------
// The read commands, through the binary.

// Every read command on `db`, with a writable --out for the report.
std::vector<std::vector<std::string>> read_commands(const fs::path& db, const fs::path& out) {
  return {{"results", "--db", db.string(), "list"},
          {"results", "--db", db.string(), "show", "a"},
          {"results", "--db", db.string(), "export", "a"},
          {"results", "--db", db.string(), "export", "a", "--format", "csv"},
          {"compare", "a", "b", "--db", db.string(), "--json"},
          {"report", "--db", db.string(), "--study", "a", "--out", out.string()}};
}

TEST(ReadCommands, AZeroByteFileIsANamedErrorAndStaysZeroBytes) {
  TempDir d;
  const fs::path db = d / "results.db";
  testutil::write_text(db, "");
  const FileState before = state_of(db);
  for (const auto& args : read_commands(db, d / "report")) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 3) << args[0] << ": " << r.err;
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_NE(r.err.find("'" + db.string() + "' is empty (0 bytes)"), std::string::npos) << r.err;
  }
  EXPECT_EQ(state_of(db), before);
  EXPECT_EQ(listing(d.path()), (std::set<std::string>{"results.db"}));
}

TEST(ReadCommands, ACorruptDatabasePrintsNothingBeforeTheError) {
  TempDir d;
  const fs::path db = d / "results.db";
  {
    Store store = Store::open(db);
    const std::int64_t id = store.begin_study("a", nlohmann::json::object());
    for (int i = 0; i < 4; ++i) store.record_run(full_run(id, i, 20000));  // hundreds of pages
  }
  const auto size = fs::file_size(db);
  ASSERT_GT(size, 200000U);
  fs::resize_file(db, size / 2);  // the header and the studies survive, the samples do not
  const FileState before = state_of(db);
  for (const auto& args : {std::vector<std::string>{"results", "--db", db.string(), "list"},
                           std::vector<std::string>{"results", "--db", db.string(), "show", "a"}}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(r.out, "") << args[3];
    EXPECT_NE(r.err.find("'" + db.string() + "' is not an inferbench results database"), std::string::npos)
        << r.err;
  }
  EXPECT_EQ(state_of(db), before);
}

// Whether the unprivileged reader can run the binary at all: a build under a
// folder nobody may enter (a clone in /root, 0700) cannot be run as nobody, and
// then the read commands cannot be tried that way here.
bool nobody_can_run_the_binary() {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) _exit(90);
    try {
      _exit(run_cli({"--version"}).exit_code == 0 ? 0 : 1);
    } catch (...) {
      _exit(2);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(ReadCommands, EveryReadCommandWorksInAReadOnlyFolderAndChangesNothing) {
  if (!nobody_can_run_the_binary()) {
    GTEST_SKIP() << "uid 65534 cannot run the inferbench binary of this build (a folder above it is not "
                    "searchable by others); ReadOnlyStore.* still open read-only folders as that user in-process";
  }
  TempDir d;
  ReadOnlyFolder folder(d);
  const fs::path db = folder.path() / "results.db";
  write_two_studies(db);
  folder.lock();
  const FileState before = state_of(db);
  const fs::path out = d / "out";
  fs::create_directories(out);
  fs::permissions(out, fs::perms(0777));  // the report's own folder is writable
  const int rc = as_reader_who_cannot_write(folder.path(), [&] {
    int failures = 0;
    for (const auto& args : read_commands(db, out / "report")) {
      const auto r = run_cli(args);
      // report exits 7 when this build has no ECharts; its Markdown is written either way.
      const bool ok = r.exit_code == 0 || (args[0] == "report" && r.exit_code == 7);
      if (!ok || r.out.empty()) {
        std::fprintf(stderr, "%s %s: exit %d\n%s\n", args[0].c_str(), args[args.size() - 1].c_str(), r.exit_code,
                     r.err.c_str());
        ++failures;
      }
    }
    return failures;
  });
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(fs::exists(out / "report" / "summary.md"));
  EXPECT_EQ(state_of(db), before);
  EXPECT_EQ(listing(folder.path()), (std::set<std::string>{"results.db"}));
}

TEST(ReadCommands, ReadsLeaveADatabaseInAWritableFolderUnchanged) {
  TempDir d;
  const fs::path db = d / "results.db";
  write_two_studies(db);
  const FileState before = state_of(db);
  for (const auto& args : read_commands(db, d / "report")) {
    const auto r = run_cli(args);
    EXPECT_TRUE(r.exit_code == 0 || (args[0] == "report" && r.exit_code == 7)) << args[0] << ": " << r.err;
  }
  EXPECT_EQ(state_of(db), before);
  // A writer still opens it afterwards, whatever side files a reader left.
  EXPECT_EQ(Store::open(db).studies().size(), 2U);
}

}  // namespace
}  // namespace inferbench::results
