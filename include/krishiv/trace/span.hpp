#pragma once
// Spans: RAII guards that record a finished span when they die.
//
//   auto s = info_span("checkpoint_commit", job_id{job}, epoch{42}).entered();
//   s.add_event("manifest_written", attr("bytes", n));
//   // ends, and the previous span becomes current again, at the end of the scope
//
// A span's parent is the current span (context.hpp) unless a Context or SpanContext argument
// names another, or `root` asks for none. A span that is not sampled records nothing but still
// has ids and propagates its context (sampled flag off); a span of a disabled level is inert and
// leaves the current context untouched.
//
// Lifetime: a span records into the pipeline of the provider that was installed when it started,
// when it ends on a thread that records into that same pipeline (the installed one). A span may
// outlive its provider (destroyed, or replaced by another), and may be moved to another thread
// and outlive the one that started it: it then records nothing, and is counted as dropped, in
// its provider's stats() (dropped_inactive) while the provider lives, else in
// TracerProvider::dropped_without_provider(). It never touches freed memory (pipeline/active.hpp).

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "krishiv/trace/attribute.hpp"
#include "krishiv/trace/clock.hpp"
#include "krishiv/trace/context.hpp"
#include "krishiv/trace/detail/small_buffer.hpp"
#include "krishiv/trace/detail/text.hpp"
#include "krishiv/trace/field.hpp"
#include "krishiv/trace/level.hpp"
#include "krishiv/trace/pipeline/active.hpp"
#include "krishiv/trace/record/format.hpp"
#include "krishiv/trace/record/writer.hpp"
#include "krishiv/trace/span_kind.hpp"
#include "krishiv/trace/status.hpp"

namespace krishiv::trace {

// A key and a value for add_event/add_link/set_attributes: `attr("rows", 42)`.
template <typename T>
struct KeyValue {
  std::string_view key;
  const T& value;
};
template <typename T>
KeyValue<T> attr(std::string_view key, const T& value) noexcept {
  return {key, value};
}

// Start options, passed among a span's arguments.
struct root_t {
  explicit root_t() = default;
};
inline constexpr root_t root{};  // start a new trace, ignoring the current span

class Span;
class EnteredSpan;

// Makes a span current until destroyed (Span::enter()). Scopes must nest: not movable.
class [[nodiscard]] SpanScope {
 public:
  explicit SpanScope(const Span& span);
  ~SpanScope() = default;
  SpanScope(const SpanScope&) = delete;
  SpanScope& operator=(const SpanScope&) = delete;

 private:
  std::optional<ContextScope> scope_;
};

class Span {
 public:
  static constexpr std::size_t kInlineBytes = 128;

  // Inert. User-provided so that header_ (an anonymous union member) stays uninitialised: only a
  // started span reads it, and a span of a disabled level then costs a few stores of zero.
  Span() noexcept {}
  Span(Span&& o) noexcept { take(o); }
  Span& operator=(Span&& o) noexcept {
    if (this != &o) {
      end();
      release();
      take(o);
    }
    return *this;
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  // Not end(): a span that dies has nothing to mark, so a non-recording one with no tracestate
  // costs two tests.
  ~Span() {
    if (slot_ != nullptr) record();
    release();
  }

  // Has ids (sampled or not): it can be a parent and be propagated.
  bool is_valid() const noexcept { return valid_; }
  // Will produce a record when it ends.
  bool is_recording() const noexcept { return slot_ != nullptr; }
  bool has_ended() const noexcept { return valid_ && slot_ == nullptr && ended_; }

  SpanContext context() const {
    if (!valid_) return {};
    // An unsampled span draws its id only when someone needs it (entering it, propagating it):
    // most never do, and the draw is a third of an unsampled span's cost.
    if (!id_drawn_) {
      header_.span_id = SpanId::random();
      id_drawn_ = true;
    }
    return SpanContext{header_.trace_id, header_.span_id, TraceFlags(trace_flags_),
                       (live_ & kLiveState) != 0 ? state_ : TraceState(), false};
  }

  // Sets (or overwrites, per the OpenTelemetry spec) an attribute. Values: bool, integers,
  // floating point, strings, and std::vector of those (or an AttributeValue).
  template <typename T>
  Span& set_attribute(std::string_view key, const T& value) {
    if (slot_ == nullptr) return *this;
    const bool replaced = kill_attribute(key);
    if (!replaced && attribute_count_ >= limit_of(slot_->attribute_count)) {
      ++dropped_attributes_;
      return *this;
    }
    attribute_count_ += replaced ? 0 : 1;
    const std::size_t length = limit_of(slot_->attribute_value_length);
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      detail::put_attribute(body_, key,
                            fit(detail::truncate_utf8(std::string_view(value), length)));
    } else {
      detail::put_attribute(body_, key, value, length);
    }
    return *this;
  }
  template <detail::fixed_string K, typename T>
  Span& set_attribute(const field<K, T>& f) {
    return set_attribute(field<K, T>::key, f.value);
  }

