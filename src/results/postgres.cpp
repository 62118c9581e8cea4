#include "results/postgres.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/error.h"

namespace inferbench::results::pg {

std::string redact(std::string_view url) {
  std::string out(url);
  const auto scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  // user:password@ in the authority (before the path or the query).
  const std::size_t start = scheme + 3;
  const std::size_t end = std::min(out.find('/', start), out.find('?', start));
  const std::size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at != std::string::npos && at >= start) {
    const std::size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // password=... among the parameters.
  const std::size_t query = out.find('?', start);
  if (query != std::string::npos) {
    for (std::size_t pos = query + 1; pos < out.size();) {
      std::size_t amp = out.find('&', pos);
      if (amp == std::string::npos) amp = out.size();
      if (out.compare(pos, 9, "password=") == 0) {
        out.replace(pos + 9, amp - pos - 9, "***");
        amp = out.find('&', pos);
        if (amp == std::string::npos) amp = out.size();
      }
      pos = amp + 1;
    }
  }
  return out;
}

namespace {

// libpq's messages span lines ("server closed the connection unexpectedly\n\t
// This probably means ..."): one line, for one line of stderr.
std::string one_line(std::string_view msg) {
  std::string out;
  bool space = false;
  for (const char c : msg) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------

Params& Params::add(std::int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

Params& Params::add(double v) {
  // fmt's "{}" is the shortest text that reads back as the same double.
  values_.emplace_back(fmt::format("{}", v));
  return *this;
}

Params& Params::add(std::string_view v) {
  values_.emplace_back(std::string(v));
  return *this;
}

Params& Params::add_null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

Params& Params::add_array(const std::vector<double>& values) {
  std::string text = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ',';
    fmt::format_to(std::back_inserter(text), "{}", values[i]);
  }
  text += '}';
  values_.emplace_back(std::move(text));
  return *this;
}

// ---------------------------------------------------------------------------

Rows::~Rows() {
  PQclear(r_);
}

Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    PQclear(r_);
    r_ = std::exchange(other.r_, nullptr);
  }
  return *this;
}

int Rows::size() const {
  return PQntuples(r_);
}

bool Rows::is_null(int row, int col) const {
  return PQgetisnull(r_, row, col) != 0;
}

std::string Rows::text(int row, int col) const {
  return is_null(row, col) ? std::string() : std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col));
}

std::int64_t Rows::int64(int row, int col) const {
  const char* s = PQgetvalue(r_, row, col);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc() || *end != '\0') throw std::logic_error(fmt::format("not an integer from PostgreSQL: '{}'", s));
  return v;
}

double Rows::real(int row, int col) const {
  const char* s = PQgetvalue(r_, row, col);
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0') throw std::logic_error(fmt::format("not a number from PostgreSQL: '{}'", s));
  return v;
}

bool Rows::boolean(int row, int col) const {
  return std::string_view(PQgetvalue(r_, row, col)) == "t";
}

int Rows::affected() const {
  const char* n = PQcmdTuples(r_);
  return *n == '\0' ? 0 : std::atoi(n);
}

// ---------------------------------------------------------------------------

Connection::Connection(const std::string& url) : location_(redact(url)) {
  // expand_dbname: the URI itself is the first value; the keywords after it
  // fill in what the URI leaves out (it wins where it sets them).
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {url.c_str(), "inferbench", nullptr};
  // connect_timeout: 10 s unless the URI or PGCONNECT_TIMEOUT says otherwise.
  const bool timeout_given = url.find("connect_timeout=") != std::string::npos || std::getenv("PGCONNECT_TIMEOUT");
  const char* keywords_t[] = {"dbname", "application_name", "connect_timeout", nullptr};
  const char* values_t[] = {url.c_str(), "inferbench", "10", nullptr};
  conn_ = timeout_given ? PQconnectdbParams(keywords, values, 1) : PQconnectdbParams(keywords_t, values_t, 1);
  if (conn_ == nullptr) throw std::bad_alloc();
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string msg = one_line(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    fail(ExitCode::kInput, fmt::format("cannot connect to the results database '{}': {}", location_, msg));
  }
  set_up_session();
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::ok() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

void Connection::set_up_session() {
  // Notices ("relation already exists, skipping") are not the user's business.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  exec("SET TIME ZONE 'UTC'");
  exec("SET extra_float_digits = 1");
  exec("SET client_min_messages = warning");
}

void Connection::throw_failure(pg_result* r) const {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  std::string msg =
      one_line(r != nullptr && *PQresultErrorMessage(r) != '\0' ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  PQclear(r);
  const bool lost = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") || sqlstate == "57P01" ||
                    sqlstate == "57P02" || sqlstate == "57P03";
  throw Failure(msg, std::move(sqlstate), lost);
}

Rows Connection::exec(std::string_view sql, const Params& params) {
  const std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.values().size());
  for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  pg_result* r =
      PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
  const ExecStatusType status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw_failure(r);
  return Rows(r);
}

void Connection::exec_script(const char* sql) {
  pg_result* r = PQexec(conn_, sql);
  const ExecStatusType status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw_failure(r);
  PQclear(r);
}

void Connection::reset() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    throw Failure(one_line(PQerrorMessage(conn_)), "", true);
  }
  set_up_session();
}

// ---------------------------------------------------------------------------

Transaction::Transaction(Connection& conn, const char* begin) : conn_(conn) {
  conn_.exec(begin);
}

Transaction::~Transaction() {
  if (done_ || !conn_.ok()) return;
  try {
    conn_.exec("ROLLBACK");
  } catch (const Failure&) {
    // Nothing to roll back on a connection that failed meanwhile.
  }
}

void Transaction::commit() {
  conn_.exec("COMMIT");
  done_ = true;
}

}  // namespace inferbench::results::pg
