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
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/env.hpp"
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

inline const char* grpc_code_name(int code) noexcept {
  static constexpr const char* names[] = {"OK",
                                          "CANCELLED",
                                          "UNKNOWN",
                                          "INVALID_ARGUMENT",
                                          "DEADLINE_EXCEEDED",
                                          "NOT_FOUND",
                                          "ALREADY_EXISTS",
                                          "PERMISSION_DENIED",
                                          "RESOURCE_EXHAUSTED",
                                          "FAILED_PRECONDITION",
                                          "ABORTED",
                                          "OUT_OF_RANGE",
                                          "UNIMPLEMENTED",
                                          "INTERNAL",
                                          "UNAVAILABLE",
                                          "DATA_LOSS",
                                          "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? names[code] : "UNKNOWN_CODE";
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
    // gRPC's default reconnect backoff grows to 120 s; a collector that comes back should be
    // found within a few export timeouts, not minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 500);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    channel_ = grpc::CreateCustomChannel(target_.target, make_credentials(), args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  ~OtlpGrpcTransport() { shutdown(); }
  OtlpGrpcTransport(const OtlpGrpcTransport&) = delete;
  OtlpGrpcTransport& operator=(const OtlpGrpcTransport&) = delete;

  // Sends one request, retrying per the OTLP rules until success, a final failure, the export
  // deadline, or cancel().
  ExportOutcome send(std::string_view request) {
    using Clock = std::chrono::steady_clock;
    ExportOutcome out;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (shut_down_) return finish_cancelled(std::move(out));
      cancel_requested_ = false;
      in_flight_ = true;
    }
    struct InFlightGuard {
      OtlpGrpcTransport* t;
      ~InFlightGuard() {
        std::lock_guard<std::mutex> lk(t->mu_);
        t->in_flight_ = false;
      }
    } guard{this};

    if (request.size() > otlp::kMaxRequestBytes) {
      out.error = "request of " + std::to_string(request.size()) + " bytes exceeds the " +
                  std::to_string(otlp::kMaxRequestBytes >> 20) +
                  " MiB OTLP limit; the batch must be split";
      return finish_failed(std::move(out));
    }

    const auto deadline = Clock::now() + options_.timeout;
    grpc::Slice slice(request.data(), request.size());  // one copy, shared by every attempt
    const grpc::ByteBuffer buffer(&slice, 1);
    auto step = std::chrono::duration_cast<Clock::duration>(options_.retry.initial_backoff);
    const auto max_step = std::chrono::duration_cast<Clock::duration>(options_.retry.max_backoff);

    constexpr const char* kNoTimeLeft = " (no time left in the export timeout for another attempt)";
    for (;;) {
      if (Clock::now() >= deadline) {
        out.error =
            out.attempts == 0 ? "DEADLINE_EXCEEDED: export timeout spent" : out.error + kNoTimeLeft;
        return finish_failed(std::move(out));
      }
      std::string response;
      bool started = false;
      grpc::Status status = call_once(buffer, deadline, response, started);
      if (!started) return finish_cancelled(std::move(out));
      ++out.attempts;
      out.retries = out.attempts - 1;
      out.grpc_code = static_cast<int>(status.error_code());

      if (status.ok()) return finish_ok(std::move(out), response);
      if (cancel_pending()) return finish_cancelled(std::move(out));

      out.error = std::string(grpc_code_name(out.grpc_code)) + ": " + status.error_message();
      const otlp::StatusDetails details = otlp::decode_status_details(status.error_details());
      if (!is_retryable(status.error_code(), details.has_retry_info)) {
        return finish_failed(std::move(out));
      }
      if (out.attempts >= options_.retry.max_attempts) {
        out.error += " (gave up after " + std::to_string(out.attempts) + " attempts)";
        return finish_failed(std::move(out));
      }
      Clock::duration delay{};
      if (details.retry_delay.count() > 0) {
        // OTLP/gRPC Throttling: wait what the server asked, then keep backing off from there.
        delay = std::chrono::duration_cast<Clock::duration>(details.retry_delay);
      } else {
        delay = jittered(step);
      }
      if (Clock::now() + delay >= deadline) {
        out.error += kNoTimeLeft;
        return finish_failed(std::move(out));
      }
      if (!wait_for(delay)) return finish_cancelled(std::move(out));
      const double grown = static_cast<double>(step.count()) * options_.retry.multiplier;
      step = grown >= static_cast<double>(max_step.count())
                 ? max_step
                 : Clock::duration{static_cast<Clock::duration::rep>(grown)};
      if (details.retry_delay.count() > 0) step = std::max(step, delay);
    }
  }

  // Aborts the send() in flight, if any: its call is cancelled (ClientContext::TryCancel) and
  // its backoff wait ends; send() then returns Cancelled. Later sends proceed normally. A
  // cancel() that lands before send() starts is lost; use shutdown() to refuse for good.
  void cancel() noexcept {
    std::lock_guard<std::mutex> lk(mu_);
    cancel_locked();
  }

  // cancel(), and every later send() returns Cancelled without touching the network.
  void shutdown() noexcept {
    std::lock_guard<std::mutex> lk(mu_);
    shut_down_ = true;
    cancel_locked();
  }

  const GrpcTarget& target() const noexcept { return target_; }

 private:
  // Longest error string kept or logged; collectors' messages are not ours to bound.
  static constexpr std::size_t kMaxErrorChars = 1024;
  // Distinct messages logged once each; past this many, no more are logged.
  static constexpr std::size_t kMaxLoggedMessages = 64;
  // Longest export timeout honoured; longer settings are clamped to it.
  static constexpr std::chrono::hours kMaxTimeout{24};
  // Hang guard: past the deadline gRPC should have ended the call itself.
  static constexpr std::chrono::seconds kCallGrace{5};

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

  // One unary call bounded by `deadline`; cancel() reaches it through active_ctx_. `started`
  // stays false when a pending cancel() kept the call from starting.
  grpc::Status call_once(const grpc::ByteBuffer& request,
                         std::chrono::steady_clock::time_point deadline, std::string& response,
                         bool& started) {
    grpc::ClientContext ctx;
    // grpc++ takes system_clock deadlines; the remaining budget is measured on steady_clock.
    ctx.set_deadline(std::chrono::system_clock::now() +
                     (deadline - std::chrono::steady_clock::now()));
    for (const auto& [k, v] : headers_) ctx.AddMetadata(k, v);
    if (options_.gzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (cancel_requested_) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      active_ctx_ = &ctx;
    }
    started = true;
    {
      std::lock_guard<std::mutex> lk(done_mu_);
      call_done_ = false;
    }
    grpc::ByteBuffer reply;
    // The completion may run inline in a TryCancel() caller holding mu_, so it only takes
    // done_mu_, and nobody takes mu_ while holding done_mu_.
    tsan_release(this);
    stub_->UnaryCall(&ctx, method_, grpc::StubOptions(), &request, &reply, [this](grpc::Status s) {
      tsan_acquire(this);
      std::lock_guard<std::mutex> lk(done_mu_);
      call_status_ = std::move(s);
      call_done_ = true;
      done_cv_.notify_all();
    });
    grpc::Status status;
    {
      std::unique_lock<std::mutex> lk(done_mu_);
      if (!done_cv_.wait_until(lk, deadline + kCallGrace, [this] { return call_done_; })) {
        lk.unlock();
        ctx.TryCancel();
        lk.lock();
        // The callback still owns `reply` and `ctx` until it runs; it must be awaited.
        done_cv_.wait(lk, [this] { return call_done_; });
      }
      status = std::move(call_status_);
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      active_ctx_ = nullptr;
    }
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      if (reply.Valid() && reply.Dump(&slices).ok()) {
        for (const auto& s : slices) {
          response.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
    }
    return status;
  }

  // Equal jitter: half the step fixed, half uniformly random (exporter.md "Retry" asks for
  // jitter so that many clients recovering together do not retry in lockstep).
  static std::chrono::steady_clock::duration jittered(std::chrono::steady_clock::duration step) {
    const double u = static_cast<double>(thread_rng().next() >> 11) * 0x1.0p-53;  // [0, 1)
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(step * (0.5 + 0.5 * u));
  }

  // False when cancel() interrupted the wait.
  bool wait_for(std::chrono::steady_clock::duration delay) {
    std::unique_lock<std::mutex> lk(mu_);
    return !cancel_cv_.wait_for(lk, delay, [this] { return cancel_requested_; });
  }

  bool cancel_pending() {
    std::lock_guard<std::mutex> lk(mu_);
    return cancel_requested_;
  }

  void cancel_locked() noexcept {
    if (!in_flight_) return;
    cancel_requested_ = true;
    if (active_ctx_ != nullptr) active_ctx_->TryCancel();
    cancel_cv_.notify_all();
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

  // Cancellation state; cancel() may come from any thread.
  std::mutex mu_;
  std::condition_variable cancel_cv_;
  bool in_flight_ = false;
  bool cancel_requested_ = false;
  bool shut_down_ = false;
  grpc::ClientContext* active_ctx_ = nullptr;

  // Completion of the call in flight, written by a gRPC thread.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool call_done_ = false;
  grpc::Status call_status_;

  // Messages already logged (log_once).
  std::mutex log_mu_;
  std::set<std::string> logged_;
  LogLimiter failure_log_;
};

}  // namespace krishiv::trace::detail