  template <typename... KVs>
  Span& add_event(std::string_view name, const KVs&... kvs) {
    if (slot_ == nullptr) return *this;
    if (event_count_ >= limit_of(slot_->event_count)) {
      ++dropped_events_;
      return *this;
    }
    ++event_count_;
    const std::size_t limit = limit_of(slot_->attributes_per_event);
    const std::size_t n = sizeof...(KVs) < limit ? sizeof...(KVs) : limit;
    detail::begin_event(body_, header_.bits, detail::SpanClock::now(), fit(name), n,
                        sizeof...(KVs) - n);
    write_kvs(n, kvs...);
    return *this;
  }

  template <typename... KVs>
  Span& add_link(const SpanContext& linked, const KVs&... kvs) {
    if (slot_ == nullptr || !linked.is_valid()) return *this;
    if (link_count_ >= limit_of(slot_->link_count)) {
      ++dropped_links_;
      return *this;
    }
    ++link_count_;
    const std::size_t limit = limit_of(slot_->attributes_per_link);
    const std::size_t n = sizeof...(KVs) < limit ? sizeof...(KVs) : limit;
    const std::string state = linked.trace_state.to_string();
    detail::begin_link(body_, header_.bits, linked.trace_id, linked.span_id, linked.flags,
                       linked.is_remote, state, n, sizeof...(KVs) - n);
    write_kvs(n, kvs...);
    return *this;
  }

  // Ok is final (the spec: later attempts to set Error are ignored); Unset is never set back.
  Span& set_status(StatusCode code, std::string_view message = {}) {
    if (slot_ == nullptr || code == StatusCode::Unset) return *this;
    if (static_cast<StatusCode>(header_.status) == StatusCode::Ok) return *this;
    header_.status = static_cast<std::uint8_t>(code);
    // The description is only meaningful for Error (spec: ignored otherwise). A later one wins:
    // readers take the last StatusMessage item.
    if (code == StatusCode::Error && !message.empty()) {
      detail::put_status_message(
          body_, header_.bits,
          fit(detail::truncate_utf8(message, limit_of(slot_->attribute_value_length))));
    }
    return *this;
  }

  // Ends the span: records it (if sampled). Idempotent.
  void end() noexcept {
    if (slot_ == nullptr) {
      ended_ = valid_;
      return;
    }
    record();
  }

  // Makes this span current for the returned scope's lifetime.
  SpanScope enter() const { return SpanScope(*this); }

  // Moves the span into a guard that is current until it dies (Rust tracing's `entered()`).
  EnteredSpan entered() &&;

  // ---- for the factories in this header and schema.hpp ----

  // 16 bytes, trivially copyable: passed by value, in two registers.
  struct StartOptions {
    const SpanContext* parent = nullptr;  // explicit parent; else the current span
    SpanKind kind = SpanKind::Internal;
    bool root = false;
  };

  // Starts an inert span in place (factories return one named Span from every path, so the
  // ~300-byte guard is constructed where the caller wants it: no move).
  void start(const SchemaInfo* schema, std::string_view name, StartOptions options) noexcept {
    begin(options);
    // Inline, so that it merges with the caller's own is_recording() test.
    if (slot_ != nullptr) [[unlikely]]
      start_recording(schema, name);
  }

