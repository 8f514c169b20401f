#pragma once
// A small thread pool for the coroutine examples: a shared queue, and an awaitable that resumes
// the awaiter on the first worker that is free.

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

// schedule() resumes the awaiter on whichever worker of the pool is free.
class ThreadPool {
 public:
  explicit ThreadPool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  // Which thread resumes the awaiter: any worker of this pool.
  auto schedule() noexcept {
    struct Awaiter {
      ThreadPool* pool;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) { pool->post(h); }
      void await_resume() const noexcept {}
    };
    return Awaiter{this};
  }

 private:
  void post(std::coroutine_handle<> h) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(h);
    }
    cv_.notify_one();
  }
  void run() {
    for (;;) {
      std::coroutine_handle<> h;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        h = queue_.front();
        queue_.pop_front();
      }
      h.resume();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::coroutine_handle<>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};
