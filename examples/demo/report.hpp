#pragma once
// What the demo makes of the received spans: the cross-process tree in the terminal (durations,
// process, fields, a waterfall bar on a common time axis), Chrome Trace Event JSON (Perfetto,
// chrome://tracing) and a self-contained HTML waterfall.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "receiver.hpp"

namespace demo {

struct Node {
  const ReceivedSpan* s = nullptr;
  std::vector<std::size_t> children;
  int depth = 0;
};

// One trace's spans as a forest: roots are spans whose parent is not among them. Children by
// start time.
class Trace {
 public:
  explicit Trace(std::vector<ReceivedSpan> spans) : spans_(std::move(spans)) {
    std::sort(spans_.begin(), spans_.end(), [](const ReceivedSpan& a, const ReceivedSpan& b) {
      return a.span.start < b.span.start;
    });
    std::map<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < spans_.size(); ++i) by_id[spans_[i].span.span_id] = i;
    nodes_.resize(spans_.size());
    for (std::size_t i = 0; i < spans_.size(); ++i) {
      nodes_[i].s = &spans_[i];
      const auto it = by_id.find(spans_[i].span.parent_span_id);
      if (spans_[i].span.parent_span_id.empty() || it == by_id.end() || it->second == i) {
        roots_.push_back(i);
      } else {
        nodes_[it->second].children.push_back(i);
      }
    }
    // Depth-first order, iteratively (no recursion on untrusted depth).
    std::vector<std::pair<std::size_t, int>> stack;
    for (auto r = roots_.rbegin(); r != roots_.rend(); ++r) stack.push_back({*r, 0});
    while (!stack.empty()) {
      auto [i, d] = stack.back();
      stack.pop_back();
      nodes_[i].depth = d;
      order_.push_back(i);
      for (auto c = nodes_[i].children.rbegin(); c != nodes_[i].children.rend(); ++c) {
        stack.push_back({*c, d + 1});
      }
    }
    for (const auto& s : spans_) {
      t0_ = t0_ == 0 ? s.span.start : std::min(t0_, s.span.start);
      t1_ = std::max(t1_, s.span.end);
    }
  }

  const std::vector<ReceivedSpan>& spans() const { return spans_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<std::size_t>& order() const { return order_; }
  std::uint64_t t0() const { return t0_; }
  std::uint64_t t1() const { return t1_; }
  std::set<std::string> services() const {
    std::set<std::string> out;
    for (const auto& s : spans_) out.insert(s.service);
    return out;
  }
  // Is `i` the last child of its parent (for the tree's corner glyphs)?
  bool last_child(std::size_t i, std::size_t parent) const {
    return !nodes_[parent].children.empty() && nodes_[parent].children.back() == i;
  }

 private:
  std::vector<ReceivedSpan> spans_;
  std::vector<Node> nodes_;
  std::vector<std::size_t> roots_;
  std::vector<std::size_t> order_;
  std::uint64_t t0_ = 0;
  std::uint64_t t1_ = 0;
};

inline std::string format_duration(std::uint64_t ns) {
  char buf[32];
  if (ns >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) / 1e9);
  } else if (ns >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f us", static_cast<double>(ns) / 1e3);
  }
  return buf;
}

// The attributes shown as a span's fields: everything but the thread id (it picks the track),
// and, when `brief`, the RPC attributes that repeat the span's name.
inline std::string fields_text(const otlp::Span& s, bool brief = false) {
  std::string out;
  for (const auto& kv : s.attributes) {
    if (kv.key == "thread.id") continue;
    if (brief && (kv.key == "rpc.system.name" || kv.key == "rpc.method")) continue;
    if (!out.empty()) out += ' ';
    out += kv.key + "=" + otlp::to_text(kv.value);
  }
  if (s.status_code == 2) out += (out.empty() ? "" : " ") + std::string("status=ERROR");
  return out;
}

inline std::int64_t thread_of(const ReceivedSpan& r) {
  for (const auto& kv : r.span.attributes) {
    if (kv.key == "thread.id") {
      if (const auto* t = std::get_if<std::int64_t>(&kv.value)) return *t;
    }
  }
  return r.pid;
}

