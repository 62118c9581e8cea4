// pickle::load (src/train/pickle.cpp), the pickle reader under the .pth
// reader, on raw bytes: with no hooks, and with hooks that accept every
// persistent id and every REDUCE (as the .pth reader's do for torch's), so
// that paths behind BINPERSID and REDUCE are reached. Every value is
// described (as messages do). Pickles that follow one another are read in
// turn, as the legacy .pth stream holds them.
#include "fuzz.h"
#include "train/pickle.h"

using namespace inferbench;
namespace pk = inferbench::train::pickle;

namespace {

// Describes values depth first, at most `budget` of them (a container the
// memo made hold itself would otherwise never end).
void describe_all(const pk::Value& v, int& budget) {
  if (--budget < 0) return;
  (void)pk::describe(v);
  for (const auto& item : v.items) {
    if (!item) fuzz::finding("pickle::load: a null item");
    describe_all(*item, budget);
  }
  for (const auto& [k, val] : v.entries) {
    if (!k || !val) fuzz::finding("pickle::load: a null dict key or value");
    describe_all(*k, budget);
    describe_all(*val, budget);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const pk::Input in{"fuzz.pkl", "data.pkl", std::span<const std::uint8_t>(data, size)};
  pk::Hooks hooks;
  hooks.persistent_load = [](const pk::Value& pid) {
    if (pid.kind != pk::Value::Kind::kTuple) throw pk::Rejected("persistent id is not a tuple");
    return pk::make_string(pk::Value::Kind::kString, "storage");
  };
  hooks.reduce = [](const std::string& name, const std::vector<pk::ValuePtr>& args) -> pk::ValuePtr {
    if (name == "torch._utils._rebuild_tensor_v2") {
      if (args.empty()) throw pk::Rejected("no arguments");
      return pk::make_int(static_cast<std::int64_t>(args.size()));
    }
    return nullptr;
  };
  hooks.object_description = [](const std::string& name) { return name.empty() ? std::string() : "an object " + name; };
  for (const pk::Hooks* h : {static_cast<const pk::Hooks*>(nullptr), static_cast<const pk::Hooks*>(&hooks)}) {
    std::size_t pos = 0;
    for (int k = 0; k < 4 && pos < size; ++k) {
      bool ok = false;
      const std::size_t before = pos;
      fuzz::expect_code(
          [&] {
            const pk::ValuePtr v = h ? pk::load(in, pos, *h) : pk::load(in, pos);
            if (!v) fuzz::finding("pickle::load returned nullptr");
            int budget = 10000;
            describe_all(*v, budget);
            ok = true;
          },
          {ExitCode::kInput});
      if (!ok) break;
      if (pos <= before || pos > size) fuzz::finding("pickle::load: position did not advance within the input");
    }
  }
  return 0;
}
