// krishiv/trace/otlp/response.hpp: an OK call's ExportTraceServiceResponse (partial success) and
// a failed call's google.rpc.Status (RetryInfo), as opentelemetry-proto docs/specification.md
// "OTLP/gRPC Response" and "OTLP/gRPC Throttling" describe them. Standard library only, so it
// runs in every build, sanitizers included; the round-trip test decodes libprotobuf's bytes too.

#include "krishiv/trace/otlp/response.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "response_bytes.hpp"

namespace otlp = krishiv::trace::detail::otlp;
using namespace response_bytes;
using namespace std::chrono_literals;
using std::chrono::nanoseconds;

namespace {

// ExportTraceServiceResponse with only fields the decoder does not know.
std::string unknown_fields() {
  return Message().varint(7, 1).bytes(9, "zz").str();
}

}  // namespace

TEST_CASE("partial success absent: a full success", "[otlp][response]") {
  for (const std::string& bytes : {std::string(), unknown_fields()}) {
    const auto r = otlp::decode_export_response(bytes);
    CHECK(r.well_formed);
    CHECK_FALSE(r.has_partial_success);
    CHECK(r.rejected_spans == 0);
    CHECK(r.error_message.empty());
  }
  // partial_success with another wire type is not the field; it is skipped.
  const auto r = otlp::decode_export_response(Message().varint(1, 5).str());
  CHECK(r.well_formed);
  CHECK_FALSE(r.has_partial_success);
}

TEST_CASE("partial success present but empty carries nothing", "[otlp][response]") {
  const auto r = otlp::decode_export_response(Message().bytes(1, "").str());
  CHECK(r.well_formed);
  CHECK(r.has_partial_success);
  CHECK(r.rejected_spans == 0);
  CHECK(r.error_message.empty());
}

TEST_CASE("partial success with 0 rejected and a message: a warning", "[otlp][response]") {
  const auto r = otlp::decode_export_response(partial_success(0, "deprecated field"));
  CHECK(r.well_formed);
  CHECK(r.has_partial_success);
  CHECK(r.rejected_spans == 0);
  CHECK(r.error_message == "deprecated field");
}

TEST_CASE("partial success with rejected spans", "[otlp][response]") {
  auto r = otlp::decode_export_response(partial_success(3, "bad span"));
  CHECK(r.well_formed);
  CHECK(r.has_partial_success);
  CHECK(r.rejected_spans == 3);
  CHECK(r.error_message == "bad span");

  // int64 as the sender wrote it; the transport clamps a negative count to 0.
  r = otlp::decode_export_response(partial_success(-1, ""));
  CHECK(r.rejected_spans == -1);
  r = otlp::decode_export_response(partial_success(std::numeric_limits<std::int64_t>::max(), ""));
  CHECK(r.rejected_spans == std::numeric_limits<std::int64_t>::max());

  // Unknown fields around and inside are skipped.
  const std::string inner = Message().varint(5, 1).int64(1, 4).bytes(2, "warn").bytes(6, "x").str();
  r = otlp::decode_export_response(unknown_fields() + Message().bytes(1, inner).str() +
                                   unknown_fields());
  CHECK(r.well_formed);
  CHECK(r.rejected_spans == 4);
  CHECK(r.error_message == "warn");

  // A message field that occurs twice merges; inside, the last scalar wins.
  r = otlp::decode_export_response(partial_success(3, "first") + partial_success(5, "") +
                                   partial_success(0, "last"));
  CHECK(r.rejected_spans == 5);
  CHECK(r.error_message == "last");
}

TEST_CASE("malformed ExportTraceServiceResponse: reported, no crash", "[otlp][response]") {
  // partial_success claims 5 bytes, 1 follows.
  auto r = otlp::decode_export_response(std::string("\x0a\x05\x08", 3));
  CHECK_FALSE(r.well_formed);
  CHECK(r.has_partial_success == false);

  // Damage inside partial_success: what came before it is kept.
  r = otlp::decode_export_response(Message().bytes(1, std::string("\x08\x02\x12\x09", 4)).str());
  CHECK_FALSE(r.well_formed);
  CHECK(r.has_partial_success);
  CHECK(r.rejected_spans == 2);

  // Every proper prefix of a one-field message is truncated.
  const std::string full = partial_success(300, "rejected: no name");
  for (std::size_t n = 1; n < full.size(); ++n) {
    INFO("prefix " << n);
    CHECK_FALSE(otlp::decode_export_response(full.substr(0, n)).well_formed);
  }
  const std::string garbage[] = {
      std::string("\x00", 1),                                               // field number 0
      std::string("\x0f", 1),                                               // wire type 7
      std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),  // 11-byte varint
      std::string("\x0c", 1),  // end-group without a start
  };
  for (const std::string& g : garbage) {
    CHECK_FALSE(otlp::decode_export_response(g).well_formed);
    CHECK_FALSE(otlp::decode_status_details(g).well_formed);
  }
}

TEST_CASE("Status without RetryInfo", "[otlp][response]") {
  for (const std::string& bytes :
       {std::string(), rpc_status(8, "x", {}), rpc_status(8, "x", {{kDebugInfoType, "zz"}}),
        rpc_status(14, "down",
                   {{kDebugInfoType, "zz"},
                    {"type.googleapis.com/google.rpc.QuotaFailure", retry_info(9, 0)}}),
        // Not the RetryInfo type: only the full name after the last '/' counts.
        rpc_status(8, "", {{"type.googleapis.com/google.rpc.RetryInfoX", retry_info(9, 0)}}),
        rpc_status(8, "", {{"google.rpc.RetryInfo", retry_info(9, 0)}})}) {
    const auto s = otlp::decode_status_details(bytes);
    CHECK(s.well_formed);
    CHECK_FALSE(s.has_retry_info);
    CHECK(s.retry_delay == 0ns);
  }
}

