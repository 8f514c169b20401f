#pragma once
// A string usable as a template argument (C++20 class-type non-type template parameter), so span
// and field names are part of types and checked at compile time.

#include <cstddef>
#include <string_view>

namespace krishiv::trace::detail {

template <std::size_t N>
struct fixed_string {
  char chars[N]{};
  consteval fixed_string(const char (&s)[N]) noexcept {  // NOLINT
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
  static constexpr std::size_t size = N - 1;
};

}  // namespace krishiv::trace::detail
