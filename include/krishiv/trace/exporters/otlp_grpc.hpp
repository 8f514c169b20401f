#pragma once
// OtlpGrpcExporter: OTLP over gRPC, the default exporter (opentelemetry-proto
// docs/specification.md "OTLP/gRPC").
//
// Including this header registers it behind TracerExporter::Otlp() and OTEL_TRACES_EXPORTER=otlp
// (provider.hpp), configured from the OTEL_EXPORTER_OTLP_* environment:
//
//   krishiv::trace::TracerProvider provider;  // OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT
//
// To override settings in code, or to keep a handle for stats(), build it yourself:
//
//   auto opts = krishiv::trace::OtlpGrpcOptions::from_env();
//   opts.endpoint = "http://collector:4317";
//   auto otlp = std::make_shared<krishiv::trace::OtlpGrpcExporter>(opts);
//   krishiv::trace::TracerProvider provider({.exporter = TracerExporter::Custom(otlp)});
//   ...
//   provider.shutdown();
//   auto s = otlp->stats();  // spans_exported, spans_failed, spans_rejected, retries, ...
//
// Where each lost span is counted: spans dropped before reaching the exporter (queue full, or
// ended after shutdown) are in TracerProvider::stats(); spans the exporter could not deliver
// (export error, cancellation) or the collector refused (partial success) are in stats() here.
//
// Requests: a batch is encoded into one buffer the exporter reuses (no allocation per span or,
// in steady state, per batch) and split into requests of at most kRecommendedRequestBytes
// (otlp/fields.hpp), because collectors refuse larger messages by default with a non-retryable
// RESOURCE_EXHAUSTED. Only a single span larger than that goes alone in a request of up to the
// OTLP limit, kMaxRequestBytes; a span over that limit is counted as failed. Each request is
// encoded straight into the memory gRPC sends from (no copy; the buffer comes back for reuse).
//
// Concurrency: up to OtlpGrpcOptions::max_concurrent_exports requests (default 16,
// KRISHIV_OTLP_MAX_CONCURRENT_EXPORTS) are in flight at once on gRPC's callback API, without a
// thread per request; the export thread waits only when that many are out. Each request has its
// own export timeout, retries included, bounded also by the pipeline's OTEL_BSP_EXPORT_TIMEOUT.
// A RetryInfo delay from the collector holds back every request's next attempt, not only the
// throttled one's. Requests may complete in any order (OTLP does not ask for ordering).
//
// Results: a batch succeeds when the collector accepted every request, partial successes
// included (rejected spans would be rejected again: the OTLP spec forbids retrying them), and
// fails when any request failed or was cancelled. The pipeline counts a batch as a whole, so for
// exact per-span numbers read stats(). force_flush() waits for every request in flight; when
// shutdown() returns, every span handed over is counted here.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/exporters/otlp_grpc/options.hpp"
#include "krishiv/trace/exporters/otlp_grpc/transport.hpp"
#include "krishiv/trace/otlp/encoder.hpp"
#include "krishiv/trace/otlp/fields.hpp"

namespace krishiv::trace {

// Totals since the exporter was built: the only OTLP/gRPC counters (the transport keeps none).
// Spans dropped before export are in PipelineStats.
struct OtlpExporterStats {
  std::uint64_t spans_exported = 0;   // accepted by the collector
  std::uint64_t spans_failed = 0;     // not delivered: export error, timeout, cancellation
  std::uint64_t spans_rejected = 0;   // delivered, but refused by the collector (partial success)
  std::uint64_t retries = 0;          // extra attempts, over all requests
  std::uint64_t requests = 0;         // requests sent (one per split of a batch)
  std::uint64_t requests_failed = 0;  // of which delivered nothing (failed or cancelled)
  std::string last_error;             // empty until something went wrong
};

class OtlpGrpcExporter : public SpanExporter {
 public:
  // Never throws for bad settings: each is reported once on stderr and replaced by its default.
  explicit OtlpGrpcExporter(OtlpGrpcOptions options = OtlpGrpcOptions::from_env())
      : max_in_flight_(static_cast<std::size_t>(std::max(options.max_concurrent_exports, 1))),
        transport_(std::move(options)) {}

  OtlpGrpcExporter(const OtlpGrpcExporter&) = delete;
  OtlpGrpcExporter& operator=(const OtlpGrpcExporter&) = delete;
  ~OtlpGrpcExporter() override {
    transport_.shutdown();
    wait_idle(std::chrono::steady_clock::time_point::max());
  }

