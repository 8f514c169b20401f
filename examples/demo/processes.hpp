#pragma once
// The demo's child processes: started with a pipe on stdout (their first line is
// "listening PORT"), killed with the parent (PR_SET_PDEATHSIG) and by ChildSet's destructor, so no
// executor outlives the demo, whichever way it ends.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace demo {

struct Child {
  std::string name;
  pid_t pid = -1;
  int out = -1;               // read end of the child's stdout
  std::optional<int> status;  // waitpid status once reaped
};

// Describes how a child ended: "exit status 3", "killed by signal 9".
inline std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

class ChildSet {
 public:
  // Room for every child up front: spawn() hands out pointers into the vector.
  ChildSet() { children_.reserve(16); }
  ChildSet(const ChildSet&) = delete;
  ChildSet& operator=(const ChildSet&) = delete;
  ~ChildSet() { kill_all(); }

  // Starts `argv` (argv[0] is the program path) with stdout on a pipe; stderr is shared.
  Child* spawn(const std::string& name, const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return nullptr;
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return nullptr;
    }
    if (pid == 0) {
      // Dies with the demo even if the demo is killed with SIGKILL.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(fds[1], STDOUT_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::fprintf(stderr, "demo: cannot start %s\n", argv[0].c_str());
      ::_exit(127);
    }
    ::close(fds[1]);
    children_.push_back({name, pid, fds[0], std::nullopt});
    return &children_.back();
  }

  // The child's first stdout line, or nullopt if it closed stdout or the deadline passed.
  static std::optional<std::string> read_line(Child& c, std::chrono::milliseconds timeout) {
    std::string line;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{c.out, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char ch;
      const ssize_t n = ::read(c.out, &ch, 1);
      if (n <= 0) return std::nullopt;
      if (ch == '\n') return line;
      line += ch;
    }
    return std::nullopt;
  }

  // Reaps children that have ended; returns the first one that ended badly, if any.
  Child* reap_failed() {
    for (auto& c : children_) {
      if (c.status) continue;
      int st = 0;
      if (::waitpid(c.pid, &st, WNOHANG) == c.pid) c.status = st;
    }
    for (auto& c : children_) {
      if (c.status && !(WIFEXITED(*c.status) && WEXITSTATUS(*c.status) == 0)) return &c;
    }
    return nullptr;
  }

  // Waits for every child to end by itself; false if the deadline passed first.
  bool wait_all(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      reap_failed();
      bool all = true;
      for (const auto& c : children_) all &= c.status.has_value();
      if (all) return true;
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Waits up to `timeout` for a child that is ending (its RPC failed, say) to be reaped.
  Child* wait_failed(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (Child* c = reap_failed()) return c;
      if (std::chrono::steady_clock::now() > end) return nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // SIGTERM, a short grace period, then SIGKILL; every child reaped.
  void kill_all() {
    for (auto& c : children_) {
      if (!c.status) ::kill(c.pid, SIGTERM);
    }
    if (!wait_all(std::chrono::seconds(2))) {
      for (auto& c : children_) {
        if (!c.status) ::kill(c.pid, SIGKILL);
      }
      wait_all(std::chrono::seconds(5));
    }
    for (auto& c : children_) {
      if (c.out >= 0) ::close(c.out);
      c.out = -1;
    }
  }

  std::vector<Child>& children() { return children_; }

 private:
  std::vector<Child> children_;
};

}  // namespace demo
