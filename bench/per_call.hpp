// Wall seconds per call of f over at least `seconds` (after one warm-up call): the timing loop of
// bench_onednn and bench_xsmm.
#pragma once

#include <chrono>
#include <functional>

namespace fedgrid::bench {

inline double per_call(const std::function<void()>& f, double seconds) {
  using Clock = std::chrono::steady_clock;
  f();
  long calls = 0;
  const auto t0 = Clock::now();
  double t = 0;
  do {
    f();
    ++calls;
    t = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (t < seconds);
  return t / double(calls);
}

}  // namespace fedgrid::bench
