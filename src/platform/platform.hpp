// Heterogeneous star platforms: a generator spec (distributions of client speed, link bandwidth
// and latency), the generated platform, and its SimGrid XML (seeded and byte-stable).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/rng.hpp"

namespace fedgrid::platform {

// A scalar distribution. kind: "constant" (value), "uniform" (min, max), "lognormal" (median,
// sigma: exp(N(log median, sigma^2))), "two_tier" (value = fast value, slow_factor k,
// slow_fraction f: a fraction f of the clients (exactly round(f*n), chosen at random) get
// value / k).
struct Distribution {
  std::string kind = "constant";
  double value = 1.0;
  double min = 0.0, max = 1.0;
  double median = 1.0, sigma = 0.0;
  double slow_factor = 1.0, slow_fraction = 0.0;
  // Draws n values (two_tier needs the whole population at once). Deterministic given rng.
  // Throws util::InputError (key "platform.distribution") if validate(key, true) would.
  std::vector<double> sample(std::size_t n, util::Rng& rng) const;
  // Exact mean of the distribution; two_tier: value * (1 - f + f / k), which its samples hit
  // exactly when f * n is an integer (otherwise the realised fraction is round(f*n) / n).
  double mean() const;
  // Throws util::InputError naming `key` (e.g. "platform.generate.speed") if the parameters are
  // impossible: unknown kind, non-finite values, min > max, sigma < 0, median <= 0,
  // slow_factor < 1, slow_fraction outside [0, 1], or a support that reaches <= 0 (< 0 when
  // allow_zero, as for latencies).
  void validate(const std::string& key, bool allow_zero) const;
};

struct PlatformSpec {
  int clients = 0;
  Distribution speed;      // flop/s of each client host
  Distribution bandwidth;  // bytes/s of each client's access link (both directions)
  Distribution latency;    // seconds
  // Instead of bandwidth and latency: seconds to download the model and upload a full update
  // (FedGrid sets the link that gives them; see CommLink).
  std::optional<Distribution> comm_time;
  double server_speed = 1e12;
  // Optional shared server link (bytes/s, seconds): when set every client route crosses it.
  std::optional<double> server_bandwidth;
  double server_latency = 0.0;
};

struct ClientHost {
  std::string name;  // "client-<u>"
  double speed = 0, bandwidth = 0, latency = 0;
};

struct Platform {
  std::vector<ClientHost> clients;
  double server_speed = 0;
  std::optional<double> server_bandwidth;
  double server_latency = 0;
  // Heterogeneity level: coefficient of variation (std/mean) of the client speeds.
  double heterogeneity = 0;
};

// What turns a communication time into a SimGrid link: the bytes of one model transfer and the
// network model's bandwidth factor (LV08: 0.97). A link without latency and with bandwidth
// 2 x model_bytes / (comm_time x factor) moves the model one way in comm_time / 2.
struct CommLink {
  double model_bytes = 0;
  double bandwidth_factor = 0.97;
  double bandwidth(double comm_time) const;  // the link parameter (bytes/s)
};

// Draws speeds, then bandwidths, then latencies (or communication times: `link` converts them),
// each from its own derived RNG stream (util::Rng(seed, "platform.speed"), ...). Throws
// util::InputError for impossible specs (no clients, non-positive speeds or bandwidths, negative
// latencies, min > max, ...); std::logic_error for a comm_time spec without `link`.
Platform generate(const PlatformSpec& spec, uint64_t seed, const CommLink* link = nullptr);

// x printed like printf("%.17g", x) in the C locale (via std::to_chars): lossless, trailing zeros
// dropped, independent of the process locale.
std::string format_number(double x);

// Coefficient of variation (population std / mean) of xs; exactly 0 when all values are equal
// or xs is empty.
double coefficient_of_variation(const std::vector<double>& xs);

// SimGrid 3.32 platform XML (version 4.1): one star zone <zone id="fedgrid" routing="Cluster">
// (a StarZone in 3.32) holding host "server" and hosts "client-<u>" in client order. Each client
// has a split-duplex link "link-<u>" (link-<u>_UP / link-<u>_DOWN) attached with <host_link>;
// with server_bandwidth set, the server gets a split-duplex "server-link" the same way, so every
// client<->server route is [link-<u>, server-link] in the direction of the transfer. Without it
// the server has no link and the route is the client's link alone. Speeds in flop/s ("f"),
// bandwidths in bytes/s ("Bps"), latencies in s ("s"), printed like %.17g (locale-independent):
// byte-stable and lossless. Checked with SimGrid 3.32 (routes, transfer times, 10k clients load
// in ~0.2 s). SimGrid seals XML zones only at Engine::run(): call Engine::seal_platform() before
// any route_to() query made earlier, or the server (no host_link) has no route yet.
std::string to_xml(const Platform& p);

}  // namespace fedgrid::platform
