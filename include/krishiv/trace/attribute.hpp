#pragma once
// Owning attribute values: what users hand to set_attribute() and what resources hold.
// The OpenTelemetry attribute types: bool, int64, double, string and homogeneous arrays of those.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace krishiv::trace {

using AttributeValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<bool>,
                 std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>>;

struct Attribute {
  std::string key;
  AttributeValue value;
  friend bool operator==(const Attribute&, const Attribute&) = default;
};

using Attributes = std::vector<Attribute>;

// Builds an AttributeValue from the natural C++ spelling (int, const char*, string_view, ...)
// without surprises: integers widen to int64, character pointers become strings, not bools.
template <typename T>
AttributeValue make_attribute_value(T&& v) {
  using D = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<D, bool>) {
    return AttributeValue(std::in_place_type<bool>, v);
  } else if constexpr (std::is_integral_v<D>) {
    return AttributeValue(std::in_place_type<std::int64_t>, static_cast<std::int64_t>(v));
  } else if constexpr (std::is_floating_point_v<D>) {
    return AttributeValue(std::in_place_type<double>, static_cast<double>(v));
  } else if constexpr (std::is_convertible_v<T, std::string_view>) {
    return AttributeValue(std::in_place_type<std::string>, std::string(std::string_view(v)));
  } else {
    return AttributeValue(std::forward<T>(v));
  }
}

}  // namespace krishiv::trace
