// tracestate parsing, validation, mutation and truncation (trace_state.hpp). The parse table
// follows the W3C test suite (w3c/trace-context test/test.py, test_tracestate_*; key grammar of
// the main branch / Level 2) and the ABNF of #list, #key and #value.
// g++ 12 at -O3 warns -Wrestrict, falsely, inside std::string ("k" + std::to_string(i), and
// assign/insert once inlined): GCC bug 105651. Before the includes, where those warnings point.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include "krishiv/trace/trace_state.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace krishiv::trace;
using Entries = std::vector<TraceState::Entry>;

namespace {

struct TsCase {
  std::string name;
  std::string header;
  std::optional<Entries> expected;  // nullopt: the whole header is invalid
};

std::string members(int from, int to) {  // "bar01=01,...": the suite's member-count headers
  std::string s;
  for (int i = from; i <= to; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "bar%02d=%02d", i, i);
    if (!s.empty()) s += ',';
    s += buf;
  }
  return s;
}

Entries member_entries(int from, int to) {
  Entries e;
  for (int i = from; i <= to; ++i) {
    char k[16], v[8];
    std::snprintf(k, sizeof k, "bar%02d", i);
    std::snprintf(v, sizeof v, "%02d", i);
    e.push_back({k, v});
  }
  return e;
}

// Every character the grammar allows (test_tracestate_all_allowed_characters).
const std::string kAllKeyChars = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
const std::string kAllVendorKey = kAllKeyChars + "@a-z0-9_-*/";
std::string all_value_chars() {
  std::string v;
  for (int c = 0x20; c <= 0x7E; ++c) {
    if (c != ',' && c != '=') v += static_cast<char>(c);
  }
  return v;
}

