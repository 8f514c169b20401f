// The demo (examples/demo/) run as a black box: every expected span, with the right parent across
// the three processes and the right fields, in the Chrome trace and in the HTML page's data; the
// tree printout names every span; a forced failure exits non-zero with the executor's error; no
// process is left behind; an external collector gets the spans when OTEL_EXPORTER_OTLP_ENDPOINT
// is set.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../examples/demo/receiver.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
  fs::path dir;
};

// Runs the demo with `args` and `env` ("NAME=value ..." prefix), output dir under a fresh temp dir.
Run run_demo(const std::string& args, const std::string& env = "") {
  static int n = 0;
  const char* bin = std::getenv("KT_DEMO_BINARY");
  REQUIRE(bin != nullptr);
  Run r;
  r.dir = fs::temp_directory_path() /
          ("kt_demo_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  fs::remove_all(r.dir);
  fs::create_directories(r.dir);
  const std::string cmd = "env -u OTEL_EXPORTER_OTLP_ENDPOINT NO_COLOR=1 " + env + " '" + bin +
                          "' --out '" + (r.dir / "out").string() + "' " + args + " >'" +
                          (r.dir / "stdout").string() + "' 2>'" + (r.dir / "stderr").string() + "'";
  const int st = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(r.dir / "stdout");
  r.err = read_file(r.dir / "stderr");
  return r;
}

// The executors' pids, from the demo's "started NAME (pid N)" lines.
std::map<std::string, pid_t> started(const std::string& err) {
  std::map<std::string, pid_t> out;
  const std::regex re(R"(started (executor-\d) \(pid (\d+)\))");
  for (auto it = std::sregex_iterator(err.begin(), err.end(), re); it != std::sregex_iterator();
       ++it) {
    out[(*it)[1]] = static_cast<pid_t>(std::stol((*it)[2]));
  }
  return out;
}

// Gone: no such process, or (if another parent has not reaped it yet) a zombie.
bool gone(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

struct SpanRec {
  std::string name;
  std::string service;
  std::string id;
  std::string parent;
  std::string trace;
  int kind = 0;
  double ts = 0;
  double dur = 0;
  json args;
};

std::vector<SpanRec> chrome_spans(const json& trace) {
  std::vector<SpanRec> out;
  for (const auto& e : trace.at("traceEvents")) {
    if (e.at("ph") != "X") continue;
    SpanRec s;
    s.name = e.at("name");
    s.args = e.at("args");
    s.service = s.args.at("service.name");
    s.id = s.args.at("span_id");
    s.parent = s.args.at("parent_span_id");
    s.trace = s.args.at("trace_id");
    s.kind = s.args.at("kind");
    s.ts = e.at("ts");
    s.dur = e.at("dur");
    out.push_back(s);
  }
  return out;
}

class Spans {
 public:
  explicit Spans(std::vector<SpanRec> s) : spans_(std::move(s)) {
    for (const auto& x : spans_) by_id_[x.id] = &x;
  }
  // Every span with that name (and service, when given).
  std::vector<const SpanRec*> all(const std::string& name, const std::string& service = "") const {
    std::vector<const SpanRec*> out;
    for (const auto& s : spans_) {
      if (s.name == name && (service.empty() || s.service == service)) out.push_back(&s);
    }
    return out;
  }
  const SpanRec& one(const std::string& name, const std::string& service = "", int kind = 0) const {
    std::vector<const SpanRec*> found;
    for (const auto* s : all(name, service)) {
      if (kind == 0 || s->kind == kind) found.push_back(s);
    }
    INFO("span " << name << " in " << service << " kind " << kind);
    REQUIRE(found.size() == 1);
    return *found.front();
  }
  const SpanRec* parent(const SpanRec& s) const {
    const auto it = by_id_.find(s.parent);
    return it == by_id_.end() ? nullptr : it->second;
  }
  const std::vector<SpanRec>& list() const { return spans_; }

 private:
  std::vector<SpanRec> spans_;
  std::map<std::string, const SpanRec*> by_id_;
};

void require_child(const Spans& spans, const SpanRec& child, const SpanRec& parent) {
  INFO(child.name << " (" << child.service << ") must be a child of " << parent.name << " ("
                  << parent.service << ")");
  CHECK(child.parent == parent.id);
  CHECK(child.trace == parent.trace);
  // Timing across processes is only as good as the clocks; within a process, nesting holds.
  if (child.service == parent.service) {
    CHECK(child.ts >= parent.ts - 1);
    CHECK(child.ts + child.dur <= parent.ts + parent.dur + 1);
  }
  (void)spans;
}

constexpr int kServer = 2;
constexpr int kClient = 3;

}  // namespace

TEST_CASE("the demo: one trace across three processes, every span with its parent and fields") {
  const Run r = run_demo("");
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);

  const fs::path chrome_path = r.dir / "out" / "trace.chrome.json";
  const fs::path html_path = r.dir / "out" / "trace.html";
  REQUIRE(fs::exists(chrome_path));
  REQUIRE(fs::exists(html_path));
  // Where the files are: printed.
  CHECK(r.out.find(fs::absolute(chrome_path).string()) != std::string::npos);
  CHECK(r.out.find(fs::absolute(html_path).string()) != std::string::npos);

  const json chrome = json::parse(read_file(chrome_path));
  const Spans spans(chrome_spans(chrome));

  // One trace, three processes.
  std::set<std::string> traces, services;
  for (const auto& s : spans.list()) {
    traces.insert(s.trace);
    services.insert(s.service);
  }
  CHECK(traces.size() == 1);
  CHECK(services == std::set<std::string>{"coordinator", "executor-1", "executor-2"});

  // The pipeline, parent by parent.
  const auto& sql = spans.one("Session::sql", "coordinator");
  CHECK(sql.parent.empty());
  const auto& plan = spans.one("DataFusion::plan", "coordinator");
  require_child(spans, plan, sql);
  const auto& plan_sql = spans.one("krishiv_sql::plan_sql", "coordinator");
  require_child(spans, plan_sql, plan);
  const auto& submit = spans.one("Coordinator::submit_job", "coordinator");
  require_child(spans, submit, plan_sql);
  const auto& schedule = spans.one("Scheduler::schedule", "coordinator");
  require_child(spans, schedule, submit);

  for (const std::string exec : {"executor-1", "executor-2"}) {
    const auto& server = spans.one("krishiv.Executor/RunTask", exec, kServer);
    const SpanRec* client = spans.parent(server);
    REQUIRE(client != nullptr);
    CHECK(client->name == "krishiv.Executor/RunTask");
    CHECK(client->service == "coordinator");
    CHECK(client->kind == kClient);
    require_child(spans, *client, schedule);
    const auto& run = spans.one("Executor::run_task", exec);
    require_child(spans, run, server);
    CHECK(run.args.at("job_id") == "job-42");
    CHECK(run.args.at("epoch") == "7");
    CHECK(run.args.at("operator_id") == "window_agg");
    CHECK(run.args.at("task_id") == (exec == "executor-1" ? "0" : "1"));
    const auto& window = spans.one("Dataflow::execute_window", exec);
    require_child(spans, window, run);
    CHECK(window.args.at("job_id") == "job-42");
    CHECK(window.args.contains("rows"));
    bool state_get_under_window = false;
    for (const auto* g : spans.all("StateBackend::get", exec)) {
      if (g->parent == window.id) {
        state_get_under_window = true;
        CHECK(g->args.at("operator_id") == "window_agg");
        CHECK(g->args.contains("state.key"));
      }
    }
    CHECK(state_get_under_window);

    // The checkpoint reaches both executors.
    const auto& cp_server = spans.one("krishiv.Executor/Checkpoint", exec, kServer);
    const SpanRec* cp_client = spans.parent(cp_server);
    REQUIRE(cp_client != nullptr);
    CHECK(cp_client->service == "coordinator");
    const auto& snap = spans.one("Executor::snapshot_state", exec);
    require_child(spans, snap, cp_server);
  }

  // The executor-to-executor shuffle fetch: executor-2 calls executor-1.
  const auto& window2 = spans.one("Dataflow::execute_window", "executor-2");
  const auto& fetch = spans.one("Shuffle::fetch", "executor-2");
  require_child(spans, fetch, window2);
  CHECK(fetch.args.at("partition") == "3");
  const auto& fetch_client = spans.one("krishiv.Shuffle/FetchPartition", "executor-2", kClient);
  require_child(spans, fetch_client, fetch);
  const auto& fetch_server = spans.one("krishiv.Shuffle/FetchPartition", "executor-1", kServer);
  require_child(spans, fetch_server, fetch_client);
  const auto& serve = spans.one("Shuffle::serve_partition", "executor-1");
  require_child(spans, serve, fetch_server);

  // The checkpoint ends with checkpoint_commit.
  const auto& barrier = spans.one("Coordinator::checkpoint", "coordinator");
  require_child(spans, barrier, submit);
  const auto& commit = spans.one("checkpoint_commit", "coordinator");
  require_child(spans, commit, barrier);
  CHECK(commit.args.at("job_id") == "job-42");
  CHECK(commit.args.at("epoch") == "7");
  for (const auto* c : spans.all("krishiv.Executor/Checkpoint", "coordinator")) {
    CHECK(c->parent == barrier.id);
    CHECK(c->ts + c->dur <= commit.ts + 1);  // the commit follows the executors' snapshots
  }

  // Chrome tracks: a process_name for every pid, a thread_name for every (pid, tid) used.
  std::set<long long> pids, named_pids;
  std::set<std::pair<long long, long long>> threads, named_threads;
  for (const auto& e : chrome.at("traceEvents")) {
    const long long pid = e.at("pid"), tid = e.at("tid");
    if (e.at("ph") == "X") {
      pids.insert(pid);
      threads.insert({pid, tid});
      CHECK(e.at("dur").get<double>() >= 0);
    } else if (e.at("ph") == "M" && e.at("name") == "process_name") {
      named_pids.insert(pid);
    } else if (e.at("ph") == "M" && e.at("name") == "thread_name") {
      named_threads.insert({pid, tid});
    }
  }
  CHECK(pids.size() == 3);
  CHECK(pids == named_pids);
  CHECK(threads == named_threads);

  // The HTML page: its embedded data holds the same spans; nothing is fetched from elsewhere.
  const std::string html = read_file(html_path);
  const std::string open = R"(<script id="trace-data" type="application/json">)";
  const auto a = html.find(open);
  REQUIRE(a != std::string::npos);
  const auto b = html.find("</script>", a);
  REQUIRE(b != std::string::npos);
  const json data = json::parse(html.substr(a + open.size(), b - a - open.size()));
  std::set<std::string> html_ids, chrome_ids;
  for (const auto& s : data.at("spans")) html_ids.insert(s.at("id").get<std::string>());
  for (const auto& s : spans.list()) chrome_ids.insert(s.id);
  CHECK(html_ids == chrome_ids);
  for (const char* remote : {"src=", "href=", "@import", "url(", "http://", "https://"}) {
    INFO("the page must not load anything: found " << remote);
    CHECK(html.find(remote) == std::string::npos);
  }

  // The tree printout names every span, without colour under NO_COLOR.
  for (const auto& s : spans.list()) {
    INFO(s.name);
    CHECK(r.out.find(s.name) != std::string::npos);
  }
  CHECK(r.out.find('\x1b') == std::string::npos);

  // The executors' /metrics, scraped by the demo: each served one RunTask and one Checkpoint.
  for (const char* method : {"RunTask", "Checkpoint"}) {
    const std::string series =
        std::string("krishiv_grpc_call_duration_seconds_count{method=\"/krishiv.Executor/") +
        method + "\",code=\"OK\",side=\"server\"} 1";
    INFO(series);
    CHECK(r.out.find(series) != std::string::npos);
  }

  // No executor outlives the demo.
  const auto pids_started = started(r.err);
  CHECK(pids_started.size() == 2);
  for (const auto& [name, pid] : pids_started) {
    INFO(name << " pid " << pid);
    CHECK(gone(pid));
  }
  fs::remove_all(r.dir);
}

