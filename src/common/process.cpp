#include "common/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/error.h"

namespace inferbench {

void die_with_parent(pid_t parent) {
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) raise(SIGKILL);  // the parent died before the call: reparented already
}

namespace {

constexpr int kMaxChildren = 16;
std::atomic<int> g_depth{0};
std::atomic<int> g_caught{0};
std::atomic<int> g_count{0};  // signals received while a scope lived
std::atomic<pid_t> g_children[kMaxChildren];
struct sigaction g_previous_int {}, g_previous_term {};

static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

void on_stop_signal(int sig) {
  const int saved_errno = errno;
  int expected = 0;
  g_caught.compare_exchange_strong(expected, sig);
  const bool again = g_count.fetch_add(1) > 0;
  for (auto& c : g_children) {
    const pid_t g = c.load();
    if (g > 0) kill(-g, again ? SIGKILL : sig);
  }
  errno = saved_errno;
}

}  // namespace

StopSignals::StopSignals() {
  if (g_depth.fetch_add(1) > 0) return;
  g_caught = 0;
  g_count = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: waits return EINTR and look at caught()
  sigaction(SIGINT, &sa, &g_previous_int);
  sigaction(SIGTERM, &sa, &g_previous_term);
}

StopSignals::~StopSignals() {
  if (g_depth.fetch_sub(1) > 1) return;
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int StopSignals::caught() { return g_caught.load(); }

int StopSignals::interrupted_exit_code() {
  const int s = g_caught.load();
  return s == 0 ? 0 : 128 + s;
}

void StopSignals::add_child(pid_t group) {
  // Read before the group is listed: a handler that ran before this load did
  // not see it, one that runs after the store below does. (One that runs on
  // another thread in between is the remaining window; fork_child() closes it
  // for the calling thread by blocking the signals.)
  const int received = g_depth.load() > 0 ? g_count.load() : 0;
  for (auto& c : g_children) {
    pid_t empty = 0;
    if (c.compare_exchange_strong(empty, group)) break;
  }
  if (received > 0) kill(-group, received > 1 ? SIGKILL : g_caught.load());
}

void StopSignals::remove_child(pid_t group) {
  for (auto& c : g_children) {
    pid_t g = group;
    c.compare_exchange_strong(g, 0);
  }
}

pid_t fork_child() {
  sigset_t stop, previous;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &previous);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    die_with_parent(parent);
    signal(SIGINT, SIG_DFL);  // the handlers are the parent's; a held signal now ends the child
    signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return 0;
  }
  const int fork_errno = errno;
  if (pid > 0) {
    setpgid(pid, pid);  // as the child does: whichever runs first, the group exists before it is signalled
    StopSignals::add_child(pid);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);  // a held signal is handled here, the child listed
  errno = fork_errno;
  return pid;
}

std::optional<unsigned long long> process_start_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool process_alive(pid_t pid, unsigned long long start_ticks) {
  if (pid <= 0) return false;
  const auto t = process_start_ticks(pid);
  return t && *t == start_ticks;
}

std::string process_command_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& c : s) c = c == '\0' ? ' ' : c;
  return s;
}

std::optional<double> machine_busy_cpu_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq) || cpu != "cpu") return std::nullopt;
  if (!(in >> steal)) steal = 0;  // kernels before 2.6.11
  const long hz = sysconf(_SC_CLK_TCK);
  return static_cast<double>(user + nice + system + irq + softirq + steal) / static_cast<double>(hz > 0 ? hz : 100);
}

std::optional<std::array<double, 3>> load_average() {
  std::ifstream in("/proc/loadavg");
  std::array<double, 3> a{};
  if (!(in >> a[0] >> a[1] >> a[2])) return std::nullopt;
  return a;
}

ProgramResult run_program(const std::vector<std::string>& argv_s, std::size_t tail_bytes) {
  if (argv_s.empty()) throw std::invalid_argument("run_program: no program");
  std::vector<std::string> args = argv_s;  // prepared before fork: after it, only async-signal-safe calls
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    fail(ExitCode::kInternal, fmt::format("cannot start '{}': pipe: {}", args[0], std::strerror(errno)));
  }
  StopSignals stop;
  const pid_t pid = fork_child();
  if (pid < 0) {
    const int err = errno;
    close(out[0]);
    close(out[1]);
    fail(ExitCode::kInternal, fmt::format("cannot start '{}': fork: {}", args[0], std::strerror(err)));
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execvp(argv[0], argv.data());
    const char msg[] = "cannot execute the program\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
  close(out[1]);
  ProgramResult r;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n > 0) {
      r.output_tail.append(buf, static_cast<std::size_t>(n));
      if (r.output_tail.size() > 2 * tail_bytes) r.output_tail.erase(0, r.output_tail.size() - tail_bytes);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(out[0]);
  if (r.output_tail.size() > tail_bytes) r.output_tail.erase(0, r.output_tail.size() - tail_bytes);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  StopSignals::remove_child(pid);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  return r;
}

}  // namespace inferbench
