#pragma once
// Looking at processes from a test, through /proc: a command's children, whether
// one still lives, and waiting (bounded, by polling) for either.
#include <chrono>
#include <functional>
#include <vector>

namespace inferbench::testutil {

// The live (not zombie) processes whose parent is `pid`.
std::vector<int> children_of(int pid);

// True while `pid` exists and is not a zombie.
bool process_running(int pid);

// Polls `condition` every few milliseconds until it holds (true) or `limit`
// passes (false). For waiting on another process's state, never as a
// stand-in for an event the test could wait on directly.
bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds limit);

// Ends `pid` with SIGKILL when it still runs (a test's clean-up).
void kill_if_running(int pid);

}  // namespace inferbench::testutil
