#pragma once
// An in-test OTLP/gRPC collector on 127.0.0.1 (port chosen by the kernel unless given) with
// scripted answers. It records each call's method, request bytes and client metadata; it does
// not parse the request (tests/otlp_export/collector.hpp decodes it where a test needs that).
//
// The server stops by itself: its destructor shuts it down with a short deadline, which cancels
// calls still stalled.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace test {

struct Reply {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::string details;   // serialized google.rpc.Status, sent as grpc-status-details-bin
  std::string response;  // ExportTraceServiceResponse bytes, for OK
  bool stall = false;    // never answer; finish only when the client gives up
  // Answer this long after the request arrived. The wait is a timer, not a blocked thread, so
  // other calls are served meanwhile: a distant collector, reproducibly.
  std::chrono::milliseconds delay{0};
};
inline Reply ok_reply(std::string response = {}) {
  Reply r;
  r.response = std::move(response);
  return r;
}
inline Reply error_reply(grpc::StatusCode code, std::string details = {}) {
  Reply r;
  r.code = code;
  r.message = "scripted";
  r.details = std::move(details);
  return r;
}
inline Reply stall_reply() {
  Reply r;
  r.stall = true;
  return r;
}

struct Received {
  std::string method;
  std::string bytes;
  std::multimap<std::string, std::string> metadata;
  std::string meta(const std::string& key) const {
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string("<absent>") : it->second;
  }
};

// A port on 127.0.0.1 with nothing listening (bound, read, released): for "nothing listening"
// and "comes up late".
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

