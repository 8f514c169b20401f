#pragma once
// The demo's messages: "key=value" lines, no protobuf and no protoc step. A value holds no
// newline (the demo's values are ids, numbers and addresses).

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

using Message = std::map<std::string, std::string>;

inline std::string encode(const Message& m) {
  std::string out;
  for (const auto& [k, v] : m) out += k + "=" + v + "\n";
  return out;
}

inline Message decode(std::string_view text) {
  Message m;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (const auto eq = line.find('='); eq != std::string_view::npos) {
      m.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return m;
}

inline std::string get(const Message& m, const std::string& key, std::string fallback = {}) {
  const auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

inline std::int64_t get_int(const Message& m, const std::string& key) {
  const std::string v = get(m, key, "0");
  try {
    return std::stoll(v);
  } catch (...) {
    return 0;
  }
}

inline grpc::ByteBuffer to_buffer(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

inline std::string from_buffer(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (b.Dump(&slices).ok()) {
    for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

}  // namespace demo
