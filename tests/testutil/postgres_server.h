#pragma once
// A PostgreSQL server of a test's own: initdb in a fresh temporary folder,
// started with pg_ctl on 127.0.0.1 and a port nobody else listens on,
// password authentication (scram-sha-256) for the user "inferbench"; stopped
// and deleted when destroyed. PostgreSQL refuses to run as root, so as root
// (CI) initdb, pg_ctl and the server run as the "postgres" user (runuser),
// which Debian's postgresql package creates. No network beyond 127.0.0.1.
#include <filesystem>
#include <string>

namespace inferbench::testutil {

class PostgresServer {
 public:
  static constexpr const char* kUser = "inferbench";
  static constexpr const char* kPassword = "test-password";

  // The folder of initdb / pg_ctl (/usr/lib/postgresql/N/bin, the newest),
  // "" when the server is not installed.
  static std::filesystem::path bin_dir();

  // Creates and starts the server; std::runtime_error with initdb's or
  // pg_ctl's output when it cannot.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  // postgresql://inferbench:PASSWORD@127.0.0.1:PORT/DB
  [[nodiscard]] std::string url(const std::string& database = "postgres",
                                const std::string& password = kPassword) const;
  // CREATE DATABASE `name`; returns url(name).
  std::string create_database(const std::string& name);

  void stop();     // pg_ctl stop -m fast (waits)
  void start();    // pg_ctl start (waits until it accepts connections)
  void restart();  // stop + start, the same data and port

 private:
  void pg_ctl(const std::string& args);

  std::filesystem::path root_;  // owned by the server's user
  std::filesystem::path bin_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace inferbench::testutil
