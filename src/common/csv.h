#pragma once
// RFC 4180 CSV: fields quoted when they hold a comma, quote, CR or LF; quotes
// doubled. Enough for manifests and result exports (paths may hold commas,
// quotes and any UTF-8).
#include <string>
#include <string_view>
#include <vector>

namespace inferbench {

std::string csv_field(std::string_view field);
std::string csv_row(const std::vector<std::string>& fields);  // ends with "\n"

// Parses a whole document. Throws Error(kInput) with the line number on an
// unterminated quote or junk after a closing quote. `source` names the file in
// messages.
std::vector<std::vector<std::string>> parse_csv(std::string_view text, std::string_view source);

}  // namespace inferbench
