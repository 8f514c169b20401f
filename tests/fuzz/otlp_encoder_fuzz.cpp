// libFuzzer target: the OTLP encoder fed span contents from the input (name, attribute keys and
// values, an array, a key-value list, an event, a link, the status message, the resource and
// the scope: NUL-separated pieces, in that order). libprotobuf, a parser we did not write,
// must accept every request (proto3 strings: UTF-8 validated), see the text as it was or
// repaired with U+FFFD, and agree with encoded_size().
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/otlp/encoder.hpp"
#include "otlp_test.pb.h"
#include "records.hpp"

namespace pb = krishiv::otlp_test;
using namespace otlp_test;

namespace {

std::string repaired(std::string_view s) {
  std::string out;
  krishiv::trace::detail::append_utf8_replacing_invalid(s, out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // libprotobuf logs each rejected string field; a rejection aborts below anyway.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;

  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string piece[12];
  for (auto& p : piece) {
    const std::size_t nul = input.find('\0');
    p = std::string(input.substr(0, nul));
    input = nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);
  }

  const Resource resource = Resource::create(
      {{piece[10], piece[11]}, {"list", std::vector<std::string>{piece[11], piece[0]}}});
  const InstrumentationScope scope{piece[9], piece[8]};
  const detail::TimeBase tb = time_base();
  Records records;
  SpanBatch batch{resource, scope, tb};
  RecordHeader h = header(1, SpanKind::Server, 0x01);
  Body b;
  detail::put_name(b, piece[0]);
  detail::put_attribute(b, piece[1], std::string_view(piece[2]));
  detail::put_attribute(b, "array", std::vector<std::string>{piece[2], piece[3]});
  b.push(static_cast<std::uint8_t>(Item::Attribute));
  detail::put_key(b, "map");
  begin_kvlist(b, 1);
  detail::put_key(b, piece[3]);
  detail::put_natural(b, std::string_view(piece[4]));
  detail::begin_event(b, b.bits, 7, piece[5], 1, 0);
  detail::put_key(b, piece[6]);
  detail::put_natural(b, std::string_view(piece[1]));
  detail::begin_link(b, b.bits, trace_id(2), span_id(3), TraceFlags(0x01), false, "", 1, 0);
  detail::put_key(b, piece[4]);
  detail::put_natural(b, std::string_view(piece[5]));
  detail::put_status_message(b, b.bits, piece[7]);
  batch.add_record(records.add(h, b));

  std::string bytes;
  OtlpEncoder{}.encode(batch, bytes);
  if (OtlpEncoder::encoded_size(batch) != bytes.size()) std::abort();
  pb::ExportTraceServiceRequest req;
  if (!req.ParseFromString(bytes)) std::abort();
  const auto& span = req.resource_spans(0).scope_spans(0).spans(0);
  if (span.name() != repaired(piece[0])) std::abort();
  if (span.attributes(0).key() != repaired(piece[1])) std::abort();
  if (span.attributes(0).value().string_value() != repaired(piece[2])) std::abort();
  if (span.events(0).name() != repaired(piece[5])) std::abort();
  if (span.links(0).attributes(0).value().string_value() != repaired(piece[5])) std::abort();
  if (span.status().message() != repaired(piece[7])) std::abort();
  if (req.resource_spans(0).scope_spans(0).scope().name() != repaired(piece[9])) std::abort();
  return 0;
}
