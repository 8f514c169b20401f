#pragma once
// W3C tracestate (Trace Context Level 2 §3.3): vendor key/value list carried beside traceparent.
// Spec references below name the section anchor of https://www.w3.org/TR/trace-context-2/ (and
// trace-context-1/ where Level 1 differs), since section numbers moved between drafts.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "krishiv/trace/detail/text.hpp"

namespace krishiv::trace {

namespace detail {

// Character classes of the tracestate grammar, as one table so the parser tests one byte per
// character instead of chains of comparisons.
enum : std::uint8_t {
  kTsLcAlpha = 1,     // a-z
  kTsDigit = 2,       // 0-9
  kTsKeyPunct = 4,    // _ - * /   (Level 1 keychars beyond lcalpha / DIGIT)
  kTsAt = 8,          // @         (Level 2 keychar; Level 1 multi-tenant separator)
  kTsValueChar = 16,  // chr = %x20 / nblk-chr
  kTsNblkChar = 32,   // nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
};

inline constexpr std::array<std::uint8_t, 256> kTraceStateCharClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (std::size_t c = 0x20; c <= 0x7E; ++c) {
    if (c == ',' || c == '=') continue;
    t[c] |= kTsValueChar;
    if (c != ' ') t[c] |= kTsNblkChar;
  }
  for (std::size_t c = 'a'; c <= 'z'; ++c) t[c] |= kTsLcAlpha;
  for (std::size_t c = '0'; c <= '9'; ++c) t[c] |= kTsDigit;
  for (char c : {'_', '-', '*', '/'}) t[static_cast<unsigned char>(c)] |= kTsKeyPunct;
  t['@'] |= kTsAt;
  return t;
}();

constexpr std::uint8_t ts_class(char c) noexcept {
  return kTraceStateCharClass[static_cast<unsigned char>(c)];
}

// Level 1 key parts (Level 1 #key): `first` is the allowed first-character class, then up to
// max_len - 1 further chars of lcalpha / DIGIT / "_" / "-" / "*" / "/".
constexpr bool is_level1_key_part(std::string_view s, std::uint8_t first,
                                  std::size_t max_len) noexcept {
  if (s.empty() || s.size() > max_len || (ts_class(s[0]) & first) == 0) return false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if ((ts_class(s[i]) & (kTsLcAlpha | kTsDigit | kTsKeyPunct)) == 0) return false;
  }
  return true;
}

}  // namespace detail

