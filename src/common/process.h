#pragma once
// Child processes that end with their parent, signals that stop a command
// cleanly, and what the machine is doing (for the benchmark's load record).
//
// Lifetime contract (issue 16): every fork in src/ (stage children of
// `inferbench run`, src/pipeline/stage.cpp; workers, src/worker/parent.cpp;
// converters and quantizers, run_program) goes through fork_child(), which
// puts the child in a process group of its own that the parent signals, and
// calls die_with_parent() in the child before exec, so a `kill -9` of the
// parent ends the child too (and, through the child's own children doing the
// same, the whole tree). Locks that must outlive a process's own death only
// while its children live are inherited by them (src/common/lock.h).
#include <sys/types.h>

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace inferbench {

// In a child just after fork(), before exec; async-signal-safe. Asks the
// kernel for SIGKILL when the parent dies (PR_SET_PDEATHSIG), then closes the
// race with a parent that died before that call: when getppid() is no longer
// `parent`, the child ends itself at once with SIGKILL.
void die_with_parent(pid_t parent);

// fork() under that contract, for every fork in src/. In the child (return
// 0): its own process group, die_with_parent(), SIGINT and SIGTERM back at
// their default actions; from there only async-signal-safe calls until exec.
// In the parent: the child's pid, which is its group's id, already set and
// registered with StopSignals::add_child() (the caller removes it after its
// wait), or -1 with errno from fork(). SIGINT and SIGTERM are blocked in the
// calling thread from before the fork until the child is registered (parent)
// and its handlers are reset (child), so a stop signal that arrives while a
// child starts is held and then forwarded to it, never lost.
pid_t fork_child();

// While a StopSignals lives (they nest), SIGINT and SIGTERM do not end the
// process: the first one is recorded (caught()) and forwarded to every child
// process group registered with add_child(); a second one kills those groups
// with SIGKILL. The owner checks caught() after each wait and stops cleanly
// (marks what it was doing interrupted, exits 130 for SIGINT, 143 for
// SIGTERM: interrupted_exit_code()). The handlers are installed without
// SA_RESTART, so a blocking wait returns EINTR. Without a live StopSignals the
// program's own handlers apply (main.cpp: SIGINT exits 130 at once).
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // 0, or the first of SIGINT/SIGTERM received while a StopSignals lived.
  static int caught();
  // 128 + the caught signal (130 for SIGINT, 143 for SIGTERM); 0 when none.
  static int interrupted_exit_code();
  // Async-signal-safe; at most 16 groups at once (more are not forwarded to).
  // A group added after a stop signal was received while this scope lived
  // (a child started just then, the signal handled by another thread) is
  // sent that signal at once (SIGKILL after a second one): the handler that
  // ran before could not forward it.
  static void add_child(pid_t process_group);
  static void remove_child(pid_t process_group);
};

// Start time of a process in clock ticks since boot (/proc/PID/stat field 22):
// with the pid it names one process, whatever pids the system reuses.
// nullopt when the process does not exist.
std::optional<unsigned long long> process_start_ticks(pid_t pid);

// True when `pid` exists and has the given start time.
bool process_alive(pid_t pid, unsigned long long start_ticks);

// Its command line, arguments joined by spaces ("" when unreadable).
std::string process_command_line(pid_t pid);

// CPU time all cores have spent busy since boot, in seconds (/proc/stat:
// user, nice, system, irq, softirq and steal; idle and iowait are not busy).
// nullopt when /proc/stat cannot be read.
std::optional<double> machine_busy_cpu_seconds();

// /proc/loadavg's 1, 5 and 15 minute averages; nullopt when unreadable.
std::optional<std::array<double, 3>> load_average();

// An outside program run to its end (a converter or quantizer in a Python
// venv), under the lifetime contract above: its own process group, dies with
// this process, SIGINT/SIGTERM forwarded while a StopSignals lives.
struct ProgramResult {
  int exit_code = 0;        // its exit status, 128 + N when killed by signal N, 127 when it could not start
  std::string output_tail;  // the last `tail_bytes` of its stdout and stderr together
};
// Throws Error(kInternal) only when no process can be made (fork or pipe
// failing); a program that cannot be executed is exit code 127.
ProgramResult run_program(const std::vector<std::string>& argv, std::size_t tail_bytes = 4000);

}  // namespace inferbench
