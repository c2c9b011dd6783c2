// Implementation of FedGrid's deterministic generator and distributions (see rng.hpp).
#include "util/rng.hpp"

#include <cmath>

namespace fedgrid::util {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t derive_seed(uint64_t seed, std::string_view tag, uint64_t a, uint64_t b) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the tag
  for (char c : tag) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  uint64_t state = seed;
  uint64_t out = splitmix64(state);
  state = out ^ h;
  out = splitmix64(state);
  state = out ^ (a + 0x632be59bd9b4e019ULL);
  out = splitmix64(state);
  state = out ^ (b + 0x8cb92ba72f3d8dd7ULL);
  return splitmix64(state);
}

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (auto& s : s_) s = splitmix64(state);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t n) {
  // Lemire's nearly divisionless method with rejection: exact uniformity.
  __uint128_t m = static_cast<__uint128_t>(next_u64()) * n;
  auto low = static_cast<uint64_t>(m);
  if (low < n) {
    uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<__uint128_t>(next_u64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

double Rng::exponential1() { return -std::log1p(-uniform01()); }

double Rng::normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  double u1 = 0.0;
  while (u1 <= 0.0) u1 = uniform01();
  double u2 = uniform01();
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * M_PI * u2;
  cached_normal_ = r * std::sin(theta);
  has_cached_normal_ = true;
  return r * std::cos(theta);
}

double Rng::gamma(double shape) {
  if (shape < 1.0) {
    // Boost a shape < 1 to shape + 1 and scale by U^(1/shape).
    double u = 0.0;
    while (u <= 0.0) u = uniform01();
    return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = normal();
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    double u = uniform01();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

uint64_t Rng::poisson(double mean) {
  if (mean <= 0.0) return 0;
  if (mean < 30.0) {
    // Knuth's multiplication method: count uniforms until their product drops below e^-mean.
    const double limit = std::exp(-mean);
    double prod = uniform01();
    uint64_t k = 0;
    while (prod > limit) {
      prod *= uniform01();
      ++k;
    }
    return k;
  }
  // Large means: count Exp(1) arrivals of a unit-rate process in [0, mean) (exact, O(mean)).
  double t = exponential1();
  uint64_t k = 0;
  while (t < mean) {
    t += exponential1();
    ++k;
  }
  return k;
}

}  // namespace fedgrid::util