  // Appends the schema's field values, untagged (the schema knows keys and types), sized
  // exactly first so the buffer grows at most once.
  template <typename... Vs>
  void put_schema_values(const Vs&... vs) {
    if (slot_ == nullptr) return;
    [[maybe_unused]] const std::size_t length = limit_of(slot_->attribute_value_length);
    [[maybe_unused]] std::uint8_t* p = body_.extend((schema_value_size(vs, length) + ... + 0));
    ((p = write_schema_value(p, vs, length)), ...);
    attribute_count_ += sizeof...(Vs);
  }

 private:
  friend class SpanScope;

  static std::size_t limit_of(const std::atomic<std::size_t>& l) noexcept {
    return l.load(std::memory_order_relaxed);
  }

  // Out of line from end(): an unsampled or inert span's destructor stays a test and a store.
  [[gnu::noinline]] void record() noexcept {
    const std::int64_t end = detail::SpanClock::now();
    detail::PipelineSlot* slot = std::exchange(slot_, nullptr);
    ended_ = true;
    // Into this thread's buffer of the pipeline the span started in, which this thread then keeps
    // alive. The span's own may be gone: only its id is compared (the span may have been moved
    // to another thread, or its provider replaced or destroyed since it started).
    detail::Pipeline* p = detail::active_pipeline();
    if (p == nullptr || p->id != pipeline_id_) [[unlikely]] {
      detail::count_dropped_elsewhere(slot, pipeline_id_);
      return;
    }
    if (!p->front_end->accepting()) [[unlikely]] {
      p->front_end->count_dropped_inactive();
      return;
    }
    if (!finish_body(*p)) return;
    p->front_end->append(*detail::t_fast.buffer, header_, end, body_.data(), body_.size());
  }

  // The common start, out of line. A span that will not record does only what context(),
  // entering and propagation need later (trace id, flags, tracestate, a span id to draw lazily).
  // Everything else leaves by a tail call, so that no call keeps values alive across it (which
  // would cost saved registers on every path): the first span of a thread or of a new provider
  // (begin_first), a parent tracestate to share (inherit_state), a sampler that must read that
  // tracestate (begin_asking), and recording (begin_recording). The schema and name are not
  // arguments, to leave registers free: start() passes them to a recording span afterwards.
  // Called on a fresh span only.
  [[gnu::noinline]] void begin(StartOptions options) noexcept {
    const SpanContext* parent = options.parent;
    if (parent == nullptr && !options.root) parent = detail::current_span_context();
    if (parent != nullptr && !parent->is_valid()) parent = nullptr;

    detail::Pipeline* p = detail::g_active.load(std::memory_order_acquire);
    if (p != detail::t_fast.pipeline || !detail::t_rng.seeded) [[unlikely]] {
      return begin_first(options);
    }
    std::uint8_t flags;
    if (parent != nullptr) {
      header_.trace_id = parent->trace_id;
      // W3C Level 2 §3.2.2.5: the random flag is copied when continuing a trace.
      flags = parent->flags.bits() & TraceFlags::kRandom;
    } else {
      header_.trace_id = TraceId::random(detail::t_rng.gen);
      flags = TraceFlags::kRandom;  // all 16 bytes came from the generator
    }
    trace_flags_ = flags;
    id_drawn_ = false;
    valid_ = true;
    if (p != nullptr) {
      // The parent's id rather than the copy just stored: no store-to-load forwarding.
      const TraceId& trace_id = parent != nullptr ? parent->trace_id : header_.trace_id;
      switch (p->sampler.quick_decision(parent, trace_id)) {
        case Sampler::Quick::Drop:
          break;
        case Sampler::Quick::Sample:
          return begin_recording(p, parent, options.kind);
        case Sampler::Quick::Ask:
          return begin_asking(p, parent, options.kind);
      }
    }
    // Shared storage, so only a non-empty state costs a reference count.
    if (parent != nullptr && !parent->trace_state.empty()) return inherit_state(*parent);
  }

  // Binds the thread to the active pipeline and seeds its generator, then starts normally.
  [[gnu::noinline, gnu::cold]] void begin_first(StartOptions options) noexcept {
    detail::active_pipeline();
    detail::thread_rng();
    begin(options);
  }

