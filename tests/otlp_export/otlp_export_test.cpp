// End to end: span API → TracerProvider → ExportWorker → OtlpGrpcExporter → an in-test
// collector on 127.0.0.1, decoding what arrived on the wire; and the `emit` example run as a
// black-box subprocess against the same collector.
//
// Time bounds here are hang guards (generous), never performance assertions.

#include "krishiv/trace/exporters/otlp_grpc.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../otlp_grpc/otlp_test_support.hpp"
#include "collector.hpp"
#include "krishiv/trace.hpp"
#include "spawn.hpp"

namespace kt = krishiv::trace;
using kt::test::Collector;
using kt::test::DecodedSpan;
using kt::test::OtlpEnv;
using test::free_port;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;

template <typename Id>
std::string bytes_of(const Id& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), Id::kSize);
}

const DecodedSpan& by_name(const std::vector<DecodedSpan>& spans, std::string_view name) {
  for (const auto& s : spans) {
    if (s.name == name) return s;
  }
  FAIL("no span named " << name);
  return spans.front();
}

std::string str(const kt::test::AttributeMap& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end() || !std::holds_alternative<std::string>(it->second)) return "<absent>";
  return std::get<std::string>(it->second);
}
std::int64_t i64(const kt::test::AttributeMap& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end() || !std::holds_alternative<std::int64_t>(it->second)) return -999;
  return std::get<std::int64_t>(it->second);
}

kt::OtlpGrpcOptions fast_options(const std::string& endpoint) {
  kt::OtlpGrpcOptions o;
  o.endpoint = endpoint;
  o.timeout = 10s;
  o.retry.initial_backoff = 10ms;
  o.retry.max_backoff = 50ms;
  return o;
}

// A provider exporting through `otlp`, flushing only when asked.
kt::TracerProviderOptions options_for(const std::shared_ptr<kt::OtlpGrpcExporter>& otlp,
                                      std::size_t queue = std::size_t{1} << 16) {
  kt::TracerProviderOptions o;
  o.exporter = kt::TracerExporter::Custom(otlp);
  o.sampler = kt::Sampler::always_on();
  o.batch = kt::BatchOptions{.max_queue_size = queue,
                             .schedule_delay = 60s,
                             .max_export_batch_size = std::min<std::size_t>(queue, 512)};
  return o;
}

void emit_spans(int n) {
  for (int i = 0; i < n; ++i) {
    auto s = kt::info_span("work", kt::job_id{"j-1"}, kt::task_id{i}, kt::epoch{3},
                           kt::operator_id{"op"});
  }
}

template <typename F>
Clock::duration timed(F&& f) {
  const auto t0 = Clock::now();
  f();
  return Clock::now() - t0;
}

}  // namespace

