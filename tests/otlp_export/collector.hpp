#pragma once
// An in-test OTLP/gRPC collector on 127.0.0.1 (port chosen by the kernel) with scripted answers,
// and a decoder of ExportTraceServiceRequest built on detail::ProtoReader, so the end-to-end
// tests read what really went over the wire without libprotobuf.
//
// The server stops by itself: its destructor shuts it down with a short deadline, which cancels
// calls still stalled.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "krishiv/trace/detail/proto_reader.hpp"

namespace krishiv::trace::test {

// ---- decoding (opentelemetry-proto trace/v1, common/v1, resource/v1; field numbers from
// reference/protocols.md §2) ----

using Value = std::variant<std::monostate, std::string, bool, std::int64_t, double>;
using AttributeMap = std::map<std::string, Value>;

struct DecodedEvent {
  std::string name;
  AttributeMap attributes;
};
struct DecodedLink {
  std::string trace_id;
  std::string span_id;
  AttributeMap attributes;
};
struct DecodedSpan {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;
  std::string name;
  int kind = 0;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  AttributeMap attributes;
  std::vector<DecodedEvent> events;
  std::vector<DecodedLink> links;
  int status_code = 0;
  std::string status_message;
};
struct DecodedRequest {
  bool ok = true;  // every level parsed cleanly
  AttributeMap resource;
  std::vector<DecodedSpan> spans;
};

namespace decode {
using detail::ProtoReader;
using detail::WireType;

inline Value any_value(std::string_view b, bool& ok) {
  ProtoReader r(b);
  Value v;
  while (r.next()) {
    switch (r.field()) {
      case 1:
        v = std::string(r.bytes());
        break;
      case 2:
        v = r.varint() != 0;
        break;
      case 3:
        v = r.int64();
        break;
      case 4: {
        const std::uint64_t bits = r.fixed64();
        double d;
        static_assert(sizeof d == sizeof bits);
        std::memcpy(&d, &bits, sizeof d);
        v = d;
        break;
      }
      default:
        break;
    }
  }
  ok &= r.ok();
  return v;
}

inline void key_value(std::string_view b, AttributeMap& out, bool& ok) {
  ProtoReader r(b);
  std::string key;
  Value v;
  while (r.next()) {
    if (r.field() == 1) key = std::string(r.bytes());
    if (r.field() == 2) v = any_value(r.bytes(), ok);
  }
  ok &= r.ok();
  out[key] = std::move(v);
}

inline DecodedSpan span(std::string_view b, bool& ok) {
  DecodedSpan s;
  ProtoReader r(b);
  while (r.next()) {
    switch (r.field()) {
      case 1:
        s.trace_id = std::string(r.bytes());
        break;
      case 2:
        s.span_id = std::string(r.bytes());
        break;
      case 4:
        s.parent_span_id = std::string(r.bytes());
        break;
      case 5:
        s.name = std::string(r.bytes());
        break;
      case 6:
        s.kind = static_cast<int>(r.varint());
        break;
      case 7:
        s.start = r.fixed64();
        break;
      case 8:
        s.end = r.fixed64();
        break;
      case 9:
        key_value(r.bytes(), s.attributes, ok);
        break;
      case 11: {
        DecodedEvent e;
        ProtoReader er(r.bytes());
        while (er.next()) {
          if (er.field() == 2) e.name = std::string(er.bytes());
          if (er.field() == 3) key_value(er.bytes(), e.attributes, ok);
        }
        ok &= er.ok();
        s.events.push_back(std::move(e));
        break;
      }
      case 13: {
        DecodedLink l;
        ProtoReader lr(r.bytes());
        while (lr.next()) {
          if (lr.field() == 1) l.trace_id = std::string(lr.bytes());
          if (lr.field() == 2) l.span_id = std::string(lr.bytes());
          if (lr.field() == 4) key_value(lr.bytes(), l.attributes, ok);
        }
        ok &= lr.ok();
        s.links.push_back(std::move(l));
        break;
      }
      case 15: {
        ProtoReader st(r.bytes());
        while (st.next()) {
          if (st.field() == 2) s.status_message = std::string(st.bytes());
          if (st.field() == 3) s.status_code = static_cast<int>(st.varint());
        }
        ok &= st.ok();
        break;
      }
      default:
        break;
    }
  }
  ok &= r.ok();
  return s;
}
}  // namespace decode

inline DecodedRequest decode_request(std::string_view bytes) {
  using detail::ProtoReader;
  DecodedRequest out;
  ProtoReader req(bytes);
  while (req.next()) {
    if (req.field() != 1) continue;
    ProtoReader rs(req.bytes());
    while (rs.next()) {
      if (rs.field() == 1) {
        ProtoReader res(rs.bytes());
        while (res.next()) {
          if (res.field() == 1) decode::key_value(res.bytes(), out.resource, out.ok);
        }
        out.ok &= res.ok();
      } else if (rs.field() == 2) {
        ProtoReader ss(rs.bytes());
        while (ss.next()) {
          if (ss.field() == 2) out.spans.push_back(decode::span(ss.bytes(), out.ok));
        }
        out.ok &= ss.ok();
      }
    }
    out.ok &= rs.ok();
  }
  out.ok &= req.ok();
  return out;
}

// ---- the collector ----

struct Reply {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string response;  // ExportTraceServiceResponse bytes, for OK
  bool stall = false;    // never answer; finish only when the client gives up
};
inline Reply ok_reply() {
  return {};
}
inline Reply error_reply(grpc::StatusCode code) {
  Reply r;
  r.code = code;
  return r;
}
inline Reply stall_reply() {
  Reply r;
  r.stall = true;
  return r;
}
// ExportTraceServiceResponse{partial_success{rejected_spans, error_message}}.
inline Reply partial_reply(std::uint8_t rejected, const std::string& message) {
  std::string p;
  p += '\x08';
  p += static_cast<char>(rejected);  // one-byte varint: rejected < 128
  p += '\x12';
  p += static_cast<char>(message.size());
  p += message;
  Reply r;
  r.response = "\x0a";
  r.response += static_cast<char>(p.size());
  r.response += p;
  return r;
}

class Collector final : public grpc::CallbackGenericService {
 public:
  // Answers the script in order, then `after` for every later call.
  explicit Collector(std::vector<Reply> script = {}, Reply after = ok_reply())
      : script_(script.begin(), script.end()), after_(std::move(after)) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
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

