#pragma once
// The human-readable printer: each batch of finished spans as a tree on stderr (or any FILE*).
//
//   run_job 5.012ms job_id="j-7" trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7
//     checkpoint_commit 1.234ms job_id="j-7" epoch=42 [error: disk full] span=53995c3f42cd8ad8
//       · manifest_written +0.200ms bytes=4096
//
// One line per span: name, duration, kind (when not internal), fields, status, then ids. A span
// whose parent is in the same batch is printed under it (siblings by start time), so a child
// line carries only its span id: trace and parent are those of the lines above it. Every other
// span starts a tree and carries its trace id, and its parent id when it has one. Events follow
// their span, each on its own line, timed from the span's start.
//
// Including this header registers the exporter behind TracerExporter::Stdout() (provider.hpp).

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <tuple>
#include <vector>

#ifdef _WIN32
#include <io.h>
#else
#include <unistd.h>
#endif

#include "krishiv/trace/exporter.hpp"
#include "krishiv/trace/ids.hpp"
#include "krishiv/trace/provider.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace {

enum class ColorMode {
  Auto,    // when the file is a terminal and NO_COLOR is unset or empty
  Always,  // an explicit choice: wins over NO_COLOR
  Never,
};

struct ConsoleExporterOptions {
  std::FILE* file = nullptr;  // nullptr: stderr
  ColorMode color = ColorMode::Auto;
};

namespace detail {

// https://no-color.org: "when present and not an empty string" colour is off. TERM=dumb is
// honoured too, as terminals that set it cannot render escape sequences.
inline bool should_colorize(std::FILE* f, ColorMode mode) noexcept {
  if (mode != ColorMode::Auto) return mode == ColorMode::Always;
  if (const char* v = std::getenv("NO_COLOR"); v != nullptr && *v != '\0') return false;
  if (const char* t = std::getenv("TERM"); t != nullptr && std::strcmp(t, "dumb") == 0) {
    return false;
  }
#ifdef _WIN32
  return _isatty(_fileno(f)) != 0;
#else
  return ::isatty(::fileno(f)) != 0;
#endif
}

// SGR sequences, or empty strings when colour is off (so the format code has no branches).
struct Palette {
  std::string_view name, duration, key, id, event, error, ok, reset;

