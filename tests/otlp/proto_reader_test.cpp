// krishiv/trace/detail/protobuf_reader.hpp: protobuf wire format (protobuf.dev encoding guide),
// with malformed input ending the read cleanly.

#include "krishiv/trace/detail/protobuf_reader.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>

using krishiv::trace::detail::proto_key;
using krishiv::trace::detail::ProtoReader;
using krishiv::trace::detail::read_varint;
using krishiv::trace::detail::WireType;

namespace {
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}
}  // namespace

TEST_CASE("varints", "[otlp][proto]") {
  struct Row {
    std::string in;
    std::uint64_t value;
  };
  const Row rows[] = {
      {bytes({0x00}), 0},
      {bytes({0x01}), 1},
      {bytes({0x96, 0x01}), 150},
      {bytes({0xFF, 0x7F}), 16383},
      {bytes({0x80, 0x80, 0x01}), 16384},
      // int64 -1: ten bytes, the last carrying only bit 63.
      {bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), UINT64_MAX},
      // Non-minimal encodings are legal.
      {bytes({0x81, 0x80, 0x00}), 1},
  };
  for (const auto& r : rows) {
    std::string_view in = r.in;
    std::uint64_t v = 0;
    REQUIRE(read_varint(in, v));
    CHECK(v == r.value);
    CHECK(in.empty());
  }
  for (const std::string& bad :
       {bytes({}), bytes({0x80}), bytes({0xFF, 0xFF}),
        bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}),
        bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})}) {
    std::string_view in = bad;
    std::uint64_t v = 0;
    CHECK_FALSE(read_varint(in, v));
  }
}

TEST_CASE("every wire type, in order", "[otlp][proto]") {
  // 1: varint 150; 2: fixed64; 3: "hi"; 4: fixed32; 5: nested message {1: 7}; 16: int64 -2.
  const std::string msg =
      bytes({0x08, 0x96, 0x01, 0x11, 1,    2,    3,    4,    5,    6,    7,    8,    0x1A,
             0x02, 'h',  'i',  0x25, 0xEF, 0xBE, 0xAD, 0xDE, 0x2A, 0x02, 0x08, 0x07, 0x80,
             0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  ProtoReader r(msg);
  REQUIRE(r.next());
  CHECK(r.field() == 1);
  CHECK(r.wire_type() == WireType::Varint);
  CHECK(r.varint() == 150);
  CHECK(r.bytes().empty());  // wrong accessor for the wire type reads as the default
  REQUIRE(r.next());
  CHECK(r.field() == 2);
  CHECK(r.fixed64() == 0x0807060504030201ull);
  REQUIRE(r.next());
  CHECK(r.field() == 3);
  CHECK(r.bytes() == "hi");
  REQUIRE(r.next());
  CHECK(r.key() == proto_key(4, WireType::I32));  // read whole; no caller needs the value
  REQUIRE(r.next());
  CHECK(r.field() == 5);
  ProtoReader nested(r.bytes());
  REQUIRE(nested.next());
  CHECK(nested.varint() == 7);
  CHECK_FALSE(nested.next());
  CHECK(nested.ok());
  REQUIRE(r.next());
  CHECK(r.field() == 16);
  CHECK(r.int64() == -2);
  CHECK_FALSE(r.next());
  CHECK(r.ok());
}

TEST_CASE("groups are skipped as unknown fields", "[otlp][proto]") {
  // 1: start group { 2: varint 1; 3: start group {} end 3 } end 1; then 4: varint 9.
  const std::string msg = bytes({0x0B, 0x10, 0x01, 0x1B, 0x1C, 0x0C, 0x20, 0x09});
  ProtoReader r(msg);
  REQUIRE(r.next());
  CHECK(r.field() == 4);
  CHECK(r.varint() == 9);
  CHECK_FALSE(r.next());
  CHECK(r.ok());
}

TEST_CASE("malformed input stops the reader", "[otlp][proto]") {
  const std::string bad[] = {
      bytes({0x08}),                                // varint value missing
      bytes({0x08, 0x80}),                          // varint truncated
      bytes({0x11, 1, 2, 3}),                       // fixed64 truncated
      bytes({0x25, 1, 2}),                          // fixed32 truncated
      bytes({0x0A, 0x05, 'a', 'b'}),                // length past the end
      bytes({0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}),  // huge length
      bytes({0x00, 0x01}),                          // field number 0
      bytes({0x0E, 0x01}),                          // wire type 6
      bytes({0x0F, 0x01}),                          // wire type 7
      bytes({0x0C}),                                // end group without start
      bytes({0x0B, 0x10, 0x01}),                    // unterminated group
      bytes({0x0B, 0x14}),                          // group closed with another field number
      bytes({0xF8, 0xFF, 0xFF, 0xFF, 0x1F, 0x00}),  // field number 2^29 (too large)
  };
  for (const auto& b : bad) {
    INFO("case " << (&b - bad));
    ProtoReader r(b);
    while (r.next()) {
    }
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.next());  // stays stopped
  }
  // Deeply nested groups are refused rather than followed.
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += static_cast<char>(0x0B);
  for (int i = 0; i < 40; ++i) deep += static_cast<char>(0x0C);
  ProtoReader r(deep);
  CHECK_FALSE(r.next());
  CHECK_FALSE(r.ok());
}

TEST_CASE("empty input is an empty message", "[otlp][proto]") {
  ProtoReader r{std::string_view{}};
  CHECK_FALSE(r.next());
  CHECK(r.ok());
}

TEST_CASE("largest field number", "[otlp][proto]") {
  // (2^29 - 1) << 3 | 0 as a varint, then value 5.
  const std::string msg = bytes({0xF8, 0xFF, 0xFF, 0xFF, 0x0F, 0x05});
  ProtoReader r(msg);
  REQUIRE(r.next());
  CHECK(r.field() == (1u << 29) - 1);
  CHECK(r.varint() == 5);
}
