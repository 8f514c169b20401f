#pragma once
// W3C tracestate (Trace Context Level 2 §3.3): vendor key/value list carried beside traceparent.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace krishiv::trace {

// An immutable-by-sharing list of entries: copies share storage (spans copy their parent's state
// on every start, and nearly all of them never change it), mutation copies on write.
class TraceState {
 public:
  struct Entry {
    std::string key;
    std::string value;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  static constexpr std::size_t kMaxMembers = 32;
  static constexpr std::size_t kMaxHeaderChars = 512;
  static constexpr std::size_t kLargeEntryChars = 128;

  TraceState() = default;

  // TODO(helper A): implement per the foundation issue.
  static std::optional<TraceState> parse(std::string_view header);
  std::string to_string() const;
  bool put(std::string_view key, std::string_view value);
  bool erase(std::string_view key);

  std::optional<std::string_view> get(std::string_view key) const;
  bool empty() const noexcept { return !entries_ || entries_->empty(); }
  std::size_t size() const noexcept { return entries_ ? entries_->size() : 0; }
  const std::vector<Entry>& entries() const noexcept;

  friend bool operator==(const TraceState& a, const TraceState& b) noexcept {
    return a.entries() == b.entries();
  }

 private:
  std::shared_ptr<const std::vector<Entry>> entries_;
};

}  // namespace krishiv::trace
