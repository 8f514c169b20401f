#pragma once
// The OTLP/gRPC transport: sends already-encoded ExportTraceServiceRequest bytes to
// TraceService/Export (otlp::kTraceExportMethod) through grpc++'s generic API, with
// the OTLP retry rules (opentelemetry-proto docs/specification.md "OTLP/gRPC Response",
// "Failures", "OTLP/gRPC Throttling"; opentelemetry-specification protocol/exporter.md "Retry").
//
// Threading: send() is called from the exporter's one export thread, never from instrumented
// code. cancel() and shutdown() are safe from any thread. The transport must outlive every
// send() call (the exporter joins its thread before destroying it). It keeps no totals: each
// send() returns its ExportOutcome, and the exporter counts.
//
// Retry policy, per export:
// - one deadline, now + options.timeout; every attempt carries it as its gRPC deadline and no
//   backoff starts that would end past it, so send() returns within the timeout (plus the
//   scheduling slack of the gRPC threads);
// - retried codes: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS,
//   and RESOURCE_EXHAUSTED only when the server attached google.rpc.RetryInfo;
// - a RetryInfo delay is honoured as given (capped at otlp::kMaxRetryDelay), otherwise
//   exponential backoff with "equal jitter" (half the step fixed, half random);
// - an OK response is never retried, partial success or not.
//
// Memory stays bounded against any collector: one request buffer per send, responses capped by
// gRPC's 4 MiB receive limit (an oversize response fails as RESOURCE_EXHAUSTED without
// RetryInfo, so it is not retried, as the OTLP spec asks), and error strings kept for logging
// are truncated and deduplicated in a set of bounded size.

#include <grpc/compression.h>
#include <grpc/grpc.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/slice.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/detail/grpc_status.hpp"
#include "krishiv/trace/detail/log_limiter.hpp"
#include "krishiv/trace/detail/random.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/detail/tsan.hpp"
#include "krishiv/trace/exporters/otlp_grpc/options.hpp"
#include "krishiv/trace/otlp/fields.hpp"
#include "krishiv/trace/otlp/response.hpp"

namespace krishiv::trace::detail {

struct ExportOutcome {
  enum class Kind {
    Success,         // the collector accepted every span
    PartialSuccess,  // OK with partial_success set: rejected spans or a warning; not retried
    Failed,          // a non-retryable code, attempts or time exhausted, or an invalid request
    Cancelled,       // cancel() or shutdown() aborted it
  };
  Kind kind = Kind::Failed;
  std::int64_t rejected_spans = 0;
  std::string error;   // "CODE: message" or the partial-success message; empty on success
  int attempts = 0;    // calls actually started
  int retries = 0;     // attempts - 1, when at least one call started
  int grpc_code = -1;  // status of the last attempt; -1 when no call started
};

inline std::string_view grpc_code_name(int code) noexcept {
  const std::string_view name = grpc_status_name(code);
  return name.empty() ? std::string_view("UNKNOWN_CODE") : name;
}

// opentelemetry-proto specification.md "Failures" (OTLP/gRPC): the retryable codes;
// RESOURCE_EXHAUSTED only "if the server can recover", signalled by RetryInfo.
inline bool is_retryable(grpc::StatusCode code, bool has_retry_info) noexcept {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return has_retry_info;
    default:
      return false;
  }
}

inline std::optional<std::string> read_whole_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return std::nullopt;
  return std::move(ss).str();
}

