#include "krishiv/trace/detail/text.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

using namespace krishiv::trace::detail;
using namespace std::string_view_literals;

TEST_CASE("text: ASCII case and classes") {
  CHECK(ascii_lower("ParentBased_TraceIdRatio") == "parentbased_traceidratio");
  CHECK(ascii_lower("") == "");
  // Only A-Z change: the neighbours of the range and non-ASCII bytes stay.
  CHECK(ascii_lower("@AZ[`az{") == "@az[`az{");
  CHECK(ascii_lower("\xC3\x89") == "\xC3\x89");
  STATIC_REQUIRE(ascii_lower('Q') == 'q');
  STATIC_REQUIRE(ascii_lower('q') == 'q');
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    INFO("char " << c);
    CHECK(is_ascii_digit(ch) == (c >= '0' && c <= '9'));
    CHECK(is_ascii_alpha(ch) == ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')));
    CHECK(ascii_lower(ch) == (c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : ch));
  }
}

TEST_CASE("text: hex digits, lowercase-only and either case") {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    int lc = -1;
    if (c >= '0' && c <= '9') lc = c - '0';
    if (c >= 'a' && c <= 'f') lc = c - 'a' + 10;
    const int any = c >= 'A' && c <= 'F' ? c - 'A' + 10 : lc;
    INFO("char " << c);
    // W3C Trace Context HEXDIGLC: uppercase is not a digit.
    CHECK(hex_value_lc(ch) == lc);
    // RFC 3986 percent-encoding: either case.
    CHECK(hex_digit_value(ch) == any);
  }
  STATIC_REQUIRE(hex_value_lc('f') == 15);
  STATIC_REQUIRE(hex_value_lc('F') == -1);
  STATIC_REQUIRE(hex_digit_value('F') == 15);
}

TEST_CASE("text: hex encode and fixed-width decode round-trip every byte") {
  for (int b = 0; b < 256; ++b) {
    const auto byte = static_cast<std::uint8_t>(b);
    char hex[2];
    encode_hex(&byte, 1, hex);
    const char expect[2] = {"0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 0xF]};
    INFO("byte " << b);
    CHECK(std::string_view(hex, 2) == std::string_view(expect, 2));
    std::uint8_t back = 0;
    REQUIRE(decode_hex_lc(hex, 1, &back));
    CHECK(back == byte);
  }
  const std::array<std::uint8_t, 4> bytes{0x00, 0x9f, 0xa0, 0xff};
  char out[8];
  encode_hex(bytes.data(), bytes.size(), out);
  CHECK(std::string_view(out, 8) == "009fa0ff");
}

TEST_CASE("text: fixed-width hex decode rejects anything but lowercase digits") {
  std::array<std::uint8_t, 2> out{};
  CHECK(decode_hex_lc("0aff", 2, out.data()));
  CHECK(out == std::array<std::uint8_t, 2>{0x0a, 0xff});
  CHECK_FALSE(decode_hex_lc("0AFF", 2, out.data()));  // uppercase
  CHECK_FALSE(decode_hex_lc("0afg", 2, out.data()));
  CHECK_FALSE(decode_hex_lc("0a-f", 2, out.data()));
  CHECK_FALSE(decode_hex_lc("0a f", 2, out.data()));
  CHECK_FALSE(decode_hex_lc("g0ff", 2, out.data()));  // the high digit of the first byte
  CHECK(decode_hex_lc("", 0, out.data()));            // a zero-width field is empty, not wrong
  STATIC_REQUIRE([] {
    std::uint8_t b[3] = {};
    return decode_hex_lc("c0ffee", 3, b) && b[0] == 0xc0 && b[1] == 0xff && b[2] == 0xee;
  }());
}

TEST_CASE("text: fixed-width hex decode judges every character alike in every position") {
  // The decoder computes instead of branching per character: check it against the plain rule
  // for all 256 values, as the high and the low digit, beside valid digits.
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool valid = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    INFO("character " << c);
    for (int pos = 0; pos < 4; ++pos) {
      char in[4] = {'7', 'e', '0', 'a'};
      in[pos] = ch;
      std::array<std::uint8_t, 2> out{};
      CHECK(decode_hex_lc(in, 2, out.data()) == valid);
      if (valid) {
        const int v = hex_value_lc(ch);
        CHECK(out[static_cast<std::size_t>(pos / 2)] ==
              (pos % 2 == 0 ? (v << 4) | (pos == 0 ? 0xe : 0xa) : ((pos == 1 ? 7 : 0) << 4) | v));
      }
    }
  }
}

