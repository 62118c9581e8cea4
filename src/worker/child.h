#pragma once
// The child side of a worker: the body of `inferbench worker --job FILE`
// (see worker/worker.h for the parent that starts it).
#include <filesystem>

namespace inferbench::worker {

// Reads the job, loads its artifact into its backend and runs it: mode
// "verify" runs the whole split once (result.json, logits.npy), mode "bench"
// runs the job's scenario (worker/scenario.h; result.json, samples.npy).
// Returns the process exit code; writes result.json on success. Errors are
// printed to stderr and mapped to their exit codes; std::bad_alloc to
// kWorkerOutOfMemory.
int worker_main(const std::filesystem::path& job_file);

}  // namespace inferbench::worker
