// The acceptance test for the asio integration: concurrent asio::awaitable coroutines, three
// levels of nested awaitables, timers with random waits and a loopback TCP echo, spans at each
// level, on a thread_pool and on an io_context run by several threads through strands. Every
// parent is checked from the exported SpanData; thread changes are counted; a stream of plain
// handlers on the same threads checks that no coroutine's context is ever current in them.
//
// The same scenario written without the integration (plain co_spawn, FrameContext and
// frame.suspension() around every co_await, as the old docs said) must get parents wrong: the
// checker is shown to catch what it claims to.

#include <catch2/catch.hpp>
#include <krishiv/trace.hpp>
#include <krishiv/trace/coro/with_context.hpp>
#include <krishiv/trace/exporters/in_memory.hpp>
#include <krishiv/trace/integrations/asio.hpp>

#include <sys/resource.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace krishiv::trace;

namespace {

#if defined(__SANITIZE_THREAD__)
#define KT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KT_TSAN 1
#endif
#endif

// Scaled down under ThreadSanitizer (2 cores, ~10x slower); KRISHIV_ASIO_TEST_COROUTINES overrides.
int coroutine_count(int normal) {
  if (const char* env = std::getenv("KRISHIV_ASIO_TEST_COROUTINES")) return std::atoi(env);
#ifdef KT_TSAN
  return normal / 5;
#else
  return normal;
#endif
}

// Asked out of line and opaque: pthread_self() is declared const, so clang may reuse a value from
// before a suspension after the coroutine resumed elsewhere, and infers an out-of-line function
// that only calls it const as well. The clobber makes it a call clang must repeat.
[[gnu::noinline]] std::thread::id thread_id() noexcept {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

struct Recorder {
  std::shared_ptr<InMemoryExporter> sink = std::make_shared<InMemoryExporter>();
  TracerProvider provider{{.exporter = TracerExporter::InMemory(sink),
                           .sampler = Sampler::always_on(),
                           .batch = BatchOptions{.max_queue_size = 1 << 20}}};
  std::vector<SpanData> flush() {
    provider.force_flush();
    return sink->spans();
  }
};

bool same_span(const SpanContext& a, const SpanContext& b) {
  return a.span_id == b.span_id && a.trace_id == b.trace_id;
}

struct Tally {
  std::atomic<int> context_errors{0};     // current span wrong after a co_await
  std::atomic<int> initiation_errors{0};  // an operation's initiation saw another context
  std::atomic<int> thread_changes{0};     // resumptions on another thread than the suspension
  std::atomic<int> resumptions{0};
  std::atomic<int> echoes{0};
  std::atomic<int> done{0};

  void expect_current(const SpanContext& expected) {
    if (!same_span(Context::current().span_context(), expected)) ++context_errors;
  }
  void resumed(std::thread::id before) {
    ++resumptions;
    if (thread_id() != before) ++thread_changes;
  }
};

// An asynchronous operation whose initiation checks the current context, then completes through
// the handler's executor like any asio operation.
template <class Token>
auto probe(Tally& tally, SpanContext expected, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [&tally, expected](auto handler) {
        if (!same_span(Context::current().span_context(), expected)) ++tally.initiation_errors;
        auto ex = asio::get_associated_executor(handler);
        asio::post(ex, std::move(handler));
      },
      token);
}

// What the coroutines share.
struct World {
  Tally tally;
  asio::ip::tcp::endpoint echo;
  bool legacy = false;  // the old recipe: FrameContext + suspension(), no integration
};

// The old recipe, switched off when the integration is on: `frame` is engaged only in legacy mode.
#define KT_AWAIT(frame, expr)                         \
  {                                                   \
    std::optional<FrameContext::Suspension> kt_susp_; \
    if (frame) kt_susp_.emplace(*frame);              \
    expr;                                             \
  }

asio::awaitable<void> random_wait(World& w, std::uint64_t seed, SpanContext mine) {
  std::optional<FrameContext> frame;
  if (w.legacy) frame.emplace();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::microseconds(static_cast<int>(seed % 500)));
  const auto before = thread_id();
  KT_AWAIT(frame, co_await timer.async_wait(asio::use_awaitable));
  w.tally.resumed(before);
  w.tally.expect_current(mine);
}

