#pragma once
// Progress on stderr for long work: stage, count, rate and time left.
//
// Contract: silent for work that ends within `delay` (default 1 s); after
// that, at most one update per `interval`. On a terminal the line is redrawn
// in place; otherwise (CI logs, pipes) a plain line is written per update.
// advance() is thread-safe and cheap (one atomic add plus a clock read every
// call), so loader threads may call it per item. Never writes to stdout.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace inferbench {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  Progress(std::string stage, std::uint64_t total, std::string unit = "items");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::uint64_t n = 1);
  // Prints the final line (if anything was printed before, or the work took
  // longer than the delay). Called by the destructor when not called before.
  void finish();

  [[nodiscard]] std::uint64_t done() const { return done_.load(std::memory_order_relaxed); }

  // Global switch for --quiet.
  static void set_enabled(bool enabled);
  static bool enabled();

 private:
  void print(bool final_line);

  std::string stage_;
  std::string unit_;
  std::uint64_t total_;
  std::atomic<std::uint64_t> done_{0};
  Clock::time_point start_;
  Clock::time_point last_print_;
  std::chrono::milliseconds delay_{1000};
  std::chrono::milliseconds interval_;
  bool tty_;
  bool printed_ = false;
  bool finished_ = false;
  std::mutex mutex_;
};

// "1h02m", "3m05s", "12s" style durations for humans.
std::string format_duration(double seconds);

}  // namespace inferbench
