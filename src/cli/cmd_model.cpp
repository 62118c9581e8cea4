// `inferbench model info`: the IR of an architecture, layer by layer.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "common/json.h"
#include "model/builders.h"

namespace inferbench::cli {

void add_model_commands(CLI::App& app, int& /*exit_code*/) {
  CLI::App* model_cmd = app.add_subcommand("model", "Inspect the built-in architectures");
  model_cmd->require_subcommand(1);
  struct Flags {
    std::string name;
    std::int64_t classes = 1000;
    std::int64_t size = 224;
    double width_mult = 1.0;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = model_cmd->add_subcommand(
      "info", "Layer table of an architecture: output shapes, parameters and MACs for an input size");
  cmd->add_option("name", f->name, fmt::format("Architecture: {}", fmt::join(model::known_models(), ", ")))
      ->required()
      ->check(CLI::IsMember(model::known_models()));
  cmd->add_option("--classes", f->classes, "Number of classes")->check(CLI::Range(1, 1000000));
  cmd->add_option("--size", f->size, "Input height and width (pixels)")->check(CLI::Range(1, 8192));
  cmd->add_option("--width-mult", f->width_mult, "Width multiplier (mobilenet_v2 only)")
      ->check(CLI::PositiveNumber)
      ->check(kNotNaN);
  cmd->add_flag("--json", f->json, "Print the IR as JSON instead of the table");
  cmd->callback([f] {
    model::BuildOptions opt;
    if (f->name == "mobilenet_v2") opt.width_mult = f->width_mult;
    const auto graph = model::build_model(f->name, f->classes, opt);
    if (f->json) {
      std::fputs((dump_json(nlohmann::json(graph)) + "\n").c_str(), stdout);
    } else {
      std::fputs(model::summary(graph, f->size, f->size).c_str(), stdout);
    }
  });
}

}  // namespace inferbench::cli