TEST_CASE("text: describe_char") {
  CHECK(describe_char('a') == "'a'");
  CHECK(describe_char('~') == "'~'");
  CHECK(describe_char(' ') == "0x20");
  CHECK(describe_char('\t') == "0x09");
  CHECK(describe_char('\x7f') == "0x7F");
  CHECK(describe_char('\xc3') == "0xC3");
}

TEST_CASE("text: OWS is space and tab only") {
  CHECK(trim_ows(" \ta b\t ") == "a b");
  CHECK(trim_ows("") == "");
  CHECK(trim_ows(" \t ") == "");
  CHECK(trim_ows("x") == "x");
  // RFC 9110 OWS: line breaks and other whitespace are content.
  CHECK(trim_ows("\nx\r") == "\nx\r");
  CHECK(trim_ows("\vx\f") == "\vx\f");
  STATIC_REQUIRE(trim_ows("  x ") == "x");
  STATIC_REQUIRE(is_ows(' ') && is_ows('\t') && !is_ows('\n') && !is_ows('\0'));
}

TEST_CASE("text: percent_decode") {
  CHECK(percent_decode("") == "");
  CHECK(percent_decode("plain") == "plain");
  CHECK(percent_decode("a%20b") == "a b");
  CHECK(percent_decode("%2C%2c%3D%3d%25") == ",,==%");
  CHECK(percent_decode("%41%62") == "Ab");
  CHECK(percent_decode("1+1") == "1+1");  // not form encoding: '+' is not a space
  CHECK(percent_decode("%00") == std::string(1, '\0'));
  CHECK(percent_decode("%E2%82%AC") == "\xE2\x82\xAC");  // euro sign
  // Bytes, not text: no UTF-8 repair here.
  CHECK(percent_decode("aa%ffcc") ==
        "aa\xff"
        "cc");
  CHECK(percent_decode("%25zz") == "%zz");  // decoded once, not again

  CHECK_FALSE(percent_decode("%zz"));
  CHECK_FALSE(percent_decode("%g0"));
  CHECK_FALSE(percent_decode("%-1"));
  CHECK_FALSE(percent_decode("% 2"));
  CHECK_FALSE(percent_decode("%"));
  CHECK_FALSE(percent_decode("%4"));
  CHECK_FALSE(percent_decode("a%4"));
  CHECK_FALSE(percent_decode("ab%"));
}

TEST_CASE("text: scan_utf8 and decode_utf8") {
  std::uint32_t cp = 0;
  CHECK(decode_utf8("A", cp) == 1);
  CHECK(cp == 0x41);
  CHECK(decode_utf8("\xC3\xA9", cp) == 2);
  CHECK(cp == 0xE9);
  CHECK(decode_utf8("\xE2\x82\xAC", cp) == 3);
  CHECK(cp == 0x20AC);
  CHECK(decode_utf8("\xF0\x9F\x98\x80", cp) == 4);
  CHECK(cp == 0x1F600);
  CHECK(decode_utf8("\xF4\x8F\xBF\xBF", cp) == 4);
  CHECK(cp == 0x10FFFF);
  CHECK(decode_utf8("\xC2\x80xyz", cp) == 2);  // only the first sequence
  CHECK(cp == 0x80);

  CHECK(decode_utf8("\x80", cp) == 0);              // stray continuation
  CHECK(decode_utf8("\xC0\xAF", cp) == 0);          // overlong
  CHECK(decode_utf8("\xE0\x9F\xBF", cp) == 0);      // overlong 3-byte
  CHECK(decode_utf8("\xED\xA0\x80", cp) == 0);      // surrogate
  CHECK(decode_utf8("\xF4\x90\x80\x80", cp) == 0);  // beyond U+10FFFF
  CHECK(decode_utf8("\xE2\x82", cp) == 0);          // cut off
  CHECK(decode_utf8("\xFF", cp) == 0);

  // Maximal subparts: the bytes that could still have begun a well-formed sequence.
  CHECK(scan_utf8("\xE2\x82"
                  "A")
            .size == 2);
  CHECK(scan_utf8("\xF0\x9F\x98").size == 3);
  CHECK(scan_utf8("\xE0\x80").size == 1);  // E0 80 can begin nothing
  CHECK(scan_utf8("\xC0").size == 1);
  STATIC_REQUIRE(scan_utf8("\xE2\x82\xAC").valid);
}

