#include "testutil/postgres_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "results/postgres.h"
#include "testutil/browser.h"  // shell_quote

namespace inferbench::testutil {

namespace fs = std::filesystem;

namespace {

// Runs `command` through the shell; its output (stdout and stderr), and
// std::runtime_error naming both when it does not exit 0.
std::string run(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf{};
  while (const std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  if (status != 0) throw std::runtime_error(fmt::format("'{}' failed ({}):\n{}", command, status, out));
  return out;
}

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  const int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// "runuser -u postgres -- " as root, "" otherwise.
std::string as_server_user() {
  return geteuid() == 0 ? "runuser -u postgres -- " : "";
}

}  // namespace

fs::path PostgresServer::bin_dir() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(e.path() / "bin" / "initdb") && fs::exists(e.path() / "bin" / "pg_ctl"))
      found.push_back(e.path() / "bin");
  }
  if (found.empty()) return {};
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename().string()) < std::stoi(b.parent_path().filename().string());
  });
  return found.back();
}

PostgresServer::PostgresServer() : bin_(bin_dir()) {
  if (bin_.empty())
    throw std::runtime_error("no PostgreSQL server under /usr/lib/postgresql (scripts/setup.sh installs it)");
  std::string tmpl = (fs::temp_directory_path() / "inferbench-pg-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr)
      throw std::runtime_error("running as root, and there is no 'postgres' user to run the server as");
    if (chown(root_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + root_.string());
  }
  { std::ofstream(root_ / "password") << kPassword << "\n"; }
  if (geteuid() == 0) run(fmt::format("chown postgres {}", shell_quote((root_ / "password").string())));
  run(fmt::format("{}{} -D {} -U {} --pwfile={} --auth=scram-sha-256 -E UTF8 --no-sync --no-instructions",
                  as_server_user(), shell_quote((bin_ / "initdb").string()), shell_quote((root_ / "data").string()),
                  kUser, shell_quote((root_ / "password").string())));
  port_ = free_port();
  start();
}

PostgresServer::~PostgresServer() {
  try {
    if (running_) pg_ctl("stop -m immediate");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "PostgresServer: %s\n", e.what());
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string PostgresServer::url(const std::string& database, const std::string& password) const {
  return fmt::format("postgresql://{}:{}@127.0.0.1:{}/{}", kUser, password, port_, database);
}

std::string PostgresServer::create_database(const std::string& name) {
  results::pg::Connection c(url());
  c.exec(fmt::format("CREATE DATABASE \"{}\"", name));
  return url(name);
}

void PostgresServer::pg_ctl(const std::string& args) {
  run(fmt::format("{}{} -D {} -w -t 60 {}", as_server_user(), shell_quote((bin_ / "pg_ctl").string()),
                  shell_quote((root_ / "data").string()), args));
}

void PostgresServer::start() {
  // fsync off: a test's server need not survive a power cut. The socket
  // folder is the test's own, not /var/run/postgresql.
  pg_ctl(fmt::format(
      "-l {} -o {} start", shell_quote((root_ / "server.log").string()),
      shell_quote(fmt::format("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", port_, root_.string()))));
  running_ = true;
}

void PostgresServer::stop() {
  pg_ctl("stop -m fast");
  running_ = false;
}

void PostgresServer::restart() {
  stop();
  start();
}

}  // namespace inferbench::testutil
