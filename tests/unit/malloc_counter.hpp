// Counts malloc calls while g_counting is set (glibc, no sanitizer), to prove that steady-state
// calls do not allocate. Include it in exactly one file of a test executable: it defines malloc.
#pragma once

#include <atomic>
#include <cstddef>

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define FEDGRID_COUNT_MALLOC 1
extern "C" void* __libc_malloc(std::size_t size);
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_mallocs{0};
}  // namespace
extern "C" void* malloc(std::size_t size) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_mallocs.fetch_add(1);
  return __libc_malloc(size);
}
// Number of malloc calls made while f() runs.
template <class F>
long mallocs_during(F&& f) {
  g_mallocs = 0;
  g_counting = true;
  f();
  g_counting = false;
  return g_mallocs.load();
}
#endif
