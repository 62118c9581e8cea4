#include "common/files.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "common/error.h"
#include "testutil/fixtures.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;

TEST(FilesTest, AtomicWriteCreatesParentsAndReplacesWholeFiles) {
  testutil::TempDir d;
  const auto p = d / "a/b/c.txt";
  write_file_atomic(p, std::string_view("first version, long"));
  EXPECT_EQ(read_file_text(p), "first version, long");
  write_file_atomic(p, std::string_view("second"));
  EXPECT_EQ(read_file_text(p), "second");
  // No temporary files are left behind.
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(p.parent_path())) ++n;
  EXPECT_EQ(n, 1);
}

TEST(FilesTest, ErrorsNameTheFile) {
  testutil::TempDir d;
  try {
    read_file_bytes(d / "missing.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("missing.bin"), std::string::npos);
  }
  // A parent that is a file cannot become a folder.
  testutil::write_text(d / "file", "x");
  try {
    write_file_atomic(d / "file/inside.txt", std::string_view("y"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kOutput);
    EXPECT_NE(std::string(e.what()).find("file"), std::string::npos);
  }
}

TEST(FilesTest, AFailedWriteKeepsThePreviousFile) {
  // A file-size limit makes write() fail part-way (EFBIG), as a full disk
  // does (ENOSPC). Run in a child so the limit does not touch this process.
  testutil::TempDir d;
  const auto p = d / "keep.txt";
  write_file_atomic(p, std::string_view("precious"));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    rlimit lim{1000, 1000};
    setrlimit(RLIMIT_FSIZE, &lim);
    try {
      write_file_atomic(p, std::string(5000, 'x'));
    } catch (const Error& e) {
      _exit(e.code() == ExitCode::kOutput ? 0 : 2);
    }
    _exit(1);  // the write should have failed
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(read_file_text(p), "precious");
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path())) ++n;
  EXPECT_EQ(n, 1) << "the temporary file was not cleaned up";
}

}  // namespace
}  // namespace inferbench
