#pragma once
// Typed span fields: a key fixed at compile time and a value type. The four standard Krishiv
// fields are predefined; declare your own the same way:
//
//   using shard = krishiv::trace::field<"shard", std::int64_t>;
//   auto s = info_span("scan", job_id{job}, shard{3});
//
// Value types are std::string_view (strings), std::int64_t, double and bool. A field object only
// refers to its value for the duration of the call that records it.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "krishiv/trace/detail/fixed_string.hpp"

namespace krishiv::trace {

// The AnyValue kinds of OTLP (opentelemetry/proto/common/v1/common.proto), as records tag values.
enum class ValueType : std::uint8_t {
  Bool = 1,
  Int = 2,
  Double = 3,
  String = 4,
  Bytes = 5,
  Array = 6,
  KvList = 7,
};

// A static description of a schema span kind: its name and typed fields (schema.hpp). Records
// point at it, so the names and types of a schema span's fields are not stored per span.
struct FieldInfo {
  std::string_view key;
  ValueType type;  // Bool, Int, Double or String
};
struct SchemaInfo {
  std::string_view name;
  const FieldInfo* fields;
  std::size_t field_count;
};

namespace detail {
template <typename T>
constexpr ValueType value_type_of() {
  if constexpr (std::is_same_v<T, bool>) {
    return ValueType::Bool;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return ValueType::Int;
  } else if constexpr (std::is_same_v<T, double>) {
    return ValueType::Double;
  } else {
    static_assert(std::is_same_v<T, std::string_view>,
                  "a field's value type must be std::string_view, std::int64_t, double or bool");
    return ValueType::String;
  }
}

// Which C++ arguments a field of type T accepts: no silent conversions between kinds (a double
// passed to an integer field, a bool to a number, a number to a string are compile errors).
template <typename T, typename Arg>
constexpr bool field_accepts() {
  using A = std::remove_cvref_t<Arg>;
  if constexpr (std::is_same_v<T, bool>) {
    return std::is_same_v<A, bool>;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return std::is_integral_v<A> && !std::is_same_v<A, bool> && !std::is_same_v<A, char>;
  } else if constexpr (std::is_same_v<T, double>) {
    return std::is_arithmetic_v<A> && !std::is_same_v<A, bool> && !std::is_same_v<A, char>;
  } else {
    return std::is_convertible_v<Arg, std::string_view> && !std::is_same_v<A, std::nullptr_t>;
  }
}
}  // namespace detail

namespace detail {
template <typename T>
inline constexpr bool is_field_value_type_v =
    std::is_same_v<T, std::string_view> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, double> || std::is_same_v<T, bool>;
template <typename>
inline constexpr bool always_false_v = false;
}  // namespace detail

template <detail::fixed_string Key, typename T>
struct field {
  static_assert(detail::is_field_value_type_v<T>,
                "a field's value type must be std::string_view, std::int64_t, double or bool");
  static constexpr std::string_view key = Key.view();
  static constexpr ValueType type = detail::value_type_of<T>();
  using value_type = T;

  T value;

  template <typename Arg>
  requires(detail::field_accepts<T, Arg>()) constexpr field(Arg&& v) noexcept(
      std::is_nothrow_constructible_v<T, Arg>)  // NOLINT: implicit by design
      : value(static_cast<T>(std::forward<Arg>(v))) {}

  // Any other argument: a compile error that says what went wrong.
  template <typename Arg>
  requires(!detail::field_accepts<T, Arg>()) constexpr field(Arg&&) : value() {  // NOLINT
    static_assert(detail::always_false_v<Arg>,
                  "field: wrong value type (strings for std::string_view fields, integers for "
                  "std::int64_t, numbers for double, bool for bool)");
  }
};

template <typename F>
concept Field = requires {
  { F::key } -> std::convertible_to<std::string_view>;
  F::type;
  typename F::value_type;
};

// The standard fields every Krishiv span may carry.
using job_id = field<"job_id", std::string_view>;
using task_id = field<"task_id", std::int64_t>;
using epoch = field<"epoch", std::int64_t>;
using operator_id = field<"operator_id", std::string_view>;

}  // namespace krishiv::trace
