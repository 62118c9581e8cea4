#include "common/csv.h"

#include <fmt/format.h>

#include "common/error.h"

namespace inferbench {

std::string csv_field(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_field(fields[i]);
  }
  out += '\n';
  return out;
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text, std::string_view source) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  std::size_t line = 1;
  std::size_t i = 0;
  bool row_started = false;
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    rows.push_back(std::move(row));
    row.clear();
    row_started = false;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' && field.empty()) {
      row_started = true;
      const std::size_t open_line = line;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (!closed) fail(ExitCode::kInput, fmt::format("{}:{}: unterminated quoted field", source, open_line));
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        fail(ExitCode::kInput, fmt::format("{}:{}: unexpected character after a closing quote", source, line));
      }
      continue;
    }
    if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      row_started = true;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // CRLF: the LF ends the row.
    } else if (c == '\n') {
      end_row();
      ++line;
    } else {
      field += c;
      row_started = true;
    }
    ++i;
  }
  if (row_started || !field.empty() || !row.empty()) end_row();
  return rows;
}

}  // namespace inferbench
