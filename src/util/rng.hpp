// Deterministic random numbers: splitmix64 seed derivation, xoshiro256** generator and our own
// distributions (libstdc++'s std::*_distribution are implementation-defined, ours are not).
#pragma once

#include <cstdint>
#include <string_view>

namespace fedgrid::util {

// One step of splitmix64: a bijective 64-bit mixer used to derive independent seeds.
uint64_t splitmix64(uint64_t& state);

// Seed for one purpose: mix(seed, hash(tag), a, b). Same inputs give the same seed everywhere.
// Tags name the purpose ("data", "partition", "platform", "batch", "timing", ...).
uint64_t derive_seed(uint64_t seed, std::string_view tag, uint64_t a = 0, uint64_t b = 0);

class Rng {
 public:
  explicit Rng(uint64_t seed);
  Rng(uint64_t seed, std::string_view tag, uint64_t a = 0, uint64_t b = 0)
      : Rng(derive_seed(seed, tag, a, b)) {}

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform01();
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
  // Uniform integer in [0, n), unbiased (n > 0).
  uint64_t below(uint64_t n);
  // Exp(1) by inversion: -log(1 - u).
  double exponential1();
  // Standard normal (Box-Muller, one value per call, the second is cached).
  double normal();
  // Gamma(shape, 1) by Marsaglia-Tsang (shape > 0).
  double gamma(double shape);
  // Poisson(mean) by inversion for small means, normal-free PTRS-less multiplication method
  // otherwise.
  uint64_t poisson(double mean);

 private:
  uint64_t s_[4];
  bool has_cached_normal_ = false;
  double cached_normal_ = 0.0;
};

// Fisher-Yates shuffle of [first, last) driven by rng.
template <class It>
void shuffle(It first, It last, Rng& rng) {
  auto n = static_cast<uint64_t>(last - first);
  for (uint64_t i = n; i > 1; --i) {
    uint64_t j = rng.below(i);
    auto tmp = first[i - 1];
    first[i - 1] = first[j];
    first[j] = tmp;
  }
}

}  // namespace fedgrid::util
