// The worker protocol, the child's side: job.json as worker_main reads it
// (JSON, then worker::job_from_json, src/worker/job.cpp). A job that reads is
// written back (to_json) and must read equal, and its stopping rule must be
// computable. (What the parent reads back: result.json is only parsed, a
// failure being the worker's failure (parent.cpp); samples.npy and logits.npy
// go through read_npy, the npy harness.)
#include <nlohmann/json.hpp>

#include "fuzz.h"
#include "worker/job.h"

using namespace inferbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;  // child.cpp: "not valid JSON", an input error
  worker::Job job;
  bool ok = false;
  fuzz::expect_code(
      [&] {
        job = worker::job_from_json(j);
        ok = true;
      },
      {ExitCode::kInput});
  if (ok) {
    const nlohmann::json written = worker::to_json(job);
    if (worker::to_json(worker::job_from_json(written)) != written) {
      fuzz::finding("to_json then job_from_json changed the job");
    }
    (void)worker::stop_rule(job.bench);
  }
  return 0;
}
