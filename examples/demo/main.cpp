// The krishiv-trace demo: a miniature Krishiv (a coordinator and two executors, three processes
// talking gRPC on 127.0.0.1) traced through the library's public API, one trace across all
// three, shown as a tree in the terminal, as Chrome Trace Event JSON and as an HTML waterfall.
//
//   demo [--out DIR] [--fail executor-1|executor-2]     the coordinator; starts the executors
//   demo --role executor --name NAME --listen HOST:PORT  an executor (started by the demo)
//
// Run `demo --help` for the options.

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/otlp_grpc.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "metrics_hook.hpp"
#include "processes.hpp"
#include "receiver.hpp"
#include "report.hpp"
#include "rpc.hpp"
#include "server.hpp"
#include "wire.hpp"

namespace kt = krishiv::trace;

namespace {

// ---- the spans of Krishiv's pipeline ---------------------------------------------------------

using state_key = kt::field<"state.key", std::string_view>;
using partition = kt::field<"partition", std::int64_t>;

using SubmitJob = kt::span_schema<"Coordinator::submit_job", kt::job_id, kt::epoch>;
using RunTask =
    kt::span_schema<"Executor::run_task", kt::job_id, kt::task_id, kt::epoch, kt::operator_id>;
using ExecuteWindow = kt::span_schema<"Dataflow::execute_window", kt::job_id, kt::task_id,
                                      kt::epoch, kt::operator_id>;
using StateGet = kt::span_schema<"StateBackend::get", kt::operator_id, state_key>;
using ShuffleFetch = kt::span_schema<"Shuffle::fetch", kt::job_id, kt::task_id, partition>;
using ServePartition = kt::span_schema<"Shuffle::serve_partition", kt::job_id, partition>;
using Snapshot = kt::span_schema<"Executor::snapshot_state", kt::job_id, kt::epoch>;
using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;

// Which thread ran a span: the Chrome trace's track (OpenTelemetry's thread.id attribute).
template <typename S>
S& on_this_thread(S& span) {
  span.set_attribute("thread.id", static_cast<std::int64_t>(::gettid()));
  return span;
}

// Stands for real work, so that the waterfall has something to show.
void work(int micros) {
  std::this_thread::sleep_for(std::chrono::microseconds(micros));
}

kt::Attributes process_resource(const std::string& service) {
  return {{"service.name", service},
          {"process.pid", static_cast<std::int64_t>(::getpid())},
          {"service.namespace", std::string("krishiv-demo")}};
}

// ---- options -----------------------------------------------------------------------------------

struct Options {
  std::string role = "demo";
  std::string name;
  std::string listen = "127.0.0.1:0";
  std::string out = "demo-out";
  std::string fail;  // demo: the executor told to fail; executor: "1" when it must fail
  bool help = false;
};

constexpr const char* kHelp = R"(usage: demo [--out DIR] [--fail executor-1|executor-2]

A miniature Krishiv traced with krishiv-trace: a coordinator (this process) plans a SQL query and
hands two tasks to two executor processes over gRPC on 127.0.0.1; one executor fetches a shuffle
partition from the other; a checkpoint ends with checkpoint_commit. Every process exports its
spans over OTLP/gRPC, and the trace crosses all three.

Where the spans go:
  OTEL_EXPORTER_OTLP_ENDPOINT unset  an OTLP/gRPC receiver inside the demo (127.0.0.1, a free
                                     port) collects them; the demo then prints the trace as a
                                     tree with a waterfall and writes, under --out:
                                       trace.chrome.json  Chrome Trace Event JSON (open it in
                                                          ui.perfetto.dev or chrome://tracing)
                                       trace.html         a self-contained HTML waterfall
  OTEL_EXPORTER_OTLP_ENDPOINT set    the three processes export to that collector instead.

Options:
  --out DIR       where the files go (default: demo-out, created if missing)
  --fail NAME     make executor NAME fail during its task (shows the error handling: the demo
                  exits non-zero with that executor's error and leaves no process behind)
  --help          this text

Environment: NO_COLOR (or a stdout that is not a terminal) prints without colour; the usual
OTEL_* variables apply to every process (OTEL_TRACES_EXPORTER is forced to otlp for them).

Exit status: 0 when the job ran and the trace was collected; 1 when a process failed.
)";

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    std::optional<std::string> v;
    if (a == "--help" || a == "-h") {
      o.help = true;
      continue;
    }
    if (a == "--role" && (v = value())) {
      o.role = *v;
    } else if (a == "--name" && (v = value())) {
      o.name = *v;
    } else if (a == "--listen" && (v = value())) {
      o.listen = *v;
    } else if (a == "--out" && (v = value())) {
      o.out = *v;
    } else if (a == "--fail" && (v = value())) {
      o.fail = *v;
    } else {
      std::fprintf(stderr, "demo: unknown or incomplete option %s (see --help)\n", a.c_str());
      return std::nullopt;
    }
  }
  if (o.role != "demo" && o.role != "executor") {
    std::fprintf(stderr, "demo: --role is demo or executor, not %s\n", o.role.c_str());
    return std::nullopt;
  }
  if (o.role == "demo" && !o.fail.empty() && o.fail != "executor-1" && o.fail != "executor-2") {
    std::fprintf(stderr, "demo: --fail takes executor-1 or executor-2\n");
    return std::nullopt;
  }
  return o;
}

