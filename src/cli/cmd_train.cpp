// `inferbench train`: LibTorch C++ training of one architecture.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "data/manifest.h"
#include "model/builders.h"
#ifdef INFERBENCH_HAVE_LIBTORCH
#include "train/seeds.h"
#include "train/trainer.h"
#endif

namespace inferbench::cli {

#ifdef INFERBENCH_HAVE_LIBTORCH

namespace fs = std::filesystem;

void add_train_commands(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string manifest;
    train::TrainConfig cfg;
    double dropout = -1.0;
    std::string out = "inferbench-out/train/<model>";
    std::string seeds = "1";  // parsed by train::parse_seeds, for its own message
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto& c = f->cfg;
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train one architecture with LibTorch on a manifest from `data split`. Writes OUT/model.ckpt (best epoch, "
      "with test metrics), OUT/last.ckpt (for --resume), OUT/history.csv|jsonl and OUT/eval.json.");
  cmd->add_option("--manifest", f->manifest, "Manifest from `data split`")->required();
  cmd->add_option("--model", c.model, fmt::format("Architecture: {}", fmt::join(model::known_models(), ", ")))
      ->check(CLI::IsMember(model::known_models()));
  cmd->add_option("--size", c.image_size, "Image size (pixels, square): training, evaluation and the checkpoint's input")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--train-size", c.train_size,
                  "Train on images of this size instead, evaluate and save at --size (train smaller, test larger: "
                  "FixRes, Touvron et al. 2019); 0 = --size")
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--epochs", c.epochs, "Epochs")->check(CLI::Range(1, 100000));
  cmd->add_option("--batch-size", c.batch_size, "Batch size")->check(CLI::Range(1, 65536));
  cmd->add_option("--optimizer", c.optimizer, "sgd (momentum, Nesterov) or adamw")
      ->check(CLI::IsMember({"sgd", "adamw"}));
  auto* lr = cmd->add_option("--lr", c.lr, "Peak learning rate (default 0.02 for sgd, 0.001 for adamw)");
  lr->check(CLI::PositiveNumber);
  cmd->add_option("--momentum", c.momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--weight-decay", c.weight_decay, "Weight decay")->check(CLI::NonNegativeNumber);
  cmd->add_option("--warmup-epochs", c.warmup_epochs, "Linear warm-up epochs before the cosine decay")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--label-smoothing", c.label_smoothing, "Label smoothing")->check(CLI::Range(0.0, 0.999));
  cmd->add_option("--augment", c.augment, "Augmentation strength: none, light, standard, strong")
      ->check(CLI::IsMember({"none", "light", "standard", "strong"}));
  cmd->add_option("--normalization", c.normalization, "imagenet, unit or symmetric")
      ->check(CLI::IsMember({"imagenet", "unit", "symmetric"}));
  cmd->add_flag("--freeze-backbone", c.freeze_backbone, "Train only the classifier (fine-tuning with --init-from)");
  cmd->add_flag("--zero-init-residual", c.zero_init_residual,
                "resnet50: start each bottleneck's last batch norm at 0, so every block begins as the identity");
  cmd->add_option("--init-from", c.init_from, "Start from a torchvision state_dict (.pth) of the same architecture")
      ->check(CLI::ExistingFile);
  cmd->add_option("--width-mult", c.width_mult, "Width multiplier (mobilenet_v2 only)")
      ->check(CLI::PositiveNumber)
      ->check(kNotNaN);
  cmd->add_option("--dropout", f->dropout, "Classifier dropout; negative = the architecture's default")
      ->check(kNotNaN);
  cmd->add_option("--patience", c.patience, "Stop after this many epochs without validation gain; 0 = never")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", c.threads, "LibTorch threads; 0 = all cores")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", c.seed, "Random seed (weights, data order, augmentation, dropout)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seeds", f->seeds,
                  "Train this many seeds (--seed, --seed + 1, ...) and report the mean, sample std and range of the "
                  "test metrics (OUT/seeds.json); the first seed trains in OUT, seed S in OUT/seed-S")
      ->capture_default_str()
      ->type_name("INT");  // a whole number, which `run`'s config schema reads off the type name
  cmd->add_option("--out", f->out, "Output folder");
  cmd->add_flag("--resume", c.resume, "Continue the run in OUT from its last finished epoch");
  cmd->add_flag("--force", c.force, "Start over even if OUT holds a run");
  cmd->add_flag("--json", f->json, "Print the result as JSON on stdout");
  cmd->callback([f, lr, &exit_code] {
    auto cfg = f->cfg;
    if (lr->count() == 0 && cfg.optimizer == "adamw") cfg.lr = 1e-3;
    if (f->dropout >= 0.0) cfg.dropout = f->dropout;
    cfg.out_dir = f->out == "inferbench-out/train/<model>" ? "inferbench-out/train/" + cfg.model : f->out;
    cfg.validate();
    const int n = train::parse_seeds(f->seeds);
    const auto seeds = train::seed_list(cfg.seed, n);
    const auto manifest = data::read_manifest(f->manifest);
    const fs::path out = cfg.out_dir;
    std::vector<train::SeedRun> runs;
    std::string text;
    bool diverged = false;
    train::TrainResult first;
    for (const auto seed : seeds) {
      auto seed_cfg = cfg;
      seed_cfg.seed = seed;
      seed_cfg.out_dir = train::seed_dir(out, cfg.seed, seed);
      if (n > 1) std::fprintf(stderr, "[train %s] seed %llu (%zu of %d)\n", cfg.model.c_str(),
                              static_cast<unsigned long long>(seed), runs.size() + 1, n);
      const auto r = train::train(manifest, seed_cfg);
      if (runs.empty()) first = r;
      runs.push_back({seed, seed_cfg.out_dir, r.status, r.test_metrics, r.seconds});
      diverged = diverged || r.status == "diverged";
      text += fmt::format("{}{}: {} after {} epochs ({}), best epoch {} (val acc {:.2f}%)\n{}checkpoint: {}\n",
                          cfg.model, n > 1 ? fmt::format(" seed {}", seed) : "", r.status, r.epochs_run,
                          fmt::format("{:.0f} s", r.seconds), r.best_epoch, 100.0 * r.best_val_accuracy,
                          r.test_table.empty() ? "" : "\ntest split:\n" + r.test_table + "\n", r.checkpoint.string());
    }
    const auto summary = train::seed_summary(runs);
    write_file_atomic(out / "seeds.json", dump_json(summary) + "\n");
    if (f->json) {
      std::fputs((dump_json({{"status", first.status},
                             {"epochs_run", first.epochs_run},
                             {"best_epoch", first.best_epoch},
                             {"best_val_accuracy", first.best_val_accuracy},
                             {"test", first.test_metrics},
                             {"seconds", first.seconds},
                             {"checkpoint", first.checkpoint.string()},
                             {"seeds", summary}}) +
                  "\n")
                     .c_str(),
                 stdout);
    } else {
      if (n > 1) {
        text += fmt::format("\n{} seeds (test split; {} is the first seed's checkpoint):\n{}", n,
                            first.checkpoint.string(), train::seed_table(summary));
      }
      std::fputs(text.c_str(), stdout);
    }
    if (diverged) exit_code = static_cast<int>(ExitCode::kPartial);
  });
}

#else

void add_train_commands(CLI::App& app, int& /*exit_code*/) {
  CLI::App* cmd = app.add_subcommand("train", "Train one architecture with LibTorch (unavailable in this build)");
  cmd->allow_extras();
  cmd->callback([] {
    fail(ExitCode::kUnavailable,
         "training is unavailable in this build, because LibTorch was not found when it was built "
         "(Debian: apt-get install libtorch-dev, then rebuild; or -DTorch_DIR=...)");
  });
}

#endif

}  // namespace inferbench::cli
