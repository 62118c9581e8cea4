#include "train/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <numbers>
#include <sstream>
#include <thread>

#include "common/csv.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "common/progress.h"
#include "data/loader.h"
#include "model/builders.h"
#include "train/checkpoint.h"
#include "train/metrics.h"
#include "train/pth_reader.h"
#include "train/torch_model.h"

namespace inferbench::train {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;
using Clock = std::chrono::steady_clock;

void TrainConfig::validate() const {
  auto bad = [](const std::string& msg) { fail(ExitCode::kUsage, msg); };
  const auto& known = model::known_models();
  if (std::find(known.begin(), known.end(), model) == known.end()) {
    bad(fmt::format("--model '{}' is not known (expected one of: {})", model, fmt::join(known, ", ")));
  }
  if (zero_init_residual && model != "resnet50") {
    bad(fmt::format("--zero-init-residual applies to resnet50 only (not '{}')", model));
  }
  if (width_mult != 1.0 && model != "mobilenet_v2") {
    bad(fmt::format("--width-mult applies to mobilenet_v2 only (not '{}')", model));
  }
  // All three architectures downsample by 32: below that the last feature map
  // is 1x1 and mostly padding, which no recipe trains usefully.
  if (image_size < model::kMinImageSize) {
    bad(fmt::format("--size {} is too small for {}: it downsamples by 32, so use at least {}", image_size, model,
                    model::kMinImageSize));
  }
  if (train_size != 0 && (train_size < model::kMinImageSize || train_size > 4096)) {
    bad(fmt::format("--train-size {} is out of range for {}: at least {} (it downsamples by 32), at most 4096",
                    train_size, model, model::kMinImageSize));
  }
  if (epochs < 1) bad(fmt::format("--epochs must be at least 1, got {}", epochs));
  if (batch_size < 2) bad(fmt::format("--batch-size must be at least 2 (batch norm needs 2), got {}", batch_size));
  if (optimizer != "sgd" && optimizer != "adamw") bad(fmt::format("--optimizer '{}' (expected sgd or adamw)", optimizer));
  if (!(lr > 0.0) || !std::isfinite(lr)) bad(fmt::format("--lr must be positive, got {}", lr));
  if (!(momentum >= 0.0 && momentum < 1.0)) bad(fmt::format("--momentum must be in [0, 1), got {}", momentum));
  if (!(weight_decay >= 0.0)) bad(fmt::format("--weight-decay must not be negative, got {}", weight_decay));
  if (!(warmup_epochs >= 0.0)) bad(fmt::format("--warmup-epochs must not be negative, got {}", warmup_epochs));
  if (!(label_smoothing >= 0.0 && label_smoothing < 1.0)) {
    bad(fmt::format("--label-smoothing must be in [0, 1), got {}", label_smoothing));
  }
  if (patience < 0) bad(fmt::format("--patience must not be negative, got {}", patience));
  if (threads < 0) bad(fmt::format("--threads must not be negative, got {}", threads));
  if (resume && force) bad("--resume and --force exclude each other");
  (void)data::AugmentConfig::preset(augment);
  (void)data::PreprocessConfig::preset(normalization, image_size);
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j = {{"model", model},
                      {"image_size", image_size},
                      {"epochs", epochs},
                      {"batch_size", batch_size},
                      {"optimizer", optimizer},
                      {"lr", lr},
                      {"momentum", momentum},
                      {"weight_decay", weight_decay},
                      {"warmup_epochs", warmup_epochs},
                      {"label_smoothing", label_smoothing},
                      {"augment", augment},
                      {"normalization", normalization},
                      {"freeze_backbone", freeze_backbone},
                      {"zero_init_residual", zero_init_residual},
                      {"init_from", init_from},
                      {"width_mult", width_mult},
                      {"dropout", dropout ? nlohmann::json(*dropout) : nlohmann::json(nullptr)},
                      {"patience", patience},
                      {"threads", threads},
                      {"seed", seed}};
  // Only when set, so that runs from before the option keep their fingerprint (resume).
  if (train_size != 0) j["train_size"] = train_size;
  return j;
}

namespace {

struct SplitSamples {
  std::vector<data::Sample> samples;
  std::vector<float> weights;  // per sample (class-weight balancing)
};

SplitSamples samples_of(const data::Manifest& m, data::Split split, bool with_repeats) {
  SplitSamples out;
  for (const auto* e : m.used_in(split)) {
    const int copies = with_repeats ? e->repeat : 1;
    for (int r = 0; r < copies; ++r) {
      out.samples.push_back({e->path, m.class_index(e->label)});
      out.weights.push_back(static_cast<float>(e->weight));
    }
  }
  return out;
}

// Linear warm-up to the base rate, then cosine decay to zero, per step.
double lr_at(const TrainConfig& c, std::int64_t step, std::int64_t steps_per_epoch) {
  const double warm = c.warmup_epochs * static_cast<double>(steps_per_epoch);
  const double total = static_cast<double>(c.epochs) * static_cast<double>(steps_per_epoch);
  const auto s = static_cast<double>(step);
  if (s < warm) return c.lr * (s + 1.0) / warm;
  const double progress = total > warm ? (s - warm) / (total - warm) : 1.0;
  return c.lr * 0.5 * (1.0 + std::cos(std::numbers::pi * std::min(1.0, progress)));
}

torch::Tensor images_tensor(data::Batch& b, const data::PreprocessConfig& p) {
  const auto n = static_cast<std::int64_t>(b.size());
  return torch::from_blob(b.data.data(), {n, 3, p.image_size, p.image_size}, torch::kFloat);
}

struct Evaluation {
  double loss = 0.0;
  ClassificationMetrics metrics;
};

Evaluation evaluate(TorchModel& net, data::Loader& loader, const std::vector<std::string>& classes,
                    const data::PreprocessConfig& p, const std::string& stage) {
  torch::NoGradGuard no_grad;
  net->eval();
  Evaluation ev{0.0, ClassificationMetrics(classes)};
  double loss_sum = 0.0;
  loader.start_epoch(0);
  Progress progress(stage, loader.num_samples(), "images");
  while (auto batch = loader.next()) {
    const auto logits = net->forward(images_tensor(*batch, p)).contiguous();
    const auto labels = torch::from_blob(batch->labels.data(), {static_cast<std::int64_t>(batch->size())}, torch::kLong);
    loss_sum += F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
    ev.metrics.add(logits.data_ptr<float>(), batch->labels.data(), batch->size());
    progress.advance(batch->size());
  }
  ev.loss = ev.metrics.count() > 0 ? loss_sum / static_cast<double>(ev.metrics.count()) : 0.0;
  return ev;
}

std::string optimizer_bytes(torch::optim::Optimizer& opt) {
  std::ostringstream out;
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  archive.save_to(out);
  return out.str();
}

void restore_optimizer(torch::optim::Optimizer& opt, const std::string& bytes, const fs::path& from) {
  try {
    std::istringstream in(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    opt.load(archive);
  } catch (const std::exception& e) {
    std::string what = e.what();
    fail(ExitCode::kInput, fmt::format("optimizer state in '{}' cannot be restored: {}", from.string(),
                                       what.substr(0, what.find('\n'))));
  }
}

void write_history(const fs::path& dir, const nlohmann::json& history) {
  std::string csv = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,images_per_second,seconds\n";
  std::string jsonl;
  for (const auto& h : history) {
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.2f},{:.2f}\n", h["epoch"].get<int>(),
                       h["train_loss"].get<double>(), h["train_accuracy"].get<double>(), h["val_loss"].get<double>(),
                       h["val_accuracy"].get<double>(), h["lr"].get<double>(), h["images_per_second"].get<double>(),
                       h["seconds"].get<double>());
    jsonl += dump_json(h, -1) + "\n";
  }
  write_file_atomic(dir / "history.csv", csv);
  write_file_atomic(dir / "history.jsonl", jsonl);
}

// Settings that change the result; a resumed run must match them all.
nlohmann::json fingerprint(const TrainConfig& c) { return c.to_json(); }

void check_manifest(const data::Manifest& m) {
  const auto stale = find_stale_entries(m, false);
  if (!stale.empty()) {
    fail(ExitCode::kInput, fmt::format("the manifest is stale: {} file(s) changed or went away since it was made "
                                       "(first: {}); run `inferbench data scan` and `data split` again",
                                       stale.size(), stale.front()));
  }
  if (m.classes.size() < 2) fail(ExitCode::kInput, "the manifest has fewer than 2 classes; nothing to classify");
  for (const auto& cls : m.classes) {
    bool any = false;
    for (const auto* e : m.used_in(data::Split::kTrain)) any = any || e->label == cls;
    if (!any) {
      fail(ExitCode::kInput, fmt::format("class '{}' has no training images in the manifest; add images or drop the "
                                         "class folder",
                                         cls));
    }
  }
}

}  // namespace

