// `inferbench train`: LibTorch C++ training of one architecture.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "common/json.h"
#include "data/manifest.h"
#include "model/builders.h"
#ifdef INFERBENCH_HAVE_LIBTORCH
#include "train/trainer.h"
#endif

namespace inferbench::cli {

#ifdef INFERBENCH_HAVE_LIBTORCH

void add_train_commands(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string manifest;
    train::TrainConfig cfg;
    double dropout = -1.0;
    std::string out = "inferbench-out/train/<model>";
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
  cmd->add_option("--width-mult", c.width_mult, "Width multiplier (mobilenet_v2 only)")->check(CLI::PositiveNumber);
  cmd->add_option("--dropout", f->dropout, "Classifier dropout; negative = the architecture's default");
  cmd->add_option("--patience", c.patience, "Stop after this many epochs without validation gain; 0 = never")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", c.threads, "LibTorch threads; 0 = all cores")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", c.seed, "Random seed (weights, data order, augmentation, dropout)");
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
    const auto manifest = data::read_manifest(f->manifest);
    const auto r = train::train(manifest, cfg);
    if (f->json) {
      std::fputs((dump_json({{"status", r.status},
                             {"epochs_run", r.epochs_run},
                             {"best_epoch", r.best_epoch},
                             {"best_val_accuracy", r.best_val_accuracy},
                             {"test", r.test_metrics},
                             {"seconds", r.seconds},
                             {"checkpoint", r.checkpoint.string()}}) +
                  "\n")
                     .c_str(),
                 stdout);
    } else {
      std::fputs(fmt::format("{}: {} after {} epochs ({}), best epoch {} (val acc {:.2f}%)\n{}checkpoint: {}\n",
                             cfg.model, r.status, r.epochs_run, fmt::format("{:.0f} s", r.seconds), r.best_epoch,
                             100.0 * r.best_val_accuracy, r.test_table.empty() ? "" : "\ntest split:\n" + r.test_table + "\n",
                             r.checkpoint.string())
                     .c_str(),
                 stdout);
    }
    if (r.status == "diverged") exit_code = static_cast<int>(ExitCode::kPartial);
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
