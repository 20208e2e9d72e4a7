// Clang's thread-safety annotations, checked by -Wthread-safety in the clang
// build (`make thread-safety`); under other compilers they expand to nothing.
// Use them with the annotated Mutex of core/mutex.h: libstdc++'s std::mutex
// carries none.
//
//   Mutex mu_;
//   int hits_ SB_GUARDED_BY(mu_) = 0;
//   void Count() SB_EXCLUDES(mu_);       // takes mu_ itself
//   void CountLocked() SB_REQUIRES(mu_); // the caller holds mu_
//
// https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#pragma once

#if defined(__clang__)
#define SB_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SB_THREAD_ANNOTATION(x)
#endif

// On a class: it is a capability (a mutex); `x` names its kind in messages.
#define SB_CAPABILITY(x) SB_THREAD_ANNOTATION(capability(x))
// On a class: an RAII object that holds a capability for its lifetime.
#define SB_SCOPED_CAPABILITY SB_THREAD_ANNOTATION(scoped_lockable)

// On a member or global: read and written only while holding `x`.
#define SB_GUARDED_BY(x) SB_THREAD_ANNOTATION(guarded_by(x))
// On a pointer: the pointee is guarded by `x` (the pointer itself is not).
#define SB_PT_GUARDED_BY(x) SB_THREAD_ANNOTATION(pt_guarded_by(x))

// On a mutex: the order in which mutexes may be taken.
#define SB_ACQUIRED_BEFORE(...) SB_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define SB_ACQUIRED_AFTER(...) SB_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))

// On a function: the caller must hold (exclusively or shared) the capabilities.
#define SB_REQUIRES(...) SB_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define SB_REQUIRES_SHARED(...) SB_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// On a function: the caller must not hold them (the function takes them).
#define SB_EXCLUDES(...) SB_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// On a function: it acquires or releases the capabilities (`this` when none
// is named, for the mutex's own methods).
#define SB_ACQUIRE(...) SB_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define SB_ACQUIRE_SHARED(...) SB_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define SB_RELEASE(...) SB_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define SB_RELEASE_SHARED(...) SB_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define SB_RELEASE_GENERIC(...) SB_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
// On a function: acquires them when it returns `result` (a try-lock).
#define SB_TRY_ACQUIRE(...) SB_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define SB_TRY_ACQUIRE_SHARED(...) SB_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))

// On a function: it checks at run time that the capability is held.
#define SB_ASSERT_CAPABILITY(x) SB_THREAD_ANNOTATION(assert_capability(x))
#define SB_ASSERT_SHARED_CAPABILITY(x) SB_THREAD_ANNOTATION(assert_shared_capability(x))
// On a function: it returns a reference to the capability `x`.
#define SB_RETURN_CAPABILITY(x) SB_THREAD_ANNOTATION(lock_returned(x))

// On a function: not analysed. Say beside it why the analysis cannot follow.
#define SB_NO_THREAD_SAFETY_ANALYSIS SB_THREAD_ANNOTATION(no_thread_safety_analysis)