TrainResult train(const data::Manifest& manifest, const TrainConfig& config) {
  config.validate();
  check_manifest(manifest);
  const auto started = Clock::now();
  const fs::path out = config.out_dir;
  const fs::path last_path = out / "last.ckpt";
  const fs::path best_path = out / "model.ckpt";
  const int threads = config.threads > 0 ? config.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);

  const auto& classes = manifest.classes;
  const auto preprocess = data::PreprocessConfig::preset(config.normalization, config.image_size);
  const int train_size = config.train_size > 0 ? config.train_size : config.image_size;
  const auto train_preprocess = data::PreprocessConfig::preset(config.normalization, train_size);
  model::BuildOptions build;
  if (config.model == "mobilenet_v2") build.width_mult = config.width_mult;
  build.dropout = config.dropout;
  const model::Graph graph = model::build_model(config.model, static_cast<std::int64_t>(classes.size()), build);
  (void)model::infer_shapes(graph, {1, 3, config.image_size, config.image_size});
  if (train_size != config.image_size) (void)model::infer_shapes(graph, {1, 3, train_size, train_size});

  torch::manual_seed(config.seed);
  TorchModel net(graph);
  if (config.zero_init_residual) {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : net->named_state()) {
      if (name.starts_with("layer") && name.ends_with(".bn3.weight")) tensor.zero_();
    }
  }
  if (!config.init_from.empty()) {
    auto state = read_state_dict(config.init_from);
    // A different class count (e.g. ImageNet's 1000): keep the fresh classifier.
    for (const auto& name : net->classifier_tensor_names()) {
      for (const auto& [own, tensor] : net->named_state()) {
        auto it = state.find(own);
        if (own == name && (it == state.end() || !it->second.sizes().equals(tensor.sizes()))) state[own] = tensor.clone();
      }
    }
    net->load_state(state, config.init_from);
  }
  if (config.freeze_backbone) net->freeze_backbone();

  std::vector<torch::Tensor> params;
  for (auto& p : net->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (config.optimizer == "sgd") {
    opt = std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(config.lr).momentum(config.momentum).nesterov(config.momentum > 0).weight_decay(config.weight_decay));
  } else {
    opt = std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  }

  // Progress of the run; restored on resume.
  nlohmann::json history = nlohmann::json::array();
  int start_epoch = 0;
  int best_epoch = 0;
  double best_acc = -1.0;
  double best_loss = INFINITY;
  int stale_epochs = 0;
  double seconds_before = 0.0;
  std::error_code ec;
  if (fs::exists(last_path, ec)) {
    // --force starts over but deletes nothing up front: every file is
    // replaced atomically as the new run writes it, so a new run that fails
    // early (a full disk) leaves the old checkpoints intact.
    if (config.force) {
    } else if (!config.resume) {
      fail(ExitCode::kUsage, fmt::format("'{}' already holds a training run ({}); pass --resume to continue it or "
                                         "--force to start over",
                                         out.string(), last_path.filename().string()));
    } else {
      const Checkpoint ck = load_checkpoint(last_path);
      const auto& t = ck.meta.at("training");
      const nlohmann::json wanted = fingerprint(config);
      if (t.at("config") != wanted) {
        std::string diffs;
        for (const auto& [k, v] : wanted.items()) {
          const auto had = t.at("config").value(k, nlohmann::json());
          if (had != v) diffs += fmt::format(" {}: {} -> {};", k, had.dump(), v.dump());
        }
        fail(ExitCode::kUsage, fmt::format("cannot resume '{}': it was trained with other settings ({} ); use the same "
                                           "flags, or --force to start over",
                                           last_path.string(), diffs));
      }
      if (ck.classes != classes) {
        fail(ExitCode::kInput, fmt::format("cannot resume '{}': the manifest's classes changed", last_path.string()));
      }
      net->load_state(ck.state, last_path.string());
      restore_optimizer(*opt, ck.optimizer_state, last_path);
      history = t.at("history");
      start_epoch = t.at("epochs_done").get<int>();
      best_epoch = t.at("best_epoch").get<int>();
      best_acc = t.at("best_val_accuracy").get<double>();
      best_loss = t.at("best_val_loss").get<double>();
      stale_epochs = t.at("stale_epochs").get<int>();
      seconds_before = t.at("seconds").get<double>();
      std::fprintf(stderr, "resuming %s from epoch %d of %d\n", config.model.c_str(), start_epoch + 1, config.epochs);
      if (t.at("status") != "running") start_epoch = config.epochs;  // finished before; only evaluate again
    }
  }

  const auto train_split = samples_of(manifest, data::Split::kTrain, true);
  const auto val_split = samples_of(manifest, data::Split::kVal, false);
  const auto test_split = samples_of(manifest, data::Split::kTest, false);
  // On few cores the loader gets one thread so it does not take LibTorch's.
  const int loader_threads = threads > 2 ? 2 : 1;
  data::LoaderOptions train_opt;
  train_opt.preprocess = train_preprocess;
  train_opt.augment = data::AugmentConfig::preset(config.augment);
  train_opt.batch_size = static_cast<std::size_t>(config.batch_size);
  train_opt.threads = loader_threads;
  train_opt.shuffle = true;
  // A last batch of one image breaks batch norm; dropping the remainder of a
  // shuffled epoch loses nothing systematic.
  train_opt.drop_last = train_split.samples.size() > static_cast<std::size_t>(config.batch_size);
  train_opt.seed = config.seed;
  data::LoaderOptions eval_opt = train_opt;
  eval_opt.preprocess = preprocess;
  eval_opt.augment.reset();
  eval_opt.shuffle = false;
  eval_opt.drop_last = false;
  data::Loader train_loader(train_split.samples, train_opt);
  data::Loader val_loader(val_split.samples, eval_opt);
  data::Loader test_loader(test_split.samples, eval_opt);
  const auto steps_per_epoch = static_cast<std::int64_t>(train_loader.num_batches());
  if (steps_per_epoch == 0) fail(ExitCode::kInput, "the training split is empty");
  if (val_split.samples.empty()) {
    std::fprintf(stderr, "warning: no validation images; the last epoch is kept as the best\n");
  }

  auto save_state = [&](const fs::path& path, const std::string& status, bool with_optimizer, const nlohmann::json& metrics) {
    nlohmann::json meta;
    meta["training"] = {{"config", fingerprint(config)},
                        {"history", history},
                        {"epochs_done", static_cast<int>(history.size())},
                        {"best_epoch", best_epoch},
                        {"best_val_accuracy", best_acc},
                        {"best_val_loss", best_loss},
                        {"stale_epochs", stale_epochs},
                        {"status", status},
                        {"seconds", seconds_before + std::chrono::duration<double>(Clock::now() - started).count()},
                        {"train_images", train_split.samples.size()},
                        {"val_images", val_split.samples.size()},
                        {"test_images", test_split.samples.size()}};
    meta["metrics"] = metrics;
    save_checkpoint(path, graph, net->named_state(), classes, preprocess, meta,
                    with_optimizer ? optimizer_bytes(*opt) : std::string());
  };

  std::string status = "completed";
  for (int epoch = start_epoch; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    // Dropout and stochastic depth draw from LibTorch's generator: reseeding
    // per epoch makes a resumed epoch identical to an uninterrupted one.
    torch::manual_seed(config.seed * 1000003ULL + static_cast<std::uint64_t>(epoch) + 1);
    net->train();
    train_loader.start_epoch(static_cast<std::uint64_t>(epoch));
    double loss_sum = 0.0;
    std::int64_t correct = 0;
    std::int64_t seen = 0;
    std::int64_t step = epoch * steps_per_epoch;
    double lr = 0.0;
    bool diverged = false;
    {
      Progress progress(fmt::format("train {} epoch {}/{}", config.model, epoch + 1, config.epochs),
                        static_cast<std::uint64_t>(steps_per_epoch) * static_cast<std::uint64_t>(config.batch_size),
                        "images");
      while (auto batch = train_loader.next()) {
        lr = lr_at(config, step++, steps_per_epoch);
        for (auto& group : opt->param_groups()) group.options().set_lr(lr);
        const auto n = static_cast<std::int64_t>(batch->size());
        const auto x = images_tensor(*batch, train_preprocess);
        const auto y = torch::from_blob(batch->labels.data(), {n}, torch::kLong);
        std::vector<float> w(batch->size());
        for (std::size_t i = 0; i < w.size(); ++i) w[i] = train_split.weights[batch->indices[i]];
        const auto weights = torch::from_blob(w.data(), {n}, torch::kFloat);
        const auto logits = net->forward(x);
        const auto per_sample = F::cross_entropy(
            logits, y, F::CrossEntropyFuncOptions().label_smoothing(config.label_smoothing).reduction(torch::kNone));
        const auto loss = (per_sample * weights).sum() / weights.sum();
        const double loss_value = loss.item<double>();
        if (!std::isfinite(loss_value)) {
          diverged = true;
          break;
        }
        opt->zero_grad();
        loss.backward();
        opt->step();
        loss_sum += loss_value * static_cast<double>(n);
        correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
        seen += n;
        progress.advance(static_cast<std::uint64_t>(n));
      }
    }
    if (diverged) {
      status = "diverged";
      std::fprintf(stderr,
                   "error: the loss became NaN or infinite in epoch %d; training stopped. The last good checkpoints "
                   "(%s, %s) are kept. Try a lower --lr.\n",
                   epoch + 1, last_path.c_str(), best_path.c_str());
      break;
    }
    const auto val = val_split.samples.empty() ? Evaluation{0.0, ClassificationMetrics(classes)}
                                               : evaluate(net, val_loader, classes, preprocess, "validate");
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    const double val_acc = val_split.samples.empty() ? 0.0 : val.metrics.top1();
    history.push_back({{"epoch", epoch + 1},
                       {"train_loss", seen ? loss_sum / static_cast<double>(seen) : 0.0},
                       {"train_accuracy", seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0},
                       {"val_loss", val.loss},
                       {"val_accuracy", val_acc},
                       {"lr", lr},
                       {"images_per_second", static_cast<double>(seen) / seconds},
                       {"seconds", seconds}});
    const bool improved = val_split.samples.empty() || val_acc > best_acc || (val_acc == best_acc && val.loss < best_loss);
    if (improved) {
      best_acc = val_acc;
      best_loss = val.loss;
      best_epoch = epoch + 1;
      stale_epochs = 0;
    } else {
      ++stale_epochs;
    }
    const bool stop_early = config.patience > 0 && stale_epochs >= config.patience && epoch + 1 < config.epochs;
    const bool last_epoch = epoch + 1 == config.epochs || stop_early;
    // model.ckpt before last.ckpt: a crash between the two repeats this epoch
    // on resume, never skips a best model.
    if (improved) save_state(best_path, "best", false, nlohmann::json::object());
    save_state(last_path, last_epoch ? (stop_early ? "early-stopped" : "completed") : "running", true,
               nlohmann::json::object());
    write_history(out, history);
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    const double eta = elapsed / static_cast<double>(epoch + 1 - start_epoch) * static_cast<double>(config.epochs - epoch - 1);
    std::fprintf(stderr,
                 "[train %s] epoch %d/%d  train loss %.4f acc %.1f%%  val loss %.4f acc %.1f%%  lr %.4g  %.1f img/s  "
                 "%s  left %s%s\n",
                 config.model.c_str(), epoch + 1, config.epochs, history.back()["train_loss"].get<double>(),
                 100.0 * history.back()["train_accuracy"].get<double>(), val.loss, 100.0 * val_acc, lr,
                 history.back()["images_per_second"].get<double>(), format_duration(seconds).c_str(),
                 format_duration(stop_early ? 0.0 : eta).c_str(), improved ? "  (best)" : "");
    if (stop_early) {
      status = "early-stopped";
      std::fprintf(stderr, "early stop: no validation gain for %d epochs\n", config.patience);
      break;
    }
  }
  if (history.empty()) fail(ExitCode::kPartial, "training diverged in its first epoch; no checkpoint was written");

  // Final evaluation of the best epoch on the test split.
  const Checkpoint best = load_checkpoint(best_path);
  net->load_state(best.state, best_path.string());
  TrainResult result;
  result.status = status;
  result.epochs_run = static_cast<int>(history.size());
  result.best_epoch = best_epoch;
  result.best_val_accuracy = best_acc;
  result.checkpoint = best_path;
  nlohmann::json metrics = nlohmann::json::object();
  if (!test_split.samples.empty()) {
    const auto test = evaluate(net, test_loader, classes, preprocess, "test");
    result.test_metrics = test.metrics.to_json();
    result.test_table = test.metrics.table();
    metrics["test"] = result.test_metrics;
  }
  result.seconds = seconds_before + std::chrono::duration<double>(Clock::now() - started).count();
  metrics["train_seconds"] = result.seconds;
  metrics["status"] = status;
  // Rewrite the best checkpoint with its test metrics (same weights and progress).
  {
    nlohmann::json meta = best.meta;
    meta["metrics"] = metrics;
    meta["training"]["status"] = status;
    save_checkpoint(best_path, best.graph, net->named_state(), best.classes, best.preprocess, meta);
  }
  write_file_atomic(out / "eval.json", dump_json({{"model", config.model},
                                                  {"status", status},
                                                  {"best_epoch", best_epoch},
                                                  {"best_val_accuracy", best_acc},
                                                  {"test", result.test_metrics},
                                                  {"seconds", result.seconds}}) +
                                           "\n");
  return result;
}

}  // namespace inferbench::train
