#pragma once
// The Prometheus text exposition format, version 0.0.4 (prometheus.io/docs/instrumenting/
// exposition_formats, "Text format details"): what an HTTP /metrics endpoint serves.
//
// Per metric with at least one series: `# HELP` (backslash and line feed escaped), `# TYPE`,
// then per series, for a histogram, `_bucket{...,le="B"}` cumulative in increasing B and ending
// with le="+Inf" (= `_count`), `_sum` and `_count`; for a counter the name itself. Label values
// escape backslash, double quote and line feed. Numbers are written as Prometheus' own Go client
// writes them (strconv.FormatFloat(v, 'g', -1, 64): "0.0001", "2.5", "1e-05", "1e+06", "+Inf"),
// because Prometheus 2 keeps an `le` value as the text it scraped: queries and dashboards match
// le="0.0001" exactly.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "krishiv/trace/metrics/counter.hpp"
#include "krishiv/trace/metrics/histogram.hpp"
#include "krishiv/trace/metrics/registry.hpp"

namespace krishiv::trace::metrics {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace krishiv::trace::metrics

namespace krishiv::trace::detail {

inline void append_escaped_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// HELP text escapes backslash and line feed only (a double quote stays as it is).
inline void append_escaped_help(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back as v, in
// exponent form when the decimal exponent is < -4 or >= 6 (Go's rule for the shortest form),
// with a signed exponent of at least two digits.
inline void append_prometheus_float(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (v == 0) {
    out += std::signbit(v) ? "-0" : "0";
    return;
  }
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // "-d.ddde+XX"
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (exp_text.front() == '+') exp_text.remove_prefix(1);
  int exp = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  const auto nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (nd > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += exp < 0 ? "e-" : "e+";
    const int mag = exp < 0 ? -exp : exp;
    if (mag < 10) out += '0';
    out += std::to_string(mag);
  } else if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
  } else if (nd <= exp + 1) {
    out += digits;
    out.append(static_cast<std::size_t>(exp + 1 - nd), '0');
  } else {
    out.append(digits, 0, static_cast<std::size_t>(exp + 1));
    out += '.';
    out.append(digits, static_cast<std::size_t>(exp + 1));
  }
}

// `{a="x",b="y"` plus `extra` (already formatted, e.g. `le="0.5"`), then `}`; nothing when
// there are no labels at all.
inline void append_labels(std::string& out, const std::vector<std::string>& names,
                          std::span<const std::string> values, std::string_view extra = {}) {
  if (names.empty() && extra.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped_label_value(out, values[i]);
    out += '"';
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out += extra;
  }
  out += '}';
}

inline void append_header(std::string& out, const std::string& name, const std::string& help,
                          std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped_help(out, help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

inline void append_prometheus(std::string& out, const metrics::Counter& c) {
  bool any = false;
  c.for_each_series([&](std::span<const std::string> values, const metrics::CounterSeries& s) {
    if (!std::exchange(any, true)) append_header(out, c.name(), c.help(), "counter");
    out += c.name();
    append_labels(out, c.label_names(), values);
    out += ' ';
    out += std::to_string(s.value());
    out += '\n';
  });
}

inline void append_prometheus(std::string& out, const metrics::Histogram& h) {
  bool any = false;
  std::string le;
  h.for_each_series([&](std::span<const std::string> values, const metrics::HistogramSeries& s) {
    if (!std::exchange(any, true)) append_header(out, h.name(), h.help(), "histogram");
    const metrics::HistogramSnapshot snap = s.snapshot();
    const auto cumulative = snap.cumulative();
    for (std::size_t i = 0; i < cumulative.size(); ++i) {
      le = "le=\"";
      if (i < snap.bounds.size()) {
        append_prometheus_float(le, snap.bounds[i]);
      } else {
        le += "+Inf";
      }
      le += '"';
      out += h.name();
      out += "_bucket";
      append_labels(out, h.label_names(), values, le);
      out += ' ';
      out += std::to_string(cumulative[i]);
      out += '\n';
    }
    out += h.name();
    out += "_sum";
    append_labels(out, h.label_names(), values);
    out += ' ';
    append_prometheus_float(out, snap.sum);
    out += '\n';
    out += h.name();
    out += "_count";
    append_labels(out, h.label_names(), values);
    out += ' ';
    out += std::to_string(snap.count);
    out += '\n';
  });
}

}  // namespace krishiv::trace::detail

namespace krishiv::trace::metrics {

// The registry's exposed metrics, in registration order, as a /metrics response body.
inline std::string to_prometheus_text(const Registry& registry) {
  std::string out;
  registry.for_each([&](const auto& metric) { detail::append_prometheus(out, metric); });
  return out;
}

}  // namespace krishiv::trace::metrics