  [[gnu::noinline]] void inherit_state(const SpanContext& parent) noexcept {
    std::construct_at(&state_, parent.trace_state);
    live_ |= kLiveState;
  }

  [[gnu::noinline]] void begin_asking(detail::Pipeline* p, const SpanContext* parent,
                                      SpanKind kind) noexcept {
    if (p->sampler.should_sample(parent, header_.trace_id)) {
      begin_recording(p, parent, kind);
    } else if (parent != nullptr && !parent->trace_state.empty()) {
      inherit_state(*parent);
    }
  }

  // Everything a record needs but the schema, name and start time (start_recording()).
  [[gnu::noinline]] void begin_recording(detail::Pipeline* p, const SpanContext* parent,
                                         SpanKind kind) noexcept {
    if (parent != nullptr && !parent->trace_state.empty()) inherit_state(*parent);
    // Default-initialised (std::construct_at would zero the inline bytes).
    ::new (static_cast<void*>(&body_)) detail::SmallBuffer<kInlineBytes>;
    live_ |= kLiveBody;
    trace_flags_ |= TraceFlags::kSampled;
    header_.size = 0;
    header_.kind = static_cast<std::uint8_t>(kind);
    header_.flags = trace_flags_;
    header_.status = static_cast<std::uint8_t>(StatusCode::Unset);
    if (parent != nullptr) {
      header_.parent_span_id = parent->span_id;
      header_.bits = detail::kHasParent | detail::kParentRemoteKnown |
                     (parent->is_remote ? detail::kParentRemote : 0);
    } else {
      header_.parent_span_id = SpanId();
      header_.bits = 0;
    }
    header_.span_id = SpanId::random();
    id_drawn_ = true;
    attribute_count_ = event_count_ = link_count_ = 0;
    dropped_attributes_ = dropped_events_ = dropped_links_ = truncated_ = 0;
    pipeline_id_ = p->id;
    slot_ = p->slot;
  }

  [[gnu::noinline]] void start_recording(const SchemaInfo* schema, std::string_view name) noexcept {
    header_.schema = schema;
    if (schema == nullptr) {
      detail::put_name(body_, fit(name));
    }
    header_.start = detail::SpanClock::now();
  }

  template <typename... KVs>
  void write_kvs([[maybe_unused]] std::size_t n, const KVs&... kvs) {
    [[maybe_unused]] std::size_t i = 0;
    (
        [&] {
          if (i++ >= n) return;
          detail::put_key(body_, kv_key(kvs));
          const std::size_t length = limit_of(slot_->attribute_value_length);
          using V = std::remove_cvref_t<decltype(kv_value(kvs))>;
          if constexpr (std::is_convertible_v<const V&, std::string_view>) {
            detail::put_natural(
                body_, fit(detail::truncate_utf8(std::string_view(kv_value(kvs)), length)));
          } else {
            detail::put_natural(body_, kv_value(kvs), length);
          }
        }(),
        ...);
  }
  template <typename T>
  static std::string_view kv_key(const KeyValue<T>& kv) noexcept {
    return kv.key;
  }
  template <typename T>
  static const T& kv_value(const KeyValue<T>& kv) noexcept {
    return kv.value;
  }
  template <detail::fixed_string K, typename T>
  static std::string_view kv_key(const field<K, T>&) noexcept {
    return field<K, T>::key;
  }
  template <detail::fixed_string K, typename T>
  static const T& kv_value(const field<K, T>& f) noexcept {
    return f.value;
  }

  template <typename T>
  static std::size_t schema_value_size(const T& v, std::size_t limit) noexcept {
    if constexpr (std::is_same_v<T, bool>) {
      return 1;
    } else if constexpr (std::is_same_v<T, std::string_view>) {
      const std::size_t n = detail::truncate_utf8(v, limit).size();
      return detail::varint_size(n) + n;
    } else if constexpr (std::is_same_v<T, double>) {
      return 8;
    } else {
      return detail::varint_size(detail::zigzag(v));
    }
  }
  template <typename T>
  static std::uint8_t* write_schema_value(std::uint8_t* p, const T& v, std::size_t limit) noexcept {
    if constexpr (std::is_same_v<T, bool>) {
      *p = v ? 1 : 0;
      return p + 1;
    } else if constexpr (std::is_same_v<T, std::string_view>) {
      const std::string_view t = detail::truncate_utf8(v, limit);
      p = detail::write_varint(p, t.size());
      std::memcpy(p, t.data(), t.size());
      return p + t.size();
    } else if constexpr (std::is_same_v<T, double>) {
      std::memcpy(p, &v, 8);
      return p + 8;
    } else {
      return detail::write_varint(p, detail::zigzag(v));
    }
  }

