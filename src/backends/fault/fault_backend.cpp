// A backend that misbehaves on request, for the worker tests: the parent must
// record a crash, a hang, running out of memory and a failing backend as a
// failed result with the reason, and carry on. Listed only when
// INFERBENCH_TEST_BACKENDS=1 (see registry.cpp).
//
// Options: fault=none|crash|abort|hang|oom|error|exit, at=load|infer (when),
// latency_us=N (each infer() takes at least N microseconds: a backend of known
// latency, for the benchmark runner's tests). An artifact's sidecar can
// override them per artifact with source.test_fault = {"fault", "at",
// "latency_us", "notify"}: `notify` names a file (a FIFO in the tests) that
// load() writes its pid to, and a "hang" with `notify` hangs only while that
// file exists, so a test can kill a study mid-run without sleeping and then
// resume it.
// With fault=none it is a working backend: logits[i][k] = mean of channel
// (k mod C) of image i, so the plumbing can be checked with known numbers.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "common/error.h"

namespace inferbench::backends {

namespace {

class FaultBackend final : public Backend {
 public:
  void load(const artifact::Artifact& artifact, const Options& options, int threads) override {
    fault_ = choice_option(options, "test-fault", "fault", "none",
                           {"none", "crash", "abort", "hang", "oom", "error", "exit"});
    at_ = choice_option(options, "test-fault", "at", "infer", {"load", "infer"});
    latency_ = std::chrono::microseconds(int_option(options, "test-fault", "latency_us", 0, 0, 10'000'000));
    const nlohmann::json over = artifact.source.is_object() ? artifact.source.value("test_fault", nlohmann::json::object())
                                                            : nlohmann::json::object();
    fault_ = over.value("fault", fault_);
    at_ = over.value("at", at_);
    latency_ = std::chrono::microseconds(over.value("latency_us", static_cast<std::int64_t>(latency_.count())));
    if (over.contains("notify")) {
      const std::string notify = over["notify"];
      const bool exists = access(notify.c_str(), F_OK) == 0;
      if (fault_ == "hang" && !exists) fault_ = "none";
      if (exists) {
        if (FILE* f = std::fopen(notify.c_str(), "w")) {
          std::fprintf(f, "%d\n", static_cast<int>(getpid()));
          std::fclose(f);
        }
      }
    }
    classes_ = static_cast<std::int64_t>(artifact.classes.size());
    if (classes_ == 0) classes_ = 3;
    threads_ = threads;
    if (at_ == "load") misbehave();
  }

  Logits infer(const float* input, const std::vector<std::int64_t>& shape) override {
    const auto start = std::chrono::steady_clock::now();
    if (at_ == "infer") misbehave();
    if (shape.size() != 4) fail(ExitCode::kInput, "test-fault: expected a 4-d input");
    Logits out{{}, shape[0], classes_};
    const std::int64_t c = shape[1], hw = shape[2] * shape[3];
    out.values.resize(static_cast<std::size_t>(shape[0] * classes_));
    for (std::int64_t i = 0; i < shape[0]; ++i) {
      for (std::int64_t k = 0; k < classes_; ++k) {
        const float* p = input + (i * c + k % c) * hw;
        double sum = 0;
        for (std::int64_t j = 0; j < hw; ++j) sum += p[j];
        out.values[static_cast<std::size_t>(i * classes_ + k)] = static_cast<float>(sum / static_cast<double>(hw));
      }
    }
    // Sleep rather than spin: a sleeping thread does not compete for the cores,
    // so on a busy machine its latency stays the requested one plus the
    // wake-up delay (tens of microseconds), where a spinning one is preempted.
    if (latency_.count() > 0) std::this_thread::sleep_until(start + latency_);
    return out;
  }

  [[nodiscard]] nlohmann::json settings() const override {
    return {{"fault", fault_}, {"at", at_}, {"latency_us", latency_.count()}, {"threads", threads_}};
  }

 private:
  void misbehave() const {
    if (fault_ == "crash") {
      // Die by the signal as a real crash does, whatever handler is installed
      // (AddressSanitizer's turns a SIGSEGV into a report and exit status 1).
      std::signal(SIGSEGV, SIG_DFL);
      std::raise(SIGSEGV);
    } else if (fault_ == "abort") {
      std::abort();
    } else if (fault_ == "hang") {
      for (;;) pause();  // until the parent's timeout kills us
    } else if (fault_ == "oom") {
      // Touch memory until the allocation fails (RLIMIT_AS) or the kernel stops us.
      std::vector<char*> blocks;
      for (;;) {
        auto* b = new char[64 << 20];
        std::memset(b, 1, 64 << 20);
        blocks.push_back(b);
      }
    } else if (fault_ == "error") {
      fail(ExitCode::kInput, "test-fault: failing on request (fault=error)");
    } else if (fault_ == "exit") {
      std::fputs("test-fault: exiting with status 42 on request\n", stderr);
      std::_Exit(42);
    }
  }

  std::string fault_ = "none";
  std::string at_ = "infer";
  std::int64_t classes_ = 3;
  int threads_ = 1;
  std::chrono::microseconds latency_{0};
};

}  // namespace

BackendInfo fault_backend_info() {
  BackendInfo b;
  b.name = "test-fault";
  b.description = "Test backend: crashes, hangs, runs out of memory or fails on request";
  b.formats = {"checkpoint", "torchscript", "onnx", "openvino"};
  b.precisions = artifact::all_precisions();
  b.options = {{"fault", "none", "none|crash|abort|hang|oom|error|exit"},
               {"at", "infer", "load|infer"},
               {"latency_us", "0", "N >= 0: each infer() takes at least N microseconds (sleeps)"}};
  b.concurrent_infer = true;  // infer() only reads the loaded model
  return with_runtime(std::move(b), {"1", [] { return std::make_unique<FaultBackend>(); }});
}

}  // namespace inferbench::backends
