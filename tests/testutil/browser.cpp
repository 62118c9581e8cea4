#include "testutil/browser.h"

#include <sys/wait.h>

#include <cstdio>
#include <regex>

namespace inferbench::testutil {

namespace fs = std::filesystem;

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string cmd = std::string("command -v ") + name + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) continue;
    char buf[512] = {};
    const bool found = std::fgets(buf, sizeof buf, p) != nullptr;
    pclose(p);
    if (found) {
      std::string path(buf);
      while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
      return path;
    }
  }
  return "";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string headless_chromium(const std::string& exe, const fs::path& html, const fs::path& profile,
                              const std::string& flags, int& status) {
  fs::create_directories(profile);
  // A throwaway profile and HOME (Chromium writes both); time limited so a
  // hang fails the test instead of stalling it.
  const std::string cmd = "HOME=" + shell_quote(profile.string()) + " timeout 120 " + shell_quote(exe) +
                          " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                          shell_quote((profile / "user-data").string()) + " --virtual-time-budget=15000 " + flags +
                          " " + shell_quote("file://" + fs::absolute(html).string()) + " 2>" +
                          shell_quote((profile / "stderr").string());
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    status = -1;
    return "";
  }
  std::string out;
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return out;
}

std::string report_status(const std::string& dom, const std::string& attribute) {
  const std::regex re("id=\"report-status\"[^>]*\\s" + attribute + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(dom, m, re) ? m[1].str() : std::string("(missing)");
}

}  // namespace inferbench::testutil
