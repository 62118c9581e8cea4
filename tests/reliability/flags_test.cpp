// Every numeric flag of every command, out of range (issue 16, item 4): the
// real binary refuses each with a usage error (exit 2) whose message names the
// flag, and writes nothing. The table is read off src/cli/cmd_*.cpp (each
// command's add_option calls with a number behind them): below the minimum,
// above the maximum where there is one, NaN for real numbers, negative for
// unsigned ones (which CLI11 would otherwise wrap), and sums that cannot be.
// Each command gets inputs that exist (a manifest, tensors, an artifact of the
// test backend, a database), so a flag that is not checked shows as a command
// that ran (or failed on something else), not as a missing file.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/files.h"
#include "data/manifest.h"
#include "data/scan.h"
#include "data/split.h"
#include "testutil/fixtures.h"

namespace inferbench {
namespace {

namespace fs = std::filesystem;

// The inputs, made once for the whole table (in-process: milliseconds).
struct Inputs {
  testutil::TempDir dir;
  fs::path images, manifest, tensors, artifact, bare, checkpoint, db;
  Inputs() {
    images = dir / "images";
    std::uint64_t seed = 0;
    for (const char* cls : {"Kiwi", "Mango"}) {
      for (int i = 0; i < 12; ++i) {
        testutil::write_image(images / cls / ("img" + std::to_string(i) + ".png"),
                              testutil::pattern_image(40, 40, ++seed));
      }
    }
    data::ScanOptions scan;
    scan.root = images;
    data::Manifest m = data::scan_dataset(scan).manifest;
    data::SplitOptions split;
    split.balance_test = false;
    (void)data::split_manifest(m, split);
    manifest = dir / "manifest.csv";
    data::write_manifest(manifest, m);
    tensors = testutil::write_split_tensors(dir / "tensors", 4, 8, 3);
    artifact = dir / "model.onnx";
    testutil::write_text(artifact, "read by nothing but the test backend");
    testutil::write_text(artifact.string() + ".json",
                         R"({"format": "onnx", "model": "fake", "input": {"layout": "NCHW", "height": 8, "width": 8,
                             "dynamic_batch": true}, "classes": ["class0", "class1", "class2"], "source": {}})");
    bare = dir / "bare.onnx";
    testutil::write_text(bare, "made elsewhere");
    checkpoint = dir / "missing.ckpt";  // export and verify read it only after their flags are checked
    db = dir / "results.db";
  }
};

Inputs& inputs() {
  static Inputs* in = new Inputs();  // leaked on purpose: lives until the process ends
  return *in;
}

struct BadFlag {
  std::string command;  // a key of command_args()
  std::string flag;
  std::string value;
  std::vector<std::string> extra = {};  // other flags the row needs (a sum of two fractions)
};

// A command with every input it needs; `out` is where it would write.
std::vector<std::string> command_args(const std::string& command, const fs::path& out) {
  const Inputs& in = inputs();
  const std::string o = out.string();
  if (command == "scan") return {"data", "scan", in.images.string(), "--out", o};
  if (command == "split") return {"data", "split", "--manifest", in.manifest.string(), "--out", o};
  if (command == "split-data") return {"data", "split", "--data", in.images.string(), "--out", o};
  if (command == "synth") return {"data", "synth", "--out", o, "--per-class", "1", "--size", "32"};
  if (command == "tensors") return {"data", "export-tensors", "--manifest", in.manifest.string(), "--size", "32",
                                    "--out", o};
  if (command == "model") return {"model", "info", "mobilenet_v2"};
  if (command == "train") return {"train", "--manifest", in.manifest.string(), "--model", "mobilenet_v2", "--size",
                                  "32", "--epochs", "1", "--threads", "1", "--out", o};
  if (command == "export") return {"export", in.checkpoint.string(), "--out", o};
  if (command == "describe") return {"describe", in.bare.string()};
  if (command == "verify") return {"verify", "--checkpoint", in.checkpoint.string(), "--tensors", in.tensors.string(),
                                   in.artifact.string(), "--backends", "test-fault", "--out", o};
  if (command == "bench") return {"bench", in.artifact.string(), "--tensors", in.tensors.string(), "--backends",
                                  "test-fault", "--db", (out / "results.db").string(), "--work-dir",
                                  (out / "work").string(), "--min-count", "5", "--min-seconds", "0",
                                  "--peak-seconds", "0"};
  if (command == "compare") return {"compare", "a", "b", "--db", in.db.string()};
  ADD_FAILURE() << "no command '" << command << "' in the table";
  return {};
}

