#pragma once
// W3C Trace Context: the traceparent header, and extraction/injection of a SpanContext from/to
// the traceparent + tracestate pair. Spec references name the section anchor of
// https://www.w3.org/TR/trace-context-2/ (Level 2) or trace-context-1/ (Level 1 REC).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/span_context.hpp"
#include "krishiv/trace/trace_state.hpp"

namespace krishiv::trace {

namespace detail {

// Offsets of the fields shared by every traceparent version (#versioning-of-traceparent).
inline constexpr std::size_t kTpTraceIdAt = 3;
inline constexpr std::size_t kTpParentIdAt = 36;
inline constexpr std::size_t kTpFlagsAt = 53;

}  // namespace detail

// The traceparent header value: version-trace-id-parent-id-trace-flags.
struct TraceParent {
  TraceId trace_id;
  SpanId parent_id;
  TraceFlags flags;

  static constexpr std::size_t kSize = 55;

  // Flag bits this implementation understands and therefore re-emits: 0x01 sampled (#sampled-flag)
  // and the Level 2 0x02 random-trace-id flag (#random-trace-id-flag), which a participant
  // continuing a trace copies unchanged. Level 1 #other-flags: reserved bits "Vendors MUST set
  // those to zero", so they are masked out when writing version 00. parse() keeps the received
  // byte as is: it is the caller's input, and masking happens where we emit.
  static constexpr std::uint8_t kEmittedFlags = TraceFlags::kSampled | TraceFlags::kRandom;

  // Parses one traceparent value. Leading and trailing OWS (space, tab) is tolerated, as the W3C
  // test suite expects (test_traceparent_ows_handling). Version 00 must be exactly 55 chars. A
  // higher version (not ff, #version) is parsed per #versioning-of-traceparent: at least 55
  // chars, the three known fields at their version-00 offsets, and after the flags either the
  // end or a "-" followed by fields we must not interpret. Never allocates.
  static constexpr std::optional<TraceParent> parse(std::string_view s) noexcept {
    s = detail::trim_ows(s);
    if (s.size() < kSize) return std::nullopt;

    const int v_hi = detail::hex_value_lc(s[0]);
    const int v_lo = detail::hex_value_lc(s[1]);
    if ((v_hi | v_lo) < 0 || s[2] != '-') return std::nullopt;
    const int version = (v_hi << 4) | v_lo;
    if (version == 0xff) return std::nullopt;
    if (version == 0x00 ? s.size() != kSize : (s.size() > kSize && s[kSize] != '-')) {
      return std::nullopt;
    }
    if (s[detail::kTpParentIdAt - 1] != '-' || s[detail::kTpFlagsAt - 1] != '-') {
      return std::nullopt;
    }

    std::array<std::uint8_t, TraceId::kSize> tid{};
    std::array<std::uint8_t, SpanId::kSize> pid{};
    std::uint8_t flag_bits = 0;
    if (!detail::decode_hex_lc(s.data() + detail::kTpTraceIdAt, tid.size(), tid.data()) ||
        !detail::decode_hex_lc(s.data() + detail::kTpParentIdAt, pid.size(), pid.data()) ||
        !detail::decode_hex_lc(s.data() + detail::kTpFlagsAt, 1, &flag_bits)) {
      return std::nullopt;
    }
    TraceParent tp{TraceId(tid), SpanId(pid), TraceFlags(flag_bits)};
    // #trace-id, #parent-id: all-zero ids are invalid and the header MUST be ignored.
    if (!tp.trace_id.is_valid() || !tp.parent_id.is_valid()) return std::nullopt;
    return tp;
  }

  // Always version 00 (#versioning-of-traceparent: emit the highest version we know), exactly
  // kSize characters, no terminator.
  constexpr void write(char* out) const noexcept {
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    trace_id.write_hex(out + detail::kTpTraceIdAt);
    out[detail::kTpParentIdAt - 1] = '-';
    parent_id.write_hex(out + detail::kTpParentIdAt);
    out[detail::kTpFlagsAt - 1] = '-';
    const std::uint8_t bits = flags.bits() & kEmittedFlags;
    detail::encode_hex(&bits, 1, out + detail::kTpFlagsAt);
  }

  std::string to_string() const {
    std::string s(kSize, '\0');
    write(s.data());
    return s;
  }

  friend constexpr bool operator==(const TraceParent&, const TraceParent&) noexcept = default;
};

// A remote parent from the two incoming header values (several tracestate fields joined with ","
// by the caller; pass "" when absent). nullopt when traceparent is invalid, and then tracestate
// is not parsed (#tracestate-header: "If the vendor failed to parse traceparent, it MUST NOT
// attempt to parse tracestate"). An invalid tracestate is dropped and the traceparent kept.
inline std::optional<SpanContext> extract_span_context(std::string_view traceparent,
                                                       std::string_view tracestate) {
  const auto tp = TraceParent::parse(traceparent);
  if (!tp) return std::nullopt;
  SpanContext ctx;
  ctx.trace_id = tp->trace_id;
  ctx.span_id = tp->parent_id;
  ctx.flags = tp->flags;
  if (auto ts = TraceState::parse(tracestate)) ctx.trace_state = std::move(*ts);
  ctx.is_remote = true;
  return ctx;
}

// The traceparent value for a context, or "" for an invalid one (an all-zero id would make the
// receiver discard the header anyway, #trace-id).
inline std::string format_traceparent(const SpanContext& ctx) {
  if (!ctx.is_valid()) return {};
  return TraceParent{ctx.trace_id, ctx.span_id, ctx.flags}.to_string();
}

}  // namespace krishiv::trace