class OtlpGrpcTransport {
 public:
  explicit OtlpGrpcTransport(OtlpGrpcOptions options) : options_(std::move(options)) {
    if (options_.timeout.count() <= 0) {
      config_warning("OtlpGrpcOptions::timeout", std::to_string(options_.timeout.count()) + "ms",
                     "is not positive", "10000ms");
      options_.timeout = std::chrono::milliseconds{10000};
    }
    // Silent clamps keep the deadline arithmetic (nanosecond steady_clock) far from overflow;
    // a backoff longer than the whole export could never run anyway.
    options_.timeout = std::min(options_.timeout, std::chrono::milliseconds{kMaxTimeout});
    auto& r = options_.retry;
    r.max_attempts = std::max(r.max_attempts, 1);
    r.max_backoff = std::clamp(r.max_backoff, std::chrono::milliseconds{1}, options_.timeout);
    r.initial_backoff = std::clamp(r.initial_backoff, std::chrono::milliseconds{1}, r.max_backoff);
    if (!(r.multiplier >= 1.0)) r.multiplier = 1.0;  // also catches NaN

    std::string problem;
    auto target = resolve_grpc_endpoint(options_.endpoint, options_.insecure, &problem);
    if (!target) {
      config_warning("OtlpGrpcOptions::endpoint", endpoint_for_log(options_.endpoint), problem,
                     otlp::kDefaultGrpcEndpoint);
      target = resolve_grpc_endpoint(otlp::kDefaultGrpcEndpoint, false, nullptr);
    }
    target_ = std::move(*target);
    // gRPC would fail every export quietly (UNAVAILABLE, retried); say so once, now.
    if (const std::string why = unix_socket_problem(target_.target); !why.empty()) {
      warning_line("OTLP/gRPC endpoint " + quote_for_log(target_.target) + ": " + one_line(why) +
                   "; exports fail until a collector listens there");
    }
    headers_ = sanitize_grpc_headers(options_.headers, "OtlpGrpcOptions::headers");

    grpc::ChannelArguments args;
    args.SetUserAgentPrefix(std::string(kOtlpUserAgent));
    // We retry per the OTLP rules; gRPC's own retries (possibly enabled by a service config
    // from DNS) would multiply attempts and blur the deadline.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    // gRPC's default reconnect backoff grows to 120 s: a collector that restarts, up for a
    // second or two at a time, would never be reached. Capped at 1 s (gRPC adds up to 20%
    // jitter), a collector that comes back is connected to within 1.2 s. The minimum is also
    // gRPC's floor for one connection attempt's timeout, so it stays at 1 s for distant or TLS
    // collectors.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel_ = grpc::CreateCustomChannel(target_.target, make_credentials(), args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  ~OtlpGrpcTransport() {
    shutdown();
    std::unique_lock<std::mutex> lk(mu_);
    // Cancelled calls complete promptly; their callbacks must not outlive the transport.
    idle_cv_.wait(lk, [this] { return active_.empty() && finishing_ == 0; });
    stop_timer_ = true;
    timer_cv_.notify_all();
    lk.unlock();
    if (timer_.joinable()) timer_.join();
  }
  OtlpGrpcTransport(const OtlpGrpcTransport&) = delete;
  OtlpGrpcTransport& operator=(const OtlpGrpcTransport&) = delete;

  // Called exactly once per send_async(): on a gRPC thread, on the transport's timer thread, or
  // inline in send_async() or cancel(). It must not block, nor call cancel() or shutdown().
  using Callback = std::function<void(ExportOutcome)>;

