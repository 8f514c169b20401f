#pragma once
// A small reader of the Prometheus text format 0.0.4, written from the format's description
// (not from our writer), so the tests check what a scraper would read: HELP and TYPE lines
// unescaped, samples with their labels unescaped, and the histogram rules (per series, le in
// increasing order ending with +Inf, cumulative counts, +Inf equal to _count).

#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/parse_double.hpp"

namespace krishiv::trace::test {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> type;
  std::vector<Sample> samples;
  bool bucket_order_ok = true;

  bool has(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) return true;
    }
    return false;
  }
  // NaN when absent.
  double value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::numeric_limits<double>::quiet_NaN();
  }
};

inline std::optional<double> parse_sample_value(std::string_view v) {
  if (v == "+Inf") return std::numeric_limits<double>::infinity();
  if (v == "-Inf") return -std::numeric_limits<double>::infinity();
  if (v == "NaN") return std::numeric_limits<double>::quiet_NaN();
  // The library's own exact parse: libc++ 14 has no floating-point std::from_chars.
  return krishiv::trace::detail::parse_double_exact(v);
}

inline std::optional<Exposition> parse_exposition(std::string_view text) {
  Exposition e;
  if (!text.empty() && text.back() != '\n') return std::nullopt;
  // Histogram checks: per (base name, labels without le), the le values in order.
  std::map<std::pair<std::string, std::map<std::string, std::string>>,
           std::vector<std::pair<double, double>>>
      buckets;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const bool is_help = line[2] == 'H';
      line.remove_prefix(7);
      const std::size_t sp = line.find(' ');
      if (sp == std::string_view::npos) return std::nullopt;
      std::string name(line.substr(0, sp));
      std::string_view rest = line.substr(sp + 1);
      if (!is_help) {
        e.type[name] = std::string(rest);
        continue;
      }
      std::string out;
      for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] != '\\') {
          out += rest[i];
          continue;
        }
        if (++i == rest.size()) return std::nullopt;
        if (rest[i] == 'n') {
          out += '\n';
        } else if (rest[i] == '\\') {
          out += '\\';
        } else {
          out += '\\';  // other escapes are kept as they are in HELP
          out += rest[i];
        }
      }
      if (!e.help.emplace(std::move(name), std::move(out)).second) return std::nullopt;
      continue;
    }
    if (line.starts_with('#')) continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '}') {
          ++i;
          break;
        }
        const std::size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          return std::nullopt;
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        while (true) {
          if (i >= line.size()) return std::nullopt;
          const char c = line[i++];
          if (c == '"') break;
          if (c != '\\') {
            value += c;
            continue;
          }
          if (i >= line.size()) return std::nullopt;
          const char x = line[i++];
          if (x == 'n') {
            value += '\n';
          } else if (x == '\\' || x == '"') {
            value += x;
          } else {
            return std::nullopt;
          }
        }
        if (!s.labels.emplace(std::move(key), std::move(value)).second) return std::nullopt;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') return std::nullopt;
    const auto v = parse_sample_value(line.substr(i + 1));
    if (!v) return std::nullopt;
    s.value = *v;
    if (s.name.ends_with("_bucket")) {
      auto labels = s.labels;
      const auto le = labels.find("le");
      if (le == labels.end()) return std::nullopt;
      const auto bound = parse_sample_value(le->second);
      if (!bound) return std::nullopt;
      labels.erase(le);
      buckets[{s.name.substr(0, s.name.size() - 7), labels}].emplace_back(*bound, s.value);
    }
    e.samples.push_back(std::move(s));
  }
  for (const auto& [key, list] : buckets) {
    for (std::size_t k = 1; k < list.size(); ++k) {
      if (!(list[k - 1].first < list[k].first) || list[k - 1].second > list[k].second) {
        e.bucket_order_ok = false;
      }
    }
    if (list.empty() || !std::isinf(list.back().first) ||
        e.value(key.first + "_count", key.second) != list.back().second ||
        !e.has(key.first + "_sum", key.second)) {
      e.bucket_order_ok = false;
    }
  }
  return e;
}

}  // namespace krishiv::trace::test
