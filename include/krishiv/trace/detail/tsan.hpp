#pragma once
// Happens-before edges that ThreadSanitizer cannot see for itself. gRPC hands a call's state from
// one of its threads to another through synchronization inside libgrpc, which TSan does not see
// when libgrpc is not built with it (the distributions' is not): these state the edges gRPC
// guarantees. No-ops in other builds. Standard library only.

#if defined(__SANITIZE_THREAD__)
#define KRISHIV_TRACE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KRISHIV_TRACE_TSAN 1
#endif
#endif
#ifdef KRISHIV_TRACE_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace krishiv::trace::detail {

inline void tsan_release(void* p) noexcept {
#ifdef KRISHIV_TRACE_TSAN
  __tsan_release(p);
#else
  (void)p;
#endif
}
inline void tsan_acquire(void* p) noexcept {
#ifdef KRISHIV_TRACE_TSAN
  __tsan_acquire(p);
#else
  (void)p;
#endif
}

}  // namespace krishiv::trace::detail