TEST_CASE("Status with RetryInfo: the delay", "[otlp][response]") {
  auto delay_of = [](std::int64_t seconds, std::int32_t nanos) {
    const auto s = otlp::decode_status_details(rpc_status(
        8, "slow down", {{kDebugInfoType, "zz"}, {kRetryInfoType, retry_info(seconds, nanos)}}));
    CHECK(s.well_formed);
    CHECK(s.has_retry_info);
    return s.retry_delay;
  };
  CHECK(delay_of(2, 500'000'000) == 2500ms);
  CHECK(delay_of(0, 300'000'000) == 300ms);  // nanos only
  CHECK(delay_of(7, 0) == 7s);               // seconds only
  CHECK(delay_of(0, 0) == 0ns);              // retry, with the exporter's own backoff
  CHECK(delay_of(599, 999'999'999) == 599s + 999'999'999ns);

  // Any host before the type name.
  const auto s = otlp::decode_status_details(
      rpc_status(14, "", {{"other.host/google.rpc.RetryInfo", retry_info(1, 0)}}));
  CHECK(s.has_retry_info);
  CHECK(s.retry_delay == 1s);

  // The first RetryInfo counts.
  const auto first = otlp::decode_status_details(
      rpc_status(14, "", {{kRetryInfoType, retry_info(1, 0)}, {kRetryInfoType, retry_info(5, 0)}}));
  CHECK(first.retry_delay == 1s);
}

TEST_CASE("RetryInfo: negative and absurd delays are clamped", "[otlp][response]") {
  auto delay_of = [](std::int64_t seconds, std::int32_t nanos) {
    const auto s = otlp::decode_status_details(
        rpc_status(14, "", {{kRetryInfoType, retry_info(seconds, nanos)}}));
    CHECK(s.has_retry_info);  // still a RetryInfo: RESOURCE_EXHAUSTED stays retryable
    return s.retry_delay;
  };
  // Duration: nanos in (-1e9, 1e9) with the sign of seconds; negative means "now".
  CHECK(delay_of(-5, 0) == 0ns);
  CHECK(delay_of(0, -1) == 0ns);
  CHECK(delay_of(-1, -500'000'000) == 0ns);
  CHECK(delay_of(1, 1'000'000'000) == 0ns);  // nanos out of range
  CHECK(delay_of(std::numeric_limits<std::int64_t>::min(), 0) == 0ns);
  // Longer than otlp::kMaxRetryDelay: capped.
  CHECK(delay_of(600, 0) == otlp::kMaxRetryDelay);
  CHECK(delay_of(100000, 0) == otlp::kMaxRetryDelay);
  CHECK(delay_of(std::numeric_limits<std::int64_t>::max(), 999'999'999) == otlp::kMaxRetryDelay);
}

TEST_CASE("malformed Status: reported, no crash", "[otlp][response]") {
  // details claims 16 bytes, 1 follows: no RetryInfo found.
  auto s = otlp::decode_status_details(std::string("\x1a\x10\x0a", 3));
  CHECK_FALSE(s.well_formed);
  CHECK_FALSE(s.has_retry_info);

  // A RetryInfo whose bytes do not parse: found, delay 0.
  s = otlp::decode_status_details(
      rpc_status(14, "", {{kRetryInfoType, std::string("\x0a\x09\x08", 3)}}));
  CHECK_FALSE(s.well_formed);
  CHECK(s.has_retry_info);
  CHECK(s.retry_delay == 0ns);

  // A damaged Any is skipped; a RetryInfo after it is still found.
  s = otlp::decode_status_details(rpc_status(14, "", {}) +
                                  Message().bytes(3, std::string("\x0a\x7f", 2)).str() +
                                  Message().bytes(3, any(kRetryInfoType, retry_info(3, 0))).str());
  CHECK_FALSE(s.well_formed);
  CHECK(s.has_retry_info);
  CHECK(s.retry_delay == 3s);

  // Every proper prefix of a one-field Status: malformed, and never a delay out of range.
  const std::string full = rpc_status(0, "", {{kRetryInfoType, retry_info(2, 500'000'000)}});
  for (std::size_t n = 1; n < full.size(); ++n) {
    INFO("prefix " << n);
    s = otlp::decode_status_details(full.substr(0, n));
    CHECK_FALSE(s.well_formed);
    CHECK(s.retry_delay >= 0ns);
    CHECK(s.retry_delay <= otlp::kMaxRetryDelay);
  }

  // Arbitrary bytes (a fixed xorshift sequence): never a crash, never a delay out of range.
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  int bad = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes;
    const std::size_t len = i % 64;
    for (std::size_t k = 0; k < len; ++k) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bytes += static_cast<char>(x);
    }
    (void)otlp::decode_export_response(bytes);
    const auto d = otlp::decode_status_details(bytes);
    if (d.retry_delay < 0ns || d.retry_delay > otlp::kMaxRetryDelay) ++bad;
  }
  CHECK(bad == 0);
}
