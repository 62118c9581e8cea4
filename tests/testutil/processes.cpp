#include "testutil/processes.h"

#include <dirent.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace inferbench::testutil {

namespace {

// State and parent of a process from /proc/PID/stat; false when it is gone.
bool stat_of(int pid, char& state, int& ppid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) return false;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 1));
  return static_cast<bool>(rest >> state >> ppid);
}

}  // namespace

std::vector<int> children_of(int pid) {
  std::vector<int> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (const dirent* e = readdir(proc)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    const int p = std::atoi(e->d_name);
    char state = 0;
    int ppid = 0;
    if (stat_of(p, state, ppid) && ppid == pid && state != 'Z' && state != 'X') out.push_back(p);
  }
  closedir(proc);
  return out;
}

bool process_running(int pid) {
  char state = 0;
  int ppid = 0;
  return stat_of(pid, state, ppid) && state != 'Z' && state != 'X';
}

bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void kill_if_running(int pid) {
  if (pid > 0 && process_running(pid)) kill(pid, SIGKILL);
}

}  // namespace inferbench::testutil