// ---- an executor -----------------------------------------------------------------------------

struct Peers {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<grpc::GenericStub>> stubs;
  grpc::GenericStub& get(const std::string& target) {
    std::lock_guard lock(mu);
    auto& s = stubs[target];
    if (!s) s = std::make_shared<grpc::GenericStub>(demo::make_channel(target));
    return *s;
  }
};

int run_executor(const Options& o) {
  kt::TracerProvider provider({.resource_attributes = process_resource(o.name)});
  Peers peers;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;

  std::map<std::string, demo::Handler> handlers;
  handlers["/krishiv.Executor/RunTask"] = [&](const demo::Message& req, demo::Message& reply) {
    const std::string job = demo::get(req, "job_id");
    const std::int64_t task = demo::get_int(req, "task_id");
    const std::int64_t epoch = demo::get_int(req, "epoch");
    const std::string op = demo::get(req, "operator_id");
    auto run = RunTask::enter(job, task, epoch, op);
    on_this_thread(run);
    if (!o.fail.empty()) {
      std::fprintf(stderr, "%s: forced failure (--fail): task %lld aborted\n", o.name.c_str(),
                   static_cast<long long>(task));
      std::fflush(stderr);
      ::_exit(3);
    }
    std::int64_t rows = 0;
    {
      auto window = ExecuteWindow::enter(job, task, epoch, op);
      on_this_thread(window);
      {
        auto get = StateGet::enter(
            op, "window/" + std::to_string(epoch) + "/task-" + std::to_string(task));
        on_this_thread(get).set_attribute("cache.hit", task % 2 == 0);
        work(800);
      }
      work(2000);
      rows = 1000 + 250 * task;
      if (const std::string from = demo::get(req, "shuffle_from"); !from.empty()) {
        auto fetch = ShuffleFetch::enter(job, task, demo::get_int(req, "partition"));
        on_this_thread(fetch);
        std::string bytes;
        const demo::Message ask{{"job_id", job}, {"partition", demo::get(req, "partition")}};
        const grpc::Status st = demo::client_call(
            peers.get(from), "/krishiv.Shuffle/FetchPartition", demo::encode(ask), bytes);
        if (!st.ok()) {
          fetch.set_status(kt::StatusCode::Error, st.error_message());
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "shuffle fetch: " + st.error_message());
        }
        const std::int64_t fetched = demo::get_int(demo::decode(bytes), "rows");
        fetch.set_attribute("rows", fetched);
        rows += fetched;
        work(1000);
      }
      window.set_attribute("rows", rows);
    }
    reply["rows"] = std::to_string(rows);
    return grpc::Status::OK;
  };
  handlers["/krishiv.Shuffle/FetchPartition"] = [&](const demo::Message& req,
                                                    demo::Message& reply) {
    const std::string job = demo::get(req, "job_id");
    const std::int64_t part = demo::get_int(req, "partition");
    auto serve = ServePartition::enter(job, part);
    on_this_thread(serve);
    {
      auto get = StateGet::enter("shuffle", "partition/" + std::to_string(part));
      on_this_thread(get).set_attribute("cache.hit", false);
      work(1500);
    }
    reply["rows"] = "640";
    serve.set_attribute("rows", 640);
    return grpc::Status::OK;
  };
  handlers["/krishiv.Executor/Checkpoint"] = [&](const demo::Message& req, demo::Message& reply) {
    auto snap = Snapshot::enter(demo::get(req, "job_id"), demo::get_int(req, "epoch"));
    on_this_thread(snap);
    work(1200);
    snap.set_attribute("state.bytes", 48 * 1024);
    reply["state_bytes"] = std::to_string(48 * 1024);
    return grpc::Status::OK;
  };
  handlers["/krishiv.Executor/Shutdown"] = [&](const demo::Message&, demo::Message&) {
    std::lock_guard lock(mu);
    stop = true;
    cv.notify_all();
    return grpc::Status::OK;
  };

  demo::Server server(o.listen, handlers);
  if (!server.ok()) {
    std::fprintf(stderr, "%s: cannot listen on %s\n", o.name.c_str(), o.listen.c_str());
    return 2;
  }
  std::printf("listening %d %d\n", server.port(), demo::start_metrics_endpoint());
  std::fflush(stdout);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return stop; });
  }
  server.stop();
  provider.shutdown();  // flushes this process's spans before it exits
  return 0;
}

