#pragma once
// Headless Chromium for the tests that open the HTML report in a real browser.
#include <filesystem>
#include <string>

namespace inferbench::testutil {

// The path of chromium (or chromium-browser, google-chrome) on PATH; "" when none.
std::string find_chromium();

// Runs headless Chromium on `html` with extra flags (e.g. "--dump-dom" or
// "--screenshot=FILE --window-size=1400,4000") in a throwaway profile under
// `profile` (HOME too), without the sandbox (root in a container), for at most
// 120 s, with 15 s of virtual time for scripts. Returns its stdout; `status`
// is its exit code (128 + signal). Its stderr goes to profile/stderr.
std::string headless_chromium(const std::string& exe, const std::filesystem::path& html,
                              const std::filesystem::path& profile, const std::string& flags, int& status);

// An attribute of the report's #report-status element in a dumped DOM
// (data-charts-expected, data-charts-rendered, data-errors), or "(missing)".
std::string report_status(const std::string& dom, const std::string& attribute);

// Shell single-quoting.
std::string shell_quote(const std::string& s);

}  // namespace inferbench::testutil
