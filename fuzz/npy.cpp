// read_npy (src/data/tensor_file.cpp): the .npy files a benchmark or verify
// worker is given (x.npy, y.npy) and those the parent reads back from one
// (samples.npy, logits.npy). An array that reads has exactly the bytes its
// shape and dtype need, and its typed view of the right dtype works.
#include "data/tensor_file.h"
#include "fuzz.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_scratch("array.npy", data, size);
  data::NpyArray a;
  bool ok = false;
  fuzz::expect_code(
      [&] {
        a = data::read_npy(path);
        ok = true;
      },
      {ExitCode::kInput});
  if (!ok) return 0;
  const std::size_t n = a.element_count();
  std::size_t item = 0;
  if (a.dtype == "<f4") {
    item = 4;
    volatile float sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum = sum + a.as_f32()[i];
  } else if (a.dtype == "<i8") {
    item = 8;
    volatile std::int64_t last = 0;
    for (std::size_t i = 0; i < n; ++i) last = a.as_i64()[i];
  } else if (a.dtype == "|u1") {
    item = 1;
  } else {
    fuzz::finding("read_npy returned an unsupported dtype " + a.dtype);
  }
  if (a.bytes.size() != n * item) fuzz::finding("read_npy: data size does not match shape and dtype");
  return 0;
}
