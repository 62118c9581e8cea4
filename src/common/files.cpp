#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/error.h"

namespace inferbench {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ExitCode::kInput, fmt::format("cannot open '{}': {}", path.string(), std::strerror(errno)));
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) fail(ExitCode::kInput, fmt::format("cannot read '{}': not a regular file", path.string()));
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    fail(ExitCode::kInput, fmt::format("cannot read '{}': short read", path.string()));
  }
  return bytes;
}

std::string read_file_text(const fs::path& path) {
  auto bytes = read_file_bytes(path);
  return {bytes.begin(), bytes.end()};
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  write_file_atomic(path, data.data(), data.size());
}

void write_file_atomic(const fs::path& path, const void* data, std::size_t size) {
  auto error = [&](const char* what) {
    return fmt::format("cannot write '{}': {} ({})", path.string(), what, std::strerror(errno));
  };
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      fail(ExitCode::kOutput, fmt::format("cannot create directory '{}': {}", path.parent_path().string(), ec.message()));
    }
  }
  // (Built by append: GCC 12 raises a false -Wrestrict on "." + string.)
  std::string name = path.filename().string();
  name.insert(0, 1, '.');
  name.append(".tmp.XXXXXX");
  std::string tmpl = (path.parent_path() / name).string();
  const int fd = mkstemp(tmpl.data());
  if (fd < 0) fail(ExitCode::kOutput, error("creating a temporary file failed"));
  const auto* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string msg = error("write failed");
      ::close(fd);
      ::unlink(tmpl.c_str());
      fail(ExitCode::kOutput, msg);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::fchmod(fd, 0644) != 0) {
    const std::string msg = error("fsync failed");
    ::close(fd);
    ::unlink(tmpl.c_str());
    fail(ExitCode::kOutput, msg);
  }
  ::close(fd);
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const std::string msg = error("rename failed");
    ::unlink(tmpl.c_str());
    fail(ExitCode::kOutput, msg);
  }
}

}  // namespace inferbench
