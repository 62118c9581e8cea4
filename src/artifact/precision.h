#pragma once
// Numeric precision: of the weights an artifact stores, of what an exporter
// can write, of what a backend can run, and of what actually executed.
//
// One closed set, spelled the same everywhere it is written down (sidecars,
// result rows, flags, help text): "fp32", "fp16", "bf16", "int8".
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace inferbench::artifact {

enum class Precision { kFP32, kFP16, kBF16, kINT8 };

// Every precision, in the order tables list them.
const std::vector<Precision>& all_precisions();

// "fp32", "fp16", "bf16", "int8".
std::string_view to_string(Precision p);

// The inverse of to_string. Throws Error(kUsage) for anything else, naming
// `what` (e.g. "--precision" or a file) and the value, and listing the names.
Precision parse_precision(std::string_view text, std::string_view what = "precision");

// Names joined with ", " (for help text and messages), e.g. "fp32, fp16".
std::string join(const std::vector<Precision>& precisions);

// JSON as the name; reading anything else throws nlohmann::json::type_error.
void to_json(nlohmann::json& j, Precision p);
void from_json(const nlohmann::json& j, Precision& p);

}  // namespace inferbench::artifact
