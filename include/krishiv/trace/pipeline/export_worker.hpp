#pragma once
// The recording pipeline's export side: one thread that takes the chunks the front end
// (pipeline/front_end.hpp) hands off, exports them in batches and gives them back; and the
// force_flush() and shutdown() requests it serves.
//
// The export thread cuts batches out of the chunks without reading them (SpanBatch reads records
// only when the exporter asks for a span): with an exporter that needs only the count, a chunk
// costs it the same whatever it holds, and producers' cache lines stay theirs.
//
// force_flush() also exports what sits in chunks still being filled: a writer never rewrites the
// committed part of a chunk, and only the export thread recycles chunks, so the export thread can
// read [read, committed) of a live chunk safely.

// Compile cost: the functions marked so run at setup, or on the export thread. They are templates
// with a defaulted parameter, called as before, so that their bodies and the library templates
// they use (the attribute variant's copies, make_shared, std::thread) are compiled only in the
// file that calls them, not in every file that includes the core (scripts/compile_cost.sh).

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "krishiv/trace/clock.hpp"
#include "krishiv/trace/detail/chrono.hpp"
#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/pipeline/chunk.hpp"
#include "krishiv/trace/pipeline/front_end.hpp"
#include "krishiv/trace/pipeline/options.hpp"
#include "krishiv/trace/pipeline/span_batch.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/resource.hpp"

namespace krishiv::trace::detail {

// What the child of a fork() exports with when its exporter cannot be used there.
class UnusableAfterFork final : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch&) override { return ExportResult::Failure; }
};

