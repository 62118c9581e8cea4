#include "data/loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "data/image.h"

namespace inferbench::data {

namespace {

// Salts keep the shuffle stream and the augmentation streams independent, so
// turning augmentation on does not change the sample order.
constexpr std::uint64_t kShuffleSalt = 0x73687566666c65ULL;  // "shuffle"
constexpr std::uint64_t kAugmentSalt = 0x6175676d656e74ULL;  // "augment"

std::vector<std::size_t> epoch_order(std::size_t n, bool shuffle, std::uint64_t seed, std::uint64_t epoch) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (!shuffle || n < 2) return order;
  Rng rng = Rng(seed ^ kShuffleSalt).fork(epoch);
  // Fisher-Yates with the project Rng: the same permutation on every platform.
  for (std::size_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(rng.next_u64() % (i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

// Loads one sample into `out`. Every failure becomes Error(kInput) naming the
// file, so the consumer sees one kind of error whatever went wrong.
void load_sample(const Sample& sample, const LoaderOptions& opt, std::uint64_t epoch, std::size_t index, float* out) {
  try {
    const auto bytes = read_file_bytes(sample.path);
    DecodedImage decoded = decode_image(bytes);
    if (!decoded.ok()) {
      fail(ExitCode::kInput, fmt::format("cannot decode '{}': {} ({})", sample.path.string(),
                                         to_string(decoded.status), decoded.message));
    }
    if (opt.augment) {
      Rng rng = Rng(opt.seed ^ kAugmentSalt).fork(epoch).fork(index);
      normalize_into(augment(decoded.rgb, *opt.augment, opt.preprocess, rng), opt.preprocess, out);
    } else {
      preprocess_into(decoded.rgb, opt.preprocess, out);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ExitCode::kInput, fmt::format("cannot load '{}': {}", sample.path.string(), e.what()));
  }
}

}  // namespace

// Work is handed out per sample, not per batch, so that every thread helps
// even when only one batch may be in flight. Each sample's slot in its batch
// is fixed by its position in the epoch order, which makes the output
// independent of which thread finished first.
struct Loader::Impl {
  struct Pending {
    Batch batch;
    std::size_t remaining = 0;
    std::size_t error_pos = SIZE_MAX;  // position of the first failed sample, to report the same one every run
    std::exception_ptr error;
  };

  std::vector<Sample> samples;
  LoaderOptions opt;
  std::size_t tensor_size;
  unsigned thread_count;

  std::mutex mutex;
  std::condition_variable work_cv;   // workers: a claimable sample or stop
  std::condition_variable ready_cv;  // consumer: a batch completed
  bool started = false;
  bool stop = false;
  std::uint64_t epoch = 0;
  std::vector<std::size_t> order;
  std::size_t epoch_samples = 0;  // samples in this epoch (after drop_last)
  std::size_t next_pos = 0;       // next position to claim
  std::size_t consumed = 0;       // batches handed out
  std::map<std::size_t, Pending> pending;
  std::vector<std::thread> workers;

  Impl(std::vector<Sample> s, LoaderOptions o) : samples(std::move(s)), opt(std::move(o)) {
    opt.preprocess.validate();
    if (opt.batch_size == 0) fail(ExitCode::kUsage, "loader: batch_size must be at least 1");
    if (opt.threads < 0) fail(ExitCode::kUsage, fmt::format("loader: threads must be >= 0, got {}", opt.threads));
    tensor_size = opt.preprocess.tensor_size();
    thread_count =
        opt.threads > 0 ? static_cast<unsigned>(opt.threads) : std::max(1U, std::thread::hardware_concurrency());
  }

  ~Impl() { stop_workers(); }

  [[nodiscard]] std::size_t num_batches() const {
    const std::size_t n = samples.size();
    const std::size_t b = opt.batch_size;
    return opt.drop_last ? n / b : (n + b - 1) / b;
  }

  [[nodiscard]] std::size_t window() const { return std::max<std::size_t>(opt.prefetch_batches, 1); }

  void stop_workers() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    work_cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }

  void start(std::uint64_t e) {
    stop_workers();
    std::lock_guard lock(mutex);
    stop = false;
    started = true;
    epoch = e;
    order = epoch_order(samples.size(), opt.shuffle, opt.seed, e);
    epoch_samples = std::min(samples.size(), num_batches() * opt.batch_size);
    next_pos = 0;
    consumed = 0;
    pending.clear();
    const auto n = static_cast<unsigned>(std::min<std::size_t>(thread_count, std::max<std::size_t>(epoch_samples, 1)));
    workers.reserve(n);
    for (unsigned i = 0; i < n; ++i) workers.emplace_back([this] { work(); });
  }

  Pending& pending_for(std::size_t b) {
    auto [it, inserted] = pending.try_emplace(b);
    if (inserted) {
      const std::size_t first = b * opt.batch_size;
      const std::size_t n = std::min(opt.batch_size, epoch_samples - first);
      it->second.remaining = n;
      it->second.batch.data.resize(n * tensor_size);
      it->second.batch.labels.resize(n);
      it->second.batch.indices.assign(order.begin() + static_cast<std::ptrdiff_t>(first),
                                      order.begin() + static_cast<std::ptrdiff_t>(first + n));
    }
    return it->second;
  }

  void work() {
    std::unique_lock lock(mutex);
    for (;;) {
      work_cv.wait(lock, [&] {
        return stop || next_pos >= epoch_samples || next_pos / opt.batch_size < consumed + window();
      });
      if (stop || next_pos >= epoch_samples) return;
      const std::size_t pos = next_pos++;
      const std::size_t b = pos / opt.batch_size;
      const std::size_t k = pos % opt.batch_size;
      Pending& p = pending_for(b);  // std::map nodes stay put while other batches come and go
      const std::size_t index = order[pos];
      const std::uint64_t e = epoch;
      lock.unlock();

      std::exception_ptr error;
      try {
        load_sample(samples[index], opt, e, index, p.batch.data.data() + k * tensor_size);
      } catch (...) {
        error = std::current_exception();
      }

      lock.lock();
      p.batch.labels[k] = samples[index].label;
      if (error && pos < p.error_pos) {
        p.error_pos = pos;
        p.error = error;
      }
      if (--p.remaining == 0) ready_cv.notify_all();
    }
  }

  std::optional<Batch> next() {
    if (!started) start(0);
    std::unique_lock lock(mutex);
    if (consumed >= num_batches()) return std::nullopt;
    const std::size_t b = consumed;
    ready_cv.wait(lock, [&] {
      const auto it = pending.find(b);
      return it != pending.end() && it->second.remaining == 0;
    });
    auto node = pending.extract(b);
    ++consumed;
    lock.unlock();
    work_cv.notify_all();
    // A failed batch is consumed with its error: the caller may carry on with
    // the next batch or restart the epoch.
    if (node.mapped().error) std::rethrow_exception(node.mapped().error);
    return std::move(node.mapped().batch);
  }
};

Loader::Loader(std::vector<Sample> samples, LoaderOptions options)
    : impl_(std::make_unique<Impl>(std::move(samples), std::move(options))) {}

Loader::~Loader() = default;

void Loader::start_epoch(std::uint64_t epoch) { impl_->start(epoch); }

std::optional<Batch> Loader::next() { return impl_->next(); }

std::size_t Loader::num_samples() const { return impl_->samples.size(); }

std::size_t Loader::num_batches() const { return impl_->num_batches(); }

const LoaderOptions& Loader::options() const { return impl_->opt; }

}  // namespace inferbench::data
