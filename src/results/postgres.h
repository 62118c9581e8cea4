#pragma once
// A thin RAII layer over libpq, for the PostgreSQL results store
// (src/results/postgres_store.cpp), as results/sqlite.h is for SQLite. It
// knows nothing of the schema: connecting, parameterised statements, result
// sets, transactions, and telling a lost connection from a refused statement.
//
// Contract:
// - A location is a libpq connection URI: "postgresql://" or "postgres://"
//   (results::is_postgres_location()). redact() is the URI with its password (in the user-info part
//   or a password= parameter) replaced by "***": every message and every
//   location() shows that, never the password.
// - Connection's constructor connects (libpq's connect_timeout defaults to
//   10 s here when the URI sets none) and sets the session up (UTC, shortest
//   exact float8 text); a server that cannot be reached, a refused password,
//   a missing database are Error(kInput) naming the redacted URI and libpq's
//   own reason.
// - exec() runs one statement with text parameters (std::nullopt = NULL) and
//   returns its rows, or throws Failure: `connection_lost` when the server
//   went away (the connection is bad, SQLSTATE class 08, or an
//   administrator's shutdown, 57P01..57P03), with the SQLSTATE otherwise.
//   Failure is not an inferbench Error: the store decides what each means
//   (reconnect and retry, a named Error).
// - reset() reconnects in place (PQreset); it throws Failure (connection_lost)
//   when the server is still not there.
// - Numbers travel as text: doubles as the shortest text that reads back as
//   the same double, so values round-trip exactly through float8 (whose own
//   output is shortest-exact with extra_float_digits >= 1, set at connect).
// - Not thread-safe: one Connection belongs to one thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace inferbench::results::pg {

std::string redact(std::string_view url);

// A statement the server refused, or a connection that went away.
class Failure : public std::runtime_error {
 public:
  Failure(const std::string& message, std::string sqlstate, bool connection_lost)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  [[nodiscard]] const std::string& sqlstate() const { return sqlstate_; }
  [[nodiscard]] bool connection_lost() const { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// Text parameters for exec(), $1, $2, ... in the order added.
class Params {
 public:
  Params& add(std::int64_t v);
  Params& add(int v) { return add(static_cast<std::int64_t>(v)); }
  Params& add(double v);
  Params& add(std::string_view v);
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(const std::string& v) { return add(std::string_view(v)); }
  Params& add_null();
  template <typename T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : add_null();
  }
  // A float8[] literal ("{1.5,0.25}"): many values in one parameter.
  Params& add_array(const std::vector<double>& values);

  [[nodiscard]] const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

class Rows {
 public:
  explicit Rows(pg_result* r) : r_(r) {}
  ~Rows();
  Rows(Rows&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
  Rows& operator=(Rows&& other) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;

  [[nodiscard]] int size() const;
  [[nodiscard]] bool is_null(int row, int col) const;
  [[nodiscard]] std::string text(int row, int col) const;  // "" for NULL
  [[nodiscard]] std::int64_t int64(int row, int col) const;
  [[nodiscard]] double real(int row, int col) const;
  [[nodiscard]] bool boolean(int row, int col) const;
  [[nodiscard]] int affected() const;  // rows an UPDATE / DELETE / INSERT changed

 private:
  pg_result* r_;
};

class Connection {
 public:
  // Connects to `url` (see the contract above).
  explicit Connection(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] const std::string& location() const { return location_; }  // redacted
  [[nodiscard]] bool ok() const;

  Rows exec(std::string_view sql, const Params& params = {});
  // Several statements with no parameters (a migration step), in one call.
  void exec_script(const char* sql);
  void reset();

 private:
  [[noreturn]] void throw_failure(pg_result* r) const;
  void set_up_session();

  std::string location_;
  pg_conn* conn_ = nullptr;
};

// BEGIN (or `begin`) now; ROLLBACK when destroyed unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Connection& conn, const char* begin = "BEGIN");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& conn_;
  bool done_ = false;
};

}  // namespace inferbench::results::pg