// clang-format off
const std::vector<BadFlag> kBadFlags = {
    // data scan (and split --data: the same scan flags)
    {"scan", "--min-size", "0"}, {"scan", "--min-size", "-1"}, {"scan", "--threads", "-1"},
    {"split-data", "--min-size", "0"}, {"split-data", "--threads", "-1"},
    // data split
    {"split", "--train", "-0.1"}, {"split", "--train", "1.5"}, {"split", "--train", "nan"},
    {"split", "--val", "-0.1"}, {"split", "--val", "1.5"}, {"split", "--val", "nan"},
    {"split", "--test", "-0.1"}, {"split", "--test", "1.5"}, {"split", "--test", "nan"},
    {"split", "--val", "0.5", {"--train", "0.8"}},  // fractions that add up to more than 1
    {"split", "--seed", "-1"},
    // data synth
    {"synth", "--per-class", "0"}, {"synth", "--per-class", "1000001"}, {"synth", "--size", "31"},
    {"synth", "--size", "4097"}, {"synth", "--quality", "0"}, {"synth", "--quality", "101"},
    {"synth", "--threads", "-1"}, {"synth", "--seed", "-1"},
    // data export-tensors
    {"tensors", "--size", "7"}, {"tensors", "--size", "4097"}, {"tensors", "--resize-size", "-1"},
    {"tensors", "--threads", "-1"}, {"tensors", "--sample", "-1"}, {"tensors", "--sample", "1073741825"},
    {"tensors", "--seed", "-1"},
    // model info
    {"model", "--classes", "0"}, {"model", "--classes", "1000001"}, {"model", "--size", "0"},
    {"model", "--size", "8193"}, {"model", "--width-mult", "0"}, {"model", "--width-mult", "nan"},
    // train
    {"train", "--size", "0"}, {"train", "--size", "16"}, {"train", "--size", "4097"},
    {"train", "--train-size", "-1"}, {"train", "--train-size", "16"}, {"train", "--train-size", "4097"},
    {"train", "--epochs", "0"}, {"train", "--epochs", "100001"},
    {"train", "--batch-size", "0"}, {"train", "--batch-size", "1"}, {"train", "--batch-size", "65537"},
    {"train", "--lr", "0"}, {"train", "--lr", "-0.1"}, {"train", "--lr", "nan"}, {"train", "--lr", "inf"},
    {"train", "--momentum", "-0.1"}, {"train", "--momentum", "1"}, {"train", "--momentum", "nan"},
    {"train", "--weight-decay", "-1"}, {"train", "--weight-decay", "nan"},
    {"train", "--warmup-epochs", "-1"}, {"train", "--warmup-epochs", "nan"},
    {"train", "--label-smoothing", "-0.1"}, {"train", "--label-smoothing", "1"},
    {"train", "--label-smoothing", "nan"},
    {"train", "--width-mult", "0"}, {"train", "--width-mult", "nan"},
    {"train", "--dropout", "1"}, {"train", "--dropout", "1.5"}, {"train", "--dropout", "nan"},
    {"train", "--patience", "-1"}, {"train", "--threads", "-1"}, {"train", "--seed", "-1"},
    // export
    {"export", "--opset", "12"}, {"export", "--opset", "19"},
    // describe
    {"describe", "--size", "0"}, {"describe", "--size", "8193"},
    // verify
    {"verify", "--threads", "0"}, {"verify", "--threads", "1025"}, {"verify", "--batch", "0"},
    {"verify", "--batch", "65537"}, {"verify", "--timeout", "0"}, {"verify", "--timeout", "-1"},
    {"verify", "--timeout", "nan"}, {"verify", "--memory-limit", "-1"},
    {"verify", "--memory-limit", "17592186044416"},  // 2^44 MiB: 2^64 bytes, would wrap to 0 = no limit
    {"verify", "--precision", "fp8"},
    // bench
    {"bench", "--batch", "0"}, {"bench", "--batch", "65537"}, {"bench", "--threads", "-1"},
    {"bench", "--threads", "1025"}, {"bench", "--warmup", "-1"}, {"bench", "--warmup-seconds", "-1"},
    {"bench", "--warmup-seconds", "nan"}, {"bench", "--min-count", "0"}, {"bench", "--min-count", "-1"},
    {"bench", "--min-seconds", "-1"}, {"bench", "--min-seconds", "nan"}, {"bench", "--max-count", "-1"},
    {"bench", "--max-seconds", "0"}, {"bench", "--max-seconds", "nan"}, {"bench", "--cold-runs", "0"},
    {"bench", "--cold-runs", "1001"}, {"bench", "--concurrency", "-1"}, {"bench", "--seed", "-1"},
    {"bench", "--timeout", "0"}, {"bench", "--timeout", "nan"}, {"bench", "--memory-limit", "-1"},
    {"bench", "--memory-limit", "17592186044416"}, {"bench", "--peak-seconds", "-1"},
    {"bench", "--peak-seconds", "nan"}, {"bench", "--ci-target", "-0.1"}, {"bench", "--ci-target", "1"},
    {"bench", "--ci-target", "nan"}, {"bench", "--ci-min-count", "1"}, {"bench", "--precision", "fp8"},
    {"bench", "--precision", "AUTO"},
    // compare
    {"compare", "--alpha", "0"}, {"compare", "--alpha", "0.6"}, {"compare", "--alpha", "nan"},
};
// clang-format on

