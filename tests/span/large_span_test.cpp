// Spans far larger than a buffer (a long name, attribute value, status message or event name),
// with the default queue: recorded, cut to fit at a UTF-8 boundary and counted, never lost as if
// the queue were full.

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "span_test_support.hpp"

namespace kt = krishiv::trace;
using test::Recorder;

namespace {

// n bytes of 3-byte characters (and a last partial one's worth of ASCII), so that a cut at an
// arbitrary byte would split a character.
std::string large_text(std::size_t n) {
  std::string s;
  s.reserve(n);
  while (s.size() + 3 <= n) s += "\xE2\x82\xAC";  // U+20AC
  s.append(n - s.size(), 'x');
  return s;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80         ? 1
                          : (c >> 5) == 6  ? 2
                          : (c >> 4) == 14 ? 3
                          : (c >> 3) == 30 ? 4
                                           : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

enum class Where { Name, Attribute, StatusMessage, EventName };

std::string received(const kt::SpanData& d, Where w) {
  switch (w) {
    case Where::Name:
      return d.name;
    case Where::Attribute:
      return std::get<std::string>(*d.attribute("big"));
    case Where::StatusMessage:
      return d.status_message;
    case Where::EventName:
      return d.events.at(0).name;
  }
  return {};
}

}  // namespace

TEST_CASE("large spans: recorded (cut to fit if need be), never counted as a full queue") {
  const auto [where, label] = GENERATE(table<Where, const char*>({
      {Where::Name, "name"},
      {Where::Attribute, "attribute value"},
      {Where::StatusMessage, "status message"},
      {Where::EventName, "event name"},
  }));
  const std::size_t size = GENERATE(std::size_t{200} << 10, std::size_t{300} << 10,
                                    std::size_t{1} << 20, std::size_t{16} << 20);
  INFO(label << ", " << (size >> 10) << " KiB");
  const std::string text = large_text(size);
  // The default queue (2048 spans): its buffers are 320 KiB in all.
  Recorder r({.batch = kt::BatchOptions{}});
  {
    auto s = kt::info_span(where == Where::Name ? std::string_view(text) : "large");
    if (where == Where::Attribute) s.set_attribute("big", text);
    if (where == Where::StatusMessage) s.set_status(kt::StatusCode::Error, text);
    if (where == Where::EventName) s.add_event(text);
  }
  const auto spans = r.flush();
  const auto stats = r.provider.stats();
  CHECK(stats.dropped_queue_full == 0);
  REQUIRE(spans.size() == 1);
  const std::string got = received(spans[0], where);
  CHECK(got.size() <= text.size());
  CHECK(text.compare(0, got.size(), got) == 0);  // a prefix
  CHECK(valid_utf8(got));
  CHECK(got.size() + 4 > std::min<std::size_t>(text.size(), std::size_t{512} << 10));
  // A cut is counted, once per span; nothing else is.
  CHECK(stats.truncated == (got.size() < text.size() ? 1u : 0u));
  CHECK(stats.dropped_too_large == 0);
  CHECK(stats.dropped_inactive == 0);
}

TEST_CASE("large spans: one that cannot fit even cut is counted as too large") {
  // Keys are never cut (a cut key would be another attribute): 2 MiB of key cannot be recorded.
  const std::string key(std::size_t{2} << 20, 'k');
  Recorder r({.batch = kt::BatchOptions{}});
  {
    auto s = kt::info_span("huge key");
    s.set_attribute(key, 1);
  }
  { auto s = kt::info_span("after"); }
  const auto spans = r.flush();
  const auto stats = r.provider.stats();
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name == "after");
  CHECK(stats.dropped_too_large == 1);
  CHECK(stats.dropped_queue_full == 0);
}

TEST_CASE("large spans: many at once are bounded in memory, the excess counted as a full queue") {
  // An exporter that holds every batch until released: large spans pile up in flight.
  struct Gate : kt::SpanExporter {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    kt::ExportResult export_batch(const kt::SpanBatch&) override {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return open; });
      return kt::ExportResult::Success;
    }
  };
  auto gate = std::make_shared<Gate>();
  const std::string text = large_text(std::size_t{900} << 10);
  kt::TracerProvider provider({.exporter = kt::TracerExporter::Custom(gate),
                               .sampler = kt::Sampler::always_on(),
                               .batch = kt::BatchOptions{}});
  constexpr int kSpans = 40;  // 36 MiB if nothing bounded them
  for (int i = 0; i < kSpans; ++i) {
    auto s = kt::info_span("large");
    s.set_attribute("big", text);
  }
  const auto during = provider.stats();
  {
    std::lock_guard lock(gate->mu);
    gate->open = true;
  }
  gate->cv.notify_all();
  REQUIRE(provider.shutdown(std::chrono::seconds(60)));
  const auto after = provider.stats();
  CHECK(during.dropped_queue_full > 0);
  CHECK(after.dropped_too_large == 0);
  CHECK(after.exported + after.dropped_queue_full == kSpans);
}
