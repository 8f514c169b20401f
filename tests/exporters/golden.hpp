#pragma once
// Approval testing, as Catch2 tests its own reporters: output is compared byte for byte with
// golden/<name>.txt. On a mismatch the output is saved as <name>.actual.txt in the build directory
// so that `diff` shows what changed; KRISHIV_UPDATE_GOLDEN=1 rewrites the golden files instead
// (review the change like any other).

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

namespace krishiv::trace::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline void check_golden(const std::string& name, const std::string& actual) {
  const std::string golden = std::string(KT_GOLDEN_DIR) + "/" + name + ".txt";
  if (const char* u = std::getenv("KRISHIV_UPDATE_GOLDEN"); u != nullptr && *u != '\0') {
    write_file(golden, actual);
    WARN("updated " << golden);
    return;
  }
  const std::string expected = read_file(golden);
  if (expected == actual) return;
  const std::string saved = std::string(KT_ACTUAL_DIR) + "/" + name + ".actual.txt";
  write_file(saved, actual);
  FAIL("output differs from the golden file; see: diff " << golden << " " << saved << "\nactual:\n"
                                                         << actual);
}

// A temporary FILE* for an exporter to write to, read back as a string.
class CapturedFile {
 public:
  CapturedFile() : f_(std::tmpfile()) { REQUIRE(f_ != nullptr); }
  ~CapturedFile() { std::fclose(f_); }
  CapturedFile(const CapturedFile&) = delete;
  CapturedFile& operator=(const CapturedFile&) = delete;

  std::FILE* get() const noexcept { return f_; }
  std::string text() const {
    std::fflush(f_);
    std::rewind(f_);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f_)) > 0;) out.append(buf, n);
    std::fseek(f_, 0, SEEK_END);  // C requires a seek between a read and the next write
    return out;
  }

 private:
  std::FILE* f_;
};

}  // namespace krishiv::trace::test