asio::awaitable<void> level3(World& w, std::int64_t index) {
  std::optional<FrameContext> frame;
  if (w.legacy) frame.emplace();
  auto span = info_span("l3").entered();
  span.set_attribute("index", index);
  const SpanContext mine = span.context();

  asio::ip::tcp::socket sock(co_await asio::this_coro::executor);
  auto before = thread_id();
  KT_AWAIT(frame, co_await sock.async_connect(w.echo, asio::use_awaitable));
  w.tally.resumed(before);
  w.tally.expect_current(mine);

  const std::string out = "ping " + std::to_string(index);
  before = thread_id();
  KT_AWAIT(frame, co_await asio::async_write(sock, asio::buffer(out), asio::use_awaitable));
  w.tally.resumed(before);
  w.tally.expect_current(mine);

  std::string in(out.size(), '\0');
  before = thread_id();
  KT_AWAIT(frame, co_await asio::async_read(sock, asio::buffer(in), asio::use_awaitable));
  w.tally.resumed(before);
  w.tally.expect_current(mine);
  if (in == out) ++w.tally.echoes;

  before = thread_id();
  KT_AWAIT(frame, co_await probe(w.tally, mine, asio::use_awaitable));
  w.tally.resumed(before);
  w.tally.expect_current(mine);
}

asio::awaitable<void> level2(World& w, std::int64_t index, std::uint64_t seed) {
  std::optional<FrameContext> frame;
  if (w.legacy) frame.emplace();
  auto span = info_span("l2").entered();
  span.set_attribute("index", index);
  const SpanContext mine = span.context();
  KT_AWAIT(frame, co_await random_wait(w, seed, mine));
  KT_AWAIT(frame, co_await level3(w, index));
  w.tally.expect_current(mine);
  KT_AWAIT(frame, co_await random_wait(w, seed >> 9, mine));
}

asio::awaitable<void> level1(World& w, std::int64_t index, std::uint64_t seed) {
  std::optional<FrameContext> frame;
  if (w.legacy) frame.emplace();
  auto span = info_span("l1").entered();
  span.set_attribute("index", index);
  const SpanContext mine = span.context();
  KT_AWAIT(frame, co_await random_wait(w, seed, mine));
  KT_AWAIT(frame, co_await level2(w, index, seed >> 18));
  w.tally.expect_current(mine);
  ++w.tally.done;
}

asio::awaitable<void> echo_session(asio::ip::tcp::socket sock) {
  char buf[256];
  for (;;) {
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf),
                                                 asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto [wec, m] = co_await asio::async_write(sock, asio::buffer(buf, n),
                                               asio::experimental::as_tuple(asio::use_awaitable));
    (void)m;
    if (wec) co_return;
  }
}

asio::awaitable<void> echo_server(asio::ip::tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, sock] =
        co_await acceptor.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), echo_session(std::move(sock)), asio::detached);
  }
}

// Plain handlers, reposting themselves on the same threads while the coroutines run: none may
// ever see a context.
struct LeakProbe {
  std::atomic<bool> stop{false};
  std::atomic<int> runs{0};
  std::atomic<int> leaks{0};
  template <class Executor>
  void start(const Executor& ex, int streams) {
    for (int i = 0; i < streams; ++i) post_one(ex);
  }
  template <class Executor>
  void post_one(const Executor& ex) {
    asio::post(ex, [this, ex] {
      ++runs;
      if (Context::current().has_span()) ++leaks;
      if (!stop.load()) post_one(ex);
    });
  }
};

struct Outcome {
  int coroutines = 0;
  std::size_t spans_checked = 0;
  std::size_t wrong_parents = 0;
  std::size_t wrong_traces = 0;
  std::size_t missing = 0;
  int context_errors = 0;
  int initiation_errors = 0;
  int thread_changes = 0;
  int resumptions = 0;
  int echoes = 0;
  int done = 0;
  int leaks = 0;
  int probe_runs = 0;
};

std::int64_t index_of(const SpanData& s) {
  const AttributeValue* v = s.attribute("index");
  return v != nullptr && std::holds_alternative<std::int64_t>(*v) ? std::get<std::int64_t>(*v) : -1;
}