  // Starts sending one request and returns without waiting for the network: several sends may
  // be in flight at once. Retries per the OTLP rules until success, a final failure, the export
  // deadline (now + options.timeout, or `deadline` when sooner), or cancel(). `request` is
  // shared with gRPC, not copied.
  void send_async(grpc::Slice request, std::chrono::steady_clock::time_point deadline,
                  Callback done) {
    using Clock = std::chrono::steady_clock;
    auto c = std::make_shared<Call>();
    c->done = std::move(done);
    if (request.size() > otlp::kMaxRequestBytes) {
      c->out.error = "request of " + std::to_string(request.size()) + " bytes exceeds the " +
                     std::to_string(otlp::kMaxRequestBytes >> 20) +
                     " MiB OTLP limit; the batch must be split";
      c->done(finish_failed(std::move(c->out)));
      return;
    }
    const auto now = Clock::now();
    c->deadline = deadline - now > options_.timeout ? now + options_.timeout : deadline;
    c->request = grpc::ByteBuffer(&request, 1);
    c->step = std::chrono::duration_cast<Clock::duration>(options_.retry.initial_backoff);
    bool refused = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      refused = shut_down_;
      if (!refused) active_.insert(c);
    }
    if (refused) {
      c->done(finish_cancelled(std::move(c->out)));
      return;
    }
    start(c);
  }

  // Sends one request and waits for its outcome.
  ExportOutcome send(std::string_view request) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    ExportOutcome result;
    send_async(grpc::Slice(request.data(), request.size()),
               std::chrono::steady_clock::time_point::max(), [&](ExportOutcome out) {
                 std::lock_guard<std::mutex> lk(m);
                 result = std::move(out);
                 done = true;
                 cv.notify_all();
               });
    std::unique_lock<std::mutex> lk(m);
    cv.wait(lk, [&] { return done; });
    return result;
  }

  // Aborts every send in flight: calls on the wire are cancelled (ClientContext::TryCancel),
  // backoff waits end, and each send's callback gets Cancelled. Later sends proceed normally.
  void cancel() noexcept {
    std::vector<std::shared_ptr<Call>> calls;
    {
      std::lock_guard<std::mutex> lk(mu_);
      calls.assign(active_.begin(), active_.end());
    }
    for (const auto& c : calls) {
      c->cancelled.store(true, std::memory_order_release);
      std::shared_ptr<grpc::ClientContext> ctx;
      {
        std::lock_guard<std::mutex> lk(c->mu);
        ctx = c->ctx;
      }
      // No lock held: the completion may run inline in TryCancel(); it sees `cancelled`.
      if (ctx) ctx->TryCancel();
    }
    std::lock_guard<std::mutex> lk(mu_);
    timer_cv_.notify_all();
  }

  // cancel(), and every later send returns Cancelled without touching the network.
  void shutdown() noexcept {
    {
      std::lock_guard<std::mutex> lk(mu_);
      shut_down_ = true;
    }
    cancel();
  }

  const GrpcTarget& target() const noexcept { return target_; }

 private:
  // One send: its request, shared by every attempt, and its retry state.
  struct Call {
    grpc::ByteBuffer request;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::duration step{};
    Callback done;
    ExportOutcome out;
    std::atomic<bool> cancelled{false};
    std::mutex mu;  // ctx is replaced per attempt while cancel() may be reading it
    std::shared_ptr<grpc::ClientContext> ctx;
    grpc::ByteBuffer reply;
  };
  using CallPtr = std::shared_ptr<Call>;

  // Longest error string kept or logged; collectors' messages are not ours to bound.
  static constexpr std::size_t kMaxErrorChars = 1024;
  // Distinct messages logged once each; past this many, no more are logged.
  static constexpr std::size_t kMaxLoggedMessages = 64;
  // Longest export timeout honoured; longer settings are clamped to it.
  static constexpr std::chrono::hours kMaxTimeout{24};

  std::shared_ptr<grpc::ChannelCredentials> make_credentials() {
    if (!target_.tls) return grpc::InsecureChannelCredentials();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs =
        pem_or_file(options_.ca_pem, options_.ca_pem_file, "OtlpGrpcOptions::ca_pem_file",
                    "the system's root certificates");
    std::string key = pem_or_file(options_.client_key_pem, options_.client_key_file,
                                  "OtlpGrpcOptions::client_key_file", "no client certificate");
    std::string cert = pem_or_file(options_.client_cert_pem, options_.client_cert_file,
                                   "OtlpGrpcOptions::client_cert_file", "no client certificate");
    if (!key.empty() && !cert.empty()) {
      ssl.pem_private_key = std::move(key);
      ssl.pem_cert_chain = std::move(cert);
    } else if (key.empty() != cert.empty()) {
      // mTLS needs both; an unreadable file was reported above, a half left unset is now.
      const bool key_unset = options_.client_key_pem.empty() && options_.client_key_file.empty();
      const bool cert_unset = options_.client_cert_pem.empty() && options_.client_cert_file.empty();
      if (key_unset || cert_unset) {
        config_warning(
            key_unset ? "OtlpGrpcOptions::client_key_file" : "OtlpGrpcOptions::client_cert_file",
            "", "is empty while its other half (key or certificate) is set",
            "no client certificate");
      }
    }
    return grpc::SslCredentials(ssl);
  }

  static std::string pem_or_file(const std::string& pem, const std::string& file, const char* field,
                                 const char* fallback) {
    if (!pem.empty() || file.empty()) return pem;
    auto contents = read_whole_file(file);
    if (!contents || contents->empty()) {
      config_warning(field, file, "names a file that cannot be read", fallback);
      return {};
    }
    return std::move(*contents);
  }

  static constexpr const char* kNoTimeLeft =
      " (no time left in the export timeout for another attempt)";

  // Starts the next attempt of `c`, unless it is cancelled, out of time, or the collector asked
  // every request to wait (throttling): then the attempt waits on the timer thread.
  void start(const CallPtr& c) {
    using Clock = std::chrono::steady_clock;
    if (c->cancelled.load(std::memory_order_acquire)) {
      return finish(c, finish_cancelled(std::move(c->out)));
    }
    const auto now = Clock::now();
    if (now >= c->deadline) {
      c->out.error = c->out.attempts == 0 ? "DEADLINE_EXCEEDED: export timeout spent"
                                          : c->out.error + kNoTimeLeft;
      return finish(c, finish_failed(std::move(c->out)));
    }
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (throttle_until_ > now) {
        if (throttle_until_ >= c->deadline) {
          lk.unlock();
          c->out.error =
              (c->out.attempts == 0 ? std::string("RESOURCE_EXHAUSTED: throttled") : c->out.error) +
              kNoTimeLeft;
          return finish(c, finish_failed(std::move(c->out)));
        }
        schedule_locked(c, throttle_until_);
        return;
      }
    }
    auto ctx = std::make_shared<grpc::ClientContext>();
    // grpc++ takes system_clock deadlines; the remaining budget is measured on steady_clock.
    // time_point_cast: on libc++ the sum has the steady clock's (finer) period, which grpc++'s
    // TimePoint<system_clock::time_point> does not take.
    ctx->set_deadline(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::system_clock::now() + (c->deadline - now)));
    for (const auto& [k, v] : headers_) ctx->AddMetadata(k, v);
    if (options_.gzip) ctx->set_compression_algorithm(GRPC_COMPRESS_GZIP);
    grpc::ClientContext* raw = nullptr;
    {
      std::lock_guard<std::mutex> lk(c->mu);
      // cancel() sets the flag before taking c->mu: either it is seen here, or cancel() finds
      // this context and cancels it.
      if (!c->cancelled.load(std::memory_order_acquire)) {
        c->ctx = std::move(ctx);
        raw = c->ctx.get();
      }
    }
    if (raw == nullptr) return finish(c, finish_cancelled(std::move(c->out)));
    ++c->out.attempts;
    c->out.retries = c->out.attempts - 1;
    c->reply.Clear();
    tsan_release(c.get());
    stub_->UnaryCall(raw, method_, grpc::StubOptions(), &c->request, &c->reply,
                     [this, c](grpc::Status status) {
                       tsan_acquire(c.get());
                       on_done(c, std::move(status));
                     });
  }

  // An attempt's completion, on a gRPC thread (or inline in TryCancel()).
  void on_done(const CallPtr& c, grpc::Status status) {
    using Clock = std::chrono::steady_clock;
    ExportOutcome& out = c->out;
    out.grpc_code = static_cast<int>(status.error_code());
    if (status.ok()) {
      std::string response;
      std::vector<grpc::Slice> slices;
      if (c->reply.Valid() && c->reply.Dump(&slices).ok()) {
        for (const auto& s : slices) {
          response.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      return finish(c, finish_ok(std::move(out), response));
    }
    if (c->cancelled.load(std::memory_order_acquire)) {
      return finish(c, finish_cancelled(std::move(out)));
    }
    out.error = std::string(grpc_code_name(out.grpc_code)) + ": " + status.error_message();
    const otlp::StatusDetails details = otlp::decode_status_details(status.error_details());
    if (!is_retryable(status.error_code(), details.has_retry_info)) {
      return finish(c, finish_failed(std::move(out)));
    }
    if (out.attempts >= options_.retry.max_attempts) {
      out.error += " (gave up after " + std::to_string(out.attempts) + " attempts)";
      return finish(c, finish_failed(std::move(out)));
    }
    const auto now = Clock::now();
    Clock::duration delay{};
    if (details.retry_delay.count() > 0) {
      // OTLP/gRPC Throttling: wait what the server asked, then keep backing off from there.
      delay = std::chrono::duration_cast<Clock::duration>(details.retry_delay);
    } else {
      delay = jittered(c->step);
    }
    if (now + delay >= c->deadline) {
      out.error += kNoTimeLeft;
      return finish(c, finish_failed(std::move(out)));
    }
    const auto max_step = std::chrono::duration_cast<Clock::duration>(options_.retry.max_backoff);
    const double grown = static_cast<double>(c->step.count()) * options_.retry.multiplier;
    c->step = grown >= static_cast<double>(max_step.count())
                  ? max_step
                  : Clock::duration{static_cast<Clock::duration::rep>(grown)};
    if (details.retry_delay.count() > 0) c->step = std::max(c->step, delay);
    std::lock_guard<std::mutex> lk(mu_);
    if (details.retry_delay.count() > 0) {
      // The collector is overloaded, not this request: every request to it waits as long,
      // those in flight included, when they next start an attempt.
      throttle_until_ = std::max(throttle_until_, now + delay);
    }
    schedule_locked(c, now + delay);
  }

  void finish(const CallPtr& c, ExportOutcome out) {
    Callback done = std::move(c->done);
    // What holds gRPC objects goes now, before the owner hears of the end and may destroy the
    // transport (and the channel); the Call itself may live on a moment in gRPC's closure.
    c->request.Clear();  // the request's memory goes back to its owner
    c->reply.Clear();
    {
      std::lock_guard<std::mutex> lk(c->mu);
      c->ctx.reset();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      active_.erase(c);
      ++finishing_;
    }
    done(std::move(out));
    // The destructor waits for this: after it, nothing of this object may be touched.
    std::lock_guard<std::mutex> lk(mu_);
    --finishing_;
    if (active_.empty() && finishing_ == 0) idle_cv_.notify_all();
  }

  // One thread, started on the first retry, runs every backoff and throttling wait: no thread
  // per request, and no gRPC thread blocked.
  void schedule_locked(const CallPtr& c, std::chrono::steady_clock::time_point when) {
    timers_.emplace(when, c);
    if (!timer_.joinable()) {
      timer_ = std::thread([this] { run_timers(); });
    }
    timer_cv_.notify_all();
  }

  void run_timers() {
    std::unique_lock<std::mutex> lk(mu_);
    std::vector<CallPtr> due;
    while (!stop_timer_) {
      const auto now = std::chrono::steady_clock::now();
      for (auto it = timers_.begin(); it != timers_.end();) {
        if (it->first <= now || it->second->cancelled.load(std::memory_order_acquire)) {
          due.push_back(std::move(it->second));
          it = timers_.erase(it);
        } else {
          ++it;
        }
      }
      if (!due.empty()) {
        lk.unlock();
        for (const auto& c : due) start(c);
        due.clear();
        lk.lock();
        continue;
      }
      if (timers_.empty()) {
        timer_cv_.wait(lk);
      } else {
        timer_cv_.wait_until(lk, timers_.begin()->first);
      }
    }
  }

  // Equal jitter: half the step fixed, half uniformly random (exporter.md "Retry" asks for
  // jitter so that many clients recovering together do not retry in lockstep).
  static std::chrono::steady_clock::duration jittered(std::chrono::steady_clock::duration step) {
    const double u = static_cast<double>(thread_rng().next() >> 11) * 0x1.0p-53;  // [0, 1)
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(step * (0.5 + 0.5 * u));
  }

  ExportOutcome finish_ok(ExportOutcome out, std::string_view response) {
    out.kind = ExportOutcome::Kind::Success;
    out.error.clear();
    const otlp::ExportResponse r = otlp::decode_export_response(response);
    if (!r.well_formed) {
      // The status says the data was accepted; a garbled body does not undo that.
      log_once("collector answered OK with a malformed ExportTraceServiceResponse");
    }
    if (r.has_partial_success && (r.rejected_spans != 0 || !r.error_message.empty())) {
      // opentelemetry-proto specification.md "Partial Success": never retried; rejected_spans
      // 0 with a message is a warning.
      out.kind = ExportOutcome::Kind::PartialSuccess;
      out.rejected_spans = std::max<std::int64_t>(r.rejected_spans, 0);
      out.error = truncate(r.error_message);
      if (out.rejected_spans > 0) {
        log_once("collector rejected spans: " + out.error);
      } else {
        log_once("collector warning: " + out.error);
      }
    }
    return out;
  }

  ExportOutcome finish_failed(ExportOutcome out) {
    out.kind = ExportOutcome::Kind::Failed;
    out.error = truncate(out.error);
    // The first failure of a run at once, then at most one line a minute: a collector that
    // stays down must be visible without flooding the log.
    if (auto line = failure_log_.admit("export failed: " + out.error)) log_line(*line);
    return out;
  }

  static ExportOutcome finish_cancelled(ExportOutcome out) {
    out.kind = ExportOutcome::Kind::Cancelled;
    out.error = "CANCELLED: export cancelled by the exporter";
    return out;
  }

  static std::string truncate(std::string s) {
    if (s.size() > kMaxErrorChars) {
      s.resize(kMaxErrorChars);
      s += "...";
    }
    return s;
  }

  // A collector that stays down, or keeps rejecting, would otherwise print the same line for
  // every batch.
  void log_once(std::string message) {
    message = truncate(std::move(message));
    {
      std::lock_guard<std::mutex> lk(log_mu_);
      if (logged_.size() >= kMaxLoggedMessages || !logged_.insert(message).second) return;
    }
    log_line(message);
  }

  // Collector-supplied text (status messages, partial-success messages) is escaped to one line.
  void log_line(std::string_view message) {
    warning_line("OTLP/gRPC " + one_line(target_.target) + ": " + one_line(message));
  }

  OtlpGrpcOptions options_;
  GrpcTarget target_;
  std::vector<std::pair<std::string, std::string>> headers_;
  const std::string method_{otlp::kTraceExportMethod};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;

  // Sends in flight, backoff timers and throttling; cancel() may come from any thread.
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::condition_variable timer_cv_;
  std::set<CallPtr> active_;
  std::size_t finishing_ = 0;
  std::multimap<std::chrono::steady_clock::time_point, CallPtr> timers_;
  std::chrono::steady_clock::time_point throttle_until_{};
  bool shut_down_ = false;
  bool stop_timer_ = false;
  std::thread timer_;

  // Messages already logged (log_once).
  std::mutex log_mu_;
  std::set<std::string> logged_;
  LogLimiter failure_log_;
};

}  // namespace krishiv::trace::detail
