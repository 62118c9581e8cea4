// The schema of `inferbench run`'s config (pipeline/config_schema.h): the
// checks on a hand-made flag schema, the one the binary reads off its own
// subcommands (through `run --print-config`), every shipped config, and
// README's config paragraph against the key table.
#include "pipeline/config_schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "pipeline/commands.h"
#include "testutil/fixtures.h"
#include "testutil/text.h"

namespace inferbench::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testutil::expect_error;
using testutil::run_cli;
using testutil::TempDir;

using testutil::contains;

TEST(ConfigSchema, NearestKeyIsOnlyACloseOne) {
  const std::vector<std::string> known{"epochs", "lr", "size", "seed", "per-class"};
  EXPECT_EQ(nearest_key("epoch", known), "epochs");
  EXPECT_EQ(nearest_key("sise", known), "size");
  EXPECT_EQ(nearest_key("per_clas", known), "per-class");
  EXPECT_EQ(nearest_key("momentum", known), "");
  EXPECT_EQ(nearest_key("x", known), "");
  EXPECT_EQ(nearest_key("titel", {"title", "baseline"}), "title");  // a transposition is one edit
}

// A small schema standing in for the CLI's.
FlagSchema toy_schema() {
  FlagSchema s;
  for (const auto& [section, words] : section_commands()) s[section];
  FlagSpec per_class{"per-class", ValueType::kInteger, false, {}, "images per class"};
  per_class.checks.emplace_back([](const std::string& t) { return std::stoi(t) >= 1 ? "" : "must be at least 1"; });
  s["synth"] = {per_class, {"size", ValueType::kInteger, false, {}, ""}, {"format", ValueType::kString, false, {}, ""}};
  FlagSpec formats{"formats", ValueType::kString, true, {}, ""};
  formats.checks.emplace_back([](const std::string& t) { return t == "onnx" || t == "openvino" ? "" : "not a format"; });
  s["export"] = {formats};
  s["train"] = {{"epochs", ValueType::kInteger, false, {}, ""},
                {"lr", ValueType::kNumber, false, {}, ""},
                {"zero-init-residual", ValueType::kBool, false, {}, ""}};
  return s;
}

json with_models_train(const json& train) {
  return {{"models", {{{"model", "mobilenet_v2"}, {"size", 32}, {"train", train}}}}};
}

TEST(ConfigSchema, AcceptsWhatTheCommandsTake) {
  const FlagSchema s = toy_schema();
  check_config(json{{"synth", {{"per-class", 30}, {"size", "48"}, {"--format", "png"}}}}, s, "c.json");
  check_config(json{{"export", {{"formats", {"onnx", "openvino"}}}}}, s, "c.json");
  check_config(json{{"export", {{"formats", "onnx,openvino"}}}}, s, "c.json");
  check_config(with_models_train({{"epochs", 3}, {"lr", 0.1}, {"zero_init_residual", true}}), s, "c.json");
  check_config(json{{"bench", {{"batches", {8, 32}}, {"timing", {{"min_count", 5}, {"max_seconds", 1.5}}}}}}, s,
               "c.json");
}

TEST(ConfigSchema, RefusesUnknownKeysWrongTypesAndRefusedValuesNamingThePath) {
  const FlagSchema s = toy_schema();
  expect_error([&] { check_config(with_models_train({{"epoch", 3}}), s, "c.json"); }, ExitCode::kInput,
               "'c.json': models[0].train.epoch: unknown key: `inferbench train` has no flag --epoch; did you mean "
               "'epochs'?");
  expect_error([&] { check_config(json{{"synth", {{"sise", 48}}}}, s, "c.json"); }, ExitCode::kInput,
               "'c.json': synth.sise: unknown key: `inferbench data synth` has no flag --sise; did you mean 'size'?");
  expect_error([&] { check_config(json{{"synth", {{"per-class", "thirty"}}}}, s, "c.json"); }, ExitCode::kInput,
               "'c.json': synth.per-class: expected an integer (`inferbench data synth --per-class`), got \"thirty\"");
  expect_error([&] { check_config(json{{"synth", {{"per-class", 2.5}}}}, s, "c.json"); }, ExitCode::kInput,
               "synth.per-class: expected an integer");
  expect_error([&] { check_config(json{{"synth", {{"per-class", 0}}}}, s, "c.json"); }, ExitCode::kInput,
               "'c.json': synth.per-class: \"0\" is refused by `inferbench data synth --per-class`: must be at least 1");
  expect_error([&] { check_config(with_models_train({{"zero-init-residual", "yes"}}), s, "c.json"); },
               ExitCode::kInput, "models[0].train.zero-init-residual: expected true or false");
  expect_error([&] { check_config(with_models_train({{"lr", {0.1}}}), s, "c.json"); }, ExitCode::kInput,
               "models[0].train.lr: expected a number");
  expect_error([&] { check_config(json{{"export", {{"formats", {"onnx", "caffe"}}}}}, s, "c.json"); },
               ExitCode::kInput, "export.formats: \"caffe\" is refused by `inferbench export --formats`: not a format");
  expect_error([&] { check_config(json{{"export", {{"formats", "onnx,caffe"}}}}, s, "c.json"); }, ExitCode::kInput,
               "\"caffe\" is refused");
  expect_error([&] { check_config(json{{"bench", {{"timing", {{"min_cout", 5}}}}}}, s, "c.json"); },
               ExitCode::kInput, "'c.json': bench.timing.min_cout: unknown key (known: ");
  expect_error([&] { check_config(json{{"bench", {{"timing", {{"min_cout", 5}}}}}}, s, "c.json"); },
               ExitCode::kInput, "did you mean 'min_count'?");
  expect_error([&] { check_config(json{{"bench", {{"timing", {{"min_seconds", "1"}}}}}}, s, "c.json"); },
               ExitCode::kInput, "'c.json': bench.timing.min_seconds: expected a number, got \"1\"");
  expect_error([&] { check_config(json{{"bench", {{"batches", {8, "32"}}}}}, s, "c.json"); }, ExitCode::kInput,
               "'c.json': bench.batches: expected a list of integers, got [8,\"32\"]");
}