class ExportWorker final : public std::enable_shared_from_this<ExportWorker>,
                           public ForkParticipant {
 public:
  ExportWorker(std::shared_ptr<FrontEnd> front_end, std::unique_ptr<SpanExporter> exporter,
               BatchOptions options, Resource resource, InstrumentationScope scope)
      : front_(std::move(front_end)),
        exporter_(std::move(exporter)),
        options_(options),
        resource_(std::move(resource)),
        scope_(std::move(scope)) {}

  ~ExportWorker() { front_->set_fork_participant(nullptr); }

  ExportWorker(const ExportWorker&) = delete;
  ExportWorker& operator=(const ExportWorker&) = delete;

  // Starts the export thread, detached: it keeps the worker alive until it ends, so a shutdown
  // that times out on a stuck exporter can return. Detached also for fork(): no std::thread
  // object names the parent's thread, so the child has no handle it could neither join nor
  // destroy (~thread of a joinable handle terminates; joining a thread of the parent is
  // undefined), and starts its own the same way.
  template <typename = void>  // see "Compile cost" above
  void start() {
    relaunch_in_child_ = &ExportWorker::relaunch_in_child<>;
    front_->set_fork_participant(this);
    launch<>();
  }

  // ---- control (any thread) -----------------------------------------------------------------

  // Exports every span ended before the call; false if the timeout passed first.
  bool force_flush(std::chrono::milliseconds timeout) { return request(Request::Flush, timeout); }

  // Flushes, shuts the exporter down and stops the export thread. Spans ended afterwards are
  // dropped and counted. When the timeout passes first, the exports in flight are cancelled and
  // what is left is counted as failed: the counts are final when this returns (within the
  // timeout plus the moment the exporter takes to honour cancel(), at most kAbandonGrace).
  bool shutdown(std::chrono::milliseconds timeout) {
    if (!front_->stop_accepting()) return true;
    return request(Request::Shutdown, timeout);
  }

  PipelineStats stats() const {
    PipelineStats s = front_->stats();
    s.exported = exported_.load(std::memory_order_relaxed);
    s.export_failed = export_failed_.load(std::memory_order_relaxed);
    return s;
  }

  // ---- fork() (ForkParticipant; pipeline/active.hpp) ------------------------------------------

  bool park_for_fork(std::unique_lock<std::mutex>& lock) noexcept override {
    if (stopped_) return true;
    fork_pending_ = true;
    front_->wake();
    return fork_cv_.wait_for(lock, kForkPark, [&] { return parked_ || stopped_; });
  }

  void resume_after_fork() noexcept override {
    fork_pending_ = false;
    fork_cv_.notify_all();
  }

  // The child has the worker's memory but not its thread, nor the threads waiting in request():
  // new condition variables over the old ones (never destroyed: their destructors would wait for
  // those waiters), the parent's requests taken as served (nobody here waits for them), counters
  // from zero, the exporter's rule for the child (SpanExporter::after_fork), and a new thread.
  // The exporter is swapped here, before any other thread of the child can call cancel() on it.
  void restart_in_child(bool parked) noexcept override {
    new (&done_cv_) std::condition_variable;
    new (&fork_cv_) std::condition_variable;
    fork_pending_ = false;
    parked_ = false;
    completed_ = requested_;
    completed_snapshot_ = requested_;
    busy_ = false;
    exported_.store(0, std::memory_order_relaxed);
    export_failed_.store(0, std::memory_order_relaxed);
    if (stopped_) return;
    // Not parked: the export thread was in an exporter call or between chunks, state the child
    // cannot trust. The child records nothing: its spans are dropped and counted.
    if (!parked) return disable_in_child();
    (this->*relaunch_in_child_)();
  }

 private:
  enum class Request { Flush, Shutdown };

  // Set by start(), so that only the file that starts a worker compiles it (see "Compile cost").
  template <typename = void>
  void relaunch_in_child() noexcept {
    try {
      if (exporter_->after_fork() == ForkRule::Unusable) {
        // Never destroyed in the child: its destructor would wait for threads of the parent.
        static_cast<void>(exporter_.release());
        exporter_ = std::make_unique<UnusableAfterFork>();
      }
      launch<>();
    } catch (...) {
      disable_in_child();
    }
  }

  template <typename = void>
  void launch() {
    auto self = shared_from_this();
    std::thread([self] { self->run(); }).detach();
  }

  void disable_in_child() noexcept {
    front_->stop_accepting();
    stopped_ = true;
  }

  // The export thread, with the front end's mutex held: at rest until the fork is done.
  void park(std::unique_lock<std::mutex>& lock) {
    parked_ = true;
    fork_cv_.notify_all();
    fork_cv_.wait(lock, [&] { return !fork_pending_; });
    parked_ = false;
  }

  bool request(Request r, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(front_->mutex());
    if (stopped_) return r == Request::Shutdown;
    const std::uint64_t ticket = ++requested_;
    if (r == Request::Shutdown) shutdown_requested_ = true;
    flush_timeout_ = timeout;
    front_->wake();
    if (done_cv_.wait_until(lock, deadline, [&] { return completed_ >= ticket || stopped_; })) {
      return true;
    }
    // Deadline passed: an export is stuck (e.g. on the network). Make it give up; after a
    // shutdown, also skip whatever is left instead of giving each batch its own full timeout.
    lock.unlock();
    if (r == Request::Shutdown) abandoned_.store(true);
    exporter_->cancel();
    if (r == Request::Shutdown) {
      // Counts must be final when shutdown returns: the export thread now counts what is left
      // as failed without exporting it, which takes only as long as the exporter takes to honour
      // cancel() (an OTLP call ends at once). An exporter that ignores cancel() is waited for
      // up to kAbandonGrace, then left behind.
      lock.lock();
      done_cv_.wait_for(lock, kAbandonGrace, [&] { return stopped_; });
    }
    return false;
  }

  template <typename = void>  // see "Compile cost" above
  void run() {
    SpanBatch batch(resource_, scope_, time_base_);
    using Clock = std::chrono::steady_clock;
    // A zero delay would have this thread flush in a loop, burning a core: 1 ms is the floor.
    const auto delay = options_.schedule_delay > std::chrono::milliseconds(1)
                           ? options_.schedule_delay
                           : std::chrono::milliseconds(1);
    auto next_scheduled = Clock::now() + delay;
    for (;;) {
      std::uint64_t ticket = 0;
      bool shutting_down = false;
      // While spans keep coming (the last drain found chunks), poll for a few microseconds
      // before sleeping, as long as this thread has a CPU to itself: producers then pay no wake-up
      // system call, and chunks come back to the pool without a scheduler delay (tens of
      // microseconds to milliseconds in a VM whose idle vCPU halts). When the CPU is contended,
      // polling takes it from the producers: the thread then sleeps, and is woken when half the
      // pool waits for it.
      if (busy_ && Clock::now() >= contended_until_) poll();
      {
        std::unique_lock lock(front_->mutex());
        const auto woken = [&] { return requested_ > completed_ || fork_pending_; };
        if (!front_->has_full() || woken()) {
          front_->sleep_until(lock, next_scheduled, woken);
        }
        // Between batches: no lock held but this one, no exporter call in progress, the chunks
        // of the last batch recycled.
        if (fork_pending_) park(lock);
        ticket = requested_;
        shutting_down = shutdown_requested_;
      }
      const auto now = Clock::now();
      // The schedule delay bounds how long an ended span waits (the spec's scheduledDelayMillis),
      // including spans in chunks their threads are still filling, under load too.
      const bool scheduled = now >= next_scheduled;
      if (scheduled) next_scheduled = now + delay;
      time_base_ = SpanClock::instance().time_base();
      busy_ = drain(batch) != 0;
      if (ticket > completed_snapshot_ || scheduled) {
        flush_live(batch);
        busy_ |= drain(batch) != 0;  // chunks handed off while flush_live ran
        if (ticket > completed_snapshot_) exporter_->force_flush(flush_timeout_);
      }
      if (shutting_down) {
        // Abandoned: the deadline has passed, so in-flight exports are cancelled right away.
        exporter_->shutdown(abandoned_.load() ? std::chrono::milliseconds(0) : flush_timeout_);
        std::lock_guard lock(front_->mutex());
        completed_ = ticket;
        completed_snapshot_ = ticket;
        stopped_ = true;
        done_cv_.notify_all();
        return;
      }
      if (ticket > completed_snapshot_) {
        std::lock_guard lock(front_->mutex());
        completed_ = ticket;
        completed_snapshot_ = ticket;
        done_cv_.notify_all();
      }
    }
  }

  // Polls the hand-off stack for up to kPoll. A jump of the clock between two reads means this
  // thread lost its CPU meanwhile: when that adds up to an eighth of a window, other threads want
  // the CPU, and polling stops for kBackOff. (An occasional interrupt or kernel thread is not
  // contention; counting preemptions would say it is.)
  void poll() noexcept {
    using Clock = std::chrono::steady_clock;
    auto now = Clock::now();
    const auto until = now + kPoll;
    while (!front_->has_full() && now < until) {
      const auto t = Clock::now();
      if (t - now > kPreempted) lost_ += t - now;
      now = t;
    }
    if (now - window_start_ >= kWindow) {
      if (lost_ * 8 > now - window_start_) contended_until_ = now + kBackOff;
      window_start_ = now;
      lost_ = {};
    }
  }

  // Exports every handed-off chunk, oldest first; returns how many there were.
  template <typename = void>  // see "Compile cost" above
  std::size_t drain(SpanBatch& batch) {
    Chunk* list = front_->take_full();
    std::size_t chunks = 0;
    Chunk* fifo = nullptr;
    while (list != nullptr) {  // the stack is newest-first
      Chunk* next = list->next;
      list->next = fifo;
      fifo = list;
      list = next;
    }
    for (Chunk* c = fifo; c != nullptr; ++chunks) {
      Chunk* next = c->next;
      collect(batch, c, c->read, c->used, c->spans - c->read_spans);
      done_.push_back(c);  // recycled once the batch that holds its last records is exported
      c = next;
    }
    front_->drained(chunks);
    if (!batch.empty()) {
      export_batch(batch);
    } else {
      recycle_done(last_batch_read_);  // the last batch ended exactly at a chunk's end
    }
    return chunks;
  }

  // Exports the committed part of chunks that threads are still filling (rare: flushes and the
  // schedule delay).
  template <typename = void>  // see "Compile cost" above
  void flush_live(SpanBatch& batch) {
    live_.clear();
    front_->live_chunks(live_);
    for (const auto& [c, committed] : live_) {
      std::uint32_t spans = 0;
      for (std::uint32_t off = c->read; off < committed; ++spans) {
        off += record_size(c->data() + off);
      }
      collect(batch, c, c->read, committed, spans);
      c->read = committed;
      c->read_spans += spans;
    }
    if (!batch.empty()) export_batch(batch);
  }

  // Adds the `spans` records in [from, to) of a chunk, exporting whenever a batch fills up. The
  // records are not read here: a batch that fills up in the middle of the range takes its first
  // records, the next batch the rest (SpanBatch::add_records).
  void collect(SpanBatch& batch, Chunk* c, std::uint32_t from, std::uint32_t to,
               std::size_t spans) {
    const std::size_t max = options_.max_export_batch_size;
    for (std::size_t skip = 0; spans > 0;) {
      const std::size_t take = spans < max - batch.size() ? spans : max - batch.size();
      batch.add_records(c->data() + from, c->data() + to, skip, take);
      skip += take;
      spans -= take;
      if (batch.size() >= max) export_batch(batch);
    }
  }

  // Hands the batch to the exporter, then recycles the chunks no later batch points into: the
  // exporter is done with the records when export_async returns, though its result (counted by
  // the callback) may come later, from another thread.
  template <typename = void>  // see "Compile cost" above
  void export_batch(SpanBatch& batch) {
    const auto n = batch.size();
    if (abandoned_.load(std::memory_order_relaxed)) {
      export_failed_.fetch_add(n, std::memory_order_relaxed);
      exporter_->discarded(n);
    } else {
      try {
        const auto timeout = options_.export_timeout;
        // 0 (or less) means no limit, as in the declarative configuration.
        const auto deadline = timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout
                                                  : std::chrono::steady_clock::time_point::max();
        exporter_->export_async(batch, deadline, [this, n](ExportResult r) {
          (r == ExportResult::Success ? exported_ : export_failed_)
              .fetch_add(n, std::memory_order_relaxed);
        });
      } catch (...) {
        // An exporter that throws loses its batch, not the process.
        export_failed_.fetch_add(n, std::memory_order_relaxed);
      }
    }
    last_batch_read_ = batch.was_read();
    batch.clear();
    recycle_done(last_batch_read_);
  }

  void recycle_done(bool read) noexcept {
    for (Chunk* d : done_) front_->recycle(d, read);
    done_.clear();
  }

  std::shared_ptr<FrontEnd> front_;
  std::unique_ptr<SpanExporter> exporter_;
  BatchOptions options_;
  Resource resource_;
  InstrumentationScope scope_;

  // Export thread only.
  TimeBase time_base_;
  std::vector<Chunk*> done_;  // drained chunks the current batch points into
  bool last_batch_read_ = false;
  std::vector<std::pair<Chunk*, std::uint32_t>> live_;  // flush_live's list
  bool busy_ = false;                                   // the last drain found chunks
  std::chrono::steady_clock::time_point contended_until_{};
  std::chrono::steady_clock::time_point window_start_{};
  std::chrono::steady_clock::duration lost_{};  // CPU time lost while polling, this window
  std::uint64_t completed_snapshot_ = 0;        // copy of completed_
  // No pause instruction in the loop: under a hypervisor with pause-loop exiting, a vCPU that
  // pauses in a loop is descheduled, which is exactly the latency the polling is meant to avoid.
  static constexpr auto kPoll = std::chrono::microseconds(50);
  static constexpr auto kPreempted = std::chrono::microseconds(10);
  static constexpr auto kWindow = std::chrono::milliseconds(10);
  static constexpr auto kBackOff = std::chrono::milliseconds(250);
  static constexpr auto kAbandonGrace = std::chrono::seconds(2);
  // How long fork() waits for the export thread to finish the exporter call it is in.
  static constexpr auto kForkPark = std::chrono::seconds(2);

  // Requests, under the front end's mutex (the export thread sleeps on it).
  std::condition_variable done_cv_;
  std::uint64_t requested_ = 0;
  std::uint64_t completed_ = 0;
  bool shutdown_requested_ = false;
  bool stopped_ = false;
  std::chrono::milliseconds flush_timeout_{30000};
  // The fork handshake (park_for_fork), under the same mutex.
  std::condition_variable fork_cv_;
  bool fork_pending_ = false;
  bool parked_ = false;
  void (ExportWorker::*relaunch_in_child_)() noexcept = nullptr;  // set by start()

  std::atomic<bool> abandoned_{false};  // shutdown timed out: count what is left as failed
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> export_failed_{0};
};

}  // namespace krishiv::trace::detail