// Spawns `n` level1 coroutines (spawn(i, awaitable) chooses the executor and whether the
// integration is used), waits for all, and checks every exported parent.
template <class Spawn, class Executor>
Outcome run_scenario(const Executor& io_ex, Spawn spawn, int n, bool legacy,
                     const std::function<void()>& join) {
  Recorder rec;
  World w;
  w.legacy = legacy;
  asio::ip::tcp::acceptor acceptor(io_ex, {asio::ip::make_address("127.0.0.1"), 0});
  w.echo = acceptor.local_endpoint();
  asio::co_spawn(io_ex, echo_server(acceptor), asio::detached);
  LeakProbe probe_stream;
  probe_stream.start(io_ex, 2);

  SpanContext root;
  {
    auto fanout = info_span("fanout").entered();
    root = fanout.context();
    std::mt19937_64 rng(42);
    for (int i = 0; i < n; ++i) spawn(level1(w, i, rng()));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (w.tally.done.load() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  probe_stream.stop = true;
  asio::post(io_ex, [&] { acceptor.close(); });
  join();

  Outcome out;
  out.coroutines = n;
  out.context_errors = w.tally.context_errors;
  out.initiation_errors = w.tally.initiation_errors;
  out.thread_changes = w.tally.thread_changes;
  out.resumptions = w.tally.resumptions;
  out.echoes = w.tally.echoes;
  out.done = w.tally.done;
  out.leaks = probe_stream.leaks;
  out.probe_runs = probe_stream.runs;

  std::map<std::string, std::map<std::int64_t, SpanData>> by_level;
  std::map<std::uint64_t, const SpanData*> by_id;
  const std::vector<SpanData> spans = rec.flush();
  for (const SpanData& s : spans) {
    if (s.name == "l1" || s.name == "l2" || s.name == "l3") by_level[s.name][index_of(s)] = s;
  }
  for (int i = 0; i < n; ++i) {
    const SpanData* l[3] = {nullptr, nullptr, nullptr};
    const char* names[3] = {"l1", "l2", "l3"};
    for (int k = 0; k < 3; ++k) {
      auto& m = by_level[names[k]];
      auto it = m.find(i);
      if (it == m.end()) {
        ++out.missing;
        continue;
      }
      l[k] = &it->second;
      ++out.spans_checked;
      if (it->second.trace_id != root.trace_id) ++out.wrong_traces;
    }
    if (l[0] != nullptr && l[0]->parent_span_id != root.span_id) ++out.wrong_parents;
    if (l[1] != nullptr && (l[0] == nullptr || l[1]->parent_span_id != l[0]->span_id)) {
      ++out.wrong_parents;
    }
    if (l[2] != nullptr && (l[1] == nullptr || l[2]->parent_span_id != l[1]->span_id)) {
      ++out.wrong_parents;
    }
  }
  return out;
}

void report(const char* what, const Outcome& o) {
  WARN(what << ": coroutines=" << o.coroutines << " spans_checked=" << o.spans_checked
            << " wrong_parents=" << o.wrong_parents << " wrong_traces=" << o.wrong_traces
            << " missing=" << o.missing << " context_errors=" << o.context_errors
            << " initiation_errors=" << o.initiation_errors << " resumptions=" << o.resumptions
            << " thread_changes=" << o.thread_changes << " echoes=" << o.echoes
            << " leaks=" << o.leaks << " (plain handlers run: " << o.probe_runs << ")");
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void check_clean(const Outcome& o) {
  CHECK(o.done == o.coroutines);
  CHECK(o.spans_checked == std::size_t{3} * static_cast<std::size_t>(o.coroutines));
  CHECK(o.missing == 0);
  CHECK(o.wrong_parents == 0);
  CHECK(o.wrong_traces == 0);
  CHECK(o.context_errors == 0);
  CHECK(o.initiation_errors == 0);
  CHECK(o.echoes == o.coroutines);
  CHECK(o.resumptions == 7 * o.coroutines);
  CHECK(o.thread_changes > 0);
  CHECK(o.leaks == 0);
  CHECK(o.probe_runs > 0);
}

}  // namespace

TEST_CASE("asio: concurrent nested awaitables on a thread_pool keep their spans") {
  raise_fd_limit();
  const int n = coroutine_count(1000);
  asio::thread_pool pool(4);
  const Outcome o = run_scenario(
      pool.get_executor(),
      [&](asio::awaitable<void> a) { co_spawn_traced(pool, std::move(a), asio::detached); }, n,
      false, [&] { pool.join(); });
  report("thread_pool(4), integration", o);
  check_clean(o);
}

TEST_CASE("asio: io_context run by 3 threads, each coroutine on its own strand") {
  raise_fd_limit();
  const int n = coroutine_count(300);
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] { io.run(); });
  const Outcome o = run_scenario(
      io.get_executor(),
      [&](asio::awaitable<void> a) {
        co_spawn_traced(asio::make_strand(io), std::move(a), asio::detached);
      },
      n, false,
      [&] {
        guard.reset();
        for (auto& t : threads) t.join();
      });
  report("io_context x3 + strands, integration", o);
  check_clean(o);
}