// UTF-8 text width for the tree glyphs (each is one column).
inline std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The terminal tree. `colour`: ANSI SGR sequences (a terminal without NO_COLOR).
inline std::string render_tree(const Trace& t, bool colour, std::size_t bar_width = 40) {
  static const char* kPalette[] = {"\x1b[36m", "\x1b[32m", "\x1b[35m", "\x1b[33m", "\x1b[34m"};
  std::map<std::string, const char*> service_colour;
  for (const auto& s : t.services()) {
    service_colour[s] = kPalette[service_colour.size() % (sizeof kPalette / sizeof kPalette[0])];
  }
  const auto c = [&](const char* code) { return colour ? std::string(code) : std::string(); };
  if (!colour) {
    for (auto& [name, code] : service_colour) code = "";
  }
  const std::string reset = c("\x1b[0m"), dim = c("\x1b[2m"), bold = c("\x1b[1m"),
                    red = c("\x1b[31m");

  // Tree prefixes first, to size the name column.
  const auto& nodes = t.nodes();
  std::vector<std::string> prefix(nodes.size()), cont(nodes.size());
  std::map<std::size_t, std::size_t> parent_of;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (const std::size_t ch : nodes[i].children) parent_of[ch] = i;
  }
  for (const std::size_t i : t.order()) {
    const auto p = parent_of.find(i);
    if (p == parent_of.end()) continue;
    const bool last = t.last_child(i, p->second);
    prefix[i] = cont[p->second] + (last ? "└─ " : "├─ ");
    cont[i] = cont[p->second] + (last ? "   " : "│  ");
  }
  std::size_t name_w = 4;
  for (const std::size_t i : t.order()) {
    name_w = std::max(name_w, columns(prefix[i]) + columns(nodes[i].s->span.name));
  }
  std::size_t svc_w = 7;
  for (const auto& s : t.services()) svc_w = std::max(svc_w, s.size());

  const double total = static_cast<double>(std::max<std::uint64_t>(1, t.t1() - t.t0()));
  std::string out;
  const auto pad = [](std::string s, std::size_t w, std::size_t used) {
    return s + std::string(w > used ? w - used : 0, ' ');
  };
  out += bold + pad("span", name_w, 4) + "  " + pad("process", svc_w, 7) + "  " +
         pad("duration", 10, 8) + "  0" + std::string(bar_width - 2, ' ') +
         format_duration(t.t1() - t.t0()) + reset + "\n";
  for (const std::size_t i : t.order()) {
    const ReceivedSpan& r = *nodes[i].s;
    const otlp::Span& s = r.span;
    const std::uint64_t dur = s.end > s.start ? s.end - s.start : 0;
    const auto from = static_cast<std::size_t>(static_cast<double>(s.start - t.t0()) / total *
                                               static_cast<double>(bar_width));
    auto len = static_cast<std::size_t>(
        static_cast<double>(dur) / total * static_cast<double>(bar_width) + 0.5);
    len = std::max<std::size_t>(1, std::min(len, bar_width - std::min(from, bar_width - 1)));
    std::string bar;
    for (std::size_t k = 0; k < from; ++k) bar += ' ';
    for (std::size_t k = 0; k < len; ++k) bar += "█";
    const std::size_t visible = columns(prefix[i]) + columns(s.name);
    const std::string name_col = prefix[i] + (s.status_code == 2 ? red : "") + s.name + reset +
                                 std::string(name_w > visible ? name_w - visible : 0, ' ');
    const std::string d = format_duration(dur);
    out += name_col + "  " + service_colour[r.service] + pad(r.service, svc_w, r.service.size()) +
           reset + "  " + std::string(10 > d.size() ? 10 - d.size() : 0, ' ') + d + "  " +
           service_colour[r.service] + bar + reset + "\n";
    if (const std::string f = fields_text(s, true); !f.empty()) {
      out += dim + cont[i] + (nodes[i].children.empty() ? "   " : "│  ") + f + reset + "\n";
    }
  }
  return out;
}