TEST_CASE("spans made with the span API arrive at the collector with ids, fields and resource",
          "[otlp_export]") {
  Collector collector;
  OtlpEnv env;
  env.set("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http());
  // The registered default, as `TracerProvider provider;` would pick it.
  REQUIRE(kt::find_exporter("otlp") != nullptr);
  kt::TracerProvider provider({.exporter = kt::TracerExporter::Otlp(),
                               .sampler = kt::Sampler::always_on(),
                               .resource_attributes = {{"service.name", std::string("e2e-svc")}},
                               .batch = kt::BatchOptions{.schedule_delay = 60s}});
  REQUIRE(provider.ok());

  kt::SpanContext root_ctx;
  std::vector<kt::SpanContext> task_ctx;
  kt::SpanContext commit_ctx;
  {
    auto root = kt::info_span("run_job", kt::job_id{"j-7"}, kt::operator_id{"scan"}).entered();
    root_ctx = root.context();
    for (std::int64_t t = 0; t < 3; ++t) {
      auto task = kt::info_span("run_task", kt::job_id{"j-7"}, kt::task_id{t}, kt::epoch{42},
                                kt::operator_id{"scan"});
      task_ctx.push_back(task.context());
    }
    auto commit = CheckpointCommit::start("j-7", 42);
    commit_ctx = commit.context();
  }
  REQUIRE(provider.force_flush(20s));

  const auto spans = collector.spans();
  REQUIRE(spans.size() == 5);
  const auto reqs = collector.requests();
  const auto first = kt::test::decode_request(reqs.front());
  CHECK(str(first.resource, "service.name") == "e2e-svc");

  const DecodedSpan& root = by_name(spans, "run_job");
  CHECK(root.trace_id == bytes_of(root_ctx.trace_id));
  CHECK(root.span_id == bytes_of(root_ctx.span_id));
  CHECK(root.parent_span_id.empty());
  CHECK(root.kind == 1);
  CHECK(root.start != 0);
  CHECK(root.end >= root.start);
  CHECK(str(root.attributes, "job_id") == "j-7");
  CHECK(str(root.attributes, "operator_id") == "scan");

  std::set<std::int64_t> task_ids;
  std::set<std::string> span_ids;
  for (const auto& s : spans) {
    span_ids.insert(s.span_id);
    if (s.name != "run_task") continue;
    CHECK(s.trace_id == root.trace_id);
    CHECK(s.parent_span_id == root.span_id);
    CHECK(str(s.attributes, "job_id") == "j-7");
    CHECK(str(s.attributes, "operator_id") == "scan");
    CHECK(i64(s.attributes, "epoch") == 42);
    task_ids.insert(i64(s.attributes, "task_id"));
  }
  CHECK(task_ids == std::set<std::int64_t>{0, 1, 2});
  for (const auto& c : task_ctx) CHECK(span_ids.count(bytes_of(c.span_id)) == 1);

  const DecodedSpan& commit = by_name(spans, "checkpoint_commit");
  CHECK(commit.span_id == bytes_of(commit_ctx.span_id));
  CHECK(commit.parent_span_id == root.span_id);
  CHECK(str(commit.attributes, "job_id") == "j-7");
  CHECK(i64(commit.attributes, "epoch") == 42);

  CHECK(provider.stats().exported == 5);
  CHECK(provider.stats().export_failed == 0);
}

TEST_CASE("collector absent: flush and shutdown return, spans count as failed, memory bounded",
          "[otlp_export]") {
  auto opts = fast_options("http://127.0.0.1:" + std::to_string(free_port()));
  opts.timeout = 300ms;
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(opts);
  test::StderrCapture quiet;  // the exporter reports the failure once on stderr
  kt::TracerProvider provider(options_for(otlp, 256));

  constexpr int kSpans = 50'000;
  emit_spans(kSpans);
  bool flushed = false;
  const auto flush_time = timed([&] { flushed = provider.force_flush(10s); });
  CHECK(flush_time < 30s);  // hang guard
  const auto shutdown_time = timed([&] { provider.shutdown(10s); });
  CHECK(shutdown_time < 30s);
  const std::string log = quiet.text();

  const auto p = provider.stats();
  const auto s = otlp->stats();
  INFO("flushed=" << flushed << " exported=" << p.exported << " failed=" << p.export_failed
                  << " dropped=" << p.dropped_queue_full << " buffer_bytes=" << p.buffer_bytes
                  << " last_error=" << s.last_error);
  CHECK(p.exported == 0);
  CHECK(s.spans_exported == 0);
  CHECK(s.spans_failed > 0);
  CHECK(s.spans_failed == p.export_failed);
  // A bounded queue: the buffers never grew with the spans ended (50,000 of them need about
  // 5 MB), and what did not fit was dropped. How many went through the queue and failed depends
  // on how fast the producer ran against the failing exports: not asserted.
  CHECK(p.dropped_queue_full > 0);
  CHECK(p.buffer_bytes < 1024 * 1024);
  CHECK(p.exported + p.export_failed + p.dropped_queue_full == kSpans);
  CHECK(s.last_error.find("UNAVAILABLE") != std::string::npos);
  CHECK(log.find("UNAVAILABLE") != std::string::npos);
}

TEST_CASE("UNAVAILABLE twice then OK: every span arrives, retries counted", "[otlp_export]") {
  Collector collector({test::error_reply(grpc::StatusCode::UNAVAILABLE),
                       test::error_reply(grpc::StatusCode::UNAVAILABLE)});
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(fast_options(collector.http()));
  test::StderrCapture quiet;
  kt::TracerProvider provider(options_for(otlp));

  emit_spans(10);
  REQUIRE(provider.force_flush(20s));
  quiet.text();

  const auto reqs = collector.requests();
  REQUIRE(reqs.size() == 3);
  for (const auto& r : reqs) CHECK(kt::test::decode_request(r).spans.size() == 10);
  const auto s = otlp->stats();
  CHECK(s.spans_exported == 10);
  CHECK(s.spans_failed == 0);
  CHECK(s.retries == 2);
  CHECK(s.requests == 1);
  CHECK(provider.stats().exported == 10);
}

TEST_CASE("partial success: rejected spans counted, the rest exported, not retried",
          "[otlp_export]") {
  Collector collector({kt::test::partial_reply(3, "bad spans")});
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(fast_options(collector.http()));
  test::StderrCapture quiet;
  kt::TracerProvider provider(options_for(otlp));

  emit_spans(10);
  REQUIRE(provider.force_flush(20s));
  const std::string log = quiet.text();

  CHECK(collector.calls() == 1);
  const auto s = otlp->stats();
  CHECK(s.spans_rejected == 3);
  CHECK(s.spans_exported == 7);
  CHECK(s.spans_failed == 0);
  CHECK(s.retries == 0);
  CHECK(s.last_error.find("bad spans") != std::string::npos);
  CHECK(log.find("bad spans") != std::string::npos);
  // Delivered: the pipeline counts the batch as exported.
  CHECK(provider.stats().exported == 10);
}

TEST_CASE("a stalled collector: shutdown(500ms) returns and the stuck export is cancelled",
          "[otlp_export]") {
  Collector collector({}, test::stall_reply());
  auto opts = fast_options(collector.http());
  opts.timeout = 60s;  // only cancellation can end the export in time
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(opts);
  kt::TracerProvider provider(options_for(otlp));

  emit_spans(10);
  bool ok = true;
  const auto t = timed([&] { ok = provider.shutdown(500ms); });
  CHECK_FALSE(ok);
  CHECK(t < 10s);  // hang guard; the deadline is 500 ms

  // The export thread comes back from the cancelled call and counts the spans.
  CHECK(collector.wait_for([&] { return otlp->stats().spans_failed == 10; }));
  CHECK(collector.wait_for([&] { return collector.cancelled_calls() >= 1; }));
  CHECK(otlp->stats().spans_exported == 0);
  CHECK(otlp->stats().last_error.find("CANCELLED") != std::string::npos);
}

TEST_CASE("a batch over 4 MiB goes as several requests, each under the collector's limit",
          "[otlp_export]") {
  Collector collector;  // gRPC's default 4 MiB receive limit, like collectors
  auto otlp = std::make_shared<kt::OtlpGrpcExporter>(fast_options(collector.http()));
  // A queue whose memory bound holds the whole burst: spans over a chunk (16 KiB) are bounded in
  // bytes in flight (max_queue_size x 128 bytes), and 400 x 32 KiB is about 13 MiB.
  auto o = options_for(otlp, std::size_t{1} << 17);
  o.batch->max_export_batch_size = 4096;
  kt::TracerProvider provider(std::move(o));

  const std::string payload(32 * 1024, 'x');
  constexpr int kSpans = 400;  // ~13 MiB in one batch
  for (int i = 0; i < kSpans; ++i) {
    auto s = kt::info_span("big", kt::task_id{i});
    s.set_attribute("payload", payload);
  }
  REQUIRE(provider.force_flush(30s));

  const auto reqs = collector.requests();
  CHECK(reqs.size() >= 4);
  for (const auto& r : reqs) CHECK(r.size() <= kt::detail::otlp::kRecommendedRequestBytes);
  std::set<std::int64_t> seen;
  for (const auto& s : collector.spans()) seen.insert(i64(s.attributes, "task_id"));
  CHECK(seen.size() == kSpans);
  const auto s = otlp->stats();
  CHECK(s.spans_exported == kSpans);
  CHECK(s.requests == reqs.size());
  CHECK(s.spans_failed == 0);
}

// ---- the emit example as a black box ----

namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs the program with a clean OTEL_* environment plus `env`, killing it after the hang guard.
RunResult run(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  const char* bin = std::getenv("KT_EMIT_BINARY");
  REQUIRE(bin != nullptr);
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string tag =
      std::to_string(::getpid()) + "_" + std::to_string(Clock::now().time_since_epoch().count());
  const std::string out_path = dir + "/kt_emit_out_" + tag;
  const std::string err_path = dir + "/kt_emit_err_" + tag;

  auto argv = kt::test::spawn_argv(bin, args);
  auto envp = kt::test::spawn_env(env);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, bin, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);

  RunResult r;
  int status = 0;
  const auto guard = Clock::now() + 60s;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (Clock::now() > guard) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL("emit did not exit within the hang guard");
    }
    std::this_thread::sleep_for(10ms);
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return r;
}

}  // namespace