  // Marks an earlier dynamic attribute with this key dead; true if there was one.
  bool kill_attribute(std::string_view key) noexcept {
    if (attribute_count_ == 0) return false;
    std::uint8_t* p = body_.data() + schema_end();
    std::uint8_t* end = body_.data() + body_.size();
    while (p < end) {
      const auto item = static_cast<detail::Item>(*p);
      detail::Reader r{p + 1, end};
      if (item == detail::Item::Attribute) {
        if (r.str() == key) {
          *p = static_cast<std::uint8_t>(detail::Item::DeadAttribute);
          return true;
        }
      }
      p = const_cast<std::uint8_t*>(detail::skip_item(item, p + 1));
    }
    return false;
  }
  std::size_t schema_end() const noexcept {
    const SchemaInfo* s = header_.schema;
    if (s == nullptr) return 0;
    const std::uint8_t* p = body_.data();
    for (std::size_t i = 0; i < s->field_count; ++i) p = detail::skip_value(s->fields[i].type, p);
    return static_cast<std::size_t>(p - body_.data());
  }

  // Strings up to this long are never measured against the record's room: a span of such
  // strings only would exceed kMaxRecordBytes with over 200 of them (it is then dropped, counted).
  static constexpr std::size_t kLongString = 4096;
  // Kept free for what the record gets after its strings: header, duration, tracestate, counts.
  static constexpr std::size_t kRecordReserve = 1024;

  // A string as it fits the span's record (kMaxRecordBytes), cut at a UTF-8 boundary if need be.
  std::string_view fit(std::string_view s) noexcept {
    if (s.size() > kLongString) [[unlikely]]
      return fit_long(s);
    return s;
  }
  [[gnu::noinline, gnu::cold]] std::string_view fit_long(std::string_view s) noexcept {
    const std::size_t used = body_.size() + kRecordReserve;
    const std::size_t room = used < detail::kMaxRecordBytes ? detail::kMaxRecordBytes - used : 0;
    if (s.size() <= room) return s;
    ++truncated_;
    return detail::truncate_utf8(s, room);
  }

  // Items known only at the end; false if the body could not be completed (out of memory).
  bool finish_body(detail::Pipeline& p) noexcept {
    try {
      if ((live_ & kLiveState) != 0 && !state_.empty()) {
        detail::put_trace_state(body_, header_.bits, state_.to_string());
      }
      if ((dropped_attributes_ | dropped_events_ | dropped_links_ | truncated_) != 0) [[unlikely]] {
        if (truncated_ != 0) p.front_end->count_truncated();
        if ((dropped_attributes_ | dropped_events_ | dropped_links_) != 0) {
          detail::put_dropped(body_, header_.bits, dropped_attributes_, dropped_events_,
                              dropped_links_);
        }
      }
      return true;
    } catch (...) {
      return false;
    }
  }

  // Into a span with no live parts (constructed, or released).
  void take(Span& o) noexcept {
    if (o.valid_) {
      header_ = o.header_;
      trace_flags_ = o.trace_flags_;
      id_drawn_ = o.id_drawn_;
    }
    if ((o.live_ & kLiveState) != 0) std::construct_at(&state_, std::move(o.state_));
    if ((o.live_ & kLiveBody) != 0) std::construct_at(&body_, std::move(o.body_));
    live_ = o.live_;
    if (o.slot_ != nullptr) {
      pipeline_id_ = o.pipeline_id_;
      attribute_count_ = o.attribute_count_;
      event_count_ = o.event_count_;
      link_count_ = o.link_count_;
      dropped_attributes_ = o.dropped_attributes_;
      dropped_events_ = o.dropped_events_;
      dropped_links_ = o.dropped_links_;
      truncated_ = o.truncated_;
    }
    o.release();
    slot_ = std::exchange(o.slot_, nullptr);
    valid_ = std::exchange(o.valid_, false);
    ended_ = std::exchange(o.ended_, false);
  }

