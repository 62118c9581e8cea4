#pragma once
// Files embedded into the binary at build time (embedded_assets.cpp.in, by the
// assembler's .incbin): Apache ECharts, found at configure time
// (cmake/sdks.cmake, INFERBENCH_ECHARTS_JS), and the report's own script and
// styles (report.js, report.css beside this file). Editing any of them
// rebuilds the object that embeds it.
#include <string_view>

namespace inferbench::report::assets {

std::string_view echarts_js();       // "" when this build has no ECharts
std::string_view echarts_version();  // e.g. "6.1.0"; "" when none
// Why there is no ECharts ("ECharts not found at PATH (run scripts/setup.sh)");
// "" when it is embedded.
std::string_view echarts_missing_reason();
std::string_view report_js();
std::string_view report_css();

}  // namespace inferbench::report::assets
