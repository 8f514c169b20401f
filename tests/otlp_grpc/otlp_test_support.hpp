#pragma once
// Test helpers for the OTLP/gRPC tests: a clean OTEL_EXPORTER_OTLP_* environment per test, and
// capture of what the library writes to stderr.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace krishiv::trace::test {

// Unsets every OTEL_EXPORTER_OTLP_* variable on construction, and puts back on destruction
// every variable it touched.
class OtlpEnv {
 public:
  OtlpEnv() {
    std::vector<std::string> names;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "OTEL_EXPORTER_OTLP_", 19) == 0) {
        const char* eq = std::strchr(*e, '=');
        names.emplace_back(*e, eq ? static_cast<std::size_t>(eq - *e) : std::strlen(*e));
      }
    }
    for (const auto& n : names) unset(n);
  }
  OtlpEnv(const OtlpEnv&) = delete;
  OtlpEnv& operator=(const OtlpEnv&) = delete;
  ~OtlpEnv() {
    for (const auto& [name, old] : saved_) {
      if (old) {
        ::setenv(name.c_str(), old->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

  void set(const std::string& name, const std::string& value) {
    remember(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    remember(name);
    ::unsetenv(name.c_str());
  }

 private:
  void remember(const std::string& name) {
    if (saved_.count(name) != 0) return;
    const char* v = std::getenv(name.c_str());
    saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

// Redirects file descriptor 2 into a temporary file until text() is called (or destruction).
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_fd_ = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() {
    restore();
    std::fclose(file_);
  }

  // Everything written to stderr since construction; stops the capture.
  std::string text() {
    restore();
    std::string out;
    std::rewind(file_);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    return out;
  }

 private:
  void restore() {
    if (saved_fd_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_fd_, STDERR_FILENO);
    ::close(saved_fd_);
    saved_fd_ = -1;
  }
  std::FILE* file_;
  int saved_fd_ = -1;
};

}  // namespace krishiv::trace::test