TEST_CASE("asio: without the integration the same program gets parents wrong") {
  raise_fd_limit();
  const int n = coroutine_count(1000);
  asio::thread_pool pool(4);
  const Outcome o = run_scenario(
      pool.get_executor(),
      [&](asio::awaitable<void> a) { asio::co_spawn(pool, std::move(a), asio::detached); }, n, true,
      [&] { pool.join(); });
  report("thread_pool(4), old recipe (FrameContext + suspension)", o);
  CHECK(o.done == o.coroutines);
  CHECK(o.spans_checked == std::size_t{3} * static_cast<std::size_t>(o.coroutines));
  CHECK(o.wrong_parents > 0);
  CHECK(o.initiation_errors > 0);
}

namespace {

asio::awaitable<int> child(bool suspend, SpanContext& seen_parent) {
  seen_parent = Context::current().span_context();
  auto span = info_span("child").entered();
  if (suspend) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return 7;
}

asio::awaitable<void> parent(std::atomic<int>& errors, std::atomic<int>& done) {
  auto span = info_span("parent").entered();
  const SpanContext mine = span.context();
  for (bool suspend : {false, true}) {
    SpanContext seen;
    // A child spawned from inside, awaited: the parent's executor is unwrapped, the child's base
    // is the parent's span, and its completion (inline or not) resumes the parent in its own.
    const int v = co_await co_spawn_traced(co_await asio::this_coro::executor, child(suspend, seen),
                                           asio::use_awaitable);
    if (v != 7 || !same_span(seen, mine)) ++errors;
    if (!same_span(Context::current().span_context(), mine)) ++errors;
  }
  // A detached child runs alongside; spawning it does not disturb the parent.
  SpanContext seen;
  co_spawn_traced(co_await asio::this_coro::executor, child(true, seen), asio::detached);
  if (!same_span(Context::current().span_context(), mine)) ++errors;
  ++done;
}

}  // namespace

TEST_CASE("asio: children spawned from a traced coroutine, awaited or detached") {
  Recorder rec;
  std::atomic<int> errors{0}, done{0};
  asio::thread_pool pool(2);
  const int n = coroutine_count(200);
  for (int i = 0; i < n; ++i) co_spawn_traced(pool, parent(errors, done), asio::detached);
  pool.join();
  CHECK(done == n);
  CHECK(errors == 0);
  const auto spans = rec.flush();
  std::map<std::uint64_t, std::string> names;
  for (const auto& s : spans) names[s.span_id.to_u64()] = s.name;
  int children = 0, bad = 0;
  for (const auto& s : spans) {
    if (s.name != "child") continue;
    ++children;
    auto it = names.find(s.parent_span_id.to_u64());
    if (it == names.end() || it->second != "parent") ++bad;
  }
  CHECK(children == 3 * n);
  CHECK(bad == 0);
  CHECK_FALSE(Context::current().has_span());
}

namespace {

asio::awaitable<void> keep_executor(std::optional<asio::any_io_executor>& kept) {
  auto span = info_span("kept").entered();
  kept = co_await asio::this_coro::executor;
  co_await asio::post(asio::use_awaitable);
}

}  // namespace

TEST_CASE("asio: an executor kept past its coroutine runs work without a coroutine context") {
  Recorder rec;
  asio::io_context io;
  std::optional<asio::any_io_executor> kept;
  {
    auto outer = info_span("outer").entered();
    co_spawn_traced(io, keep_executor(kept), asio::detached);
  }
  io.run();
  io.restart();
  REQUIRE(kept.has_value());
  // Later coroutines reuse the finished one's state; the kept executor is not theirs.
  int ran = 0, with_span = 0, later = 0;
  for (int i = 0; i < 100; ++i) {
    co_spawn_traced(
        io,
        [&later]() -> asio::awaitable<void> {
          auto span = info_span("later").entered();
          co_await asio::post(asio::use_awaitable);
          if (Context::current().has_span()) ++later;
        },
        asio::detached);
    asio::post(*kept, [&] {
      ++ran;
      if (Context::current().has_span()) ++with_span;
    });
  }
  io.run();
  CHECK(ran == 100);
  CHECK(with_span == 0);
  CHECK(later == 100);
  CHECK_FALSE(Context::current().has_span());
}
