// Seeded generation of heterogeneous star platforms: the scalar distributions, spec validation
// (util::InputError naming the spec key) and the heterogeneity level (CV of the client speeds).
#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "platform/platform.hpp"
#include "util/error.hpp"

namespace fedgrid::platform {
namespace {

std::string num(double x) { return format_number(x); }

[[noreturn]] void fail(const std::string& key, const std::string& expected,
                       const std::string& found) {
  util::throw_input_error(key, 0, "", expected, found);
}

// Requires x finite and x > 0 (or x >= 0 when allow_zero); names the parameter in the message.
void check_bound(const std::string& key, const char* param, double x, bool allow_zero) {
  const bool ok = std::isfinite(x) && (allow_zero ? x >= 0.0 : x > 0.0);
  if (!ok) {
    fail(key, std::string("finite ") + param + (allow_zero ? " >= 0" : " > 0"),
         std::string(param) + "=" + num(x));
  }
}

// Number of slow clients of a two_tier distribution: round(f * n), halves away from zero.
std::size_t slow_count(double fraction, std::size_t n) {
  return static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
}

}  // namespace

void Distribution::validate(const std::string& key, bool allow_zero) const {
  if (kind == "constant") {
    check_bound(key, "value", value, allow_zero);
  } else if (kind == "uniform") {
    if (!std::isfinite(min) || !std::isfinite(max)) {
      fail(key, "finite min and max", "min=" + num(min) + " max=" + num(max));
    }
    if (!(min <= max)) fail(key, "min <= max", "min=" + num(min) + " max=" + num(max));
    check_bound(key, "min", min, allow_zero);
  } else if (kind == "lognormal") {
    check_bound(key, "median", median, false);
    check_bound(key, "sigma", sigma, true);
  } else if (kind == "two_tier") {
    check_bound(key, "value", value, allow_zero);
    if (!std::isfinite(slow_factor) || !(slow_factor >= 1.0)) {
      fail(key, "finite slow_factor >= 1", "slow_factor=" + num(slow_factor));
    }
    if (!(slow_fraction >= 0.0 && slow_fraction <= 1.0)) {
      fail(key, "0 <= slow_fraction <= 1", "slow_fraction=" + num(slow_fraction));
    }
  } else {
    fail(key, "kind constant, uniform, lognormal or two_tier", "kind '" + kind + "'");
  }
}

std::vector<double> Distribution::sample(std::size_t n, util::Rng& rng) const {
  validate("platform.distribution", true);
  std::vector<double> out(n, value);
  if (kind == "uniform") {
    for (auto& x : out) x = rng.uniform(min, max);
  } else if (kind == "lognormal") {
    // exp(N(log median, sigma^2)) = median * exp(sigma * Z), Z ~ N(0, 1).
    for (auto& x : out) x = median * std::exp(sigma * rng.normal());
  } else if (kind == "two_tier") {
    // A seeded permutation of the client indices; its first round(f*n) entries are slow.
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    util::shuffle(order.begin(), order.end(), rng);
    const std::size_t slow = slow_count(slow_fraction, n);
    for (std::size_t i = 0; i < slow; ++i) out[order[i]] = value / slow_factor;
  }
  return out;  // constant: n copies of value
}

double Distribution::mean() const {
  if (kind == "constant") return value;
  if (kind == "uniform") return 0.5 * (min + max);
  if (kind == "lognormal") return median * std::exp(0.5 * sigma * sigma);  // E[e^{sZ}] = e^{s^2/2}
  if (kind == "two_tier") return value * (1.0 - slow_fraction + slow_fraction / slow_factor);
  fail("platform.distribution", "kind constant, uniform, lognormal or two_tier",
       "kind '" + kind + "'");
}

double coefficient_of_variation(const std::vector<double>& xs) {
  if (xs.empty()) return 0.0;
  bool all_equal = true;
  for (double x : xs) all_equal = all_equal && x == xs.front();
  if (all_equal) return 0.0;  // exact 0, immune to rounding in the mean
  const auto n = static_cast<double>(xs.size());
  double sum = 0.0;
  for (double x : xs) sum += x;
  const double mu = sum / n;
  double ss = 0.0;
  for (double x : xs) ss += (x - mu) * (x - mu);
  return std::sqrt(ss / n) / mu;  // population standard deviation over the mean
}

namespace {

// Draws n values and checks each one (lognormal tails can overflow to inf or underflow to 0).
std::vector<double> draw(const Distribution& d, const std::string& key, std::size_t n,
                         util::Rng rng, bool allow_zero) {
  d.validate(key, allow_zero);
  std::vector<double> xs = d.sample(n, rng);
  for (std::size_t u = 0; u < n; ++u) {
    const bool ok = std::isfinite(xs[u]) && (allow_zero ? xs[u] >= 0.0 : xs[u] > 0.0);
    if (!ok) {
      fail(key, std::string("every drawn value finite and ") + (allow_zero ? ">= 0" : "> 0"),
           num(xs[u]) + " for client " + std::to_string(u));
    }
  }
  return xs;
}

}  // namespace

double CommLink::bandwidth(double comm_time) const {
  return 2.0 * model_bytes / comm_time / bandwidth_factor;
}

Platform generate(const PlatformSpec& spec, uint64_t seed, const CommLink* link) {
  if (spec.clients < 1) {
    fail("platform.generate.clients", "at least 1 client", std::to_string(spec.clients));
  }
  check_bound("platform.generate.server_speed", "server_speed", spec.server_speed, false);
  if (spec.server_bandwidth) {
    check_bound("platform.generate.server_bandwidth", "server_bandwidth", *spec.server_bandwidth,
                false);
  }
  check_bound("platform.generate.server_latency", "server_latency", spec.server_latency, true);

  const auto n = static_cast<std::size_t>(spec.clients);
  const auto speeds =
      draw(spec.speed, "platform.generate.speed", n, util::Rng(seed, "platform.speed"), false);
  std::vector<double> bandwidths, latencies;
  if (spec.comm_time) {  // seconds per round trip -> a latency-free link of that bandwidth
    if (!link || !(link->model_bytes > 0)) {
      throw std::logic_error("generate: platform.generate.comm_time needs the model's bytes");
    }
    const auto times = draw(*spec.comm_time, "platform.generate.comm_time", n,
                            util::Rng(seed, "platform.comm_time"), false);
    for (double t : times) {
      const double bw = link->bandwidth(t);
      if (!(std::isfinite(bw) && bw > 0)) {
        fail("platform.generate.comm_time", "times that give a finite link bandwidth > 0",
             num(t) + " s");
      }
      bandwidths.push_back(bw);
    }
    latencies.assign(n, 0.0);
  } else {
    bandwidths = draw(spec.bandwidth, "platform.generate.bandwidth", n,
                      util::Rng(seed, "platform.bandwidth"), false);
    latencies = draw(spec.latency, "platform.generate.latency", n,
                     util::Rng(seed, "platform.latency"), true);
  }

  Platform p;
  p.clients.resize(n);
  for (std::size_t u = 0; u < n; ++u) {
    p.clients[u] =
        ClientHost{"client-" + std::to_string(u), speeds[u], bandwidths[u], latencies[u]};
  }
  p.server_speed = spec.server_speed;
  p.server_bandwidth = spec.server_bandwidth;
  p.server_latency = spec.server_latency;
  p.heterogeneity = coefficient_of_variation(speeds);
  return p;
}

}  // namespace fedgrid::platform