// ---- the coordinator -------------------------------------------------------------------------

struct Executor {
  std::string name;
  std::string address;
  int metrics_port = 0;
  std::shared_ptr<grpc::GenericStub> stub;
};

// Runs the query; an error message when a call failed.
std::optional<std::string> run_job(std::vector<Executor>& executors) {
  const std::string job = "job-42";
  const std::int64_t epoch = 7;
  auto sql = kt::info_span("Session::sql", kt::job_id{job}).entered();
  on_this_thread(sql).set_attribute(
      "db.query.text", "SELECT user, count(*) FROM clicks GROUP BY user, TUMBLE(ts, '1 min')");
  auto plan = kt::info_span("DataFusion::plan", kt::job_id{job}).entered();
  on_this_thread(plan);
  work(700);
  auto plan_sql =
      kt::info_span("krishiv_sql::plan_sql", kt::job_id{job}, kt::operator_id{"window_agg"})
          .entered();
  on_this_thread(plan_sql).set_attribute("stages", 2);
  work(900);
  auto submit = SubmitJob::enter(job, epoch);
  on_this_thread(submit);

  std::optional<std::string> error;
  std::mutex error_mu;
  {
    auto schedule =
        kt::info_span("Scheduler::schedule", kt::job_id{job}, kt::epoch{epoch}).entered();
    on_this_thread(schedule).set_attribute("tasks", static_cast<std::int64_t>(executors.size()));
    // One thread per task: each takes the scheduler's context along (a thread starts with none).
    const kt::Context parent = kt::Context::current();
    std::vector<std::thread> calls;
    for (std::size_t i = 0; i < executors.size(); ++i) {
      calls.emplace_back([&, i] {
        kt::ContextScope scope(parent);
        demo::Message req{{"job_id", job},
                          {"task_id", std::to_string(i)},
                          {"epoch", std::to_string(epoch)},
                          {"operator_id", "window_agg"}};
        if (i == 1) {  // the second task reads the first executor's shuffle output
          req["shuffle_from"] = executors[0].address;
          req["partition"] = "3";
        }
        std::string reply;
        const grpc::Status st = demo::client_call(*executors[i].stub, "/krishiv.Executor/RunTask",
                                                  demo::encode(req), reply);
        if (!st.ok()) {
          std::lock_guard lock(error_mu);
          if (!error) error = executors[i].name + ": RunTask failed: " + st.error_message();
        }
      });
    }
    for (auto& t : calls) t.join();
    if (error) {
      schedule.set_status(kt::StatusCode::Error, *error);
      return error;
    }
  }
  {
    auto barrier =
        kt::info_span("Coordinator::checkpoint", kt::job_id{job}, kt::epoch{epoch}).entered();
    on_this_thread(barrier);
    for (auto& e : executors) {
      std::string reply;
      const demo::Message req{{"job_id", job}, {"epoch", std::to_string(epoch)}};
      const grpc::Status st =
          demo::client_call(*e.stub, "/krishiv.Executor/Checkpoint", demo::encode(req), reply);
      if (!st.ok()) return e.name + ": Checkpoint failed: " + st.error_message();
    }
    auto commit = CheckpointCommit::enter(job, epoch);
    on_this_thread(commit);
    work(600);
  }
  return std::nullopt;
}

