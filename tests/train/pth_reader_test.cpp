// read_state_dict against files written by Debian's Python torch/torchvision
// (made on first use by make_torchvision_state.py), and against broken input.
#include "train/pth_reader.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/builders.h"
#include "testutil/fixtures.h"
#include "train/torch_model.h"

namespace inferbench::train {
namespace {

namespace fs = std::filesystem;

// Debian's interpreter, not whatever python3 is first on PATH: it is the one
// that has torch 1.13 and torchvision 0.14 (python3-torchvision).
constexpr const char* kPython = "/usr/bin/python3";

int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The fixture files, made by Debian's Python in one directory for the whole
// run, each group (see make_torchvision_state.py) on first use: ctest runs
// every test in its own process, so a test makes only what it reads.
class Fixtures {
 public:
  static Fixtures& get() {
    static Fixtures fixtures;
    return fixtures;
  }

  // Why tests that need Python skip (torchvision missing), if they do.
  [[nodiscard]] const std::optional<std::string>& skip_reason() const { return skip_reason_; }

  // Makes `group` unless already made; an error message if the script failed.
  std::optional<std::string> make(const std::string& group) {
    if (made_.contains(group)) return std::nullopt;
    const fs::path script = fs::path(INFERBENCH_SOURCE_DIR) / "tests/train/make_torchvision_state.py";
    const fs::path log = dir_ / ("make_" + group + ".log");
    const std::string command = std::string(kPython) + " '" + script.string() + "' '" + dir_.path().string() + "' " +
                                group + " >'" + log.string() + "' 2>&1";
    if (run_shell(command) != 0) return "make_torchvision_state.py " + group + " failed:\n" + read_text(log);
    made_.insert(group);
    return std::nullopt;
  }

  [[nodiscard]] fs::path path(const std::string& name) const { return dir_ / name; }

 private:
  Fixtures() {
    if (run_shell(std::string(kPython) + " -c 'import torchvision' >/dev/null 2>&1") != 0) {
      skip_reason_ = std::string(kPython) + " cannot import torchvision (Debian: python3-torchvision)";
    }
  }

