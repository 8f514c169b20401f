#pragma once
// Happens-before edges stated to ThreadSanitizer where synchronization it cannot see provides
// them: gRPC hands a call's objects (a completion callback, an interceptor) from one of its
// threads to another through synchronization inside libgrpc, which TSan does not see when libgrpc
// is not built with it (the distributions' is not). tsan_release(p) on the side that hands over,
// tsan_acquire(p) on the side that takes over, with the edge the library guarantees stated where
// they are used. No-ops in other builds.

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