  void release() noexcept {
    if (live_ == 0) [[likely]]
      return;
    if ((live_ & kLiveState) != 0) std::destroy_at(&state_);
    if ((live_ & kLiveBody) != 0) std::destroy_at(&body_);
    live_ = 0;
  }

  // What an inert span initialises is the first two words; the rest is written as a span starts
  // (begin()) and starts recording (begin_recording()).
  detail::PipelineSlot* slot_ = nullptr;  // the pipeline's slot; non-null while recording
  bool valid_ = false;
  bool ended_ = false;
  std::uint8_t live_ = 0;  // which of state_ and body_ are constructed
  static constexpr std::uint8_t kLiveState = 1;
  static constexpr std::uint8_t kLiveBody = 2;
  std::uint8_t trace_flags_;  // W3C flags (valid spans)
  mutable bool id_drawn_;     // header_.span_id is set (valid spans)
  // Constructed only when needed: most unsampled spans have an empty tracestate (a parent's
  // non-empty one is shared, inherit_state()), and only a recording span has a body.
  union {
    TraceState state_;
  };
  union {
    detail::SmallBuffer<kInlineBytes> body_;
  };
  union {
    // mutable: the lazily drawn id of an unsampled span.
    mutable detail::RecordHeader header_;
  };
  // Meaningful only while recording (set by begin_recording()).
  std::uint32_t attribute_count_;
  std::uint32_t event_count_;
  std::uint32_t link_count_;
  std::uint32_t dropped_attributes_;
  std::uint32_t dropped_events_;
  std::uint32_t dropped_links_;
  std::uint32_t truncated_;    // strings cut to fit the record (fit())
  std::uint64_t pipeline_id_;  // the pipeline the span started in (Pipeline::id)
};

inline SpanScope::SpanScope(const Span& span) {
  if (span.is_valid()) scope_.emplace(Context(span.context()));
}

// A span that is current for exactly its own lifetime. Not movable: it restores the previous
// context when it dies, so it must die in the scope that created it.
class [[nodiscard]] EnteredSpan : public Span {
 public:
  explicit EnteredSpan(Span&& s) : Span(std::move(s)), scope_(static_cast<const Span&>(*this)) {}
  EnteredSpan(const EnteredSpan&) = delete;
  EnteredSpan& operator=(const EnteredSpan&) = delete;
  ~EnteredSpan() { end(); }

