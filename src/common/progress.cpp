#include "common/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace inferbench {

namespace {
std::atomic<bool> g_enabled{true};
}

void Progress::set_enabled(bool enabled) { g_enabled.store(enabled); }
bool Progress::enabled() { return g_enabled.load(); }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<long long>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

Progress::Progress(std::string stage, std::uint64_t total, std::string unit)
    : stage_(std::move(stage)),
      unit_(std::move(unit)),
      total_(total),
      start_(Clock::now()),
      last_print_(start_),
      tty_(isatty(STDERR_FILENO) == 1) {
  interval_ = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
}

Progress::~Progress() { finish(); }

void Progress::advance(std::uint64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  if (!g_enabled.load(std::memory_order_relaxed)) return;
  const auto now = Clock::now();
  if (now - start_ < delay_) return;
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;
  if (printed_ && now - last_print_ < interval_) return;
  last_print_ = now;
  print(false);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (!g_enabled.load()) return;
  if (printed_ || Clock::now() - start_ >= delay_) print(true);
}

void Progress::print(bool final_line) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const auto done = done_.load(std::memory_order_relaxed);
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  std::string line;
  if (total_ > 0) {
    const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total_);
    const double left = rate > 0 && done < total_ ? static_cast<double>(total_ - done) / rate : 0.0;
    line = fmt::format("[{}] {}/{} {} ({:.0f}%)  {:.1f} {}/s  elapsed {}  left {}", stage_, done, total_, unit_,
                       pct, rate, unit_, format_duration(elapsed), final_line ? "0s" : format_duration(left));
  } else {
    line = fmt::format("[{}] {} {}  {:.1f} {}/s  elapsed {}", stage_, done, unit_, rate, unit_,
                       format_duration(elapsed));
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
  printed_ = true;
}

}  // namespace inferbench
