#include "results/sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <cctype>
#include <new>
#include <system_error>
#include <tuple>
#include <utility>

#include "common/error.h"

namespace inferbench::results::sqlite {

namespace fs = std::filesystem;

Connection::Connection(fs::path path, sqlite3* db, int busy_timeout_ms)
    : path_(std::move(path)), db_(db), busy_timeout_ms_(busy_timeout_ms) {}

Connection::~Connection() { sqlite3_close_v2(db_); }

void Connection::fail(int rc, std::string_view doing) const {
  const std::string file = path_.string();
  const char* msg = sqlite3_errmsg(db_);
  // Extended result codes (SQLITE_BUSY_SNAPSHOT, ...) share the primary code's low byte.
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      inferbench::fail(ExitCode::kOutput,
                       fmt::format("'{}' is locked by another writer (waited {} ms, {}): is another inferbench "
                                   "writing to this database?",
                                   file, busy_timeout_ms_, doing));
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      inferbench::fail(ExitCode::kInput, fmt::format("'{}' is not an inferbench results database ({})", file, msg));
    default:
      inferbench::fail(ExitCode::kOutput, fmt::format("'{}': {} failed: {}", file, doing, msg));
  }
}

void Connection::exec(const char* sql, std::string_view doing) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, doing);
}

std::int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Connection::changes() const { return sqlite3_changes(db_); }

std::unique_ptr<Connection> open(const fs::path& path, int busy_timeout_ms) {
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      fail(ExitCode::kOutput,
           fmt::format("cannot create directory '{}': {}", path.parent_path().string(), ec.message()));
    }
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 hands back a handle even when it fails (to read the
    // message from), except when it could not allocate one.
    const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    // A file that is not there could not be created: an output error (a
    // read-only folder); one that is there could not be read.
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(ExitCode::kOutput, fmt::format("cannot create '{}': {}", path.string(), msg));
    fail(ExitCode::kInput, fmt::format("cannot open '{}': {}", path.string(), msg));
  }
  auto conn = std::make_unique<Connection>(path, db, busy_timeout_ms);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return conn;
}

namespace {

// `path` as an SQLite URI ("file:..."), every byte but [A-Za-z0-9/._~-] percent-encoded.
std::string file_uri(const fs::path& path, std::string_view query) {
  std::string out = "file:";
  for (const unsigned char c : fs::absolute(path).string()) {
    if (std::isalnum(c) != 0 || c == '/' || c == '.' || c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  out += '?';
  out += query;
  return out;
}

// Opens `uri` read-only and reads the schema once (SQLite opens lazily: a WAL
// database's -shm index is only needed at the first read). Returns the handle
// and the probe's return code.
std::pair<sqlite3*, int> open_probe(const fs::path& path, const std::string& uri, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    // A file that is not there could not be created: an output error (a
    // read-only folder); one that is there could not be read.
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(ExitCode::kOutput, fmt::format("cannot create '{}': {}", path.string(), msg));
    fail(ExitCode::kInput, fmt::format("cannot open '{}': {}", path.string(), msg));
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return {db, sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr)};
}

}  // namespace

std::unique_ptr<Connection> open_read_only(const fs::path& path, int busy_timeout_ms) {
  const std::string file = path.string();
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) fail(ExitCode::kInput, fmt::format("'{}': no results database there", file));
  if (fs::is_directory(st)) fail(ExitCode::kInput, fmt::format("'{}' is a folder, not a results database", file));
  if (!fs::is_regular_file(st)) fail(ExitCode::kInput, fmt::format("'{}' is not a regular file", file));
  const auto size = fs::file_size(path, ec);
  if (ec) fail(ExitCode::kInput, fmt::format("cannot read '{}': {}", file, ec.message()));
  if (size == 0) {
    fail(ExitCode::kInput, fmt::format("'{}' is empty (0 bytes), not an inferbench results database", file));
  }

  auto [db, rc] = open_probe(path, file_uri(path, "mode=ro"), busy_timeout_ms);
  // SQLITE_READONLY / SQLITE_CANTOPEN here: a WAL database whose -shm index
  // cannot be created or opened, i.e. a folder that cannot be written.
  const int primary = rc & 0xff;
  if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) {
    const std::string first_msg = sqlite3_errmsg(db);
    sqlite3_close_v2(db);
    const fs::path wal = file + "-wal";
    const bool pending = fs::exists(wal, ec) && fs::file_size(wal, ec) > 0;
    if (pending) {
      fail(ExitCode::kInput,
           fmt::format("cannot read '{}': its write-ahead log '{}' holds changes that cannot be read in this "
                       "folder ({}); read it where the folder can be written",
                       file, wal.string(), first_msg));
    }
    std::tie(db, rc) = open_probe(path, file_uri(path, "mode=ro&immutable=1"), busy_timeout_ms);
  }
  // Any other failure of the probe (SQLITE_NOTADB, ...) is named by the
  // caller's first query, through Connection::fail.
  return std::make_unique<Connection>(path, db, busy_timeout_ms);
}

std::unique_ptr<Connection> copy_to_memory(Connection& conn) {
  sqlite3* mem = nullptr;
  if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(mem);
    throw std::bad_alloc();
  }
  auto copy = std::make_unique<Connection>(conn.path(), mem, 0);
  sqlite3_backup* b = sqlite3_backup_init(mem, "main", conn.db(), "main");
  if (b == nullptr) copy->fail(sqlite3_errcode(mem), "copying the database into memory");
  const int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) conn.fail(rc, "copying the database into memory");
  return copy;
}

// ---------------------------------------------------------------------------

Statement::Statement(Connection& conn, std::string_view sql) : conn_(conn) {
  const int rc = sqlite3_prepare_v2(conn.db(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) conn.fail(rc, "preparing a statement");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }

Statement& Statement::bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }

Statement& Statement::bind(int i, std::string_view v) {
  return check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
}

Statement& Statement::bind_null(int i) { return check(sqlite3_bind_null(stmt_, i)); }

bool Statement::step(std::string_view doing) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  conn_.fail(rc, doing);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

std::int64_t Statement::int64(int i) const { return sqlite3_column_int64(stmt_, i); }

double Statement::real(int i) const { return sqlite3_column_double(stmt_, i); }

std::string Statement::text(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))) : std::string();
}

Statement& Statement::check(int rc) {
  if (rc != SQLITE_OK) conn_.fail(rc, "binding a value");
  return *this;
}

// ---------------------------------------------------------------------------

// BEGIN IMMEDIATE by default: a deferred transaction that later upgrades a
// read to a write can get SQLITE_BUSY at once, without waiting, when another
// writer committed in between.
Transaction::Transaction(Connection& conn, const char* begin) : conn_(conn) {
  conn_.exec(begin, "starting a transaction");
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(conn_.db(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  conn_.exec("COMMIT", "committing");
  done_ = true;
}

// Every query in it sees the same snapshot (WAL readers never wait for the writer).
ReadTransaction::ReadTransaction(Connection& conn) {
  if (sqlite3_get_autocommit(conn.db()) != 0) t_.emplace(conn, "BEGIN");
}

}  // namespace inferbench::results::sqlite