// Chrome Trace Event Format (the "JSON Object Format"): complete ("X") events in microseconds,
// one track per process (pid) and thread (tid), named by metadata ("M") events.
inline nlohmann::json chrome_trace(const Trace& t) {
  using nlohmann::json;
  json events = json::array();
  std::map<std::int64_t, std::string> processes;
  std::set<std::pair<std::int64_t, std::int64_t>> threads;
  for (const auto& r : t.spans()) {
    const otlp::Span& s = r.span;
    const std::int64_t pid = r.pid;
    const std::int64_t tid = thread_of(r);
    processes[pid] = r.service;
    threads.insert({pid, tid});
    json args = json::object();
    args["trace_id"] = otlp::hex(s.trace_id);
    args["span_id"] = otlp::hex(s.span_id);
    args["parent_span_id"] = otlp::hex(s.parent_span_id);
    args["service.name"] = r.service;
    args["kind"] = s.kind;
    for (const auto& kv : s.attributes) args[kv.key] = otlp::to_text(kv.value);
    if (s.status_code == 2) args["status"] = "ERROR " + s.status_message;
    events.push_back({{"name", s.name},
                      {"cat", "span"},
                      {"ph", "X"},
                      {"ts", static_cast<double>(s.start - t.t0()) / 1e3},
                      {"dur", static_cast<double>(s.end > s.start ? s.end - s.start : 0) / 1e3},
                      {"pid", pid},
                      {"tid", tid},
                      {"args", args}});
  }
  std::int64_t sort = 0;
  for (const auto& [pid, name] : processes) {
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", 0},
                      {"args", {{"name", name + " (pid " + std::to_string(pid) + ")"}}}});
    events.push_back({{"name", "process_sort_index"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", 0},
                      {"args", {{"sort_index", sort++}}}});
  }
  for (const auto& [pid, tid] : threads) {
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", tid},
                      {"args", {{"name", "thread " + std::to_string(tid)}}}});
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

// The data the HTML page renders (one entry per span, in tree order).
inline nlohmann::json html_data(const Trace& t) {
  using nlohmann::json;
  json spans = json::array();
  for (const std::size_t i : t.order()) {
    const ReceivedSpan& r = *t.nodes()[i].s;
    const otlp::Span& s = r.span;
    spans.push_back({{"id", otlp::hex(s.span_id)},
                     {"parent", otlp::hex(s.parent_span_id)},
                     {"name", s.name},
                     {"service", r.service},
                     {"depth", t.nodes()[i].depth},
                     {"start", static_cast<double>(s.start - t.t0()) / 1e6},
                     {"dur", static_cast<double>(s.end > s.start ? s.end - s.start : 0) / 1e6},
                     {"error", s.status_code == 2},
                     {"fields", fields_text(s, true)},
                     {"all_fields", fields_text(s)}});
  }
  const std::string trace_id = t.spans().empty() ? "" : otlp::hex(t.spans().front().span.trace_id);
  return {{"trace_id", trace_id},
          {"total_ms", static_cast<double>(t.t1() - t.t0()) / 1e6},
          {"spans", spans}};
}