  // Encodes the batch into requests before returning (the batch's views die with the call) and
  // sends them without waiting for answers, up to max_concurrent_exports requests in flight:
  // when that many are out, this waits for one to finish (or for `deadline`, or cancel()).
  // `done` runs once every request of the batch has its outcome, on whichever thread finished
  // the last one.
  void export_async(const SpanBatch& batch, std::chrono::steady_clock::time_point deadline,
                    ExportCallback done) override {
    auto state = std::make_shared<BatchState>();
    state->done = std::move(done);
    const std::uint64_t generation = cancel_generation_.load(std::memory_order_acquire);
    std::size_t i = 0;
    try {
      while (i < batch.size()) {
        if (cancel_generation_.load(std::memory_order_acquire) != generation) {
          // The batch's deadline passed: the caller wants this export over, not its remaining
          // requests each waiting out their own timeout.
          fail_spans(batch.size() - i, "CANCELLED: export cancelled by the exporter");
          state->failed = true;
          break;
        }
        std::unique_ptr<Buffer> buffer = take_buffer();
        std::size_t next =
            encoder_.encode_within(batch, i, detail::otlp::kRecommendedRequestBytes, buffer->bytes);
        if (next == i) {
          next = encoder_.encode_within(batch, i, detail::otlp::kMaxRequestBytes, buffer->bytes);
        }
        if (next == i) {
          fail_spans(1, "a span's encoding exceeds the " +
                            std::to_string(detail::otlp::kMaxRequestBytes >> 20) +
                            " MiB OTLP request limit; span dropped");
          state->failed = true;
          give_back(std::move(buffer));
          ++i;
          continue;
        }
        if (buffer->bytes.size() > request_bytes_hint_) {
          request_bytes_hint_ = std::min(buffer->bytes.size(), kMaxHintBytes);
        }
        const char* refused = acquire_slot(generation, deadline);
        if (refused != nullptr) {
          give_back(std::move(buffer));
          fail_spans(batch.size() - i, refused);
          state->failed = true;
          break;
        }
        send(state, std::move(buffer), next - i, deadline);
        i = next;
      }
    } catch (...) {
      // Out of memory growing a buffer or inside gRPC: lose the rest of this batch, not the
      // export thread.
      spans_failed_.fetch_add(batch.size() - i, std::memory_order_relaxed);
      state->failed = true;
    }
    complete_one(*state);
  }