  std::size_t calls() const {
    std::lock_guard<std::mutex> lk(mu_);
    return requests_.size();
  }
  std::size_t cancelled_calls() const {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
  }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lk(mu_);
    return requests_;
  }
  // Every span of every request, in arrival order (including requests answered with errors).
  std::vector<DecodedSpan> spans() const {
    std::vector<DecodedSpan> out;
    for (const auto& r : requests()) {
      auto d = decode_request(r);
      REQUIRE(d.ok);
      for (auto& s : d.spans) out.push_back(std::move(s));
    }
    return out;
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

  void stop() {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
      server_.reset();
    }
  }

 private:
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Call(Collector* c) : c_(c) { StartRead(&request_); }
    void OnReadDone(bool ok) override {
      if (!ok) {
        finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request message"));
        return;
      }
      std::string bytes;
      std::vector<grpc::Slice> slices;
      if (request_.Dump(&slices).ok()) {
        for (const auto& s : slices)
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      const Reply reply = c_->record(std::move(bytes));
      std::lock_guard<std::mutex> lk(mu_);
      if (reply.stall) {
        stalled_ = true;
        if (cancelled_) finish_locked(grpc::Status::CANCELLED);
        return;
      }
      if (reply.code != grpc::StatusCode::OK) {
        finish_locked(grpc::Status(reply.code, "scripted"));
        return;
      }
      if (finished_) return;
      finished_ = true;
      grpc::Slice s(reply.response);
      response_ = grpc::ByteBuffer(&s, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnCancel() override {
      c_->count_cancel();
      std::lock_guard<std::mutex> lk(mu_);
      cancelled_ = true;
      if (stalled_) finish_locked(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

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
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
    std::mutex mu_;
    bool stalled_ = false;
    bool cancelled_ = false;
    bool finished_ = false;
  };

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new Call(this);
  }

  Reply record(std::string bytes) {
    std::lock_guard<std::mutex> lk(mu_);
    requests_.push_back(std::move(bytes));
    if (script_.empty()) return after_;
    Reply next = std::move(script_.front());
    script_.pop_front();
    return next;
  }
  void count_cancel() {
    std::lock_guard<std::mutex> lk(mu_);
    ++cancelled_;
  }

  mutable std::mutex mu_;
  std::deque<Reply> script_;
  Reply after_;
  std::vector<std::string> requests_;
  std::size_t cancelled_ = 0;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace krishiv::trace::test