std::vector<TsCase> tracestate_cases() {
  const std::string z256(256, 'z');
  const std::string v256(256, 'v');
  return {
      // Valid.
      {"empty header", "", Entries{}},
      {"OWS only", " \t ", Entries{}},
      {"only empty members", ", ,\t,", Entries{}},
      {"single", "foo=1", Entries{{"foo", "1"}}},
      {"two", "foo=1,bar=2", Entries{{"foo", "1"}, {"bar", "2"}}},
      {"spec example", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
       Entries{{"rojo", "00f067aa0ba902b7"}, {"congo", "t61rcWkgMzE"}}},
      {"several headers combined in order", "foo=1,bar=2,rojo=1,congo=2,baz=3",
       Entries{{"foo", "1"}, {"bar", "2"}, {"rojo", "1"}, {"congo", "2"}, {"baz", "3"}}},
      {"empty header field then value", ",foo=1", Entries{{"foo", "1"}}},
      {"value then empty header field", "foo=1,", Entries{{"foo", "1"}}},
      {"empty member in the middle", "foo=1,,bar=2", Entries{{"foo", "1"}, {"bar", "2"}}},
      {"OWS spaces and tabs", "foo=1 \t , \t bar=2, \t baz=3",
       Entries{{"foo", "1"}, {"bar", "2"}, {"baz", "3"}}},
      {"OWS tabs and spaces", "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
       Entries{{"foo", "1"}, {"bar", "2"}, {"baz", "3"}}},
      {"leading space", " foo=1", Entries{{"foo", "1"}}},
      {"leading tab", "\tfoo=1", Entries{{"foo", "1"}}},
      {"trailing space", "foo=1 ", Entries{{"foo", "1"}}},
      {"trailing tab", "foo=1\t", Entries{{"foo", "1"}}},
      {"OWS both sides", "\t foo=1 \t", Entries{{"foo", "1"}}},
      {"value leading spaces are part of it (Level 2)", "foo=  bar", Entries{{"foo", "  bar"}}},
      {"value inner spaces", "foo=a b  c ", Entries{{"foo", "a b  c"}}},
      {"all allowed characters", kAllKeyChars + "=" + all_value_chars(),
       Entries{{kAllKeyChars, all_value_chars()}}},
      {"all allowed characters, vendor key", kAllVendorKey + "=" + all_value_chars(),
       Entries{{kAllVendorKey, all_value_chars()}}},
      {"key 256", "foo=1," + z256 + "=1", Entries{{"foo", "1"}, {z256, "1"}}},
      {"multi-tenant 241@14", "foo=1," + std::string(241, 't') + "@" + std::string(14, 'v') + "=1",
       Entries{{"foo", "1"}, {std::string(241, 't') + "@" + std::string(14, 'v'), "1"}}},
      {"Level 2: tenant 242", "foo=1," + std::string(242, 't') + "@v=1",
       Entries{{"foo", "1"}, {std::string(242, 't') + "@v", "1"}}},
      {"Level 2: system 15", "foo=1,t@" + std::string(15, 'v') + "=1",
       Entries{{"foo", "1"}, {"t@" + std::string(15, 'v'), "1"}}},
      {"Level 2: foo@", "foo@=1,bar=2", Entries{{"foo@", "1"}, {"bar", "2"}}},
      {"Level 2: foo@@bar", "foo@@bar=1,bar=2", Entries{{"foo@@bar", "1"}, {"bar", "2"}}},
      {"Level 2: foo@bar@baz", "foo@bar@baz=1,bar=2", Entries{{"foo@bar@baz", "1"}, {"bar", "2"}}},
      {"Level 2: digit first", "1abc=1", Entries{{"1abc", "1"}}},
      {"value 256", "foo=" + v256, Entries{{"foo", v256}}},
      {"value with ; and :", "ot=p:8;r:62", Entries{{"ot", "p:8;r:62"}}},
      {"32 members", members(1, 32), member_entries(1, 32)},
      {"32 members and empty ones", ",," + members(1, 16) + ", ," + members(17, 32) + ",",
       member_entries(1, 32)},
      {"duplicate key keeps the first", "foo=1,foo=2", Entries{{"foo", "1"}}},
      {"duplicate key across headers", "foo=1,bar=2,foo=3", Entries{{"foo", "1"}, {"bar", "2"}}},
      {"identical duplicate", "foo=1,foo=1", Entries{{"foo", "1"}}},
      // Invalid: the whole header is discarded.
      {"33 members", members(1, 33), std::nullopt},
      {"33 members counting a duplicate", members(1, 32) + ",bar01=x", std::nullopt},
      {"key 257", "foo=1," + std::string(257, 'z') + "=1", std::nullopt},
      {"Level 2 key 257 with @",
       "foo=1," + std::string(242, 't') + "@" + std::string(14, 'v') + "=1", std::nullopt},
      {"@foo", "@foo=1,bar=2", std::nullopt},
      {"key with space before =", "foo =1", std::nullopt},
      {"key with tab before =", "foo\t=1", std::nullopt},
      {"uppercase key", "FOO=1", std::nullopt},
      {"key with dot", "foo.bar=1", std::nullopt},
      {"key starting with _", "_foo=1", std::nullopt},
      {"empty key", "=1", std::nullopt},
      {"value with =", "foo=bar=baz", std::nullopt},
      {"empty value", "foo=,bar=3", std::nullopt},
      {"value of spaces only", "foo=   ,bar=3", std::nullopt},
      {"no =", "foo", std::nullopt},
      {"one bad member spoils all", "foo=1,bar", std::nullopt},
      {"bad member after good ones", "foo=1,bar=2,BAZ=3", std::nullopt},
      {"value 257", "foo=" + v256 + "v", std::nullopt},
      {"tab inside value", "foo=a\tb", std::nullopt},
      {"DEL in value", "foo=a\x7f", std::nullopt},
      {"control char in value", "foo=\x01", std::nullopt},
      {"newline is not OWS", "foo=1\n", std::nullopt},
      {"non-ASCII value", "foo=\xc3\xa9", std::nullopt},
      {"non-ASCII key", "f\xc3\xa9=1", std::nullopt},
      {"NUL in value", std::string("foo=a\0b", 7), std::nullopt},
      {"semicolon separator is not a list separator", "foo=1;bar=2", std::nullopt},
  };
}

}  // namespace

TEST_CASE("tracestate: parse table (W3C test suite and spec)") {
  const auto cases = tracestate_cases();
  CHECK(cases.size() >= 55);
  for (const auto& c : cases) {
    INFO(c.name << ": \"" << c.header << "\"");
    const auto ts = TraceState::parse(c.header);
    REQUIRE(ts.has_value() == c.expected.has_value());
    if (!ts) continue;
    CHECK(ts->entries() == *c.expected);
    CHECK(ts->size() == c.expected->size());
    CHECK(ts->empty() == c.expected->empty());
    // Round trip: the emitted header re-parses to the same state, and is canonical.
    const auto out = ts->to_string();
    const auto again = TraceState::parse(out);
    REQUIRE(again);
    if (out.size() <= TraceState::kMaxHeaderChars && again->size() == ts->size()) {
      CHECK(*again == *ts);
    }
    CHECK(again->to_string() == out);
  }
}