class Collector : public grpc::CallbackGenericService {
 public:
  // Answers the script in order, then `after` for every later call. Insecure unless `creds`.
  explicit Collector(std::vector<Reply> script = {}, Reply after = ok_reply(),
                     std::shared_ptr<grpc::ServerCredentials> creds = nullptr, int port = 0)
      : script_(script.begin(), script.end()), after_(std::move(after)) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port),
                       creds ? creds : grpc::InsecureServerCredentials(), &port_);
    b.RegisterCallbackGenericService(this);
    server_ = b.BuildAndStart();
    REQUIRE(server_ != nullptr);
    REQUIRE(port_ > 0);
  }
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  ~Collector() override { stop(); }

  int port() const { return port_; }
  std::string http() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string https() const { return "https://127.0.0.1:" + std::to_string(port_); }

  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lk(mu_);
    return received_;
  }
  // The request bytes of every call, in arrival order.
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<std::string> out;
    out.reserve(received_.size());
    for (const auto& r : received_) out.push_back(r.bytes);
    return out;
  }
  std::size_t calls() const {
    std::lock_guard<std::mutex> lk(mu_);
    return received_.size();
  }
  std::size_t cancelled_calls() const {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
  }
  // The most calls this collector had open at once (received and not yet answered).
  std::size_t max_open_calls() const {
    std::lock_guard<std::mutex> lk(mu_);
    return max_open_;
  }
  // Every later call is answered by `r` (the script, if any is left, still comes first).
  void set_after(Reply r) {
    std::lock_guard<std::mutex> lk(mu_);
    after_ = std::move(r);
  }
  // Answers cycle through `rs`, one per call, once the script is spent.
  void set_cycle(std::vector<Reply> rs) {
    std::lock_guard<std::mutex> lk(mu_);
    cycle_ = std::move(rs);
  }

  // Polls until `pred` holds; false after the hang guard.
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::seconds guard = std::chrono::seconds(20)) const {
    const auto end = std::chrono::steady_clock::now() + guard;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // Polls for `n` calls; false after the hang guard.
  bool wait_calls(std::size_t n, std::chrono::seconds guard = std::chrono::seconds(10)) const {
    return wait_for([&] { return calls() >= n; }, guard);
  }

  void stop() {
    if (server_) {
      // Cancels calls still stalled after the deadline, so this ends by itself.
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
      // Every call's last callback done, seen through mu_: libgrpc's own ordering of its
      // callbacks before Wait() returns is invisible to ThreadSanitizer, which then reports a
      // collector built at this one's address as racing with this one's calls.
      std::unique_lock<std::mutex> lk(mu_);
      const bool done =
          calls_done_.wait_for(lk, std::chrono::seconds(30), [this] { return live_calls_ == 0; });
      lk.unlock();
      CHECK(done);
      server_.reset();
    }
  }

 private:
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    Call(Collector* c, grpc::GenericCallbackServerContext* ctx) : c_(c), ctx_(ctx) {
      c_->call_started();
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request message"));
        return;
      }
      Received r;
      r.method = ctx_->method();
      std::vector<grpc::Slice> slices;
      if (request_.Dump(&slices).ok()) {
        for (const auto& s : slices)
          r.bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      for (const auto& [k, v] : ctx_->client_metadata()) {
        r.metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
      }
      Reply reply = c_->record(std::move(r));
      if (const auto delay = reply.delay; delay.count() > 0) {
        std::lock_guard<std::mutex> lk(mu_);
        delayed_ = std::move(reply);
        alarm_.Set(std::chrono::system_clock::now() + delay, [this](bool) { answer(delayed_); });
        return;
      }
      answer(reply);
    }
    // Runs in a reactor callback or on the alarm's thread; in the latter, Finish() may run
    // OnDone (delete this) at once, so no lock of this object is held while calling it.
    void answer(const Reply& reply) {
      c_->close_call();
      enum class Act { None, Finish, Write } act = Act::None;
      grpc::Status status;
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (reply.stall) {
          stalled_ = true;
          if (!cancelled_ || finished_) return;
          status = grpc::Status::CANCELLED;
          act = Act::Finish;
        } else if (!finished_) {
          if (reply.code != grpc::StatusCode::OK) {
            status = grpc::Status(reply.code, reply.message, reply.details);
            act = Act::Finish;
          } else {
            grpc::Slice s(reply.response);
            response_ = grpc::ByteBuffer(&s, 1);
            act = Act::Write;
          }
        }
        if (act != Act::None) finished_ = true;
      }
      if (act == Act::Finish) Finish(std::move(status));
      if (act == Act::Write) {
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      }
    }
    void OnCancel() override {
      c_->count_cancel();
      std::lock_guard<std::mutex> lk(mu_);
      cancelled_ = true;
      if (stalled_) finish_locked(grpc::Status::CANCELLED);
    }
    // gRPC's last callback of the call, after OnCancel.
    void OnDone() override {
      Collector* c = c_;
      delete this;
      c->call_done();
    }

   private:
    void finish(grpc::Status s) {
      std::lock_guard<std::mutex> lk(mu_);
      finish_locked(std::move(s));
    }
    void finish_locked(grpc::Status s) {
      if (finished_) return;
      finished_ = true;
      Finish(std::move(s));
    }
    Collector* c_;
    grpc::GenericCallbackServerContext* ctx_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
    grpc::Alarm alarm_;
    Reply delayed_;
    std::mutex mu_;
    bool stalled_ = false;
    bool cancelled_ = false;
    bool finished_ = false;
  };

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Call(this, ctx);
  }

  Reply record(Received r) {
    std::lock_guard<std::mutex> lk(mu_);
    received_.push_back(std::move(r));
    max_open_ = std::max(max_open_, ++open_);
    if (script_.empty() && !cycle_.empty()) return cycle_[next_cycle_++ % cycle_.size()];
    if (script_.empty()) return after_;
    Reply next = std::move(script_.front());
    script_.pop_front();
    return next;
  }
  void close_call() {
    std::lock_guard<std::mutex> lk(mu_);
    --open_;
  }
  void count_cancel() {
    std::lock_guard<std::mutex> lk(mu_);
    ++cancelled_;
  }
  void call_started() {
    std::lock_guard<std::mutex> lk(mu_);
    ++live_calls_;
  }
  void call_done() {
    std::lock_guard<std::mutex> lk(mu_);
    --live_calls_;
    calls_done_.notify_all();  // under the lock: stop() may destroy this once it can take it
  }

  mutable std::mutex mu_;
  std::deque<Reply> script_;
  Reply after_;
  std::vector<Received> received_;
  std::vector<Reply> cycle_;
  std::size_t next_cycle_ = 0;
  std::size_t cancelled_ = 0;
  std::size_t open_ = 0;
  std::size_t max_open_ = 0;
  std::size_t live_calls_ = 0;  // reactors not yet done
  std::condition_variable calls_done_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace test