TEST_CASE("a failing executor: the demo exits non-zero with its error and leaves no process") {
  const Run r = run_demo("--fail executor-2");
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("executor-2: forced failure") != std::string::npos);
  CHECK(r.err.find("demo: executor-2 failed (exit status 3)") != std::string::npos);
  const auto pids = started(r.err);
  CHECK(pids.size() == 2);  // executor-1 was running when executor-2 failed
  for (const auto& [name, pid] : pids) {
    INFO(name << " pid " << pid);
    CHECK(gone(pid));
  }
  fs::remove_all(r.dir);
}

TEST_CASE("with OTEL_EXPORTER_OTLP_ENDPOINT set, the three processes export there") {
  demo::Receiver collector;
  REQUIRE(collector.ok());
  const Run r = run_demo("", "OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.endpoint());
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("export to " + collector.endpoint()) != std::string::npos);
  CHECK_FALSE(fs::exists(r.dir / "out" / "trace.html"));
  std::set<std::string> services;
  bool commit = false;
  for (const auto& s : collector.spans()) {
    services.insert(s.service);
    commit |= s.span.name == "checkpoint_commit";
  }
  CHECK(services == std::set<std::string>{"coordinator", "executor-1", "executor-2"});
  CHECK(commit);
  fs::remove_all(r.dir);
}

TEST_CASE("--help explains the options") {
  const Run r = run_demo("--help");
  CHECK(r.exit_code == 0);
  for (const char* word : {"--out", "--fail", "OTEL_EXPORTER_OTLP_ENDPOINT", "NO_COLOR",
                           "trace.chrome.json", "trace.html"}) {
    INFO(word);
    CHECK(r.out.find(word) != std::string::npos);
  }
  const Run bad = run_demo("--no-such-option");
  CHECK(bad.exit_code == 2);
  fs::remove_all(r.dir);
  fs::remove_all(bad.dir);
}