TEST_CASE("tracestate: get") {
  const auto ts = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  REQUIRE(ts);
  CHECK(ts->get("rojo") == std::optional<std::string_view>("00f067aa0ba902b7"));
  CHECK(ts->get("congo") == std::optional<std::string_view>("t61rcWkgMzE"));
  CHECK_FALSE(ts->get("missing"));
  CHECK_FALSE(ts->get(""));
  CHECK_FALSE(TraceState{}.get("rojo"));
  CHECK(TraceState{}.entries().empty());
}

TEST_CASE("tracestate: key and value validators") {
  struct KeyCase {
    std::string key;
    bool level2;
    bool level1;
  };
  const std::vector<KeyCase> keys = {
      {"foo", true, true},
      {"a", true, true},
      {"a-b_c*d/e", true, true},
      {"1foo", true, false},  // Level 1 simple keys start with lcalpha
      {"1tenant@sys", true, true},
      {"tenant@1sys", true, false},  // system-id starts with lcalpha
      {std::string(256, 'z'), true, true},
      {std::string(257, 'z'), false, false},
      {std::string(241, 't') + "@" + std::string(14, 'v'), true, true},
      {std::string(242, 't') + "@v", true, false},
      {"t@" + std::string(14, 'v'), true, true},
      {"t@" + std::string(15, 'v'), true, false},
      {"foo@", true, false},
      {"foo@@bar", true, false},
      {"foo@bar@baz", true, false},
      {"@foo", false, false},
      {"", false, false},
      {"FOO", false, false},
      {"foo.bar", false, false},
      {"foo ", false, false},
      {"foo=", false, false},
      {"_foo", false, false},
  };
  for (const auto& k : keys) {
    INFO("key \"" << k.key << "\"");
    CHECK(TraceState::is_valid_key(k.key) == k.level2);
    CHECK(TraceState::is_valid_level1_key(k.key) == k.level1);
  }
  STATIC_REQUIRE(TraceState::is_valid_key("congo"));
  STATIC_REQUIRE(TraceState::is_valid_level1_key("tenant@congo"));

  CHECK(TraceState::is_valid_value("1"));
  CHECK(TraceState::is_valid_value(" leading"));
  CHECK(TraceState::is_valid_value(all_value_chars()));
  CHECK(TraceState::is_valid_value(std::string(256, 'x')));
  CHECK_FALSE(TraceState::is_valid_value(std::string(257, 'x')));
  CHECK_FALSE(TraceState::is_valid_value(""));
  CHECK_FALSE(TraceState::is_valid_value("trailing "));
  CHECK_FALSE(TraceState::is_valid_value(" "));
  CHECK_FALSE(TraceState::is_valid_value("a,b"));
  CHECK_FALSE(TraceState::is_valid_value("a=b"));
  CHECK_FALSE(TraceState::is_valid_value("a\tb"));
  CHECK_FALSE(TraceState::is_valid_value("\x80"));
}