// A page with no external resource: inline CSS, inline script, the data embedded as JSON. The
// bars are drawn by the script (each an element with id "bar-<span id>"), so a rendered DOM that
// holds them proves the script ran.
inline std::string render_html(const Trace& t) {
  std::string data = html_data(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // "</" would end the script element early.
  for (std::size_t p = 0; (p = data.find("</", p)) != std::string::npos; p += 3) {
    data.replace(p, 2, "<\\/");
  }
  return R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>krishiv-trace demo: one trace across three processes</title>
<style>
  body { font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace; margin: 16px; color: #222; background: #fafafa; }
  h1 { font-size: 16px; margin: 0 0 4px; }
  .meta { color: #666; margin-bottom: 12px; }
  .legend span { display: inline-block; margin-right: 14px; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; }
  td, th { padding: 2px 6px; vertical-align: middle; }
  th { text-align: left; color: #888; font-weight: normal; border-bottom: 1px solid #ddd; }
  tr:hover { background: #eef; }
  td.name { width: 40%; overflow: hidden; }
  td.svc { width: 8em; color: #555; white-space: nowrap; }
  td.dur { width: 6em; color: #555; text-align: right; white-space: nowrap; }
  th.name { width: 40%; } th.svc { width: 8em; } th.dur { width: 6em; text-align: right; }
  td.lane { position: relative; overflow: hidden; border-left: 1px solid #e4e4e4; }
  .bar { position: absolute; top: 50%; margin-top: -6px; height: 12px; min-width: 2px; border-radius: 2px; }
  .bar.error { outline: 2px solid #d00; }
  .fields { color: #777; font-size: 11px; overflow-wrap: anywhere; }
  .axis { color: #888; display: flex; justify-content: space-between; }
</style>
</head>
<body>
<h1>One trace across three processes</h1>
<div class="meta" id="meta"></div>
<div class="legend" id="legend"></div>
<table id="waterfall"><thead><tr><th class="name">span</th><th class="svc">process</th>
<th class="dur">duration</th><th><div class="axis"><span>0</span><span id="axis-end"></span></div></th>
</tr></thead><tbody></tbody></table>
<noscript>This page draws the waterfall with its inline script.</noscript>
<script id="trace-data" type="application/json">)HTML" +
         data + R"HTML(</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('trace-data').textContent);
  var palette = ['#1f9bb5', '#3aa655', '#a64ca6', '#c9a227', '#4a6fd1'];
  var colours = {};
  data.spans.forEach(function (s) {
    if (!(s.service in colours)) colours[s.service] = palette[Object.keys(colours).length % palette.length];
  });
  document.getElementById('meta').textContent = 'trace ' + data.trace_id + ' \u2014 ' + data.spans.length +
      ' spans, ' + Object.keys(colours).length + ' processes, ' + data.total_ms.toFixed(2) + ' ms';
  var legend = document.getElementById('legend');
  Object.keys(colours).forEach(function (name) {
    var item = document.createElement('span');
    var swatch = document.createElement('i');
    swatch.style.background = colours[name];
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(name));
    legend.appendChild(item);
  });
  document.getElementById('axis-end').textContent = data.total_ms.toFixed(2) + ' ms';
  var body = document.querySelector('#waterfall tbody');
  var total = data.total_ms > 0 ? data.total_ms : 1;
  data.spans.forEach(function (s) {
    var tr = document.createElement('tr');
    var name = document.createElement('td');
    name.className = 'name';
    name.style.paddingLeft = (6 + 16 * s.depth) + 'px';
    name.textContent = s.name;
    if (s.fields) {
      var f = document.createElement('div');
      f.className = 'fields';
      f.textContent = s.fields;
      name.appendChild(f);
    }
    var svc = document.createElement('td');
    svc.className = 'svc';
    svc.textContent = s.service;
    var dur = document.createElement('td');
    dur.className = 'dur';
    dur.textContent = s.dur.toFixed(2) + ' ms';
    var lane = document.createElement('td');
    lane.className = 'lane';
    var bar = document.createElement('div');
    bar.className = 'bar' + (s.error ? ' error' : '');
    bar.id = 'bar-' + s.id;
    bar.setAttribute('data-span-id', s.id);
    bar.style.left = (100 * s.start / total) + '%';
    bar.style.width = (100 * s.dur / total) + '%';
    bar.style.background = colours[s.service];
    bar.title = s.name + ' (' + s.service + ') ' + s.dur.toFixed(3) + ' ms' + (s.all_fields ? '\n' + s.all_fields : '');
    lane.appendChild(bar);
    tr.appendChild(name);
    tr.appendChild(svc);
    tr.appendChild(dur);
    tr.appendChild(lane);
    body.appendChild(tr);
  });
})();
</script>
</body>
</html>
)HTML";
}

}  // namespace demo
