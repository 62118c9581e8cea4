#pragma once
// File helpers shared by every stage.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace inferbench {

// Reads a whole file. Throws Error(kInput) naming the file when it cannot.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);
std::string read_file_text(const std::filesystem::path& path);

// Writes `data` to `path` atomically: a temporary file in the same directory,
// flushed and fsync'd, then renamed over the target. A crash or a full disk
// leaves the previous file intact. Creates missing parent directories.
// Throws Error(kOutput) naming the file on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);
void write_file_atomic(const std::filesystem::path& path, const void* data, std::size_t size);

}  // namespace inferbench