TEST_CASE("tracestate: put adds to the front, updates move to the front") {
  TraceState ts;
  CHECK(ts.put("congo", "t61rcWkgMzE"));
  CHECK(ts.to_string() == "congo=t61rcWkgMzE");
  CHECK(ts.put("rojo", "00f067aa0ba902b7"));
  CHECK(ts.to_string() == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  CHECK(ts.put("congo", "ucfJifl5GOE"));
  CHECK(ts.to_string() == "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
  CHECK(ts.size() == 2);

  auto many = *TraceState::parse("a=1,b=2,c=3,d=4");
  CHECK(many.put("c", "33"));
  CHECK(many.to_string() == "c=33,a=1,b=2,d=4");  // others keep their order
  CHECK(many.put("c", "33"));
  CHECK(many.to_string() == "c=33,a=1,b=2,d=4");
  CHECK(many.put("d", "4"));
  CHECK(many.to_string() == "d=4,c=33,a=1,b=2");
}

TEST_CASE("tracestate: put refuses invalid input and stores nothing") {
  auto ts = *TraceState::parse("a=1,b=2");
  const auto before = ts;
  CHECK_FALSE(ts.put("", "x"));
  CHECK_FALSE(ts.put("B", "x"));
  CHECK_FALSE(ts.put("@b", "x"));
  CHECK_FALSE(ts.put(std::string(257, 'k'), "x"));
  CHECK_FALSE(ts.put("b", ""));
  CHECK_FALSE(ts.put("b", "x,y"));
  CHECK_FALSE(ts.put("b", "x=y"));
  CHECK_FALSE(ts.put("b", "x "));
  CHECK_FALSE(ts.put("b", std::string(257, 'v')));
  CHECK(ts == before);
  CHECK(ts.to_string() == "a=1,b=2");

  TraceState empty;
  CHECK_FALSE(empty.put("A", "1"));
  CHECK(empty.empty());
  CHECK(empty.size() == 0);
}

TEST_CASE("tracestate: put accepts Level 2 keys (re-put of received keys)") {
  TraceState ts;
  CHECK(ts.put("foo@", "1"));
  CHECK(ts.put("1abc", "2"));
  CHECK_FALSE(TraceState::is_valid_level1_key("foo@"));
  CHECK(ts.to_string() == "1abc=2,foo@=1");
}

TEST_CASE("tracestate: put beyond 32 members removes the right-most") {
  auto ts = *TraceState::parse(members(1, 32));
  REQUIRE(ts.size() == 32);
  CHECK(ts.put("new", "x"));
  CHECK(ts.size() == 32);
  CHECK(ts.entries().front() == TraceState::Entry{"new", "x"});
  CHECK(ts.entries().back() == TraceState::Entry{"bar31", "31"});
  CHECK_FALSE(ts.get("bar32"));
  // Updating an existing key when full removes nothing.
  CHECK(ts.put("bar10", "ten"));
  CHECK(ts.size() == 32);
  CHECK(ts.entries().front() == TraceState::Entry{"bar10", "ten"});
  CHECK(ts.get("bar31"));
  // Keep adding: always 32, never a duplicate.
  for (int i = 0; i < 100; ++i) CHECK(ts.put("k" + std::to_string(i % 40), "v"));
  CHECK(ts.size() == 32);
  const auto out = ts.to_string();
  CHECK(TraceState::parse(out)->size() == 32);
}

TEST_CASE("tracestate: erase") {
  auto ts = *TraceState::parse("a=1,b=2,c=3");
  CHECK(ts.erase("b"));
  CHECK(ts.to_string() == "a=1,c=3");
  CHECK_FALSE(ts.erase("b"));
  CHECK_FALSE(ts.erase("zz"));
  CHECK(ts.erase("a"));
  CHECK(ts.erase("c"));
  CHECK(ts.empty());
  CHECK(ts.size() == 0);
  CHECK(ts.to_string().empty());
  CHECK(ts == TraceState{});
  TraceState none;
  CHECK_FALSE(none.erase("a"));
}

TEST_CASE("tracestate: copies share storage, writes copy") {
  auto original = *TraceState::parse("a=1,b=2");
  auto copy = original;
  CHECK(&copy.entries() == &original.entries());  // shared, not copied
  CHECK(copy.put("c", "3"));
  CHECK(&copy.entries() != &original.entries());
  CHECK(original.to_string() == "a=1,b=2");
  CHECK(copy.to_string() == "c=3,a=1,b=2");

  auto copy2 = original;
  CHECK(copy2.erase("a"));
  CHECK(original.to_string() == "a=1,b=2");
  CHECK(copy2.to_string() == "b=2");

  // A sole owner writes in place.
  const auto* storage = &copy.entries();
  CHECK(copy.put("d", "4"));
  CHECK(&copy.entries() == storage);
}

TEST_CASE("tracestate: to_string truncation to 512 characters (#tracestate-limits)") {
  const auto entry = [](char k, std::size_t total) {  // "k...=v..." of exactly `total` chars
    const std::string key(1, k);
    return std::make_pair(key, std::string(total - 2, k));
  };
  const auto build = [](const std::vector<std::pair<std::string, std::string>>& es) {
    TraceState ts;
    for (auto it = es.rbegin(); it != es.rend(); ++it) REQUIRE(ts.put(it->first, it->second));
    return ts;
  };

  SECTION("exactly 512 is kept whole") {
    // 4 * 100 + 1 * 108 + 4 commas = 512
    auto ts = build(
        {entry('a', 100), entry('b', 100), entry('c', 100), entry('d', 100), entry('e', 108)});
    CHECK(ts.to_string().size() == 512);
    CHECK(TraceState::parse(ts.to_string())->size() == 5);
  }
  SECTION("513 drops from the right end when no entry is large") {
    auto ts = build(
        {entry('a', 100), entry('b', 100), entry('c', 100), entry('d', 100), entry('e', 109)});
    const auto out = ts.to_string();
    CHECK(out.size() == 4 * 100 + 3);
    const auto back = TraceState::parse(out);
    REQUIRE(back);
    CHECK(back->size() == 4);
    CHECK_FALSE(back->get("e"));
    CHECK(ts.size() == 5);  // the state itself is untouched
  }
  SECTION("entries over 128 go first, right-most first, until it fits") {
    // a(100) x(200) b(100) y(129) c(100): 629 + 4 commas = 633.
    auto ts = build(
        {entry('a', 100), entry('x', 200), entry('b', 100), entry('y', 129), entry('c', 100)});
    // Dropping y (the right-most large one) leaves 500 + 3 commas = 503: fits, x survives.
    const auto out = ts.to_string();
    CHECK(out.size() == 100 + 200 + 100 + 100 + 3);
    const auto back = TraceState::parse(out);
    REQUIRE(back);
    CHECK(back->get("x"));
    CHECK_FALSE(back->get("y"));
    CHECK(back->get("c"));
  }
  SECTION("all large entries go before any small one") {
    // a(100) x(200) b(100) y(200) c(100) d(100): 800 + 5 commas.
    auto ts = build({entry('a', 100), entry('x', 200), entry('b', 100), entry('y', 200),
                     entry('c', 100), entry('d', 100)});
    const auto back = TraceState::parse(ts.to_string());
    REQUIRE(back);
    CHECK(back->to_string() == ts.to_string());
    // Without x and y: 400 + 3 commas = 403; all small ones kept.
    CHECK(back->size() == 4);
    CHECK_FALSE(back->get("x"));
    CHECK_FALSE(back->get("y"));
  }
  SECTION("an entry of exactly 128 is not large") {
    // a(128) b(128) c(128) d(129) e(10): large = d only. 523 + 4 = 527 -> drop d -> 397.
    auto ts =
        build({entry('a', 128), entry('b', 128), entry('c', 128), entry('d', 129), entry('e', 10)});
    const auto back = TraceState::parse(ts.to_string());
    REQUIRE(back);
    CHECK(back->size() == 4);
    CHECK_FALSE(back->get("d"));
    CHECK(back->get("e"));
  }
  SECTION("then from the end, once the large ones are gone") {
    // x(200) a..e(120 each): 800 + 5 commas. Without x: 600 + 4 commas, still too long; then e
    // goes from the right end: 480 + 3 commas.
    auto ts = build({entry('x', 200), entry('a', 120), entry('b', 120), entry('c', 120),
                     entry('d', 120), entry('e', 120)});
    CHECK(ts.to_string() == "a=" + std::string(118, 'a') + ",b=" + std::string(118, 'b') +
                                ",c=" + std::string(118, 'c') + ",d=" + std::string(118, 'd'));
  }
  SECTION("every large entry may go before the small ones") {
    // x(250) a(150) b..e(120 each): 880 + 5 commas. Large ones right-most first: without a,
    // 734 is still too long; without x too, 480 + 3 commas fits, and no small entry is dropped.
    auto ts = build({entry('x', 250), entry('a', 150), entry('b', 120), entry('c', 120),
                     entry('d', 120), entry('e', 120)});
    const auto out = ts.to_string();
    const auto back = TraceState::parse(out);
    REQUIRE(back);
    CHECK(out == "b=" + std::string(118, 'b') + ",c=" + std::string(118, 'c') +
                     ",d=" + std::string(118, 'd') + ",e=" + std::string(118, 'e'));
  }
  SECTION("small entries only, many removed from the end") {
    TraceState ts;
    for (int i = 31; i >= 0; --i) {
      REQUIRE(ts.put("k" + std::to_string(i), std::string(40, 'v')));
    }
    const auto out = ts.to_string();
    CHECK(out.size() <= 512);
    const auto back = TraceState::parse(out);
    REQUIRE(back);
    // "kN=" + 40 = 43 or 44 chars + comma; keep the left-most ones, in order.
    for (std::size_t i = 0; i < back->size(); ++i) {
      CHECK(back->entries()[i].key == "k" + std::to_string(i));
    }
    CHECK(back->size() == 11);
  }
}

TEST_CASE("tracestate: copies written on several threads stay independent") {
  const auto shared = *TraceState::parse("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&shared, &failures, t] {
      for (int i = 0; i < 2000; ++i) {
        auto mine = shared;  // shares storage until the write below
        const auto key = "t" + std::to_string(t);
        if (!mine.put(key, std::to_string(i)) || mine.size() != 3 ||
            mine.get(key) != std::optional<std::string_view>(std::to_string(i)) ||
            !mine.erase("rojo") || mine.size() != 2) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(shared.to_string() == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
}