bool colour_output() {
  const char* no_colour = std::getenv("NO_COLOR");
  return (no_colour == nullptr || *no_colour == '\0') && ::isatty(STDOUT_FILENO) == 1;
}

int run_demo(const Options& o, const std::string& self) {
  std::unique_ptr<demo::Receiver> receiver;
  std::string endpoint;
  if (const char* e = std::getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); e != nullptr && *e != '\0') {
    endpoint = e;
    std::printf("demo: OTEL_EXPORTER_OTLP_ENDPOINT is set: the three processes export to %s\n",
                endpoint.c_str());
  } else {
    receiver = std::make_unique<demo::Receiver>();
    if (!receiver->ok()) {
      std::fprintf(stderr, "demo: cannot start the OTLP receiver on 127.0.0.1\n");
      return 1;
    }
    endpoint = receiver->endpoint();
    ::setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.c_str(), 1);
    std::printf(
        "demo: OTLP/gRPC receiver on %s (set OTEL_EXPORTER_OTLP_ENDPOINT to use "
        "your own collector)\n",
        endpoint.c_str());
  }
  // The children inherit the environment: all three export over OTLP to the same place.
  ::setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
  std::fflush(stdout);

  demo::ChildSet children;
  std::vector<Executor> executors;
  for (const std::string name : {"executor-1", "executor-2"}) {
    std::vector<std::string> argv = {self, "--role",   "executor",   "--name",
                                     name, "--listen", "127.0.0.1:0"};
    if (o.fail == name) argv.insert(argv.end(), {"--fail", "1"});
    demo::Child* c = children.spawn(name, argv);
    if (c == nullptr) {
      std::fprintf(stderr, "demo: cannot start %s\n", name.c_str());
      return 1;
    }
    std::fprintf(stderr, "demo: started %s (pid %d)\n", name.c_str(), static_cast<int>(c->pid));
    const auto line = demo::ChildSet::read_line(*c, std::chrono::seconds(20));
    int port = 0, metrics = 0;
    if (!line || std::sscanf(line->c_str(), "listening %d %d", &port, &metrics) < 1) {
      const demo::Child* failed = children.wait_failed(std::chrono::seconds(5));
      std::fprintf(stderr, "demo: %s did not start%s\n", name.c_str(),
                   failed ? (" (" + demo::describe_status(*failed->status) + ")").c_str() : "");
      return 1;
    }
    const std::string address = "127.0.0.1:" + std::to_string(port);
    // Connected before the job starts, so the first call's span shows the call, not the connect.
    auto channel = demo::make_channel(address);
    channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));
    executors.push_back({name, address, metrics, std::make_shared<grpc::GenericStub>(channel)});
  }

  std::optional<std::string> error;
  {
    kt::TracerProvider provider({.exporter = kt::TracerExporter::Otlp(),
                                 .resource_attributes = process_resource("coordinator")});
    error = run_job(executors);
    provider.shutdown();
  }
  if (error) {
    // The failing process, if one died, is the root cause: name it with its exit status.
    if (const demo::Child* c = children.wait_failed(std::chrono::seconds(5))) {
      std::fprintf(stderr, "demo: %s failed (%s); the job did not finish: %s\n", c->name.c_str(),
                   demo::describe_status(*c->status).c_str(), error->c_str());
    } else {
      std::fprintf(stderr, "demo: the job did not finish: %s\n", error->c_str());
    }
    return 1;
  }

  // Metrics (printed at the end), then a clean shutdown of the executors (they flush their spans
  // as they exit).
  std::vector<std::pair<std::string, std::vector<std::string>>> scraped;
  for (const auto& e : executors) {
    if (e.metrics_port == 0) continue;
    scraped.emplace_back(e.name + " (127.0.0.1:" + std::to_string(e.metrics_port) + ")",
                         demo::scrape_metrics(e.metrics_port));
  }
  const auto print_metrics = [&] {
    if (scraped.empty()) std::printf("\ndemo: no executor served /metrics\n");
    for (const auto& [who, lines] : scraped) {
      std::printf("\n/metrics of %s, empty buckets left out:\n", who.c_str());
      for (const auto& l : lines) {
        const bool empty_bucket = l.find("_bucket{") != std::string::npos && l.size() >= 2 &&
                                  l.compare(l.size() - 2, 2, " 0") == 0;
        if (!empty_bucket) std::printf("  %s\n", l.c_str());
      }
    }
  };
  for (auto& e : executors) {
    std::string reply;
    (void)demo::client_call(*e.stub, "/krishiv.Executor/Shutdown", "", reply,
                            std::chrono::seconds(5));
  }
  if (!children.wait_all(std::chrono::seconds(20))) {
    std::fprintf(stderr, "demo: the executors did not exit\n");
    return 1;
  }
  if (const demo::Child* c = children.reap_failed()) {
    std::fprintf(stderr, "demo: %s failed (%s)\n", c->name.c_str(),
                 demo::describe_status(*c->status).c_str());
    return 1;
  }

  if (!receiver) {
    print_metrics();
    std::printf("demo: done; the trace is in your collector at %s\n", endpoint.c_str());
    return 0;
  }

  // Every process exported synchronously as it shut down: everything has arrived.
  std::vector<demo::ReceivedSpan> all = receiver->spans();
  receiver->stop();
  std::string trace_id;
  for (const auto& s : all) {
    if (s.span.name == "Session::sql") trace_id = s.span.trace_id;
  }
  std::vector<demo::ReceivedSpan> mine;
  for (auto& s : all) {
    if (s.span.trace_id == trace_id) mine.push_back(std::move(s));
  }
  if (mine.empty()) {
    std::fprintf(stderr, "demo: the receiver got no spans of the job (%zu bad requests)\n",
                 receiver->bad_requests());
    return 1;
  }
  const demo::Trace trace(std::move(mine));
  std::printf("\ntrace %s: %zu spans from %zu processes\n\n", demo::otlp::hex(trace_id).c_str(),
              trace.spans().size(), trace.services().size());
  std::fputs(demo::render_tree(trace, colour_output()).c_str(), stdout);

  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  const std::filesystem::path dir = std::filesystem::absolute(o.out, ec);
  const auto chrome = dir / "trace.chrome.json";
  const auto html = dir / "trace.html";
  std::ofstream(chrome) << demo::chrome_trace(trace).dump(1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
  std::ofstream(html) << demo::render_html(trace);
  if (!std::filesystem::exists(chrome) || !std::filesystem::exists(html)) {
    std::fprintf(stderr, "demo: cannot write to %s\n", dir.c_str());
    return 1;
  }
  std::printf("\nChrome trace (ui.perfetto.dev, chrome://tracing): %s\n", chrome.c_str());
  std::printf("HTML waterfall (open in a browser):               %s\n", html.c_str());
  print_metrics();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  if (!o) return 2;
  if (o->help) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (o->role == "executor") return run_executor(*o);
  // The executors are this same program.
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (self.empty()) {
    std::fprintf(stderr, "demo: cannot find its own executable\n");
    return 1;
  }
  // A child dying must not kill the demo through a write to its closed pipe.
  ::signal(SIGPIPE, SIG_IGN);
  return run_demo(*o, self);
}