 private:
  SpanScope scope_;
};

inline EnteredSpan Span::entered() && {
  return EnteredSpan(std::move(*this));
}

namespace detail {

// What span factories return with KRISHIV_TRACE_DISABLED defined (for the whole program): the
// same API, every call a no-op the optimizer removes; arguments are still type-checked. Code
// that builds both ways spells span variables with `auto`.
class NoopSpan {
 public:
  constexpr NoopSpan() noexcept = default;
  // User-provided, so `auto s = info_span(...);` is not an unused variable in this mode either.
  constexpr ~NoopSpan() {}
  constexpr bool is_valid() const noexcept { return false; }
  constexpr bool is_recording() const noexcept { return false; }
  SpanContext context() const { return {}; }
  template <typename T>
  constexpr NoopSpan& set_attribute(std::string_view, const T&) noexcept {
    return *this;
  }
  template <detail::fixed_string K, typename T>
  constexpr NoopSpan& set_attribute(const field<K, T>&) noexcept {
    return *this;
  }
  template <typename... KVs>
  constexpr NoopSpan& add_event(std::string_view, const KVs&...) noexcept {
    return *this;
  }
  template <typename... KVs>
  constexpr NoopSpan& add_link(const SpanContext&, const KVs&...) noexcept {
    return *this;
  }
  constexpr NoopSpan& set_status(StatusCode, std::string_view = {}) noexcept { return *this; }
  constexpr void end() noexcept {}
  struct Scope {};
  constexpr Scope enter() const noexcept { return {}; }
  constexpr NoopSpan entered() && noexcept { return {}; }
};

// The types factories return: Span and EnteredSpan, or NoopSpan when tracing is compiled out.
#if defined(KRISHIV_TRACE_DISABLED)
using span_t = NoopSpan;
using entered_span_t = NoopSpan;
#else
using span_t = Span;
using entered_span_t = EnteredSpan;
#endif

}  // namespace detail

// ---- factories ----------------------------------------------------------------------------

namespace detail {

template <typename Arg>
void apply_option(Span::StartOptions& o, const Arg& a) noexcept {
  using A = std::remove_cvref_t<Arg>;
  if constexpr (std::is_same_v<A, SpanKind>) {
    o.kind = a;
  } else if constexpr (std::is_same_v<A, SpanContext>) {
    o.parent = &a;
  } else if constexpr (std::is_same_v<A, Context>) {
    o.parent = &a.span_context();
  } else if constexpr (std::is_same_v<A, root_t>) {
    o.root = true;
  }
}

template <typename A>
inline constexpr bool is_option_v = std::is_same_v<A, SpanKind> || std::is_same_v<A, SpanContext> ||
                                    std::is_same_v<A, Context> || std::is_same_v<A, root_t>;

template <typename Arg>
void apply_field(Span& s, const Arg& a) {
  using A = std::remove_cvref_t<Arg>;
  if constexpr (!is_option_v<A>) s.set_attribute(A::key, a.value);
}

template <typename Arg>
inline constexpr bool is_span_arg_v =
    is_option_v<std::remove_cvref_t<Arg>> || Field<std::remove_cvref_t<Arg>>;

template <typename... Args>
[[gnu::noinline]] void start_dynamic(Span& s, std::string_view name, const Args&... args) {
  Span::StartOptions o;
  (apply_option(o, args), ...);
  s.start(nullptr, name, o);
  if (s.is_recording()) (apply_field(s, args), ...);
}

template <typename... Args>
detail::span_t make_span([[maybe_unused]] Level level, [[maybe_unused]] std::string_view name,
                         [[maybe_unused]] const Args&... args) {
  static_assert((is_span_arg_v<Args> && ...),
                "span arguments are fields (job_id{...}, field<\"key\", T>{...}), a SpanKind, a "
                "parent Context/SpanContext, or krishiv::trace::root");
#if defined(KRISHIV_TRACE_DISABLED)
  return {};
#else
  // The level test inline, the rest out of line: a span of a disabled level costs a load and a
  // branch.
  Span s;
  if (level_enabled(level)) start_dynamic(s, name, args...);
  return s;
#endif
}

// make_span() into an inert span that already has its place (a member of an object made per
// call, like the gRPC interceptors'): no move of the ~300-byte guard.
template <typename... Args>
void start_span_in_place([[maybe_unused]] detail::span_t& s, [[maybe_unused]] Level level,
                         [[maybe_unused]] std::string_view name,
                         [[maybe_unused]] const Args&... args) {
  static_assert((is_span_arg_v<Args> && ...),
                "span arguments are fields (job_id{...}, field<\"key\", T>{...}), a SpanKind, a "
                "parent Context/SpanContext, or krishiv::trace::root");
#if !defined(KRISHIV_TRACE_DISABLED)
  if (level_enabled(level)) start_dynamic(s, name, args...);
#endif
}

}  // namespace detail

template <typename... Args>
detail::span_t trace_span(std::string_view name, const Args&... args) {
  return detail::make_span(Level::Trace, name, args...);
}
template <typename... Args>
detail::span_t debug_span(std::string_view name, const Args&... args) {
  return detail::make_span(Level::Debug, name, args...);
}
template <typename... Args>
detail::span_t info_span(std::string_view name, const Args&... args) {
  return detail::make_span(Level::Info, name, args...);
}
template <typename... Args>
detail::span_t warn_span(std::string_view name, const Args&... args) {
  return detail::make_span(Level::Warn, name, args...);
}
template <typename... Args>
detail::span_t error_span(std::string_view name, const Args&... args) {
  return detail::make_span(Level::Error, name, args...);
}

}  // namespace krishiv::trace
