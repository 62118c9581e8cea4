#pragma once
// A thin RAII layer over the SQLite C API, for the results store
// (src/results/store.cpp). It knows nothing of the schema: opening, statements,
// transactions, and turning SQLite's return codes into inferbench Errors.
//
// Contract:
// - open() creates the file's parent folders and the file when missing, and
//   sets the busy timeout; it does not read the file (a file that is not
//   SQLite fails at its first query). A folder that cannot be created is
//   Error(kOutput), a missing file that cannot be created (a read-only
//   folder) Error(kOutput), a file there that cannot be opened Error(kInput),
//   each naming it.
// - open_read_only() opens an existing file with SQLITE_OPEN_READONLY: it never
//   creates the file or its folders and never writes to the file (SQLite may
//   still create the -wal and -shm files of a WAL database beside it, in a
//   folder it can write to). A missing path, a folder or a zero-byte file is
//   Error(kInput) naming it, the file untouched. In a folder SQLite cannot
//   create the -shm index in (a read-only folder), a WAL database with no
//   pending log (no -wal file, or an empty one) is read as immutable: no
//   writer can be at work where no file can be created; a pending log that
//   cannot be read there is Error(kInput) saying so.
// - Every later failure goes through Connection::fail(), which names the file
//   and what was being done ("doing"): SQLITE_BUSY / SQLITE_LOCKED (another
//   writer held the lock past the busy timeout) is Error(kOutput) saying the
//   file is locked; SQLITE_NOTADB / SQLITE_CORRUPT is Error(kInput) saying it
//   is not an inferbench results database; anything else is Error(kOutput)
//   with SQLite's message.
// - A Statement is prepared when constructed and finalized when destroyed.
//   Parameters are numbered from 1 and columns from 0, as in SQLite; text is
//   bound by copy (the argument need not outlive the call).
// - A Transaction is rolled back when destroyed unless commit() succeeded. The
//   default BEGIN IMMEDIATE takes the write lock at once, where the busy
//   timeout applies. A ReadTransaction reads one snapshot; inside another
//   transaction it does nothing.
// - Not thread-safe: one Connection and its Statements belong to one thread.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace inferbench::results::sqlite {

class Connection {
 public:
  // Takes ownership of `db` (closed by the destructor).
  Connection(std::filesystem::path path, sqlite3* db, int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] sqlite3* db() const { return db_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  // Turns an SQLite failure (`rc`, with the connection's last message) into
  // the Error described above.
  [[noreturn]] void fail(int rc, std::string_view doing) const;

  // Runs SQL that returns no rows (one or several statements).
  void exec(const char* sql, std::string_view doing);

  // The rowid of the last INSERT, and the rows the last statement changed.
  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;

 private:
  std::filesystem::path path_;
  sqlite3* db_;
  int busy_timeout_ms_;
};

// Opens (creating when missing) `path` for reading and writing.
std::unique_ptr<Connection> open(const std::filesystem::path& path, int busy_timeout_ms);

// Opens an existing `path` for reading only (see the contract above).
std::unique_ptr<Connection> open_read_only(const std::filesystem::path& path, int busy_timeout_ms);

// A private in-memory copy of `conn`'s database (SQLite's backup API), named
// by the same path in messages: what a reader migrates when the file itself
// must not change.
std::unique_ptr<Connection> copy_to_memory(Connection& conn);

class Statement {
 public:
  Statement(Connection& conn, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, std::string_view v);
  Statement& bind_null(int i);
  template <typename T>
  Statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // Advances; true when a row is ready, false when done. `doing` names the
  // work in errors.
  bool step(std::string_view doing = "a query");
  // Ready to step again from the start, with every parameter unbound.
  void reset();

  [[nodiscard]] bool is_null(int i) const;
  [[nodiscard]] std::int64_t int64(int i) const;
  [[nodiscard]] double real(int i) const;
  [[nodiscard]] std::string text(int i) const;  // "" for NULL

 private:
  Statement& check(int rc);

  Connection& conn_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Transaction {
 public:
  explicit Transaction(Connection& conn, const char* begin = "BEGIN IMMEDIATE");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& conn_;
  bool done_ = false;
};

class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& conn);

 private:
  std::optional<Transaction> t_;
};

}  // namespace inferbench::results::sqlite