// An immutable-by-sharing list of entries: copies share storage (spans copy their parent's state
// on every start, and nearly all of them never change it), mutation copies on write.
//
// Not synchronised: like std::string, concurrent reads are safe, a write needs exclusive access
// to the object being written (other copies sharing its storage are unaffected).
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
  static constexpr std::size_t kMaxKeyChars = 256;
  static constexpr std::size_t kMaxValueChars = 256;

  TraceState() = default;

  // Level 2 key (§3.3.2.2.1 #key): `(lcalpha / DIGIT) 0*255 keychar`, where keychar also admits
  // "@" with no structural meaning. This is what parse() accepts, so `foo@`, `foo@@bar` and
  // `1abc` are valid here (as in the W3C test suite's main branch) while `@foo` is not.
  static constexpr bool is_valid_key(std::string_view key) noexcept {
    constexpr auto kFirst = detail::kTsLcAlpha | detail::kTsDigit;
    constexpr auto kRest = kFirst | detail::kTsKeyPunct | detail::kTsAt;
    if (key.empty() || key.size() > kMaxKeyChars || (detail::ts_class(key[0]) & kFirst) == 0) {
      return false;
    }
    for (std::size_t i = 1; i < key.size(); ++i) {
      if ((detail::ts_class(key[i]) & kRest) == 0) return false;
    }
    return true;
  }

  // Level 1 key (REC #key): simple-key = lcalpha 0*255(...), or
  // multi-tenant-key = tenant-id "@" system-id with tenant-id = (lcalpha / DIGIT) 0*240(...) and
  // system-id = lcalpha 0*13(...). Keys this library creates must satisfy both levels, so that
  // Level 1 receivers do not discard the whole header because of an entry we added.
  static constexpr bool is_valid_level1_key(std::string_view key) noexcept {
    const auto at = key.find('@');
    if (at == std::string_view::npos) {
      return detail::is_level1_key_part(key, detail::kTsLcAlpha, kMaxKeyChars);
    }
    return detail::is_level1_key_part(key.substr(0, at), detail::kTsLcAlpha | detail::kTsDigit,
                                      241) &&
           detail::is_level1_key_part(key.substr(at + 1), detail::kTsLcAlpha, 14);
  }

  // #value: `value = 0*255(chr) nblk-chr`: 1..256 printable ASCII except "," and "=", not
  // ending in a space. Leading spaces belong to the value (Level 2 says so explicitly).
  static constexpr bool is_valid_value(std::string_view value) noexcept {
    if (value.empty() || value.size() > kMaxValueChars ||
        (detail::ts_class(value.back()) & detail::kTsNblkChar) == 0) {
      return false;
    }
    for (char c : value) {
      if ((detail::ts_class(c) & detail::kTsValueChar) == 0) return false;
    }
    return true;
  }

  // Parses one tracestate header, or several header fields the caller joined with "," in the
  // order received (RFC 9110 §5.3 field order). Empty and OWS-only list members are ignored and
  // not counted. Any invalid member, or more than 32 non-empty members, invalidates the whole
  // header (W3C test suite: the tracestate is discarded, never half-used). A repeated key keeps
  // its first occurrence: senders must not repeat keys, and the left-most entry is the most
  // recent position (#combined-header-value). An empty header is an empty state.
  static std::optional<TraceState> parse(std::string_view header) {
    using Member = std::pair<std::string_view, std::string_view>;
    std::array<Member, kMaxMembers> members;
    std::size_t count = 0;  // members seen, duplicates included (the header's list length)
    std::size_t kept = 0;   // members stored in `members`, duplicates dropped

    std::size_t pos = 0;
    while (pos <= header.size()) {
      auto comma = header.find(',', pos);
      if (comma == std::string_view::npos) comma = header.size();
      // Trailing OWS after a value is not part of it (Level 2 #value); OWS before the key
      // surrounds the list-member (#list).
      const auto member = detail::trim_ows(header.substr(pos, comma - pos));
      pos = comma + 1;
      if (member.empty()) continue;
      if (++count > kMaxMembers) return std::nullopt;

      const auto eq = member.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const auto key = member.substr(0, eq);
      const auto value = member.substr(eq + 1);
      if (!is_valid_key(key) || !is_valid_value(value)) return std::nullopt;

      bool duplicate = false;
      for (std::size_t i = 0; i < kept && !duplicate; ++i) duplicate = members[i].first == key;
      if (!duplicate) members[kept++] = {key, value};
    }

    TraceState state;
    if (kept == 0) return state;
    auto entries = std::make_shared<std::vector<Entry>>();
    entries->reserve(kept);
    for (std::size_t i = 0; i < kept; ++i) {
      entries->push_back(Entry{std::string(members[i].first), std::string(members[i].second)});
    }
    state.entries_ = std::move(entries);
    return state;
  }

  // The header value: at most 32 members and at most 512 characters. Over 512, whole entries are
  // dropped from the output (#tracestate-limits): first entries longer than 128
  // characters, right-most first, until the rest fits; then entries from the right end. The
  // state itself is not changed. Empty state gives an empty string (callers then omit the
  // header: receivers must accept an empty one, senders should avoid it).
  std::string to_string() const {
    const auto& list = entries();
    const std::size_t n = list.size() < kMaxMembers ? list.size() : kMaxMembers;
    std::array<bool, kMaxMembers> keep{};
    std::size_t kept = 0;
    std::size_t chars = 0;  // "k=v" lengths plus one comma per entry (one too many)
    for (std::size_t i = 0; i < n; ++i) {
      keep[i] = true;
      ++kept;
      chars += entry_chars(list[i]) + 1;
    }
    auto fits = [&] { return kept == 0 || chars - 1 <= kMaxHeaderChars; };
    auto drop = [&](std::size_t i) {
      keep[i] = false;
      --kept;
      chars -= entry_chars(list[i]) + 1;
    };
    for (std::size_t i = n; i-- > 0 && !fits();) {
      if (entry_chars(list[i]) > kLargeEntryChars) drop(i);
    }
    for (std::size_t i = n; i-- > 0 && !fits();) {
      if (keep[i]) drop(i);
    }

    std::string out;
    if (kept == 0) return out;
    out.reserve(chars - 1);
    for (std::size_t i = 0; i < n; ++i) {
      if (!keep[i]) continue;
      if (!out.empty()) out += ',';
      out += list[i].key;
      out += '=';
      out += list[i].value;
    }
    return out;
  }

  // Adds the entry, or updates it and moves it to the front (#mutating-the-tracestate-field:
  // modified keys move left, unmodified keep their order). Accepts any Level 2 key so a
  // received entry can be re-put; keys the library makes up itself must also pass
  // is_valid_level1_key(). Returns false and changes nothing for an invalid key or value. When
  // the list is full the right-most entry is removed (Level 1
  // #mutating-the-tracestate-field, "Add a new key/value pair").
  bool put(std::string_view key, std::string_view value) {
    if (!is_valid_key(key) || !is_valid_value(value)) return false;
    auto& list = mutable_entries();
    std::size_t i = 0;
    while (i < list.size() && list[i].key != key) ++i;
    if (i == list.size()) {
      if (list.size() >= kMaxMembers) {
        list.pop_back();
        i = list.size();
      }
      list.push_back(Entry{std::string(key), {}});
    }
    // clear + append, not assign: g++ 12 at -O3 warns -Wrestrict in assign's overlap check,
    // falsely.
    list[i].value.clear();
    list[i].value.append(value);
    // Moves the entry to the front without disturbing the others' relative order.
    for (; i > 0; --i) std::swap(list[i], list[i - 1]);
    return true;
  }

  // Removes the entry; false if there was none. Vendors should delete only keys they created
  // (#mutating-the-tracestate-field), which is the caller's decision.
  bool erase(std::string_view key) {
    const auto& list = entries();
    std::size_t i = 0;
    while (i < list.size() && list[i].key != key) ++i;
    if (i == list.size()) return false;
    auto& owned = mutable_entries();
    owned.erase(owned.begin() + static_cast<std::ptrdiff_t>(i));
    if (owned.empty()) entries_.reset();
    return true;
  }

  std::optional<std::string_view> get(std::string_view key) const {
    for (const auto& e : entries()) {
      if (e.key == key) return std::string_view(e.value);
    }
    return std::nullopt;
  }
  bool empty() const noexcept { return !entries_ || entries_->empty(); }
  std::size_t size() const noexcept { return entries_ ? entries_->size() : 0; }
  const std::vector<Entry>& entries() const noexcept {
    static const std::vector<Entry> kEmpty;
    return entries_ ? *entries_ : kEmpty;
  }

  friend bool operator==(const TraceState& a, const TraceState& b) noexcept {
    return a.entries_ == b.entries_ || a.entries() == b.entries();
  }

 private:
  static std::size_t entry_chars(const Entry& e) noexcept {
    return e.key.size() + 1 + e.value.size();
  }

  // Copy on write. use_count() == 1 means no other TraceState shares the list, and no other
  // thread may be copying *this while we write it, so writing in place is safe. use_count() is a
  // relaxed load: the acquire fence orders our writes after the reads another thread made
  // before it released its (now dropped) reference.
  std::vector<Entry>& mutable_entries() {
    if (!entries_) {
      entries_ = std::make_shared<std::vector<Entry>>();
    } else if (entries_.use_count() > 1) {
      entries_ = std::make_shared<std::vector<Entry>>(*entries_);
    } else {
      std::atomic_thread_fence(std::memory_order_acquire);
    }
    return *entries_;
  }

  // Never shared as mutable: every writer goes through mutable_entries() first.
  std::shared_ptr<std::vector<Entry>> entries_;
};

}  // namespace krishiv::trace
