// `inferbench data ...`: scan, split, synth, export-tensors.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "data/manifest.h"
#include "data/preprocess.h"
#include "data/scan.h"
#include "data/split.h"
#include "data/synth.h"
#include "data/tensor_file.h"

namespace inferbench::cli {

namespace fs = std::filesystem;
using data::Manifest;

namespace {

constexpr const char* kDefaultDataOut = "inferbench-out/data";

struct ScanFlags {
  std::string alias_file;
  int min_size = 32;
  int threads = 0;
};

void add_scan_flags(CLI::App* cmd, ScanFlags& f) {
  cmd->add_option("--aliases", f.alias_file,
                  "Class alias file: one 'alias = Canonical' per line, e.g. 'stawberries = Strawberries'")
      ->check(CLI::ExistingFile);
  cmd->add_option("--min-size", f.min_size, "Reject images whose width or height is below this (pixels)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", f.threads, "Worker threads; 0 = all cores")->check(CLI::NonNegativeNumber);
}

data::ScanResult run_scan(const fs::path& dir, const ScanFlags& f) {
  data::ScanOptions opt;
  opt.root = dir;
  opt.alias_file = f.alias_file;
  opt.min_size = f.min_size;
  opt.threads = f.threads;
  return data::scan_dataset(opt);
}

void say(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

}  // namespace

void add_data_commands(CLI::App& app, int& /*exit_code*/) {
  CLI::App* data_cmd = app.add_subcommand("data", "Prepare datasets: scan, split, synthesise, export tensors");
  data_cmd->require_subcommand(1);

  // data scan
  {
    struct Flags {
      std::string dir;
      ScanFlags scan;
      std::string out = kDefaultDataOut;
      bool json = false;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* cmd = data_cmd->add_subcommand(
        "scan",
        "Scan an image tree (DIR/<class>/* or DIR/{train,val,test,predict}/<class>/*) into a manifest: every file "
        "used or rejected with a reason. Writes OUT/scan-manifest.csv and OUT/scan-report.json.");
    cmd->add_option("dir", f->dir, "Dataset folder")->required();
    add_scan_flags(cmd, f->scan);
    cmd->add_option("--out", f->out, "Output folder");
    cmd->add_flag("--json", f->json, "Print the report as JSON on stdout instead of a table");
    cmd->callback([f] {
      auto result = run_scan(f->dir, f->scan);
      const fs::path out(f->out);
      write_manifest(out / "scan-manifest.csv", result.manifest);
      write_file_atomic(out / "scan-report.json", dump_json(result.report) + "\n");
      if (f->json) {
        std::fputs((dump_json(result.report) + "\n").c_str(), stdout);
      } else {
        std::fputs(fmt::format("layout: {}, {} classes\n{}", result.layout, result.manifest.classes.size(),
                               data::format_report_table(result.report))
                       .c_str(),
                   stdout);
      }
      for (const auto& w : result.report["warnings"]) say(fmt::format("warning: {}", w.get<std::string>()));
      say(fmt::format("wrote {} and {}", (out / "scan-manifest.csv").string(), (out / "scan-report.json").string()));
    });
  }

  // data split
  {
    struct Flags {
      std::string manifest;
      std::string dir;
      ScanFlags scan;
      data::SplitOptions split;
      bool ignore_dataset_split = false;
      bool no_balance_test = false;
      std::string train_balance = "none";
      std::string out = kDefaultDataOut;
      bool json = false;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* cmd = data_cmd->add_subcommand(
        "split",
        "Assign train/val/test splits (by content hash: stable when images are added) and balance them. Reads a "
        "manifest from `data scan` (--manifest) or scans a folder (--data). Writes OUT/manifest.csv and "
        "OUT/split-summary.json.");
    auto* m = cmd->add_option("--manifest", f->manifest, "Manifest from `data scan` (or an earlier split)");
    auto* d = cmd->add_option("--data", f->dir, "Dataset folder to scan first");
    m->excludes(d);
    add_scan_flags(cmd, f->scan);
    cmd->add_option("--train", f->split.train, "Training fraction")->check(CLI::Range(0.0, 1.0))->check(kNotNaN);
    cmd->add_option("--val", f->split.val, "Validation fraction")->check(CLI::Range(0.0, 1.0))->check(kNotNaN);
    cmd->add_option("--test", f->split.test, "Test fraction")->check(CLI::Range(0.0, 1.0))->check(kNotNaN);
    cmd->add_option("--seed", f->split.seed, "Seed of the hash-based assignment")->check(CLI::NonNegativeNumber);
    cmd->add_flag("--ignore-dataset-split", f->ignore_dataset_split,
                  "Re-split a pre-split dataset (train/test folders) instead of keeping its split");
    cmd->add_flag("--no-balance-test", f->no_balance_test,
                  "Keep every test image instead of balancing the test split to the smallest class");
    cmd->add_option("--train-balance", f->train_balance, "Training balance: none, undersample, oversample, class-weights")
        ->check(CLI::IsMember({"none", "undersample", "oversample", "class-weights"}));
    cmd->add_option("--out", f->out, "Output folder");
    cmd->add_flag("--json", f->json, "Print the summary as JSON on stdout instead of a table");
    cmd->callback([f] {
      if (f->manifest.empty() && f->dir.empty()) {
        throw CLI::RequiredError("--manifest or --data");
      }
      Manifest manifest = f->manifest.empty() ? run_scan(f->dir, f->scan).manifest : data::read_manifest(f->manifest);
      f->split.use_dataset_split = !f->ignore_dataset_split;
      f->split.balance_test = !f->no_balance_test;
      f->split.train_balance = data::parse_balance(f->train_balance);
      const auto summary = data::split_manifest(manifest, f->split);
      const fs::path out(f->out);
      write_manifest(out / "manifest.csv", manifest);
      write_file_atomic(out / "split-summary.json", dump_json(summary) + "\n");
      if (f->json) {
        std::fputs((dump_json(summary) + "\n").c_str(), stdout);
      } else {
        std::string text = data::format_report_table(summary);
        if (summary.contains("test_per_class")) {
          text += fmt::format("\ntest split balanced to {} images per class\n", summary["test_per_class"].get<long>());
        }
        std::fputs(text.c_str(), stdout);
      }
      for (const auto& w : summary["warnings"]) say(fmt::format("warning: {}", w.get<std::string>()));
      say(fmt::format("wrote {} and {}", (out / "manifest.csv").string(), (out / "split-summary.json").string()));
    });
  }

  // data synth
  {
    auto cfg = std::make_shared<data::SynthConfig>();
    cfg->out_dir = "inferbench-out/synth-fruit";
    auto out = std::make_shared<std::string>(cfg->out_dir.string());
    CLI::App* cmd = data_cmd->add_subcommand(
        "synth",
        "Render the built-in synthetic fruit dataset (10 classes) as JPEG/PNG files in OUT/<Class>/; deterministic "
        "by seed.");
    cmd->add_option("--out", *out, "Output folder");
    cmd->add_option("--per-class", cfg->images_per_class, "Images per class")->check(CLI::Range(1, 1000000));
    cmd->add_option("--size", cfg->image_size, "Image width and height (pixels)")->check(CLI::Range(32, 4096));
    cmd->add_option("--seed", cfg->seed, "Random seed")->check(CLI::NonNegativeNumber);
    cmd->add_option("--format", cfg->format, "jpeg, png or mixed (every 5th image PNG)")
        ->check(CLI::IsMember({"jpeg", "png", "mixed"}));
    cmd->add_option("--quality", cfg->jpeg_quality, "JPEG quality")->check(CLI::Range(1, 100));
    cmd->add_option("--threads", cfg->threads, "Worker threads; 0 = all cores")->check(CLI::NonNegativeNumber);
    cmd->callback([cfg, out] {
      cfg->out_dir = *out;
      const auto report = data::synthesize_dataset(*cfg);
      long total = 0;
      for (auto n : report.counts) total += n;
      std::fputs(fmt::format("wrote {} images of {} classes to {} ({:.1f} MB, {:.1f} s)\n", total,
                             report.classes.size(), cfg->out_dir.string(),
                             static_cast<double>(report.bytes_written) / 1e6, report.seconds)
                     .c_str(),
                 stdout);
    });
  }

  // data export-tensors
  {
    struct Flags {
      std::string manifest;
      std::string split = "test";
      int size = 224;
      int resize_size = 0;
      std::string resize_mode = "shorter-side-crop";
      std::string interpolation = "bilinear";
      std::string normalization = "imagenet";
      std::string layout = "nchw";
      std::string out;
      int threads = 0;
      std::size_t sample = 0;
      std::uint64_t seed = 1;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* cmd = data_cmd->add_subcommand(
        "export-tensors",
        "Preprocess one split once and write it for benchmark workers: OUT/x.npy (float32), OUT/y.npy (int64 "
        "labels), OUT/meta.json (classes, preprocessing, per-image paths and hashes).");
    cmd->add_option("--manifest", f->manifest, "Manifest from `data split`")->required();
    cmd->add_option("--split", f->split, "Split to export: train, val or test")
        ->check(CLI::IsMember({"train", "val", "test"}));
    cmd->add_option("--size", f->size, "Output height and width (pixels)")->check(CLI::Range(8, 4096));
    cmd->add_option("--resize-size", f->resize_size,
                    "Shorter side before the centre crop; 0 = size * 256 / 224 (the ImageNet convention)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--resize-mode", f->resize_mode, "shorter-side-crop or direct");
    cmd->add_option("--interpolation", f->interpolation, "nearest, bilinear, bicubic, area or lanczos");
    cmd->add_option("--normalization", f->normalization,
                    "imagenet (torchvision mean/std), unit ([0,1]) or symmetric ([-1,1])");
    cmd->add_option("--layout", f->layout, "nchw or nhwc");
    cmd->add_option("--out", f->out, "Output folder; default inferbench-out/tensors/<split>");
    cmd->add_option("--threads", f->threads, "Worker threads; 0 = all cores")->check(CLI::NonNegativeNumber);
    cmd->add_option("--sample", f->sample,
                    "At most this many images (0 = all): a seeded uniform draw, in manifest order, when the split "
                    "has more; the whole split when it has fewer (INT8 calibration takes a few hundred training "
                    "images)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30));
    cmd->add_option("--seed", f->seed, "Seed of the --sample draw (same manifest, sample and seed: same images)")
        ->check(CLI::NonNegativeNumber);
    cmd->callback([f] {
      auto cfg = data::PreprocessConfig::preset(f->normalization, f->size);
      if (f->resize_size > 0) cfg.resize_size = f->resize_size;
      cfg.resize_mode = data::parse_resize_mode(f->resize_mode);
      cfg.interpolation = data::parse_interpolation(f->interpolation);
      cfg.layout = data::parse_layout(f->layout);
      cfg.validate();
      const Manifest manifest = data::read_manifest(f->manifest);
      const data::Split split = *data::parse_split(f->split);
      const fs::path out = f->out.empty() ? fs::path("inferbench-out/tensors") / f->split : fs::path(f->out);
      const auto in_split = manifest.used_in(split).size();
      if (in_split == 0) {
        fail(ExitCode::kInput, fmt::format("manifest '{}' has no used images in the {} split", f->manifest, f->split));
      }
      const auto written = data::export_split_tensors(manifest, split, cfg, out, f->threads, {f->sample, f->seed});
      const std::string drawn =
          written.count < in_split ? fmt::format(" (a sample of its {}, seed {})", in_split, f->seed) : "";
      std::fputs(fmt::format("wrote {} {} images{} ({}x{}, {}, {}) to {}\n", written.count, f->split, drawn, f->size,
                             f->size, f->normalization, f->layout, out.string())
                     .c_str(),
                 stdout);
    });
  }
}

}  // namespace inferbench::cli