  ExportResult export_batch(const SpanBatch& batch) override {
    std::mutex m;
    std::condition_variable cv;
    bool finished = false;
    ExportResult result = ExportResult::Failure;
    export_async(batch, std::chrono::steady_clock::time_point::max(), [&](ExportResult r) {
      std::lock_guard<std::mutex> lk(m);
      result = r;
      finished = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lk(m);
    cv.wait(lk, [&] { return finished; });
    return result;
  }

  // Waits until every request sent has its outcome (and is counted), or the timeout.
  bool force_flush(std::chrono::milliseconds timeout) override {
    return wait_idle(deadline_after(timeout));
  }

  // Waits for the requests in flight up to the timeout, then cancels what is left; every later
  // export fails at once, without touching the network. When this returns, every span handed
  // over is counted in stats().
  void shutdown(std::chrono::milliseconds timeout) override {
    wait_idle(deadline_after(timeout));
    transport_.shutdown();
    wait_idle(std::chrono::steady_clock::time_point::max());  // cancelled calls end promptly
  }

  // Ends the exports in progress: requests on the wire are cancelled, backoff waits end, and the
  // rest of a batch being sent is not sent. Later exports proceed. A cancel() landing in the
  // instant between two requests, before the transport has started the next call, reaches only
  // later requests of the batch.
  void cancel() noexcept override {
    cancel_generation_.fetch_add(1, std::memory_order_acq_rel);
    {
      std::lock_guard<std::mutex> lock(slot_mu_);
      slot_cv_.notify_all();
    }
    transport_.cancel();
  }

  // fork(): the child cannot use gRPC. Its threads (and this exporter's) stay in the parent, and
  // the child shares the parent's epoll descriptor, so a child polling it would take the parent's
  // events. gRPC's own fork support (GRPC_ENABLE_FORK_SUPPORT, grpc_prefork()) does not help the
  // callback API: gRPC 1.51 skips its fork handlers while its callback threads wait in a
  // completion queue, which they always do. So the child's spans are counted as failed
  // (PipelineStats::export_failed), promptly, and gRPC is never called there; this exporter is
  // not destroyed in the child (its destructor would wait for threads that are not there).
  ForkRule after_fork() noexcept override { return ForkRule::Unusable; }

  // Spans the pipeline gave up on at a timed-out shutdown count as failed here too.
  void discarded(std::size_t spans) noexcept override {
    spans_failed_.fetch_add(spans, std::memory_order_relaxed);
  }

  OtlpExporterStats stats() const {
    OtlpExporterStats s;
    s.spans_exported = spans_exported_.load(std::memory_order_relaxed);
    s.spans_failed = spans_failed_.load(std::memory_order_relaxed);
    s.spans_rejected = spans_rejected_.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    s.requests = requests_.load(std::memory_order_relaxed);
    s.requests_failed = requests_failed_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(error_mu_);
    s.last_error = last_error_;
    return s;
  }

  // The gRPC target the endpoint resolved to (e.g. "127.0.0.1:4317").
  const std::string& target() const noexcept { return transport_.target().target; }

 private:
  // A request's bytes, handed to gRPC as the slice's memory (no copy), and taken back for the
  // next request when gRPC releases the slice.
  struct BufferPool;
  struct Buffer {
    std::string bytes;
    std::weak_ptr<BufferPool> pool;  // gRPC may release a slice after the exporter is gone
  };
  struct BufferPool {
    std::mutex mu;
    std::vector<std::unique_ptr<Buffer>> free;
  };
  struct BatchState {
    std::atomic<std::size_t> pending{1};  // requests in flight, plus one while encoding
    std::atomic<bool> failed{false};
    ExportCallback done;
  };

  static std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds t) {
    const auto now = std::chrono::steady_clock::now();
    return t >= std::chrono::hours(24 * 365) ? std::chrono::steady_clock::time_point::max()
                                             : now + t;
  }

  static void complete_one(BatchState& s) {
    if (s.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      s.done(s.failed.load(std::memory_order_acquire) ? ExportResult::Failure
                                                      : ExportResult::Success);
    }
  }

  // nullptr once a request may go; otherwise why it may not.
  const char* acquire_slot(std::uint64_t generation,
                           std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(slot_mu_);
    const auto can_go = [&] {
      return in_flight_ < max_in_flight_ ||
             cancel_generation_.load(std::memory_order_acquire) != generation;
    };
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      slot_cv_.wait(lock, can_go);
    } else if (!slot_cv_.wait_until(lock, deadline, can_go)) {
      return "DEADLINE_EXCEEDED: export timeout spent waiting for a request slot";
    }
    if (cancel_generation_.load(std::memory_order_acquire) != generation) {
      return "CANCELLED: export cancelled by the exporter";
    }
    ++in_flight_;
    return nullptr;
  }

  void release_slot() {
    // Notified under the lock: a destructor waiting in wait_idle() cannot finish before this
    // thread is done touching the exporter.
    std::lock_guard<std::mutex> lock(slot_mu_);
    --in_flight_;
    slot_cv_.notify_all();
  }

