// load_split_tensors (src/data/tensor_file.cpp): the folder `data
// export-tensors` writes and every worker reads; meta.json is the input here,
// beside a fixed valid x.npy and y.npy (whose own bytes the npy harness
// fuzzes: here their hashes in meta.json would not match). What loads is
// consistent: count, shapes, image list and label range agree.
#include "fuzz.h"
#include "split_fixture.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool fixture = [] {
    (void)fuzz::write_split_fixture(fuzz::scratch_dir());
    return true;
  }();
  (void)fixture;
  (void)fuzz::write_scratch("meta.json", data, size);
  data::SplitTensors t;
  bool ok = false;
  fuzz::expect_code(
      [&] {
        t = data::load_split_tensors(fuzz::scratch_dir());
        ok = true;
      },
      {ExitCode::kInput});
  if (!ok) return 0;
  if (t.count != static_cast<std::size_t>(fuzz::kSplitCount) || t.image_paths.size() != t.count ||
      t.image_hashes.size() != t.count || t.y.element_count() != t.count) {
    fuzz::finding("load_split_tensors: count, images and labels disagree");
  }
  for (std::size_t i = 0; i < t.count; ++i) {
    if (t.y.as_i64()[i] < 0 || static_cast<std::size_t>(t.y.as_i64()[i]) >= t.classes.size()) {
      fuzz::finding("load_split_tensors: a label outside the classes");
    }
  }
  return 0;
}
