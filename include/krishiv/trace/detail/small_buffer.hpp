#pragma once
// A byte buffer with inline storage: a span's fields and attributes are built here while the span
// is open, so the common span never touches the heap.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

namespace krishiv::trace::detail {

template <std::size_t N>
class SmallBuffer {
 public:
  SmallBuffer() noexcept = default;
  SmallBuffer(const SmallBuffer&) = delete;
  SmallBuffer& operator=(const SmallBuffer&) = delete;
  SmallBuffer(SmallBuffer&& o) noexcept { steal(o); }
  SmallBuffer& operator=(SmallBuffer&& o) noexcept {
    if (this != &o) {
      heap_.reset();
      steal(o);
    }
    return *this;
  }

  std::uint8_t* data() noexcept { return heap_ ? heap_.get() : inline_; }
  const std::uint8_t* data() const noexcept { return heap_ ? heap_.get() : inline_; }
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept { size_ = 0; }

  std::size_t capacity() const noexcept { return heap_ ? capacity_ : N; }

  // Grows by n bytes and returns where to write them.
  std::uint8_t* extend(std::size_t n) {
    if (size_ + n > capacity()) grow(size_ + n);
    std::uint8_t* p = data() + size_;
    size_ += n;
    return p;
  }
  void append(const void* src, std::size_t n) {
    if (n != 0) std::memcpy(extend(n), src, n);
  }
  void push(std::uint8_t b) { *extend(1) = b; }

 private:
  void grow(std::size_t need) {
    std::size_t cap = capacity() * 2;
    while (cap < need) cap *= 2;
    // Uninitialized, as make_unique_for_overwrite would (which libc++ 14 lacks).
    std::unique_ptr<std::uint8_t[]> next(new std::uint8_t[cap]);
    std::memcpy(next.get(), data(), size_);
    heap_ = std::move(next);
    capacity_ = cap;
  }
  void steal(SmallBuffer& o) noexcept {
    size_ = o.size_;
    if (o.heap_) {
      heap_ = std::move(o.heap_);
      capacity_ = o.capacity_;
    } else {
      std::memcpy(inline_, o.inline_, size_);
    }
    o.size_ = 0;
  }

  // Construction is two zero words (a span constructs one per span, sampled or not).
  std::unique_ptr<std::uint8_t[]> heap_;
  std::size_t size_ = 0;
  std::size_t capacity_;  // of heap_, when there is one
  std::uint8_t inline_[N];
};

}  // namespace krishiv::trace::detail
