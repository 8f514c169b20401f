#pragma once
// Carriers: where the headers of one request live (HTTP header lists, gRPC metadata, Arrow
// Flight's call headers), and W3C Trace Context injection into and extraction from any of them.
//
// A carrier needs two operations: "set a header" (inject) and "visit every value of a header",
// in the order received (extract). Adapters below give them to std::map, std::multimap (and any
// multimap-like container, gRPC's metadata and Flight's CallHeaders among them), vectors of
// key/value pairs (an HTTP header list) and anything with Flight's
// `AddHeader(const std::string&, const std::string&)`; a type of your own can model the concepts
// directly. The W3C rules (https://www.w3.org/TR/trace-context-2/) live here once:
// - traceparent absent, present more than once, or invalid: no remote parent (a new trace);
// - several tracestate values are joined with "," in the order received (#tracestate-header,
//   RFC 9110 §5.3); an invalid tracestate is dropped and the traceparent kept;
// - only a valid context is sent, with its own trace flags; keys are sent lowercase.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "krishiv/trace/context.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/propagation/traceparent.hpp"
#include "krishiv/trace/span_context.hpp"

namespace krishiv::trace {

// Header names, lowercase as HTTP/2 and gRPC metadata require.
inline constexpr std::string_view kTraceParentHeader = "traceparent";
inline constexpr std::string_view kTraceStateHeader = "tracestate";

namespace detail {

// What a carrier's for_each_value() is called with in the concept check.
struct HeaderValueVisitor {
  void operator()(std::string_view) const noexcept {}
};

constexpr bool header_name_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

template <class S>
std::string_view as_view(const S& s) noexcept {
  return std::string_view(s.data(), s.size());
}

}  // namespace detail

// Can receive headers: set(key, value) replaces every earlier value of key.
template <class C>
concept InjectCarrier = requires(C& c, std::string_view key, std::string_view value) {
  c.set(key, value);
};

// Can be read: for_each_value(key, f) calls f(std::string_view) for every value of key, in the
// order received.
template <class C>
concept ExtractCarrier = requires(const C& c, std::string_view key,
                                  detail::HeaderValueVisitor visit) {
  c.for_each_value(key, visit);
};

// std::map / std::unordered_map of strings: one value per key.
template <class Map>
class MapCarrier {
 public:
  explicit MapCarrier(Map& m) noexcept : m_(&m) {}
  void set(std::string_view key, std::string_view value) requires(!std::is_const_v<Map>) {
    (*m_)[typename Map::key_type(key)] = typename Map::mapped_type(value);
  }
  void erase(std::string_view key) requires(!std::is_const_v<Map>) {
    m_->erase(typename Map::key_type(key));
  }
  template <class F>
  void for_each_value(std::string_view key, F&& f) const {
    auto it = m_->find(typename Map::key_type(key));
    if (it != m_->end()) f(detail::as_view(it->second));
  }

 private:
  Map* m_;
};

// A multimap: std::multimap<std::string, std::string>, gRPC metadata
// (std::multimap<grpc::string_ref, grpc::string_ref>), Arrow Flight's CallHeaders
// (std::multimap<std::string_view, std::string_view>). Equal keys keep their insertion order,
// which is the order received. Keys are matched exactly: these carriers hold lowercase keys
// (HTTP/2, gRPC). Setting needs owning keys and values (a multimap of views is read-only here).
template <class MM>
class MultimapCarrier {
 public:
  explicit MultimapCarrier(MM& m) noexcept : m_(&m) {}
  void set(std::string_view key, std::string_view value) requires(!std::is_const_v<MM>) {
    erase(key);
    m_->emplace(typename MM::key_type(key.data(), key.size()),
                typename MM::mapped_type(value.data(), value.size()));
  }
  void erase(std::string_view key) requires(!std::is_const_v<MM>) {
    m_->erase(typename MM::key_type(key.data(), key.size()));
  }
  template <class F>
  void for_each_value(std::string_view key, F&& f) const {
    const auto range = m_->equal_range(typename MM::key_type(key.data(), key.size()));
    for (auto it = range.first; it != range.second; ++it) f(detail::as_view(it->second));
  }

 private:
  MM* m_;
};

// An HTTP header list: a sequence of (name, value) pairs. Names compare case-insensitively
// (RFC 9110 §5.1); set() removes every earlier field of that name and appends one.
template <class List>
class HeaderListCarrier {
 public:
  explicit HeaderListCarrier(List& l) noexcept : l_(&l) {}
  void set(std::string_view key, std::string_view value) requires(!std::is_const_v<List>) {
    erase(key);
    l_->emplace_back(typename List::value_type::first_type(key),
                     typename List::value_type::second_type(value));
  }
  void erase(std::string_view key) requires(!std::is_const_v<List>) {
    l_->erase(std::remove_if(l_->begin(), l_->end(),
                             [&](const auto& kv) {
                               return detail::header_name_equal(detail::as_view(kv.first), key);
                             }),
              l_->end());
  }
  template <class F>
  void for_each_value(std::string_view key, F&& f) const {
    for (const auto& kv : *l_) {
      if (detail::header_name_equal(detail::as_view(kv.first), key)) f(detail::as_view(kv.second));
    }
  }

