#pragma once
// What every harness shares. A harness feeds one input to one parser; the
// parser's contract is to return or to throw inferbench::Error with its
// documented exit code. Anything else is a finding: a sanitizer report, a
// crash, a hang, an exception of another type (libFuzzer reports the abort
// of an uncaught one), or an Error with another code (expect_code traps).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/error.h"

namespace inferbench::fuzz {

[[noreturn]] inline void finding(std::string_view what) {
  std::fprintf(stderr, "inferbench fuzz: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

// Runs f; an Error is fine when its code is one of `codes`.
template <class F>
void expect_code(F&& f, std::initializer_list<ExitCode> codes) {
  try {
    f();
  } catch (const Error& e) {
    for (const ExitCode c : codes) {
      if (e.code() == c) return;
    }
    finding(std::string("Error with an unexpected exit code ") + std::to_string(static_cast<int>(e.code())) + ": " +
            e.what());
  }
}

// This process's scratch folder, in /dev/shm when there is one (no disk
// write per input), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                      : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("inferbench-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return d;
  }();
  return dir;
}

// Writes the input to `name` in the scratch folder (for parsers that read files).
inline std::filesystem::path write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
  std::filesystem::path p = scratch_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) finding("cannot write the scratch file " + p.string());
  return p;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace inferbench::fuzz
