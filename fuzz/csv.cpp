// parse_csv (src/common/csv.cpp), the reader under every manifest: any bytes
// either parse or are an input error; what parses survives writing it back
// with csv_row and parsing again unchanged.
#include "common/csv.h"
#include "fuzz.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::vector<std::string>> rows;
  fuzz::expect_code([&] { rows = parse_csv(fuzz::as_text(data, size), "fuzz.csv"); }, {ExitCode::kInput});
  std::string again;
  for (const auto& row : rows) again += csv_row(row);
  if (parse_csv(again, "fuzz-again.csv") != rows) fuzz::finding("csv_row then parse_csv changed the rows");
  return 0;
}
