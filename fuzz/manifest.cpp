// read_manifest (src/data/manifest.cpp): the dataset manifest every stage
// after the scan reads. A manifest that reads is written back and must read
// the same (every field).
#include "data/manifest.h"
#include "fuzz.h"

using namespace inferbench;

namespace {

bool same(const data::ManifestEntry& a, const data::ManifestEntry& b) {
  return a.path == b.path && a.label == b.label && a.source_split == b.source_split && a.split == b.split &&
         a.hash == b.hash && a.status == b.status && a.reason == b.reason && a.format == b.format &&
         a.width == b.width && a.height == b.height && a.color == b.color && a.converted == b.converted &&
         a.bytes == b.bytes && a.repeat == b.repeat &&
         (a.weight == b.weight || (a.weight != a.weight && b.weight != b.weight));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_scratch("manifest.csv", data, size);
  data::Manifest m;
  bool ok = false;
  fuzz::expect_code(
      [&] {
        m = data::read_manifest(path);
        ok = true;
      },
      {ExitCode::kInput});
  if (!ok) return 0;
  (void)m.used_in(data::Split::kTrain);
  for (const auto& e : m.entries) {
    if (!e.label.empty()) (void)m.class_index(e.label);
  }
  const auto again_path = fuzz::scratch_dir() / "again.csv";
  data::write_manifest(again_path, m);
  const data::Manifest again = data::read_manifest(again_path);
  if (again.entries.size() != m.entries.size() || again.classes != m.classes) {
    fuzz::finding("write_manifest then read_manifest changed the entries or classes");
  }
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    if (!same(m.entries[i], again.entries[i])) fuzz::finding("write_manifest then read_manifest changed an entry");
  }
  return 0;
}