  bool wait_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(slot_mu_);
    const auto idle = [&] { return in_flight_ == 0; };
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      slot_cv_.wait(lock, idle);
      return true;
    }
    return slot_cv_.wait_until(lock, deadline, idle);
  }

  std::unique_ptr<Buffer> take_buffer() {
    {
      std::lock_guard<std::mutex> lock(pool_->mu);
      if (!pool_->free.empty()) {
        std::unique_ptr<Buffer> b = std::move(pool_->free.back());
        pool_->free.pop_back();
        return b;
      }
    }
    auto b = std::make_unique<Buffer>();
    b->pool = pool_;
    // Sized like the largest request so far: a buffer grown from empty would copy itself through
    // every doubling on its first request, and a new exporter (or a burst that needs more
    // requests in flight) takes a new buffer for each of them.
    b->bytes.reserve(request_bytes_hint_);
    return b;
  }

  void give_back(std::unique_ptr<Buffer> b) noexcept { give_back(*pool_, std::move(b)); }
  static void give_back(BufferPool& pool, std::unique_ptr<Buffer> b) noexcept {
    // One huge span must not pin a buffer of up to kMaxRequestBytes for the life of the process.
    if (b->bytes.capacity() > kMaxPooledBytes) {
      std::string().swap(b->bytes);
    }
    std::lock_guard<std::mutex> lock(pool.mu);
    try {
      pool.free.push_back(std::move(b));
    } catch (...) {
      // Out of memory: the buffer is freed instead of reused.
    }
  }

  // gRPC's release of a request slice (any thread, possibly after the exporter is destroyed).
  static void release_buffer(void* p) {
    std::unique_ptr<Buffer> b(static_cast<Buffer*>(p));
    if (auto pool = b->pool.lock()) give_back(*pool, std::move(b));
  }

  // Sends `buffer`, which holds `spans` spans of the batch.
  void send(const std::shared_ptr<BatchState>& state, std::unique_ptr<Buffer> buffer,
            std::size_t spans, std::chrono::steady_clock::time_point deadline) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    state->pending.fetch_add(1, std::memory_order_relaxed);
    Buffer* b = buffer.release();
    grpc::Slice slice(b->bytes.data(), b->bytes.size(), &OtlpGrpcExporter::release_buffer, b);
    transport_.send_async(std::move(slice), deadline,
                          [this, state, spans](detail::ExportOutcome out) {
                            if (!count(out, spans)) state->failed = true;
                            complete_one(*state);
                            release_slot();
                          });
  }

  // Counts a request's outcome; false when its spans were not delivered.
  bool count(const detail::ExportOutcome& out, std::size_t spans) {
    retries_.fetch_add(static_cast<std::uint64_t>(out.retries), std::memory_order_relaxed);
    const auto n = static_cast<std::int64_t>(spans);
    switch (out.kind) {
      case detail::ExportOutcome::Kind::Success:
        spans_exported_.fetch_add(spans, std::memory_order_relaxed);
        return true;
      case detail::ExportOutcome::Kind::PartialSuccess: {
        // A collector may claim more rejections than the request held; count what we sent.
        const auto rejected = static_cast<std::size_t>(std::min(out.rejected_spans, n));
        spans_exported_.fetch_add(spans - rejected, std::memory_order_relaxed);
        spans_rejected_.fetch_add(rejected, std::memory_order_relaxed);
        if (rejected > 0) set_last_error(out.error);
        return true;
      }
      case detail::ExportOutcome::Kind::Failed:
      case detail::ExportOutcome::Kind::Cancelled:
        break;
    }
    requests_failed_.fetch_add(1, std::memory_order_relaxed);
    fail_spans(spans, out.error);
    return false;
  }

  void fail_spans(std::size_t n, std::string error) {
    spans_failed_.fetch_add(n, std::memory_order_relaxed);
    set_last_error(std::move(error));
  }

  void set_last_error(std::string error) {
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = std::move(error);
  }

  const std::size_t max_in_flight_;
  // Request slots; slot_cv_ also wakes wait_idle().
  std::mutex slot_mu_;
  std::condition_variable slot_cv_;
  std::size_t in_flight_ = 0;
  // Buffers gRPC gave back, reused for later requests.
  std::shared_ptr<BufferPool> pool_ = std::make_shared<BufferPool>();
  static constexpr std::size_t kMaxPooledBytes = 2 * detail::otlp::kRecommendedRequestBytes;
  // What a new buffer reserves: the largest request so far (export_async's thread only); at
  // first, about a batch of 512 small spans. At most 1 MiB: a few huge requests must not make
  // every later buffer reserve their size.
  static constexpr std::size_t kMaxHintBytes = std::size_t{1} << 20;
  std::size_t request_bytes_hint_ = std::size_t{64} << 10;

  OtlpEncoder encoder_;
  // Bumped by cancel(); an export that sees it change stops sending.
  std::atomic<std::uint64_t> cancel_generation_{0};

  std::atomic<std::uint64_t> spans_exported_{0};
  std::atomic<std::uint64_t> spans_failed_{0};
  std::atomic<std::uint64_t> spans_rejected_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> requests_failed_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;

  // Last: destroyed first, so no gRPC callback outlives the members above.
  detail::OtlpGrpcTransport transport_;
};

namespace detail {
// Runs before main in every program that includes this header: the core selects OTLP by name
// (TracerExporter::Otlp, OTEL_TRACES_EXPORTER=otlp) without depending on grpc++.
inline const bool otlp_grpc_exporter_registered = register_exporter(
    "otlp", []() -> std::unique_ptr<SpanExporter> { return std::make_unique<OtlpGrpcExporter>(); });
}  // namespace detail

}  // namespace krishiv::trace
