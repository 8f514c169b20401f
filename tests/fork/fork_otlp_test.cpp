// fork() with a live OTLP/gRPC provider (issue 12, defect 5), end to end: fork_emit records
// spans, forks, and parent and child both record and shut down. The collector runs in this
// process, which never forks (a gRPC server forked with it would be a second copy of it). The
// parent's spans arrive exactly once, also those buffered or open at the fork; the child cannot
// use gRPC (exporters/otlp_grpc.hpp, after_fork): it counts its spans as failed and exits
// promptly, with gRPC's fork support switched on or not.

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
#include "spawn.hpp"

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
  auto argv = krishiv::trace::test::spawn_argv(bin, args);
  auto envp = krishiv::trace::test::spawn_env(env, {"OTEL_", "GRPC_ENABLE_FORK_SUPPORT="});

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
  // "parent-before-7" counts as "parent-before-"; a name without a number as itself.
  for (const auto& s : spans) {
    const auto dash = s.name.rfind('-');
    const bool numbered = dash != std::string::npos && dash + 1 < s.name.size() &&
                          s.name[dash + 1] >= '0' && s.name[dash + 1] <= '9';
    n[numbered ? s.name.substr(0, dash + 1) : s.name]++;
  }
  return n;
}

void check_run(const std::vector<std::string>& extra_env) {
  krishiv::trace::test::Collector collector;
  std::vector<std::string> env{"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.http()};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  const RunResult r = run({}, env);
  INFO("fork_emit exit " << r.exit_code << " (-1: hung, killed); stdout:\n" << r.out);
  REQUIRE(r.exit_code == 0);
  const auto spans = collector.spans();
  const auto n = by_prefix(spans);
  CHECK(n.at("parent-before-") == 20);
  CHECK(n.at("parent-pending-") == 10);
  CHECK(n.at("open-at-fork") == 1);
  CHECK(n.at("parent-after-") == 15);
  CHECK(n.count("child-") == 0);
  CHECK(spans.size() == 46);
  std::set<std::string> names;
  std::set<std::string> ids;
  for (const auto& s : spans) {
    names.insert(s.name);
    ids.insert(s.span_id);
  }
  CHECK(names.size() == spans.size());  // none twice
  CHECK(ids.size() == spans.size());
}

}  // namespace

TEST_CASE("fork over OTLP: the parent's spans arrive once, the child's are counted as failed",
          "[fork]") {
  check_run({});
}

TEST_CASE("fork over OTLP with GRPC_ENABLE_FORK_SUPPORT=1: the same, nothing hangs", "[fork]") {
  check_run({"GRPC_ENABLE_FORK_SUPPORT=1"});
}
