#pragma once
// Compile-time span schemas: a span kind declares its name and typed fields once,
//
//   using CheckpointCommit = span_schema<"checkpoint_commit", job_id, epoch>;
//   auto s = CheckpointCommit::enter(job, 42);                 // positional, in schema order
//   auto t = CheckpointCommit::start(epoch{42}, job_id{job});  // or by field, in any order
//
// and every use is checked by the compiler: a missing, unknown or repeated field, or a value of
// the wrong type, does not compile. Recording writes the values untagged into the span's inline
// buffer (the schema knows keys and types), so a schema span allocates nothing.

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "krishiv/trace/detail/fixed_string.hpp"
#include "krishiv/trace/field.hpp"
#include "krishiv/trace/span.hpp"

namespace krishiv::trace {

namespace detail {

template <typename F, typename... Fs>
inline constexpr std::size_t count_of_v = (std::size_t{std::is_same_v<F, Fs>} + ... + 0);

template <typename... Fs>
consteval bool distinct_keys() {
  constexpr std::string_view keys[] = {Fs::key..., {}};
  for (std::size_t i = 0; i < sizeof...(Fs); ++i) {
    for (std::size_t j = i + 1; j < sizeof...(Fs); ++j) {
      if (keys[i] == keys[j]) return false;
    }
  }
  return true;
}

template <typename Want, typename First, typename... Rest>
constexpr const auto& find_field(const First& first, const Rest&... rest) {
  if constexpr (std::is_same_v<std::remove_cvref_t<First>, Want>) {
    return first.value;
  } else {
    return find_field<Want>(rest...);
  }
}

// The I-th argument that is not a span option.
template <std::size_t I, typename First, typename... Rest>
constexpr const auto& nth_value(const First& first, const Rest&... rest) {
  if constexpr (is_option_v<std::remove_cvref_t<First>>) {
    return nth_value<I>(rest...);
  } else if constexpr (I == 0) {
    return first;
  } else {
    return nth_value<I - 1>(rest...);
  }
}

template <typename F, typename... Fs>
inline constexpr std::size_t index_of_v = [] {
  constexpr bool same[] = {std::is_same_v<F, Fs>...};
  for (std::size_t i = 0; i < sizeof...(Fs); ++i) {
    if (same[i]) return i;
  }
  return sizeof...(Fs);
}();

}  // namespace detail

template <detail::fixed_string Name, Field... Fields>
class span_schema {
  static_assert(detail::distinct_keys<Fields...>(), "span_schema: two fields have the same key");

 public:
  static constexpr std::string_view name = Name.view();
  static constexpr FieldInfo fields[sizeof...(Fields) + 1] = {{Fields::key, Fields::type}..., {}};
  static constexpr SchemaInfo info{Name.view(), fields, sizeof...(Fields)};

  // Starts the span (not current). Arguments: one value per field, positionally or as field
  // objects in any order; then options (a SpanKind, a parent Context/SpanContext, `root`).
  template <typename... Args>
  static detail::span_t start(Args&&... args) {
    return start_at(Level::Info, std::forward<Args>(args)...);
  }

  // Starts the span and makes it current for the guard's lifetime.
  template <typename... Args>
  static detail::entered_span_t enter(Args&&... args) {
    return start(std::forward<Args>(args)...).entered();
  }

  template <typename... Args>
  static detail::span_t start_at([[maybe_unused]] Level level, [[maybe_unused]] Args&&... args) {
#if defined(KRISHIV_TRACE_DISABLED)
    // Instantiates the checks of record() (its static_asserts) without calling it.
    [[maybe_unused]] constexpr auto* checks = &record<std::remove_cvref_t<Args>...>;
    return {};
#else
    Span s;
    if (level_enabled(level)) {
      Span::StartOptions o;
      (detail::apply_option(o, args), ...);
      s.start(&info, {}, o);
      if (s.is_recording()) record(s, args...);
    }
    return s;
#endif
  }

 private:
  template <typename... Args>
  static void record(Span& s, const Args&... args) {
    constexpr std::size_t n_options =
        (std::size_t{detail::is_option_v<std::remove_cvref_t<Args>>} + ... + 0);
    constexpr std::size_t n_values = sizeof...(Args) - n_options;
    constexpr bool named = (Field<std::remove_cvref_t<Args>> || ...);
    static_assert(n_values == sizeof...(Fields),
                  "span_schema: give exactly one value for each field of the schema");
    if constexpr (n_values != sizeof...(Fields)) {
      return;  // the static_assert above says why; avoid a cascade of errors
    } else if constexpr (named) {
      static_assert(((Field<std::remove_cvref_t<Args>> ||
                      detail::is_option_v<std::remove_cvref_t<Args>>)&&...),
                    "span_schema: pass either all values positionally or all as fields");
      static_assert(((detail::is_option_v<std::remove_cvref_t<Args>> ||
                      detail::count_of_v<std::remove_cvref_t<Args>, Fields...> == 1) &&
                     ...),
                    "span_schema: this field is not declared in the schema");
      static_assert(((detail::count_of_v<Fields, std::remove_cvref_t<Args>...> == 1) && ...),
                    "span_schema: each field of the schema must be given exactly once");
      s.put_schema_values(typename Fields::value_type(detail::find_field<Fields>(args...))...);
    } else {
      check_positional<0, Args...>();
      if constexpr ((detail::field_accepts<typename Fields::value_type,
                                           const nth_value_t<Fields, Args...>&>() &&
                     ...)) {
        [&]<std::size_t... Is>(std::index_sequence<Is...>) {
          s.put_schema_values(
              static_cast<typename Fields::value_type>(detail::nth_value<Is>(args...))...);
        }
        (std::index_sequence_for<Fields...>{});
      }
    }
  }

  // The type of the value given for Field (positional form), for the checks below.
  template <typename Field_, typename... Args>
  using nth_value_t =
      std::remove_cvref_t<decltype(detail::nth_value<detail::index_of_v<Field_, Fields...>>(
          std::declval<const Args&>()...))>;

  template <std::size_t I>
  static constexpr void check_positional() {}
  template <std::size_t I, typename First, typename... Rest>
  static constexpr void check_positional() {
    using A = std::remove_cvref_t<First>;
    if constexpr (detail::is_option_v<A>) {
      if constexpr (sizeof...(Rest) > 0) check_positional<I, Rest...>();
    } else if constexpr (I < sizeof...(Fields)) {
      using F = std::tuple_element_t<I, std::tuple<Fields...>>;
      using T = typename F::value_type;
      static_assert(detail::field_accepts<T, const First&>(),
                    "span_schema: wrong type for a field (strings for std::string_view fields, "
                    "integers for std::int64_t, numbers for double, bool for bool; see the field "
                    "named in this instantiation)");
      if constexpr (sizeof...(Rest) > 0) check_positional<I + 1, Rest...>();
    }
  }
};

}  // namespace krishiv::trace