  testutil::TempDir dir_;
  std::optional<std::string> skip_reason_;
  std::set<std::string> made_;
};

// Skips the test when Debian's torchvision is missing; fails it when the
// fixture script fails with torchvision present (never a silent pass).
#define REQUIRE_FIXTURES(...)                                                           \
  do {                                                                                  \
    if (Fixtures::get().skip_reason()) GTEST_SKIP() << *Fixtures::get().skip_reason(); \
    for (const auto& group : std::vector<std::string>{__VA_ARGS__}) {                   \
      const auto error = Fixtures::get().make(group);                                   \
      ASSERT_FALSE(error.has_value()) << error.value_or("");                            \
    }                                                                                   \
  } while (false)

fs::path fixture(const std::string& name) { return Fixtures::get().path(name); }

// Runs `fn`, expecting Error(kInput) whose message contains every one of `parts`.
template <typename Fn>
void expect_input_error(Fn&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput) << e.what();
    for (const auto& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

void expect_same_state(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    const auto it = b.find(name);
    ASSERT_NE(it, b.end()) << name;
    EXPECT_EQ(t.scalar_type(), it->second.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(t, it->second)) << name;
  }
}

class TorchvisionLogits : public ::testing::TestWithParam<std::string> {};

// The point of the importer: a torchvision state_dict in the IR-built model
// gives torchvision's logits.
TEST_P(TorchvisionLogits, MatchTorchvision) {
  const std::string name = GetParam();
  REQUIRE_FIXTURES(name);
  const auto state = read_state_dict(fixture(name + ".pth"));
  const auto io = read_state_dict(fixture(name + "_io.pth"));
  ASSERT_TRUE(io.contains("input") && io.contains("logits"));

  TorchModel model(model::build_model(name, 10));
  model->load_state(state, fixture(name + ".pth").string());
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = model->forward(io.at("input"));
  ASSERT_EQ(logits.sizes(), io.at("logits").sizes());
  const double diff = (logits - io.at("logits")).abs().max().item<double>();
  const double scale = io.at("logits").abs().max().item<double>();
  std::cout << "[ info     ] " << name << ": max abs logit difference " << diff << " (logits up to " << scale
            << ")\n";
  EXPECT_LT(diff, 1e-4);

  // The comparison is sensitive to the batch norm buffers (moved off their
  // initial values in Python): with the initial ones back, the logits differ.
  auto reset = state;
  for (auto& [key, t] : reset) {
    if (key.ends_with("running_mean")) t = torch::zeros_like(t);
    if (key.ends_with("running_var")) t = torch::ones_like(t);
  }
  model->load_state(reset, "reset");
  const double reset_diff = (model->forward(io.at("input")) - io.at("logits")).abs().max().item<double>();
  EXPECT_GT(reset_diff, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(PthReader, TorchvisionLogits,
                         ::testing::Values("mobilenet_v2", "resnet50", "efficientnet_b0"));

TEST(PthReader, EveryCheckpointShapeReadsTheSameTensors) {
  REQUIRE_FIXTURES("mobilenet_v2", "variants");
  const auto reference = read_state_dict(fixture("mobilenet_v2.pth"));
  ASSERT_TRUE(reference.contains("features.0.0.weight"));
  ASSERT_EQ(reference.at("features.1.conv.0.1.num_batches_tracked").scalar_type(), torch::kLong);
  for (const char* file : {"plain.pth", "legacy.pth", "wrapped.pth", "wrapped_legacy.pth", "model_wrapped.pth",
                           "module.pth"}) {
    SCOPED_TRACE(file);
    expect_same_state(read_state_dict(fixture(file)), reference);
  }
}

// Every storage type, and views that share one storage at a stride and an
// offset, rebuilt exactly; the same values as the Python script makes.
TEST(PthReader, StorageTypesAndViews) {
  REQUIRE_FIXTURES("dtypes");
  const auto base = torch::arange(24, torch::kDouble).reshape({4, 6}) - 7.5;
  const auto ints = torch::arange(24, torch::kLong).reshape({4, 6}) - 7;
  const auto f = base.to(torch::kFloat);
  const std::map<std::string, torch::Tensor> expected = {
      {"f32", f},
      {"strided", f.slice(1, 1, 6, 2)},
      {"transposed", f.t()},
      {"row", f[2]},
      {"f64", base},
      {"f16", base.to(torch::kHalf)},
      {"bf16", base.to(torch::kBFloat16)},
      {"i64", ints},
      {"i32", ints.to(torch::kInt)},
      {"i16", ints.to(torch::kShort)},
      {"i8", ints.to(torch::kChar)},
      {"u8", (ints + 7).to(torch::kByte)},
      {"bool", ints.remainder(3) == 0},
      {"scalar", torch::tensor(3.25)},
      {"empty", torch::zeros({0, 3})},
      {"param", f[0]},
  };
  for (const char* file : {"dtypes.pth", "dtypes_legacy.pth"}) {
    SCOPED_TRACE(file);
    const auto state = read_state_dict(fixture(file));
    expect_same_state(state, expected);
    for (const auto& [name, t] : state) EXPECT_TRUE(t.is_contiguous()) << name;
  }
}

TEST(PthReader, TensorsOwnTheirMemory) {
  REQUIRE_FIXTURES("dtypes");
  auto state = read_state_dict(fixture("dtypes.pth"));
  // The views shared one storage in the file; writing one must not change another.
  state.at("f32").fill_(0);
  EXPECT_EQ(state.at("row")[0].item<float>(), 4.5F);
  EXPECT_EQ(state.at("transposed").size(0), 6);
}

TEST(PthReader, MissingFile) {
  const testutil::TempDir dir;
  expect_input_error([&] { read_state_dict(dir / "nope.pth"); }, {"nope.pth", "no such file"});
  expect_input_error([&] { read_state_dict(dir.path()); }, {"not a regular file"});
}

TEST(PthReader, NotACheckpoint) {
  const testutil::TempDir dir;
  testutil::write_bytes(dir / "empty.pth", {});
  expect_input_error([&] { read_state_dict(dir / "empty.pth"); }, {"empty.pth", "empty file"});
  testutil::write_text(dir / "text.pth", "these are not the weights you are looking for\n");
  expect_input_error([&] { read_state_dict(dir / "text.pth"); },
                     {"text.pth", "not a PyTorch checkpoint (no zip archive and no pickle magic number)"});
  testutil::write_bytes(dir / "p.pth", {'P'});
  expect_input_error([&] { read_state_dict(dir / "p.pth"); }, {"p.pth", "not a PyTorch checkpoint"});
  // A pickle, but of the number 5 rather than torch's magic number.
  testutil::write_bytes(dir / "five.pth", {0x80, 0x02, 'K', 0x05, '.'});
  expect_input_error([&] { read_state_dict(dir / "five.pth"); }, {"five.pth", "no pickle magic number"});
  testutil::write_bytes(dir / "opcode.pth", {0x80, 0x02, 0xff});
  expect_input_error([&] { read_state_dict(dir / "opcode.pth"); }, {"opcode.pth", "byte 2", "unknown", "0xff"});
  testutil::write_bytes(dir / "cut.pth", {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc});
  expect_input_error([&] { read_state_dict(dir / "cut.pth"); }, {"cut.pth", "truncated"});
  testutil::write_bytes(dir / "zip.pth", {'P', 'K', 3, 4, 0, 0});
  expect_input_error([&] { read_state_dict(dir / "zip.pth"); }, {"zip.pth", "unreadable PyTorch zip archive"});
}

// A million lists nested in one another (each appended to the one before, the
// root kept in the memo): a reader that tears them down recursively overflows
// the stack. It must end in an error like any other non-checkpoint.
TEST(PthReader, DeeplyNestedPickle) {
  const testutil::TempDir dir;
  std::vector<std::uint8_t> bytes = {0x80, 0x02, ']', 'q', 0x01};
  for (int k = 0; k < 1'000'000; ++k) bytes.insert(bytes.end(), {']', 'q', 0x00, 'a', '0', 'h', 0x00});
  bytes.push_back('.');
  testutil::write_bytes(dir / "deep.pth", bytes);
  expect_input_error([&] { read_state_dict(dir / "deep.pth"); }, {"deep.pth", "no pickle magic number"});
}

TEST(PthReader, TruncatedFiles) {
  REQUIRE_FIXTURES("mobilenet_v2", "variants");
  const testutil::TempDir dir;
  for (const char* file : {"mobilenet_v2.pth", "legacy.pth"}) {
    SCOPED_TRACE(file);
    auto bytes = read_bytes(fixture(file));
    bytes.resize(bytes.size() / 2);
    testutil::write_bytes(dir / "half.pth", bytes);
    expect_input_error([&] { read_state_dict(dir / "half.pth"); }, {"half.pth"});
  }
  // The legacy stream cut inside its storage data, the most likely real truncation.
  auto bytes = read_bytes(fixture("legacy.pth"));
  bytes.resize(bytes.size() - 100);
  testutil::write_bytes(dir / "short.pth", bytes);
  expect_input_error([&] { read_state_dict(dir / "short.pth"); }, {"short.pth", "truncated"});
}

TEST(PthReader, UnsupportedContents) {
  REQUIRE_FIXTURES("broken");
  expect_input_error([] { read_state_dict(fixture("non_tensor.pth")); },
                     {"non_tensor.pth", "entry 'a' is an int, not a tensor"});
  expect_input_error([] { read_state_dict(fixture("list.pth")); }, {"list.pth", "holds a list, not a state_dict"});
  expect_input_error([] { read_state_dict(fixture("complex.pth")); },
                     {"complex.pth", "data.pkl", "unsupported storage type torch.ComplexFloatStorage"});
  expect_input_error([] { read_state_dict(fixture("missing_record.pth")); },
                     {"missing_record.pth", "storage record 'data/0' is missing"});
  expect_input_error([] { read_state_dict(fixture("script.pt")); }, {"script.pt", "TorchScript"});
}

TEST(PthReader, WrongArchitectureIsAnInputError) {
  REQUIRE_FIXTURES("mobilenet_v2");
  const fs::path file = fixture("mobilenet_v2.pth");
  const auto state = read_state_dict(file);
  TorchModel model(model::build_model("resnet50", 10));
  expect_input_error([&] { model->load_state(state, file.string()); }, {file.string(), "do not fit"});
}

// Damaged files must end in Error(kInput) or a successful read, never a crash
// or another exception: cut at many points, and bytes overwritten at random.
TEST(PthReader, DamagedFilesNeverCrash) {
  REQUIRE_FIXTURES("dtypes");
  const testutil::TempDir dir;
  std::mt19937 rng(7);
  int errors = 0;
  int reads = 0;
  const auto attempt = [&](const std::vector<std::uint8_t>& bytes) {
    testutil::write_bytes(dir / "damaged.pth", bytes);
    try {
      read_state_dict(dir / "damaged.pth");
      ++reads;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kInput) << e.what();
      EXPECT_NE(std::string(e.what()).find("damaged.pth"), std::string::npos) << e.what();
      ++errors;
    }
  };
  for (const char* file : {"dtypes_legacy.pth", "dtypes.pth"}) {
    const auto original = read_bytes(fixture(file));
    for (std::size_t cut = 0; cut < original.size(); cut += 7) {
      attempt(std::vector<std::uint8_t>(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(cut)));
    }
    for (int k = 0; k < 400; ++k) {
      auto bytes = original;
      for (int flips = 0; flips < 3; ++flips) {
        bytes[std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(rng)] =
            static_cast<std::uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
      }
      attempt(bytes);
    }
  }
  EXPECT_GT(errors, 0);
  std::cout << "[ info     ] damaged files: " << errors << " rejected, " << reads << " still readable\n";
}

}  // namespace
}  // namespace inferbench::train

namespace inferbench::train {
namespace {

// Without autograd the module writes activations and residual adds into
// tensors nobody reads any more (as torchvision's inplace=True): the logits
// must be exactly those of the out-of-place path, and the caller's input
// must come back untouched.
TEST(TorchModelInference, InPlaceOpsGiveTheSameLogitsAndLeaveTheInputAlone) {
  torch::manual_seed(3);
  for (const auto& name : model::known_models()) {
    TorchModel net(model::build_model(name, 5));
    net->eval();
    {
      // Fresh batch-norm statistics leave MobileNetV2's and EfficientNet's
      // logits all but equal; random ones make every op count.
      torch::NoGradGuard no_grad;
      for (auto& [key, t] : net->named_state()) {
        if (key.find("running_var") != std::string::npos) t.uniform_(0.5, 1.5);
        if (key.find("running_mean") != std::string::npos) t.normal_(0.0, 0.1);
        if (key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0 && t.dim() == 1) t.uniform_(0.5, 1.5);
      }
    }
    const torch::Tensor x = torch::randn({2, 3, 64, 64});
    const torch::Tensor before = x.clone();
    torch::Tensor reference;
    torch::Tensor in_place;
    {
      c10::InferenceMode guard;
      net->set_in_place(false);
      reference = net->forward(x);
      EXPECT_EQ(net->last_in_place_ops(), 0) << name;
      net->set_in_place(true);
      in_place = net->forward(x);
      EXPECT_GT(net->last_in_place_ops(), 0) << name << ": nothing was written in place";
    }
    EXPECT_TRUE(torch::equal(reference, in_place)) << name << ": max diff "
                                                   << (reference - in_place).abs().max().item<float>();
    EXPECT_TRUE(torch::equal(x, before)) << name << ": the input was written";
  }
}

// Training writes activations (after batch norm) and residual adds in place
// too, only where no backward reads the overwritten tensor: one training
// step's logits, loss and every parameter's gradient must match the
// out-of-place path (same dropout / stochastic-depth masks), and autograd
// must not object (it throws at backward() when a saved tensor was written).
TEST(TorchModelTraining, InPlaceOpsGiveTheSameGradients) {
  for (const auto& name : model::known_models()) {
    torch::manual_seed(5);
    TorchModel net(model::build_model(name, 5));
    net->train();
    const torch::Tensor x = torch::randn({4, 3, 48, 48});
    const torch::Tensor labels = torch::tensor({0, 1, 2, 4}, torch::kLong);
    const torch::Tensor before = x.clone();
    auto step = [&](bool in_place) {
      net->set_in_place(in_place);
      net->zero_grad();
      torch::manual_seed(11);  // the same dropout and stochastic-depth masks
      const torch::Tensor logits = net->forward(x);
      const int written = net->last_in_place_ops();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, labels);
      loss.backward();
      std::vector<torch::Tensor> grads;
      for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
      return std::make_tuple(logits.detach(), loss.item<double>(), grads, written);
    };
    // Batch-norm running statistics move on each step; both steps start from
    // the same ones.
    std::vector<torch::Tensor> buffers;
    for (const auto& b : net->buffers()) buffers.push_back(b.clone());
    const auto [ref_logits, ref_loss, ref_grads, ref_written] = step(false);
    {
      torch::NoGradGuard no_grad;
      auto now = net->buffers();
      for (std::size_t i = 0; i < now.size(); ++i) now[i].copy_(buffers[i]);
    }
    const auto [logits, loss, grads, written] = step(true);
    EXPECT_EQ(ref_written, 0) << name;
    EXPECT_GT(written, 0) << name << ": nothing was written in place under autograd";
    EXPECT_TRUE(torch::allclose(ref_logits, logits, 1e-5, 1e-6)) << name;
    EXPECT_NEAR(ref_loss, loss, 1e-6 * std::max(1.0, std::abs(ref_loss))) << name;
    ASSERT_EQ(ref_grads.size(), grads.size());
    for (std::size_t i = 0; i < grads.size(); ++i) {
      EXPECT_TRUE(torch::allclose(ref_grads[i], grads[i], 1e-4, 1e-7))
          << name << ": gradient " << i << " max diff " << (ref_grads[i] - grads[i]).abs().max().item<float>();
    }
    EXPECT_TRUE(torch::equal(x, before)) << name << ": the input was written";
    std::cout << "[ info     ] " << name << ": " << written << " ops in place under autograd\n";
  }
}

}  // namespace
}  // namespace inferbench::train