TEST_CASE("text: invalid UTF-8 becomes U+FFFD, one per maximal subpart") {
  const std::string r = "\xEF\xBF\xBD";
  auto fix = [](std::string_view s) {
    std::string out;
    append_utf8_replacing_invalid(s, out);
    return out;
  };
  CHECK(fix("") == "");
  CHECK(fix("ascii") == "ascii");
  CHECK(fix("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(fix("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");  // 4-byte sequence
  CHECK(fix("\x80") == r);                               // lone continuation byte
  CHECK(fix("\xC3") == r);                               // truncated at the end
  CHECK(fix("a\xC3z") == "a" + r + "z");                 // truncated in the middle
  CHECK(fix("\xC0\xAF") == r + r);                       // overlong: C0 never starts one
  CHECK(fix("\xE0\x80\x80") == r + r + r);               // overlong 3-byte: E0 needs A0..BF
  CHECK(fix("\xED\xA0\x80") == r + r + r);               // UTF-16 surrogate
  CHECK(fix("\xF4\x90\x80\x80") == r + r + r + r);       // above U+10FFFF
  CHECK(fix("\xE2\x82") == r);                           // one maximal subpart, one U+FFFD
  CHECK(fix("\xF0\x9F\x98"
            "A") == r + "A");
  CHECK(fix("\xFF\xFE") == r + r);
  std::string out = "kept:";
  append_utf8_replacing_invalid("x", out);
  CHECK(out == "kept:x");  // appends
}

TEST_CASE("text: truncate_utf8 cuts on a sequence boundary") {
  const std::string_view s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀: 1+2+3+4 bytes
  CHECK(truncate_utf8(s, 100) == s);
  CHECK(truncate_utf8(s, s.size()) == s);
  CHECK(truncate_utf8(s, 0) == "");
  CHECK(truncate_utf8(s, 1) == "a");
  CHECK(truncate_utf8(s, 2) == "a");  // inside é
  CHECK(truncate_utf8(s, 3) == "a\xC3\xA9");
  CHECK(truncate_utf8(s, 4) == "a\xC3\xA9");  // inside €
  CHECK(truncate_utf8(s, 5) == "a\xC3\xA9");
  CHECK(truncate_utf8(s, 6) == "a\xC3\xA9\xE2\x82\xAC");
  for (std::size_t n = 7; n < 10; ++n) {  // inside 😀
    CHECK(truncate_utf8(s, n) == "a\xC3\xA9\xE2\x82\xAC");
  }
  CHECK(truncate_utf8("abc", 2) == "ab");
  CHECK(truncate_utf8("", 0) == "");
  // Every prefix it returns is valid UTF-8 when the input is.
  for (std::size_t n = 0; n <= s.size(); ++n) {
    const auto t = truncate_utf8(s, n);
    std::string fixed;
    append_utf8_replacing_invalid(t, fixed);
    INFO("limit " << n);
    CHECK(fixed == t);
    CHECK(t.size() <= n);
  }
}

TEST_CASE("text: the block-wise UTF-8 check and repair agree with the byte-wise one") {
  // Every placement of an invalid byte, a valid multi-byte character and a truncated one around
  // the 8-byte blocks utf8_valid_prefix reads.
  const std::string_view inserts[] = {
      "\x80", "\xC3\xA9", "\xE2\x9C\x93", "\xF0\x9F\x98\x80", "\xE2\x9C", "\xED\xA0\x80", "\xFF"};
  for (std::size_t len = 0; len < 20; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      for (const auto ins : inserts) {
        std::string s(len, 'x');
        s.insert(at, ins);
        std::string expected;
        append_utf8_replacing_invalid(s, expected);
        // The byte-wise scan's first invalid sequence.
        std::size_t first_bad = 0;
        while (first_bad < s.size() && scan_utf8(std::string_view(s).substr(first_bad)).valid) {
          first_bad += scan_utf8(std::string_view(s).substr(first_bad)).size;
        }
        INFO("length " << len << ", insert at " << at);
        CHECK(utf8_valid_prefix(s) == first_bad);
        const Utf8Text t = utf8_text(s);
        CHECK(t.valid() == (expected == s));
        REQUIRE(t.size == expected.size());
        std::string written(t.size, '\0');
        write_utf8_text(t, written.data());
        CHECK(written == expected);
      }
    }
  }
  CHECK(utf8_text("").size == 0);
  CHECK(utf8_text("").valid());
}
