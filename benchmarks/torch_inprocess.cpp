// The LibTorch C++ training step as a C function, for
// benchmarks/torch_interleaved.py: the Python process loads this library with
// ctypes and alternates blocks of C++ steps and Python (torchvision) steps, so
// both sides run in one process, on the same libtorch_cpu, under the same
// machine state. On this VM each process settles in a faster or slower mode
// for its whole life (+-15% between processes), which a comparison across
// processes cannot see through; inside one process the mode is shared.
//
// The library uses the LibTorch that the Python process has already loaded
// (Debian's python3-torch and libtorch-dev are the same libtorch_cpu.so), so
// thread settings (torch.set_num_threads) and the random generator are shared
// with the Python side. It never sets threads itself.
//
// C interface (all return 0 on success; on failure a message in `error`):
//   ib_train_create(model, classes, size, batch, seed, init_from, &handle, error, error_len)
//   ib_train_step(handle, &loss)    one SGD step (TrainBench::step)
//   ib_train_destroy(handle)
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "torch_train_step.h"

namespace {

using inferbench::torch_bench::TrainBench;

void set_error(char* error, int error_len, const std::string& text) {
  if (error != nullptr && error_len > 0) std::snprintf(error, static_cast<std::size_t>(error_len), "%s", text.c_str());
}

std::string message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int ib_train_create(const char* model, std::int64_t classes,
                                                           std::int64_t size, std::int64_t batch, std::uint64_t seed,
                                                           const char* init_from, void** handle, char* error,
                                                           int error_len) {
  try {
    auto* bench = new TrainBench(model, classes, size, batch, seed, init_from != nullptr ? init_from : "");
    bench->start_training();
    *handle = bench;
    return 0;
  } catch (const std::exception& e) {
    set_error(error, error_len, message(e));
    return 1;
  }
}

__attribute__((visibility("default"))) int ib_train_step(void* handle, double* loss, char* error, int error_len) {
  try {
    *loss = static_cast<TrainBench*>(handle)->step();
    return 0;
  } catch (const std::exception& e) {
    set_error(error, error_len, message(e));
    return 1;
  }
}

__attribute__((visibility("default"))) void ib_train_destroy(void* handle) { delete static_cast<TrainBench*>(handle); }

}  // extern "C"