class FlagOutOfRange : public ::testing::TestWithParam<BadFlag> {
 protected:
  static void SetUpTestSuite() { setenv("INFERBENCH_TEST_BACKENDS", "1", 1); }
  static void TearDownTestSuite() { unsetenv("INFERBENCH_TEST_BACKENDS"); }
};

TEST_P(FlagOutOfRange, IsAUsageErrorNamingTheFlagAndWritesNothing) {
  const BadFlag& row = GetParam();
  testutil::TempDir scratch;
  const fs::path out = scratch / "out";
  std::vector<std::string> args = command_args(row.command, out);
  args.insert(args.end(), row.extra.begin(), row.extra.end());
  args.push_back(row.flag);
  args.push_back(row.value);
  const auto r = testutil::run_cli(args);
  std::string cmdline;
  for (const auto& a : args) cmdline += a + " ";
  EXPECT_EQ(r.exit_code, 2) << cmdline << "\n" << r.err;
  // The message names the flag (CLI11's "--flag: Value ... not in range", or
  // the command's own check).
  const std::string name = row.flag.substr(2);
  EXPECT_NE(r.err.find(name), std::string::npos) << cmdline << "\n" << r.err;
  EXPECT_FALSE(fs::exists(out)) << cmdline << ": wrote " << out;
  EXPECT_FALSE(fs::exists(inputs().bare.string() + ".json")) << cmdline;
}

std::string row_name(const ::testing::TestParamInfo<BadFlag>& info) {
  auto clean = [](std::string s) {
    for (char& c : s) {
      if (c == '-') c = 'm';       // minus (a flag's dashes are dropped first)
      else if (c == '.') c = 'p';  // point
      else if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return s;
  };
  auto flag = [](std::string f) {
    f = f.substr(2);
    for (char& c : f) c = c == '-' ? '_' : c;
    return f;
  };
  std::string s = clean(info.param.command) + "_" + flag(info.param.flag) + "_" + clean(info.param.value);
  for (std::size_t i = 0; i + 1 < info.param.extra.size(); i += 2) {
    s += "_with_" + flag(info.param.extra[i]) + "_" + clean(info.param.extra[i + 1]);
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(EveryCommand, FlagOutOfRange, ::testing::ValuesIn(kBadFlags), row_name);

}  // namespace
}  // namespace inferbench
