#pragma once
// Errors and exit codes.
//
// Contract: a run-time failure the user can fix (bad file, bad flag value,
// unwritable output) is thrown as inferbench::Error carrying the exit code the
// process should end with. Programmer errors (broken invariants) are not
// Errors: they are std::logic_error and end with kInternal. The one
// last-resort catch in main() maps both to a message on stderr and the code.
#include <stdexcept>
#include <string>

namespace inferbench {

// Documented in README.md ("Exit codes"); keep the two in step.
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,      // a bug or an unexpected exception
  kUsage = 2,         // unknown flag, bad flag value, missing argument
  kInput = 3,         // an input file or directory is missing, unreadable or malformed
  kOutput = 4,        // an output could not be written (permissions, full disk)
  kVerifyFailed = 5,  // an artifact failed verification (later stages)
  kPartial = 6,       // the work finished but some items failed (recorded)
  kUnavailable = 7,   // a feature or backend is not available in this build (missing SDK)
  kInterrupted = 130  // SIGINT
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

[[noreturn]] inline void fail(ExitCode code, const std::string& message) { throw Error(code, message); }

}  // namespace inferbench
