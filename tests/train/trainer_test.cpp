// Training: metrics, a tiny end-to-end run, determinism, resume after kill -9,
// and every bad input of `inferbench train`.
#include "train/trainer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/rng.h"
#include "data/scan.h"
#include "data/split.h"
#include "train/checkpoint.h"
#include "train/metrics.h"
#include "train/seeds.h"
#include "testutil/fixtures.h"

namespace inferbench::train {
namespace {

namespace fs = std::filesystem;
using testutil::run_cli;
using testutil::TempDir;

TEST(MetricsTest, ExactValuesOnAKnownConfusion) {
  ClassificationMetrics m({"a", "b", "c"});
  // true:      a    a    a    b    b    c
  // predicted: a    a    b    b    c    c
  const std::vector<float> logits = {
      5, 1, 0,  //
      2, 1, 1,  // tie between b and c below a: a wins
      0, 3, 1,  //
      0, 2, 1,  //
      0, 1, 4,  //
      1, 1, 2,  //
  };
  const std::vector<std::int64_t> labels = {0, 0, 0, 1, 1, 2};
  m.add(logits.data(), labels.data(), labels.size());
  EXPECT_EQ(m.count(), 6U);
  EXPECT_DOUBLE_EQ(m.top1(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.top5(), 1.0);  // k = min(5, 3 classes)
  EXPECT_EQ(m.confusion(), (std::vector<std::vector<std::int64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  EXPECT_DOUBLE_EQ(m.precision(0), 1.0);
  EXPECT_DOUBLE_EQ(m.recall(0), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.f1(0), 0.8);
  EXPECT_DOUBLE_EQ(m.precision(1), 0.5);
  EXPECT_DOUBLE_EQ(m.recall(1), 0.5);
  EXPECT_DOUBLE_EQ(m.precision(2), 0.5);
  EXPECT_DOUBLE_EQ(m.recall(2), 1.0);
  EXPECT_DOUBLE_EQ(m.f1(2), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.macro_f1(), (0.8 + 0.5 + 2.0 / 3.0) / 3.0);
  const auto j = m.to_json();
  EXPECT_EQ(j["per_class"][2]["support"], 1);
  EXPECT_NE(m.table().find("macro-F1 0.656"), std::string::npos) << m.table();

  ClassificationMetrics top({"0", "1", "2", "3", "4", "5", "6"});
  const std::vector<float> row = {7, 6, 5, 4, 3, 2, 1};
  const std::int64_t fifth = 4;
  const std::int64_t sixth = 5;
  top.add(row.data(), &fifth, 1);
  top.add(row.data(), &sixth, 1);
  EXPECT_DOUBLE_EQ(top.top5(), 0.5);
  EXPECT_DOUBLE_EQ(top.top1(), 0.0);
}

// Three classes a CNN separates easily (dominant colour), with noise and a
// distracting shape, so the tests run in seconds yet a broken loop shows.
fs::path make_colour_dataset(const fs::path& root, int per_class) {
  Rng rng(11);
  cv::RNG noise_rng(11);  // not cv::theRNG(): its state depends on which tests ran before
  const std::vector<std::pair<std::string, cv::Scalar>> classes = {
      {"red", {40, 40, 200}}, {"green", {40, 190, 40}}, {"blue", {200, 60, 40}}};
  for (const auto& [name, bgr] : classes) {
    for (int i = 0; i < per_class; ++i) {
      cv::Mat img(40, 40, CV_8UC3, bgr);
      cv::Mat noise(40, 40, CV_8UC3);
      noise_rng.fill(noise, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(rng.uniform_int(20, 90)));
      img += noise;
      cv::circle(img, {rng.uniform_int(0, 39), rng.uniform_int(0, 39)}, rng.uniform_int(3, 10),
                 cv::Scalar(rng.uniform_int(0, 255), rng.uniform_int(0, 255), rng.uniform_int(0, 255)), -1);
      testutil::write_image(root / name / (std::to_string(i) + ".png"), img);
    }
  }
  return root;
}

fs::path make_manifest(const TempDir& d, int per_class = 30) {
  make_colour_dataset(d / "colours", per_class);
  auto r = run_cli({"-q", "data", "split", "--data", (d / "colours").string(), "--train", "0.6", "--val", "0.2",
                    "--test", "0.2", "--out", (d / "data").string()});
  if (r.exit_code != 0) throw std::runtime_error("data split failed: " + r.err);
  return d / "data/manifest.csv";
}

// `extra` flags go after the common ones.
std::vector<std::string> train_args(const fs::path& manifest, const fs::path& out, int epochs,
                                    std::initializer_list<std::string> extra = {}) {
  std::vector<std::string> args = {"-q",        "train",        "--manifest", manifest.string(),
                                   "--model",   "mobilenet_v2", "--size",     "64",
                                   "--epochs",  std::to_string(epochs), "--batch-size", "8",
                                   "--lr",      "0.02",         "--threads",  "1",
                                   "--out",     out.string(),   "--augment",  "light",
                                   "--width-mult", "0.5"};
  args.insert(args.end(), extra);
  return args;
}

void expect_same_weights(const fs::path& a, const fs::path& b) {
  const auto ca = load_checkpoint(a);
  const auto cb = load_checkpoint(b);
  ASSERT_EQ(ca.state.size(), cb.state.size());
  for (const auto& [name, t] : ca.state) {
    ASSERT_TRUE(cb.state.contains(name)) << name;
    EXPECT_TRUE(torch::equal(t, cb.state.at(name))) << name << " differs between " << a << " and " << b;
  }
}

TEST(TrainTest, TinyRunBeatsChanceClearlyAndWritesEveryOutput) {
  TempDir d;
  const auto manifest = make_manifest(d, 40);
  auto args = train_args(manifest, d / "run", 8);
  args.push_back("--json");
  const auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto result = nlohmann::json::parse(r.out);
  EXPECT_EQ(result["status"], "completed");
  // Chance is 1/3; the colours make this easy for any working training loop
  // (this configuration reaches 12/12 here; 9/12 leaves room for other CPUs' kernels).
  EXPECT_GE(result["test"]["top1"].get<double>(), 0.75) << r.out;
  for (const char* f : {"model.ckpt", "last.ckpt", "history.csv", "history.jsonl", "eval.json"}) {
    EXPECT_TRUE(fs::exists(d / "run" / f)) << f;
  }
  const auto ck = load_checkpoint(d / "run/model.ckpt");
  EXPECT_EQ(ck.classes, (std::vector<std::string>{"blue", "green", "red"}));
  EXPECT_EQ(ck.preprocess.image_size, 64);
  EXPECT_EQ(ck.graph.architecture, "mobilenet_v2");
  EXPECT_EQ(ck.meta["training"]["config"]["epochs"], 8);
  EXPECT_TRUE(ck.meta["metrics"].contains("test"));
  const auto history = read_file_text(d / "run/history.csv");
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 9) << history;  // header + 8 epochs
}

// --train-size: training crops at 48x48, evaluation and the checkpoint at
// 64x64 (train smaller, test larger). It changes what is trained (other
// weights than at 64), still learns the easy colours, and the checkpoint
// says 64 (what export, verify and bench feed it) and records the 48.
// --train-size equal to --size is the plain run, weight for weight.
// 16 epochs: the change of size between training and test costs this tiny
// set some epochs (8 reached 8/12 here, 16 reach 12/12).
TEST(TrainTest, TrainsSmallerThanItEvaluates) {
  TempDir d;
  const auto manifest = make_manifest(d, 40);
  const auto r = run_cli(train_args(manifest, d / "run", 16, {"--train-size", "48", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto result = nlohmann::json::parse(r.out);
  EXPECT_GE(result["test"]["top1"].get<double>(), 0.75) << r.out;
  const auto ck = load_checkpoint(d / "run/model.ckpt");
  EXPECT_EQ(ck.preprocess.image_size, 64);
  EXPECT_EQ(ck.meta["training"]["config"]["train_size"], 48);
  EXPECT_EQ(ck.meta["training"]["config"]["image_size"], 64);

  ASSERT_EQ(run_cli(train_args(manifest, d / "plain", 1)).exit_code, 0);
  ASSERT_EQ(run_cli(train_args(manifest, d / "same", 1, {"--train-size", "64"})).exit_code, 0);
  expect_same_weights(d / "plain/last.ckpt", d / "same/last.ckpt");
  ASSERT_EQ(run_cli(train_args(manifest, d / "small", 1, {"--train-size", "48"})).exit_code, 0);
  const auto a = load_checkpoint(d / "plain/last.ckpt");
  const auto b = load_checkpoint(d / "small/last.ckpt");
  bool differ = false;
  for (const auto& [name, t] : a.state) differ = differ || !torch::equal(t, b.state.at(name));
  EXPECT_TRUE(differ) << "--train-size 48 trained the same weights as 64";

  const auto bad = run_cli(train_args(manifest, d / "bad", 1, {"--train-size", "16"}));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--train-size 16 is out of range"), std::string::npos) << bad.err;
}

TEST(TrainTest, SameSeedAndThreadsGiveTheSameWeights) {
  TempDir d;
  const auto manifest = make_manifest(d, 16);
  ASSERT_EQ(run_cli(train_args(manifest, d / "a", 2)).exit_code, 0);
  ASSERT_EQ(run_cli(train_args(manifest, d / "b", 2)).exit_code, 0);
  expect_same_weights(d / "a/last.ckpt", d / "b/last.ckpt");
  ASSERT_EQ(run_cli(train_args(manifest, d / "c", 2, {"--seed", "2"})).exit_code, 0);
  const auto a = load_checkpoint(d / "a/last.ckpt");
  const auto c = load_checkpoint(d / "c/last.ckpt");
  EXPECT_FALSE(torch::equal(a.state.at("classifier.1.weight"), c.state.at("classifier.1.weight")));
}

// The summary's arithmetic on known figures: mean, sample (n - 1) standard
// deviation, range, in seed order; one seed has no standard deviation.
TEST(SeedsTest, SummaryIsTheMeanSampleStdAndRangeOfEachMetric) {
  const auto m = [](double top1, double top5, double f1) {
    return nlohmann::json{{"top1", top1}, {"top5", top5}, {"macro_f1", f1}};
  };
  const auto s = seed_summary({{7, "o", "completed", m(0.8, 0.95, 0.7), 10.0},
                               {8, "o/seed-8", "completed", m(0.9, 1.0, 0.9), 12.0},
                               {9, "o/seed-9", "early-stopped", m(1.0, 1.0, 0.8), 11.0}});
  EXPECT_EQ(s["n"], 3);
  EXPECT_EQ(s["first_seed"], 7);
  EXPECT_EQ(s["seeds"], nlohmann::json::array({7, 8, 9}));
  EXPECT_DOUBLE_EQ(s["seconds"].get<double>(), 33.0);
  EXPECT_DOUBLE_EQ(s["metrics"]["top1"]["mean"].get<double>(), 0.9);
  EXPECT_NEAR(s["metrics"]["top1"]["std"].get<double>(), 0.1, 1e-12);  // sqrt((0.01 + 0 + 0.01) / 2)
  EXPECT_DOUBLE_EQ(s["metrics"]["top1"]["min"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(s["metrics"]["top1"]["max"].get<double>(), 1.0);
  EXPECT_EQ(s["metrics"]["top5"]["values"], nlohmann::json::array({0.95, 1.0, 1.0}));
  EXPECT_NEAR(s["metrics"]["macro_f1"]["std"].get<double>(), 0.1, 1e-12);
  EXPECT_EQ(s["runs"][2]["status"], "early-stopped");
  const std::string table = seed_table(s);
  EXPECT_NE(table.find("9 (early-stopped)"), std::string::npos) << table;
  EXPECT_NE(table.find("std (sample, points)      10.00"), std::string::npos) << table;

  const auto one = seed_summary({{1, "o", "completed", m(0.5, 0.9, 0.4), 1.0}});
  EXPECT_TRUE(one["metrics"]["top1"]["std"].is_null());
  EXPECT_DOUBLE_EQ(one["metrics"]["top1"]["mean"].get<double>(), 0.5);

  EXPECT_EQ(seed_list(5, 3), (std::vector<std::uint64_t>{5, 6, 7}));
  EXPECT_EQ(seed_dir("o", 5, 5), fs::path("o"));
  EXPECT_EQ(seed_dir("o", 5, 6), fs::path("o/seed-6"));
  EXPECT_EQ(parse_seeds("3"), 3);
  for (const char* bad : {"0", "-1", "1.5", "2e0", "three", "", "1001", "99999999999"}) {
    try {
      (void)parse_seeds(bad);
      ADD_FAILURE() << "--seeds '" << bad << "' was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find(fmt::format("--seeds '{}': expected a whole number", bad)),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW((void)seed_list(std::numeric_limits<std::uint64_t>::max(), 2), Error);
}

// `train --seeds 2 --seed 5`: seed 5 in OUT (the checkpoint run exports),
// seed 6 in OUT/seed-6, each the same run as `train --seed S` alone; the
// summary's figures are the mean and sample std of the seeds' own eval.json.
TEST(TrainTest, SeveralSeedsTrainOneCheckpointEachAndSummariseTheirSpread) {
  TempDir d;
  const auto manifest = make_manifest(d, 16);
  const auto r = run_cli(train_args(manifest, d / "run", 2, {"--seeds", "2", "--seed", "5", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto result = nlohmann::json::parse(r.out);
  const fs::path dirs[] = {d / "run", d / "run/seed-6"};
  const auto first = load_checkpoint(dirs[0] / "model.ckpt");
  const auto second = load_checkpoint(dirs[1] / "model.ckpt");
  EXPECT_EQ(first.meta["training"]["config"]["seed"], 5);
  EXPECT_EQ(second.meta["training"]["config"]["seed"], 6);
  EXPECT_FALSE(torch::equal(first.state.at("classifier.1.weight"), second.state.at("classifier.1.weight")));
  EXPECT_FALSE(fs::exists(d / "run/seed-5"));

  // The top-level figures stay the first seed's (what `inferbench run` reads).
  const auto eval0 = nlohmann::json::parse(read_file_text(dirs[0] / "eval.json"));
  const auto eval1 = nlohmann::json::parse(read_file_text(dirs[1] / "eval.json"));
  EXPECT_EQ(result["test"], eval0["test"]);
  EXPECT_EQ(result["checkpoint"], (d / "run/model.ckpt").string());

  const auto& s = result["seeds"];
  EXPECT_EQ(s, nlohmann::json::parse(read_file_text(d / "run/seeds.json")));
  EXPECT_EQ(s["seeds"], nlohmann::json::array({5, 6}));
  for (const char* metric : {"top1", "top5", "macro_f1"}) {
    const double a = eval0["test"][metric].get<double>();
    const double b = eval1["test"][metric].get<double>();
    const double mean = (a + b) / 2;
    const double sd = std::sqrt(((a - mean) * (a - mean) + (b - mean) * (b - mean)) / 1.0);
    EXPECT_EQ(s["metrics"][metric]["values"], nlohmann::json::array({a, b})) << metric;
    EXPECT_NEAR(s["metrics"][metric]["mean"].get<double>(), mean, 1e-12) << metric;
    EXPECT_NEAR(s["metrics"][metric]["std"].get<double>(), sd, 1e-12) << metric;
    EXPECT_DOUBLE_EQ(s["metrics"][metric]["min"].get<double>(), std::min(a, b)) << metric;
    EXPECT_DOUBLE_EQ(s["metrics"][metric]["max"].get<double>(), std::max(a, b)) << metric;
  }

  // Seed 6 of the pair is the run `--seed 6` makes alone.
  ASSERT_EQ(run_cli(train_args(manifest, d / "six", 2, {"--seed", "6"})).exit_code, 0);
  expect_same_weights(d / "six/last.ckpt", dirs[1] / "last.ckpt");

  // The text output ends with the table of seeds.
  const auto text = run_cli(train_args(manifest, d / "run", 2, {"--seeds", "2", "--seed", "5", "--resume"}));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("2 seeds (test split; " + (d / "run/model.ckpt").string() + " is the first seed's"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("\nstd (sample, points)"), std::string::npos) << text.out;

  // Refused before anything trains, naming the flag and the value.
  for (const char* bad : {"0", "1.5", "two"}) {
    const auto refused = run_cli(train_args(manifest, d / "bad", 1, {"--seeds", bad}));
    EXPECT_EQ(refused.exit_code, 2) << bad;
    EXPECT_NE(refused.err.find(fmt::format("--seeds '{}': expected a whole number of seeds from 1 to", bad)),
              std::string::npos)
        << refused.err;
    EXPECT_FALSE(fs::exists(d / "bad")) << bad;
  }
}

// Waits until `dir` receives a file named `name` by rename (how every
// checkpoint is written) `count` times, or the child exits. inotify, not
// sleeps: the kill lands right after the event, mid-way through the next epoch.
bool wait_for_renames(const fs::path& dir, const std::string& name, int count, int child) {
  const int fd = inotify_init1(IN_CLOEXEC);
  if (fd < 0 || inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO) < 0) return false;
  int seen = 0;
  alignas(inotify_event) char buf[4096];
  while (seen < count) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) == 0) {
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) break;  // the child ended first
      continue;
    }
    const ssize_t n = read(fd, buf, sizeof buf);
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      if (ev->len > 0 && name == ev->name) ++seen;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  close(fd);
  return seen >= count;
}

TEST(TrainTest, AKilledRunResumesToTheSameWeightsAsAnUninterruptedOne) {
  TempDir d;
  const auto manifest = make_manifest(d, 16);
  ASSERT_EQ(run_cli(train_args(manifest, d / "whole", 3)).exit_code, 0);

  fs::create_directories(d / "killed");
  const int pid = testutil::spawn_cli(train_args(manifest, d / "killed", 3), d / "out.txt", d / "err.txt");
  ASSERT_TRUE(wait_for_renames(d / "killed", "last.ckpt", 1, pid)) << read_file_text(d / "err.txt");
  kill(pid, SIGKILL);
  EXPECT_EQ(testutil::wait_cli(pid), 128 + SIGKILL);
  const auto partial = load_checkpoint(d / "killed/last.ckpt");
  EXPECT_LT(partial.meta["training"]["epochs_done"].get<int>(), 3);

  auto resume = train_args(manifest, d / "killed", 3);
  resume.push_back("--resume");
  const auto r = run_cli(resume);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_same_weights(d / "whole/last.ckpt", d / "killed/last.ckpt");
  expect_same_weights(d / "whole/model.ckpt", d / "killed/model.ckpt");
  EXPECT_EQ(read_file_text(d / "whole/eval.json").substr(0, 40), read_file_text(d / "killed/eval.json").substr(0, 40));
}

TEST(TrainTest, BadInputsGetClearErrorsAndCodes) {
  TempDir d;
  const auto manifest = make_manifest(d, 16);

  auto small = train_args(manifest, d / "x", 1);
  small[7] = "16";  // --size 16
  auto r = run_cli(small);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--size 16 is too small"), std::string::npos) << r.err;

  r = run_cli({"train", "--manifest", (d / "none.csv").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("none.csv"), std::string::npos) << r.err;

  auto zero = train_args(manifest, d / "z", 1);
  zero.push_back("--zero-init-residual");  // the model in train_args is not resnet50
  r = run_cli(zero);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--zero-init-residual applies to resnet50 only"), std::string::npos) << r.err;

  auto width = train_args(manifest, d / "w", 1);
  width[5] = "resnet50";  // train_args has --width-mult 0.5, which resnet50 silently ignored before
  r = run_cli(width);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--width-mult applies to mobilenet_v2 only (not 'resnet50')"), std::string::npos) << r.err;

  // A run exists: refuse to overwrite without --resume or --force; refuse to
  // resume with other settings.
  ASSERT_EQ(run_cli(train_args(manifest, d / "run", 1)).exit_code, 0);
  r = run_cli(train_args(manifest, d / "run", 1));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  auto other = train_args(manifest, d / "run", 1);
  other[13] = "0.01";  // --lr
  other.push_back("--resume");
  r = run_cli(other);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("lr: 0.02 -> 0.01"), std::string::npos) << r.err;

  // A full disk while saving: the previous checkpoint stays intact.
  const auto before = read_file_bytes(d / "run/model.ckpt");
  auto forced = train_args(manifest, d / "run", 1);
  forced.push_back("--force");
  r = run_cli(forced, {.file_size_limit = 64 * 1024});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("model.ckpt"), std::string::npos) << r.err;
  EXPECT_EQ(read_file_bytes(d / "run/model.ckpt"), before);

  // A loss that explodes stops training with its own exit code.
  auto explode = train_args(manifest, d / "nan", 3);
  explode[13] = "1e30";
  explode.insert(explode.end(), {"--warmup-epochs", "0"});
  r = run_cli(explode);
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("NaN or infinite"), std::string::npos) << r.err;

  // A stale manifest: a file went away after the split.
  auto m = data::read_manifest(manifest);
  fs::remove(m.used_in(data::Split::kTrain).front()->path);
  r = run_cli(train_args(manifest, d / "stale", 1));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("manifest is stale"), std::string::npos) << r.err;

  // A class with no training images.
  auto m2 = data::read_manifest(d / "data/manifest.csv");
  for (auto& e : m2.entries) {
    if (e.label == "green" && e.split == data::Split::kTrain) e.split = data::Split::kVal;
  }
  m2.entries.erase(std::remove_if(m2.entries.begin(), m2.entries.end(),
                                  [](const data::ManifestEntry& e) { return !fs::exists(e.path); }),
                   m2.entries.end());
  data::write_manifest(d / "nogreen.csv", m2);
  r = run_cli(train_args(d / "nogreen.csv", d / "nogreen", 1));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("class 'green' has no training images"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace inferbench::train