  static Palette make(bool color) noexcept {
    if (!color) return {};
    return {.name = "\x1b[1m",       // bold
            .duration = "\x1b[36m",  // cyan
            .key = "\x1b[2m",        // dim
            .id = "\x1b[2m",
            .event = "\x1b[33m",    // yellow
            .error = "\x1b[1;31m",  // bold red
            .ok = "\x1b[32m",       // green
            .reset = "\x1b[0m"};
  }
};

inline void append(fmt::memory_buffer& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

// Length of the well-formed UTF-8 sequence at the start of s and its code point; 0 when the
// bytes are not UTF-8 (stray continuation, overlong form, surrogate, beyond U+10FFFF, cut off).
inline std::size_t decode_utf8(std::string_view s, std::uint32_t& cp) noexcept {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t n;
  std::uint32_t min;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Span strings come from anywhere (user input, remote peers): control characters are escaped so
// that they can neither break the one-line-per-span layout nor drive the terminal. That includes
// DEL and the C1 range U+0080..U+009F (some terminals act on U+009B as CSI). Bytes that are not
// UTF-8 are shown as \xNN; other UTF-8 passes through.
inline void append_escaped(fmt::memory_buffer& out, std::string_view s, bool quoted) {
  if (quoted) out.push_back('"');
  while (!s.empty()) {
    std::uint32_t cp = 0;
    const std::size_t n = decode_utf8(s, cp);
    if (n == 0) {
      fmt::format_to(fmt::appender(out), "\\x{:02x}", static_cast<unsigned char>(s[0]));
      s.remove_prefix(1);
      continue;
    }
    switch (cp) {
      case '\n':
        append(out, "\\n");
        break;
      case '\r':
        append(out, "\\r");
        break;
      case '\t':
        append(out, "\\t");
        break;
      case '"':
      case '\\':
        if (quoted) out.push_back('\\');
        out.push_back(static_cast<char>(cp));
        break;
      default:
        if (cp < 0x20 || cp == 0x7F) {
          fmt::format_to(fmt::appender(out), "\\x{:02x}", cp);
        } else if (cp >= 0x80 && cp < 0xA0) {
          fmt::format_to(fmt::appender(out), "\\u{{{:x}}}", cp);
        } else {
          out.append(s.data(), s.data() + n);
        }
    }
    s.remove_prefix(n);
  }
  if (quoted) out.push_back('"');
}

// Exact integer arithmetic (no rounding) so equal durations always print alike.
inline void append_duration(fmt::memory_buffer& out, std::int64_t ns) {
  std::uint64_t u = static_cast<std::uint64_t>(ns);
  if (ns < 0) {
    out.push_back('-');
    u = ~u + 1;  // also right for INT64_MIN
  }
  auto o = fmt::appender(out);
  if (u < 1'000) {
    fmt::format_to(o, "{}ns", u);
  } else if (u < 1'000'000) {
    fmt::format_to(o, "{}.{:03}\xc2\xb5s", u / 1'000, u % 1'000);
  } else if (u < 1'000'000'000) {
    fmt::format_to(o, "{}.{:03}ms", u / 1'000'000, u / 1'000 % 1'000);
  } else {
    fmt::format_to(o, "{}.{:03}s", u / 1'000'000'000, u / 1'000'000 % 1'000);
  }
}

inline void append_value(fmt::memory_buffer& out, const ValueView& v) {
  auto o = fmt::appender(out);
  switch (v.type()) {
    case ValueType::Bool:
      append(out, v.as_bool() ? "true" : "false");
      return;
    case ValueType::Int:
      fmt::format_to(o, "{}", v.as_int());
      return;
    case ValueType::Double:
      fmt::format_to(o, "{}", v.as_double());
      return;
    case ValueType::String:
      append_escaped(out, v.as_string(), true);
      return;
    case ValueType::Bytes:
      append(out, "0x");
      for (char c : v.as_string()) fmt::format_to(o, "{:02x}", static_cast<unsigned char>(c));
      return;
    case ValueType::Array: {
      out.push_back('[');
      bool first = true;
      v.for_each_element([&](const ValueView& e) {
        if (!first) append(out, ", ");
        first = false;
        append_value(out, e);
      });
      out.push_back(']');
      return;
    }
    case ValueType::KvList: {
      out.push_back('{');
      bool first = true;
      v.for_each_entry([&](std::string_view k, const ValueView& e) {
        if (!first) append(out, ", ");
        first = false;
        append_escaped(out, k, false);
        out.push_back('=');
        append_value(out, e);
      });
      out.push_back('}');
      return;
    }
  }
}

// Unquoted for reading; an empty name is shown as "" so that it still takes a column.
inline void append_name(fmt::memory_buffer& out, std::string_view name) {
  append_escaped(out, name, name.empty());
}

inline void append_attribute(fmt::memory_buffer& out, const Palette& p, std::string_view key,
                             const ValueView& v) {
  out.push_back(' ');
  append(out, p.key);
  append_escaped(out, key, false);
  out.push_back('=');
  append(out, p.reset);
  append_value(out, v);
}

template <std::size_t N>
void append_id(fmt::memory_buffer& out, const Palette& p, std::string_view label,
               const ByteId<N>& id) {
  char hex[ByteId<N>::kHexSize];
  id.write_hex(hex);
  out.push_back(' ');
  append(out, p.id);
  append(out, label);
  out.append(hex, hex + sizeof hex);
  append(out, p.reset);
}

inline void append_indent(fmt::memory_buffer& out, std::size_t depth) {
  for (std::size_t i = 0; i < depth; ++i) append(out, "  ");
}

// One span line and its event lines. `tree_root`: the span starts a printed tree, so it carries
// the ids its position does not imply.
inline void append_span(fmt::memory_buffer& out, const Palette& p, const SpanView& s,
                        std::size_t depth, bool tree_root) {
  append_indent(out, depth);
  append(out, p.name);
  append_name(out, s.name());
  append(out, p.reset);
  out.push_back(' ');
  append(out, p.duration);
  const auto start = static_cast<std::int64_t>(s.start_unix_ns());
  append_duration(out, static_cast<std::int64_t>(s.end_unix_ns()) - start);
  append(out, p.reset);
  if (s.kind() != SpanKind::Internal) {
    append(out, " [");
    append(out, to_string(s.kind()));
    out.push_back(']');
  }
  s.for_each_attribute(
      [&](std::string_view k, const ValueView& v) { append_attribute(out, p, k, v); });
  switch (s.status_code()) {
    case StatusCode::Error:
      out.push_back(' ');
      append(out, p.error);
      append(out, "[error");
      if (const auto m = s.status_message(); !m.empty()) {
        append(out, ": ");
        append_escaped(out, m, false);
      }
      out.push_back(']');
      append(out, p.reset);
      break;
    case StatusCode::Ok:
      out.push_back(' ');
      append(out, p.ok);
      append(out, "[ok]");
      append(out, p.reset);
      break;
    case StatusCode::Unset:
      break;
  }
  if (const auto n = s.link_count(); n != 0) fmt::format_to(fmt::appender(out), " links={}", n);
  const std::uint32_t dropped[3] = {s.dropped_attributes_count(), s.dropped_events_count(),
                                    s.dropped_links_count()};
  if ((dropped[0] | dropped[1] | dropped[2]) != 0) {
    append(out, " [dropped:");
    const std::string_view what[3] = {" attributes=", " events=", " links="};
    for (int i = 0; i < 3; ++i) {
      if (dropped[i] != 0) fmt::format_to(fmt::appender(out), "{}{}", what[i], dropped[i]);
    }
    out.push_back(']');
  }
  if (tree_root) append_id(out, p, "trace=", s.trace_id());
  append_id(out, p, "span=", s.span_id());
  if (tree_root && s.has_parent()) append_id(out, p, "parent=", s.parent_span_id());
  out.push_back('\n');

  s.for_each_event([&](const EventView& e) {
    append_indent(out, depth + 1);
    append(out, p.event);
    append(out, "\xc2\xb7 ");
    append_name(out, e.name());
    append(out, p.reset);
    const std::int64_t offset = static_cast<std::int64_t>(e.time_unix_ns()) - start;
    append(out, offset < 0 ? " " : " +");
    append_duration(out, offset);
    e.for_each_attribute(
        [&](std::string_view k, const ValueView& v) { append_attribute(out, p, k, v); });
    if (const auto d = e.dropped_attributes_count(); d != 0) {
      fmt::format_to(fmt::appender(out), " [dropped: attributes={}]", d);
    }
    out.push_back('\n');
  });
}

// Orders a batch as a forest. Kept between batches so that, once warm, printing allocates only
// when a batch is bigger than any before.
class SpanForest {
 public:
  // Calls f(index in batch, depth, starts_tree) in print order: every span exactly once.
  template <typename F>
  void walk(const SpanBatch& batch, F&& f) {
    build(batch);
    const auto n = static_cast<std::int32_t>(batch.size());
    for (std::int32_t r : roots_) visit(r, f);
    // Spans caught in a parent cycle (only hand-made or colliding ids) are unreachable from the
    // roots; print them anyway.
    for (std::int32_t i = 0; i < n; ++i) {
      const std::int32_t v = order_[static_cast<std::size_t>(i)];
      if (!nodes_[static_cast<std::size_t>(v)].visited) visit(v, f);
    }
  }

 private:
  struct Node {
    std::uint64_t start = 0;
    std::int32_t parent = -1;
    std::int32_t first_child = -1;
    std::int32_t last_child = -1;
    std::int32_t next_sibling = -1;
    std::int32_t cursor = -1;
    bool visited = false;
  };
  struct Key {
    std::uint64_t trace_hi, trace_lo, span;
    std::int32_t index;
    auto tie() const noexcept { return std::tie(trace_hi, trace_lo, span); }
  };

  Node& node(std::int32_t i) noexcept { return nodes_[static_cast<std::size_t>(i)]; }

  void build(const SpanBatch& batch) {
    const std::size_t n = batch.size();
    nodes_.assign(n, Node{});
    keys_.clear();
    order_.clear();
    roots_.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const SpanView s = batch[i];
      const auto idx = static_cast<std::int32_t>(i);
      nodes_[i].start = s.start_unix_ns();
      keys_.push_back({s.trace_id().high(), s.trace_id().low(), s.span_id().to_u64(), idx});
      order_.push_back(idx);
    }
    std::sort(keys_.begin(), keys_.end(),
              [](const Key& a, const Key& b) { return a.tie() < b.tie(); });
    // Batches arrive in end order (children before parents); print in start order.
    std::stable_sort(order_.begin(), order_.end(),
                     [&](std::int32_t a, std::int32_t b) { return node(a).start < node(b).start; });
    for (std::size_t i = 0; i < n; ++i) {
      const SpanView s = batch[i];
      if (!s.has_parent()) continue;
      const Key want{s.trace_id().high(), s.trace_id().low(), s.parent_span_id().to_u64(), 0};
      auto it = std::lower_bound(keys_.begin(), keys_.end(), want,
                                 [](const Key& a, const Key& b) { return a.tie() < b.tie(); });
      if (it != keys_.end() && it->tie() == want.tie() && it->index != static_cast<int>(i)) {
        nodes_[i].parent = it->index;
      }
    }
    for (std::int32_t i : order_) {
      Node& c = node(i);
      if (c.parent < 0) {
        roots_.push_back(i);
        continue;
      }
      Node& p = node(c.parent);
      if (p.last_child < 0) {
        p.first_child = i;
      } else {
        node(p.last_child).next_sibling = i;
      }
      p.last_child = i;
    }
  }

  // Pre-order, with an explicit stack: a deep chain of spans must not overflow the export thread.
  template <typename F>
  void visit(std::int32_t root, F& f) {
    node(root).visited = true;
    node(root).cursor = node(root).first_child;
    f(static_cast<std::size_t>(root), std::size_t{0}, true);
    stack_.clear();
    stack_.push_back(root);
    while (!stack_.empty()) {
      Node& top = node(stack_.back());
      const std::int32_t c = top.cursor;
      if (c < 0) {
        stack_.pop_back();
        continue;
      }
      top.cursor = node(c).next_sibling;
      if (node(c).visited) continue;
      node(c).visited = true;
      node(c).cursor = node(c).first_child;
      f(static_cast<std::size_t>(c), stack_.size(), false);
      stack_.push_back(c);
    }
  }

  std::vector<Node> nodes_;
  std::vector<Key> keys_;
  std::vector<std::int32_t> order_;
  std::vector<std::int32_t> roots_;
  std::vector<std::int32_t> stack_;
};

}  // namespace detail

class ConsoleExporter : public SpanExporter {
 public:
  ConsoleExporter() : ConsoleExporter(ConsoleExporterOptions{}) {}
  explicit ConsoleExporter(ConsoleExporterOptions options)
      : file_(options.file != nullptr ? options.file : stderr),
        palette_(detail::Palette::make(detail::should_colorize(file_, options.color))),
        color_(!palette_.reset.empty()) {}
  explicit ConsoleExporter(std::FILE* file, ColorMode color = ColorMode::Auto)
      : ConsoleExporter(ConsoleExporterOptions{file, color}) {}

