#pragma once
// The argument and environment vectors a test hands to posix_spawn when it starts one of its
// helper programs (relay, emit, fork_emit). The environment is the test's own without the
// variables that would change where the helper exports (OTEL_*: a developer's collector settings
// must not leak into a test), plus the ones the test sets.

#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace krishiv::trace::test {

// NUL-terminated strings and the null-terminated array of pointers posix_spawn takes.
class CStrings {
 public:
  explicit CStrings(std::vector<std::string> strings) : strings_(std::move(strings)) {
    for (auto& s : strings_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
  }
  CStrings(const CStrings&) = delete;
  CStrings& operator=(const CStrings&) = delete;
  char** data() noexcept { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

inline CStrings spawn_argv(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<std::string> v{binary};
  v.insert(v.end(), args.begin(), args.end());
  return CStrings(std::move(v));
}

// This process's environment minus the variables starting with one of `drop`, plus `set`
// ("NAME=value" each).
inline CStrings spawn_env(const std::vector<std::string>& set,
                          std::initializer_list<std::string_view> drop = {"OTEL_"}) {
  std::vector<std::string> v;
  for (char** e = environ; *e != nullptr; ++e) {
    bool keep = true;
    for (std::string_view prefix : drop) {
      if (std::strncmp(*e, prefix.data(), prefix.size()) == 0) keep = false;
    }
    if (keep) v.emplace_back(*e);
  }
  v.insert(v.end(), set.begin(), set.end());
  return CStrings(std::move(v));
}

}  // namespace krishiv::trace::test