 private:
  List* l_;
};

// Anything with Arrow Flight's AddCallHeaders interface:
// `virtual void AddHeader(const std::string& key, const std::string& value)`. Adding cannot
// replace, so inject once per outgoing call (as a Flight client middleware's SendingHeaders does).
template <class T>
class AddHeaderCarrier {
 public:
  explicit AddHeaderCarrier(T& t) noexcept : t_(&t) {}
  void set(std::string_view key, std::string_view value) {
    t_->AddHeader(std::string(key), std::string(value));
  }

 private:
  T* t_;
};

namespace detail {

template <class T>
concept map_like = requires(T& t, const typename T::key_type& k) {
  typename T::mapped_type;
  t.find(k);
  t.insert_or_assign(k, std::declval<typename T::mapped_type>());
};

template <class T>
concept multimap_like = !map_like<T> && requires(T & t, const typename T::key_type& k) {
  typename T::mapped_type;
  t.equal_range(k);
};

template <class T>
concept header_list_like = requires(T& t) {
  typename T::value_type::first_type;
  typename T::value_type::second_type;
  t.begin();
  t.end();
}
&&!map_like<T> && !multimap_like<T>;

template <class T>
concept add_header_like = requires(T& t, const std::string& s) {
  t.AddHeader(s, s);
};

// The carrier for a value: itself when it models a carrier concept, else its adapter.
template <class T>
decltype(auto) as_carrier(T& t) {
  using U = std::remove_const_t<T>;
  if constexpr (InjectCarrier<U> || ExtractCarrier<U>) {
    return (t);
  } else if constexpr (map_like<U>) {
    return MapCarrier<T>(t);
  } else if constexpr (multimap_like<U>) {
    return MultimapCarrier<T>(t);
  } else if constexpr (header_list_like<U>) {
    return HeaderListCarrier<T>(t);
  } else if constexpr (add_header_like<U>) {
    return AddHeaderCarrier<T>(t);
  }
  // Otherwise void: not a carrier (no static_assert, so that the concepts below can ask).
}

template <class C>
concept has_erase = requires(C& c, std::string_view key) {
  c.erase(key);
};

}  // namespace detail

// Types inject_trace_context() / extract_trace_context() accept, directly or through an adapter.
template <class T>
concept Injectable = requires(T& t) {
  { detail::as_carrier(t) } -> InjectCarrier;
};
template <class T>
concept Extractable = requires(const T& t) {
  { detail::as_carrier(t) } -> ExtractCarrier;
};

// Writes traceparent (and tracestate when there is one) for `ctx`. An invalid context writes
// nothing, and removes what the carrier held under those keys when it can (an old tracestate
// must not travel with a new traceparent).
template <Injectable Carrier>
void inject_trace_context(Carrier& target, const SpanContext& ctx) {
  decltype(auto) c = detail::as_carrier(target);
  if (!ctx.is_valid()) {
    if constexpr (detail::has_erase<std::remove_reference_t<decltype(c)>>) {
      c.erase(kTraceParentHeader);
      c.erase(kTraceStateHeader);
    }
    return;
  }
  // On the stack: this runs once per outgoing call (the gRPC client interceptor).
  char tp[TraceParent::kSize];
  TraceParent{ctx.trace_id, ctx.span_id, ctx.flags}.write(tp);
  c.set(kTraceParentHeader, std::string_view(tp, sizeof tp));
  if (!ctx.trace_state.empty()) {
    c.set(kTraceStateHeader, ctx.trace_state.to_string());
  } else if constexpr (detail::has_erase<std::remove_reference_t<decltype(c)>>) {
    c.erase(kTraceStateHeader);
  }
}

// The current span's context (Context::current()).
template <Injectable Carrier>
void inject_trace_context(Carrier& target) {
  inject_trace_context(target, Context::current().span_context());
}

// The remote parent the carrier names: empty (invalid) when traceparent is absent, repeated or
// invalid, which makes the next span start a new trace.
template <Extractable Carrier>
SpanContext extract_trace_context(const Carrier& source) {
  decltype(auto) c = detail::as_carrier(source);
  std::string_view traceparent;
  std::size_t traceparents = 0;
  c.for_each_value(kTraceParentHeader, [&](std::string_view v) {
    traceparent = v;
    ++traceparents;
  });
  if (traceparents != 1) return {};
  std::string tracestate;
  c.for_each_value(kTraceStateHeader, [&](std::string_view v) {
    if (!tracestate.empty()) tracestate += ',';
    tracestate += v;
  });
  auto ctx = extract_span_context(traceparent, tracestate);
  return ctx ? std::move(*ctx) : SpanContext();
}

}  // namespace krishiv::trace
