// The run configuration (`inferbench run --config FILE`): JSON text as
// cmd_run.cpp reads it, then pipeline::resolve_config (defaults merged, every
// section checked); and the same JSON as a benchmark plan (`bench --plan
// FILE`, bench::plan_from_json). A config that resolves must resolve again to
// itself (the effective config, --print-config's output, is a valid config).
#include <nlohmann/json.hpp>

#include "bench/runner.h"
#include "fuzz.h"
#include "pipeline/run.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;  // cmd_run.cpp: "not valid JSON", an input error
  nlohmann::json resolved;
  bool ok = false;
  fuzz::expect_code(
      [&] {
        resolved = pipeline::resolve_config(j, "fuzz.json");
        ok = true;
      },
      {ExitCode::kInput});
  if (ok && pipeline::resolve_config(resolved, "resolved.json") != resolved) {
    fuzz::finding("resolve_config of a resolved config changed it");
  }
  fuzz::expect_code([&] { (void)bench::plan_from_json(j); }, {ExitCode::kInput, ExitCode::kUsage});
  return 0;
}
