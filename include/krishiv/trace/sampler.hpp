#pragma once
// Head sampling: the OpenTelemetry built-in samplers (trace/sdk.md, "Built-in samplers") as one
// small value type. The span-start hot path calls should_sample() once per span: no virtual
// call, no allocation, no lock.
//
// Decisions are RECORD_AND_SAMPLE (true) or DROP (false). RECORD_ONLY, which records a span
// without setting its sampled flag, is not supported: no built-in sampler returns it, and
// supporting it would put unexported spans through every span processor.
//
// Not done: the SamplingResult's attributes and tracestate. In particular TraceIdRatioBased does
// not add `th:T` to the OpenTelemetry TraceState when it samples (a SHOULD of
// trace/sdk.md, "TraceIdRatioBased sampler algorithm"), which would cost an allocation per
// sampled span.

#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "krishiv/trace/detail/env.hpp"
#include "krishiv/trace/detail/parse_double.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/span_context.hpp"
#include "krishiv/trace/trace_state.hpp"

namespace krishiv::trace {

namespace detail {

// Randomness and rejection thresholds are 56-bit values (trace/tracestate-probability-sampling.md,
// "Rejection Threshold (th)"): the W3C Trace Context Level 2 random trace-id bits.
inline constexpr std::uint64_t kMaxThreshold = std::uint64_t{1} << 56;

// Rejection_Threshold = (1 - ratio) * 2^56, computed as 2^56 - round(ratio * 2^56) because the
// product is exact in a double and the subtraction is exact in integers. Ratio 0 gives 2^56,
// which no 56-bit randomness reaches (never sample); ratios in (0, 2^-56) are below the
// minimum valid ratio 2^-56 (trace/sdk.md, "TraceIdRatioBased sampler configuration") and are
// raised to it, so a non-zero ratio always samples something.
inline std::uint64_t ratio_to_threshold(double ratio) noexcept {
  if (!(ratio > 0.0)) return kMaxThreshold;
  if (ratio >= 1.0) return 0;
  // The builtin std::llround forwards to: <cmath> is ~9k preprocessed lines for this one call.
  auto kept =
      static_cast<std::uint64_t>(__builtin_llround(ratio * static_cast<double>(kMaxThreshold)));
  if (kept == 0) kept = 1;
  return kMaxThreshold - kept;
}

// The explicit randomness value: the `rv` sub-key of the OpenTelemetry `ot` tracestate entry,
// exactly 14 lowercase hex digits (trace/tracestate-handling.md, "Explicit randomness value
// rv"), e.g. `ot=th:8;rv:7479cfb506891d`. A malformed rv is ignored.
inline std::optional<std::uint64_t> explicit_randomness(const TraceState& state) noexcept {
  if (state.empty()) return std::nullopt;
  const auto ot = state.get("ot");
  if (!ot) return std::nullopt;
  std::string_view rest = *ot;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    const auto sub = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (sub.size() != 3 + 14 || sub.substr(0, 3) != "rv:") continue;
    std::array<std::uint8_t, 8> bytes{};
    if (!decode_hex_lc(sub.data() + 3, 7, bytes.data() + 1)) return std::nullopt;
    return load_be64(bytes.data());
  }
  return std::nullopt;
}

// Set once the compatibility warning of trace/sdk.md ("TraceIdRatioBased sampler compatibility
// warning") has been printed; tests reset it.
inline std::atomic<bool>& nonrandom_trace_id_warned() noexcept {
  static std::atomic<bool> warned{false};
  return warned;
}

inline void warn_nonrandom_trace_id_once() noexcept {
  // Load before exchange: after the first warning this runs per span, and a read-only check
  // keeps the flag's cache line shared between threads.
  auto& warned = nonrandom_trace_id_warned();
  if (warned.load(std::memory_order_relaxed)) return;
  if (warned.exchange(true, std::memory_order_relaxed)) return;
  std::fputs(
      "krishiv-trace: TraceIdRatioBased is presuming trace ids are random, but a parent context "
      "does not have the W3C Trace Context Level 2 random flag; upgrade callers to Level 2 "
      "(warned once)\n",
      stderr);
}

// Shortest text that reads back as `v` ("0.25", "1e-07", "nan").
inline std::string shortest_double(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace detail

class Sampler {
 public:
  // AlwaysOn: RECORD_AND_SAMPLE always; description "AlwaysOnSampler".
  static Sampler always_on() noexcept { return Sampler(Leaf{Kind::AlwaysOn, 1.0, 0}); }

  // AlwaysOff: DROP always; description "AlwaysOffSampler".
  static Sampler always_off() noexcept {
    return Sampler(Leaf{Kind::AlwaysOff, 0.0, detail::kMaxThreshold});
  }

  // TraceIdRatioBased (trace/sdk.md): samples when the randomness R (the parent's explicit `rv`
  // if it carries one, else the right-most 56 bits of the trace id) is >= the rejection
  // threshold T derived from `ratio`; it ignores the parent's sampled flag. A ratio outside
  // [0, 1] is clamped to it, and NaN taken as 0 (sample nothing rather than flood the
  // backend), each with one warning on stderr.
  static Sampler trace_id_ratio(double ratio) {
    constexpr const char* kWhat = "Sampler::trace_id_ratio";
    if (ratio != ratio) {  // NaN; <cmath> for std::isnan is ~9k preprocessed lines
      detail::config_warning(kWhat, detail::shortest_double(ratio), "is not a number", "0");
      ratio = 0.0;
    } else if (ratio < 0.0 || ratio > 1.0) {
      detail::config_warning(kWhat, detail::shortest_double(ratio), "is outside [0, 1]",
                             ratio < 0.0 ? "0" : "1");
      ratio = ratio < 0.0 ? 0.0 : 1.0;
    }
    return Sampler(Leaf{Kind::TraceIdRatio, ratio, detail::ratio_to_threshold(ratio)});
  }

  // ParentBased (trace/sdk.md): `root` decides for root spans, the other four for a parent that
  // is remote or local, sampled or not; the defaults are the spec's. A ParentBased sampler given
  // as root or delegate contributes the sampler it would use in the same situation, so nesting
  // decides exactly as the spec's composition does (only description() shows it flattened).
  static Sampler parent_based(const Sampler& root,
                              const Sampler& remote_parent_sampled = always_on(),
                              const Sampler& remote_parent_not_sampled = always_off(),
                              const Sampler& local_parent_sampled = always_on(),
                              const Sampler& local_parent_not_sampled = always_off()) noexcept {
    Sampler s = root;  // keeps root's kRoot entry
    s.by_case_[kRemoteSampled] = remote_parent_sampled.by_case_[kRemoteSampled];
    s.by_case_[kRemoteNotSampled] = remote_parent_not_sampled.by_case_[kRemoteNotSampled];
    s.by_case_[kLocalSampled] = local_parent_sampled.by_case_[kLocalSampled];
    s.by_case_[kLocalNotSampled] = local_parent_not_sampled.by_case_[kLocalNotSampled];
    s.parent_based_ = true;
    return s;
  }

  // OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (configuration/sdk-environment-variables.md).
  // Unset or empty: parentbased_always_on, and the argument is not read. Values are matched
  // case-insensitively after trimming spaces and tabs. A value naming a sampler this library
  // does not implement (jaeger_remote, parentbased_jaeger_remote, xray) or none at all is
  // ignored with one warning. The argument is read only by the two ratio samplers: a ratio in
  // [0, 1], 1.0 when unset; anything else is ignored with one warning, as if unset.
  static Sampler from_env() {
    constexpr const char* kVar = "OTEL_TRACES_SAMPLER";
    constexpr const char* kDefault = "parentbased_always_on";
    const auto raw = detail::env_string(kVar);
    if (!raw) return parent_based(always_on());
    const auto name = detail::ascii_lower(detail::trim_ows(*raw));
    if (name == "always_on") return always_on();
    if (name == "always_off") return always_off();
    if (name == "traceidratio") return trace_id_ratio(ratio_from_env());
    if (name == "parentbased_always_on") return parent_based(always_on());
    if (name == "parentbased_always_off") return parent_based(always_off());
    if (name == "parentbased_traceidratio") return parent_based(trace_id_ratio(ratio_from_env()));
    if (name == "jaeger_remote" || name == "parentbased_jaeger_remote" || name == "xray") {
      detail::config_warning(kVar, *raw, "names a sampler krishiv-trace does not implement",
                             kDefault);
    } else {
      detail::config_warning(kVar, *raw, "is not a known sampler", kDefault);
    }
    return parent_based(always_on());
  }

  // The decision for a span about to start with `trace_id` under `parent` (nullptr or an invalid
  // context for a root span). True is RECORD_AND_SAMPLE, false DROP.
  bool should_sample(const SpanContext* parent, const TraceId& trace_id) const noexcept {
    const bool has_parent = parent != nullptr && parent->is_valid();
    const Leaf& leaf = by_case_[has_parent ? parent_case(*parent) : kRoot];
    switch (leaf.kind) {
      case Kind::AlwaysOn:
        return true;
      case Kind::AlwaysOff:
        return false;
      case Kind::TraceIdRatio:
        break;
    }
    return ratio_decision(has_parent ? parent : nullptr, trace_id, leaf);
  }

  // should_sample() for the span-start fast path, given a valid parent or nullptr: Ask when the
  // decision needs more than the trace id (the parent's explicit randomness, or the
  // compatibility warning), for the caller to call should_sample() out of line.
  enum class Quick : std::uint8_t { Drop, Sample, Ask };
  Quick quick_decision(const SpanContext* parent, const TraceId& trace_id) const noexcept {
    const Leaf& leaf = by_case_[parent != nullptr ? parent_case(*parent) : kRoot];
    if (parent != nullptr && leaf.kind == Kind::TraceIdRatio &&
        (!parent->trace_state.empty() || !parent->flags.random())) [[unlikely]] {
      return Quick::Ask;
    }
    // AlwaysOn's threshold is 0 and AlwaysOff's 2^56, which no 56-bit randomness reaches: one
    // comparison for every kind, with no branch on it.
    return (trace_id.low() & (detail::kMaxThreshold - 1)) >= leaf.threshold ? Quick::Sample
                                                                            : Quick::Drop;
  }

  // "AlwaysOnSampler", "AlwaysOffSampler", "TraceIdRatioBased{0.250000}" (six decimals unless
  // more are needed to tell two ratios apart, e.g. "TraceIdRatioBased{0.0000001}"), or
  // "ParentBased{root:...,remoteParentSampled:...,remoteParentNotSampled:...,
  // localParentSampled:...,localParentNotSampled:...}".
  std::string description() const {
    if (!parent_based_) return describe(by_case_[kRoot]);
    return "ParentBased{root:" + describe(by_case_[kRoot]) +
           ",remoteParentSampled:" + describe(by_case_[kRemoteSampled]) +
           ",remoteParentNotSampled:" + describe(by_case_[kRemoteNotSampled]) +
           ",localParentSampled:" + describe(by_case_[kLocalSampled]) +
           ",localParentNotSampled:" + describe(by_case_[kLocalNotSampled]) + "}";
  }

  friend bool operator==(const Sampler&, const Sampler&) = default;

 private:
  enum class Kind : std::uint8_t { AlwaysOn, AlwaysOff, TraceIdRatio };

  // One built-in non-composite sampler. `ratio` is kept for description() only.
  struct Leaf {
    Kind kind;
    double ratio;
    std::uint64_t threshold;
    friend bool operator==(const Leaf&, const Leaf&) = default;
  };

  // The ParentBased table's rows (trace/sdk.md, "ParentBased").
  enum Case : std::uint8_t {
    kRoot,
    kRemoteSampled,
    kRemoteNotSampled,
    kLocalSampled,
    kLocalNotSampled,
    kCases
  };

  // A plain sampler decides the same in every case, so should_sample() is one table lookup for
  // both plain and ParentBased samplers.
  explicit Sampler(const Leaf& leaf) noexcept {
    for (auto& l : by_case_) l = leaf;
  }

  static Case parent_case(const SpanContext& parent) noexcept {
    if (parent.is_remote) return parent.sampled() ? kRemoteSampled : kRemoteNotSampled;
    return parent.sampled() ? kLocalSampled : kLocalNotSampled;
  }

  // The TraceIdRatioBased decision (trace/sdk.md, "TraceIdRatioBased sampler algorithm").
  static bool ratio_decision(const SpanContext* parent, const TraceId& trace_id,
                             const Leaf& leaf) noexcept {
    if (parent != nullptr) {
      if (auto rv = detail::explicit_randomness(parent->trace_state)) return *rv >= leaf.threshold;
      // Presuming trace-id randomness for a non-root span (trace/sdk.md, "Presumption of
      // TraceID randomness") warrants the compatibility warning when the flag does not confirm it.
      if (!parent->flags.random()) detail::warn_nonrandom_trace_id_once();
    }
    return (trace_id.low() & (detail::kMaxThreshold - 1)) >= leaf.threshold;
  }

  static std::string describe(const Leaf& leaf) {
    switch (leaf.kind) {
      case Kind::AlwaysOn:
        return "AlwaysOnSampler";
      case Kind::AlwaysOff:
        return "AlwaysOffSampler";
      case Kind::TraceIdRatio:
        break;
    }
    // trace/sdk.md, "TraceIdRatioBased sampler description": precision high enough to identify
    // when samplers have different ratios.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", leaf.ratio);
    std::string text = buf;
    const double back = detail::parse_double_exact(text).value_or(0.0);
    if (back != leaf.ratio) {
      const auto r = std::to_chars(buf, buf + sizeof buf, leaf.ratio, std::chars_format::fixed);
      text.assign(buf, r.ptr);
    }
    return "TraceIdRatioBased{" + text + "}";
  }

  static double ratio_from_env() {
    constexpr const char* kArg = "OTEL_TRACES_SAMPLER_ARG";
    const auto raw = detail::env_string(kArg);
    if (!raw) return 1.0;
    const auto ratio = detail::parse_double(*raw);
    if (!ratio) {
      detail::config_warning(kArg, *raw, "is not a number", "1.0");
      return 1.0;
    }
    if (!(*ratio >= 0.0 && *ratio <= 1.0)) {
      detail::config_warning(kArg, *raw, "is not a ratio in [0, 1]", "1.0");
      return 1.0;
    }
    return *ratio;
  }

  std::array<Leaf, kCases> by_case_{};
  bool parent_based_ = false;
};

}  // namespace krishiv::trace
