#pragma once
// Span limits (OpenTelemetry SDK "Span Limits"), with the spec's defaults and environment names.

#include <cstddef>
#include <cstdint>

#include "krishiv/trace/detail/env.hpp"

namespace krishiv::trace {

struct SpanLimits {
  static constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);

  std::size_t attribute_count = 128;
  std::size_t attribute_value_length = kUnlimited;
  std::size_t event_count = 128;
  std::size_t link_count = 128;
  std::size_t attributes_per_event = 128;
  std::size_t attributes_per_link = 128;

  // OTEL_SPAN_* first, then the general OTEL_ATTRIBUTE_* limits, then the defaults.
  static SpanLimits from_env() {
    SpanLimits l;
    const auto general_count = detail::env_u64("OTEL_ATTRIBUTE_COUNT_LIMIT", l.attribute_count);
    const auto general_length =
        detail::env_u64("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", l.attribute_value_length);
    l.attribute_count = detail::env_u64("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", general_count);
    l.attribute_value_length =
        detail::env_u64("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", general_length);
    l.event_count = detail::env_u64("OTEL_SPAN_EVENT_COUNT_LIMIT", l.event_count);
    l.link_count = detail::env_u64("OTEL_SPAN_LINK_COUNT_LIMIT", l.link_count);
    l.attributes_per_event =
        detail::env_u64("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", l.attributes_per_event);
    l.attributes_per_link =
        detail::env_u64("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", l.attributes_per_link);
    return l;
  }
};

}  // namespace krishiv::trace