TEST_CASE("emit: exports every span kind and field to OTEL_EXPORTER_OTLP_ENDPOINT",
          "[otlp_export][emit]") {
  Collector collector;
  const RunResult r = run({"--count", "3"}, {"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.http(),
                                             "OTEL_SERVICE_NAME=emit-test"});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "exported=15 dropped=0 failed=0 rejected=0 retries=0\n");

  const auto spans = collector.spans();
  REQUIRE(spans.size() == 15);
  CHECK(str(kt::test::decode_request(collector.requests().front()).resource, "service.name") ==
        "emit-test");

  std::set<int> kinds;
  std::set<std::string> traces;
  for (const auto& s : spans) {
    kinds.insert(s.kind);
    traces.insert(s.trace_id);
    if (s.name == "handle_request") {
      CHECK(s.parent_span_id.empty());
      CHECK(s.kind == 2);
      continue;
    }
    CHECK(s.parent_span_id.size() == 8);
    CHECK(str(s.attributes, "job_id") == "job-7");
    CHECK(str(s.attributes, "operator_id") != "<absent>");
    CHECK(i64(s.attributes, "task_id") >= 0);
    CHECK(i64(s.attributes, "epoch") == 42);
  }
  CHECK(kinds == std::set<int>{1, 2, 3, 4, 5});
  CHECK(traces.size() == 3);

  const DecodedSpan& run_op = by_name(spans, "run_operator");
  REQUIRE(run_op.events.size() == 1);
  CHECK(run_op.events[0].name == "checkpoint_written");
  CHECK(i64(run_op.events[0].attributes, "bytes") == 4096);
  CHECK(str(run_op.events[0].attributes, "path") == "s3://ckpt/m");

  const DecodedSpan& fetch = by_name(spans, "fetch_manifest");
  CHECK(fetch.kind == 3);
  CHECK(fetch.status_code == 2);
  CHECK(fetch.status_message == "manifest not found");

  const DecodedSpan& consume = by_name(spans, "consume_result");
  CHECK(consume.kind == 5);
  REQUIRE(consume.links.size() == 1);
  bool linked_to_producer = false;
  for (const auto& s : spans) {
    if (s.name == "publish_result" && s.span_id == consume.links[0].span_id) {
      linked_to_producer = s.trace_id == consume.links[0].trace_id;
    }
  }
  CHECK(linked_to_producer);
  CHECK(str(consume.links[0].attributes, "messaging.operation") == "receive");
}

TEST_CASE("emit: bad arguments print usage on stderr and exit 2", "[otlp_export][emit]") {
  const std::vector<std::vector<std::string>> bad = {
      {"--count"}, {"--count", "0"}, {"--count", "x"}, {"--count", "5x"}, {"--bogus"}};
  for (const auto& args : bad) {
    const RunResult r = run(args, {});
    INFO("args: " << args.front() << (args.size() > 1 ? " " + args[1] : ""));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("usage: emit") != std::string::npos);
  }
}

TEST_CASE("emit: collector absent still exits 0 and reports the spans as failed",
          "[otlp_export][emit]") {
  const RunResult r =
      run({}, {"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(free_port()),
               "OTEL_EXPORTER_OTLP_TIMEOUT=300"});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  // Whether a retry fits in the 300 ms depends on the backoff's jitter.
  CHECK(r.out.rfind("exported=0 dropped=0 failed=5 rejected=0 retries=", 0) == 0);
  CHECK(r.out.ends_with("\n"));
}