TEST(ConfigSchema, EveryFlagSectionNamesTheCommandItsFlagsGoTo) {
  std::vector<std::string> sections;
  for (const auto& [section, words] : section_commands()) sections.push_back(section);
  EXPECT_EQ(sections, flag_sections());
  // The words are those the stage's command line starts with.
  auto starts = [](const std::vector<std::string>& args, const std::vector<std::string>& words) {
    return args.size() >= words.size() && std::equal(words.begin(), words.end(), args.begin());
  };
  const auto& table = section_commands();
  auto words = [&](const std::string& s) {
    return std::find_if(table.begin(), table.end(), [&](const auto& e) { return e.first == s; })->second;
  };
  EXPECT_TRUE(starts(to_args(SynthCommand{"o"}), words("synth")));
  EXPECT_TRUE(starts(to_args(ScanCommand{"d", "o"}), words("scan")));
  EXPECT_TRUE(starts(to_args(SplitCommand{"m", "o"}), words("split")));
  EXPECT_TRUE(starts(to_args(TensorsCommand{"m", "test", 32, "imagenet", "o"}), words("tensors")));
  EXPECT_TRUE(starts(to_args(TrainCommand{"m", "resnet50", 32, "o"}), words("train")));
  EXPECT_TRUE(starts(to_args(ExportCommand{"c", "o"}), words("export")));
  EXPECT_TRUE(starts(to_args(VerifyCommand{"c", "t", "d", "o"}), words("verify")));
  EXPECT_TRUE(starts(to_args(ReportCommand{"db", "o"}), words("report")));
}

// README's "Configuration" paragraph names every key of the table.
TEST(ConfigSchema, ReadmeDocumentsEveryKey) {
  const std::string readme = read_file_text(fs::path(INFERBENCH_SOURCE_DIR) / "README.md");
  const auto start = readme.find("**Configuration.**");
  ASSERT_NE(start, std::string::npos);
  const std::string para = readme.substr(start, readme.find("\n\n", start) - start);
  for (const auto& k : config_keys()) {
    std::string leaf = k.path.substr(k.path.rfind('.') == std::string::npos ? 0 : k.path.rfind('.') + 1);
    EXPECT_TRUE(contains(para, "`" + leaf + "`") || contains(para, "\"" + leaf + "\""))
        << k.path << " (" << k.help << ") is not named in README's Configuration paragraph";
  }
}

// ---------------------------------------------------------------------------
// Through the binary: the schema it reads off its own subcommands.

testutil::CliResult print_config(const TempDir& d, const json& config) {
  const fs::path file = d / "c.json";
  testutil::write_text(file, config.dump());
  return run_cli({"run", "--config", file.string(), "--print-config"});
}

TEST(ConfigSchema, RunRefusesTyposAndWrongTypesBeforePrintingTheConfig) {
  TempDir d;
  const std::string file = (d / "c.json").string();
  struct Case {
    json config;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases{
      {with_models_train({{"epoch", 3}}), {"'" + file + "': models[0].train.epoch: unknown key", "did you mean 'epochs'?"}},
      {json{{"synth", {{"sise", 48}}}}, {"synth.sise: unknown key", "did you mean 'size'?"}},
      {json{{"synth", {{"per-class", "thirty"}}}}, {"synth.per-class: expected an integer", "got \"thirty\""}},
      {json{{"synth", {{"per-class", 0}}}}, {"synth.per-class: \"0\" is refused by `inferbench data synth --per-class`"}},
      {json{{"split", {{"train-balance", "sometimes"}}}}, {"split.train-balance: \"sometimes\" is refused"}},
      {json{{"split", {{"no-balance-test", "yes"}}}}, {"split.no-balance-test: expected true or false"}},
      {json{{"report", {{"titel", "x"}}}}, {"report.titel: unknown key", "did you mean 'title'?"}},
      // The plan's own reader (worker::bench_from_json) meets the timing first: it names
      // the key and lists the known ones.
      {json{{"bench", {{"timing", {{"min_cout", 5}}}}}}, {"\"bench\": bench timing: unknown key 'min_cout'", "min_count"}},
  };
  for (const auto& c : cases) {
    const auto r = print_config(d, c.config);
    EXPECT_EQ(r.exit_code, 3) << c.config.dump() << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.config.dump();
    for (const auto& n : c.needles) EXPECT_TRUE(contains(r.err, n)) << c.config.dump() << ": " << r.err;
  }
  // What the commands take passes.
  const auto r = print_config(d, json{{"synth", {{"per-class", 30}, {"format", "png"}}},
                                      {"split", {{"no-balance-test", true}, {"seed", "7"}}}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["synth"]["per-class"], 30);
}

TEST(ConfigSchema, TheDefaultsAndEveryShippedConfigValidate) {
  auto r = run_cli({"run", "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(INFERBENCH_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".json") continue;
    ++n;
    r = run_cli({"run", "--config", e.path().string(), "--print-config"});
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
  }
  EXPECT_GE(n, 2);
}

}  // namespace
}  // namespace inferbench::pipeline