  // Decided once, at construction.
  bool colored() const noexcept { return color_; }
  std::FILE* file() const noexcept { return file_; }

  ExportResult export_batch(const SpanBatch& batch) override {
    if (batch.empty()) return ExportResult::Success;
    std::lock_guard lock(mu_);  // one exporter may be shared by several pipelines
    buf_.clear();
    forest_.walk(batch, [&](std::size_t i, std::size_t depth, bool tree_root) {
      detail::append_span(buf_, palette_, batch[i], depth, tree_root);
    });
    // One write per batch keeps lines whole when other threads write to the same file;
    // the flush makes a fully buffered file (a pipe, a log) show the batch now.
    const bool ok = std::fwrite(buf_.data(), 1, buf_.size(), file_) == buf_.size();
    return ok && std::fflush(file_) == 0 ? ExportResult::Success : ExportResult::Failure;
  }

  bool force_flush(std::chrono::milliseconds /*timeout*/) override {
    std::lock_guard lock(mu_);
    return std::fflush(file_) == 0;
  }

 private:
  std::FILE* file_;
  detail::Palette palette_;
  bool color_;
  std::mutex mu_;
  fmt::memory_buffer buf_;
  detail::SpanForest forest_;
};

namespace detail {
inline std::unique_ptr<SpanExporter> make_stdout_exporter() {
  return std::make_unique<ConsoleExporter>();
}
// Runs before main in every program that includes this header: the core selects the exporter
// by name (TracerExporter::Stdout, OTEL_TRACES_EXPORTER=console) without depending on fmt.
inline const bool stdout_exporter_registered = [] {
  exporter_factories().stdout_ = &make_stdout_exporter;
  return true;
}();
}  // namespace detail

}  // namespace krishiv::trace
