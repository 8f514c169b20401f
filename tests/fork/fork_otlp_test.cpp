// fork() with a live OTLP/gRPC provider (issue 12, defect 5), end to end: fork_emit records
// spans, forks, and parent and child both record and shut down; the collector (in this process,
// which never forks) must see every span of each exactly once. With gRPC's fork support off, the
// child cannot use gRPC: its spans are counted as failed and nothing hangs.

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "collector.hpp"
#include "fork_support.hpp"

extern char** environ;

using namespace std::chrono_literals;

namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

// fork_emit with this environment minus OTEL_* and GRPC_ENABLE_FORK_SUPPORT, plus `env`.
RunResult run(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  const char* bin = std::getenv("KT_FORK_EMIT");
  REQUIRE(bin != nullptr);
  const std::string out_path = std::filesystem::temp_directory_path().string() + "/kt_fork_out_" +
                               std::to_string(::getpid());
  std::vector<std::string> argv_s{bin};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "OTEL_", 5) != 0 && std::strncmp(*e, "GRPC_ENABLE_FORK_SUPPORT", 24) != 0)
      env_s.emplace_back(*e);
  }
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, bin, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  RunResult r;
  r.exit_code = fork_test::wait_child(pid, 240s);
  std::ifstream f(out_path);
  std::stringstream ss;
  ss << f.rdbuf();
  r.out = ss.str();
  std::remove(out_path.c_str());
  return r;
}

std::map<std::string, int> by_prefix(const std::vector<krishiv::trace::test::DecodedSpan>& spans) {
  std::map<std::string, int> n;
  for (const auto& s : spans) n[s.name.substr(0, s.name.rfind('-') + 1)]++;
  return n;
}

}  // namespace

TEST_CASE("fork over OTLP: parent and child spans both arrive, each exactly once", "[fork]") {
  krishiv::trace::test::Collector collector;
  const RunResult r =
      run({}, {"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.http(), "GRPC_ENABLE_FORK_SUPPORT=1"});
  INFO("fork_emit exit " << r.exit_code << " (-1: hung, killed); stdout:\n" << r.out);
  REQUIRE(r.exit_code == 0);
  const auto spans = collector.spans();
  const auto n = by_prefix(spans);
  CHECK(n.at("parent-before-") == 20);
  CHECK(n.at("parent-pending-") == 10);
  CHECK(n.at("open-at-fork") == 1);
  CHECK(n.at("parent-after-") == 15);
  CHECK(n.at("child-") == 25);
  CHECK(spans.size() == 71);
  std::set<std::string> names;
  std::set<std::string> ids;
  for (const auto& s : spans) {
    names.insert(s.name);
    ids.insert(s.span_id);
  }
  CHECK(names.size() == spans.size());  // none twice
  CHECK(ids.size() == spans.size());    // the child draws its own ids
}

TEST_CASE("fork over OTLP without gRPC fork support: the child fails cleanly and counts",
          "[fork]") {
  krishiv::trace::test::Collector collector;
  const RunResult r = run({"nogrpc"}, {"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.http()});
  INFO("fork_emit exit " << r.exit_code << " (-1: hung, killed); stdout:\n" << r.out);
  REQUIRE(r.exit_code == 0);
  const auto spans = collector.spans();
  const auto n = by_prefix(spans);
  CHECK(n.count("child-") == 0);
  CHECK(n.at("parent-after-") == 15);
  CHECK(spans.size() == 46);
}
