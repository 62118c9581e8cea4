// The model IR's JSON form (src/model/ir_json.cpp, read from a checkpoint's
// meta by export and verify): from_json validates the graph; a graph that
// reads is written back and must read equal, and shape inference, the
// smallest input search and the MAC analysis must run on it (an input that
// does not fit is a usage error, nothing worse).
#include <nlohmann/json.hpp>

#include "fuzz.h"
#include "model/ir.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  model::Graph g;
  bool ok = false;
  fuzz::expect_code(
      [&] {
        model::from_json(j, g);
        ok = true;
      },
      {ExitCode::kInput});
  if (!ok) return 0;
  nlohmann::json written;
  model::to_json(written, g);
  model::Graph again;
  model::from_json(written, again);
  nlohmann::json rewritten;
  model::to_json(rewritten, again);
  if (rewritten != written) fuzz::finding("to_json then from_json changed the graph");
  for (const std::int64_t s : {1, 7, 64}) {
    bool fits = false;
    fuzz::expect_code(
        [&] {
          (void)model::infer_shapes(g, {2, g.input_channels, s, s});
          fits = true;
        },
        {ExitCode::kUsage});
    if (fits) {
      fuzz::expect_code([&] { (void)model::summary(g, s, s); }, {ExitCode::kUsage});
    }
  }
  fuzz::expect_code([&] { (void)model::min_input_size(g, 64); }, {ExitCode::kUsage});
  return 0;
}
