// Client availability: when each client's device is switched off and on again. Either random
// (a seeded fraction of the clients alternates exponential up and down periods) or read from a
// trace file (client,off,on rows). The sim layer turns each client's timeline into a SimGrid
// host state profile; this module knows nothing of SimGrid, so it is tested on its own.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "util/rng.hpp"

namespace fedgrid::platform {

enum class AvailabilityModel { kAlways, kRandom, kTrace };

struct AvailabilitySpec {
  AvailabilityModel model = AvailabilityModel::kAlways;
  double fraction = 1.0;   // random: share of the clients that can fail (exactly round(f * n))
  double mean_up = 0;      // random: mean time from start or recovery to the next failure (s)
  double mean_down = 0;    // random: mean time a failed device stays off (s)
  std::string trace_file;  // trace: resolved path of the CSV file
};

// One off period of one client: off at `off`, back on at `on` (inf = never).
struct Outage {
  int client = 0;
  double off = 0;
  double on = std::numeric_limits<double>::infinity();
};

// Reads a trace file: header "client,off,on", then one outage per row, times in seconds,
// `on` empty or "inf" for a device that never comes back. Per client the outages must be in
// time order and must not overlap. Throws util::InputError (file:line, column, what was
// expected) for any problem, including a client id outside [0, clients).
std::vector<Outage> read_outage_trace(const std::string& path, int clients);

// The timeline of one client as successive state changes, generated lazily (a random timeline
// has no end). The first change turns the device off; changes alternate off / on.
class ClientTimeline {
 public:
  ClientTimeline() = default;  // always on
  // Random: up ~ Exp(mean_up), down ~ Exp(mean_down), from (seed, "availability", client).
  ClientTimeline(uint64_t seed, int client, double mean_up, double mean_down);
  // From a trace: this client's outages in time order.
  explicit ClientTimeline(std::vector<Outage> outages);

  bool empty() const { return kind_ == Kind::kNone; }
  // Date of the next change and the state it sets (false = off). Returns false when there is
  // no further change.
  bool next(double* date, bool* on);

 private:
  enum class Kind { kNone, kRandom, kTrace };
  Kind kind_ = Kind::kNone;
  util::Rng rng_{0};
  double mean_up_ = 0, mean_down_ = 0;
  double now_ = 0;
  bool on_ = true;
  std::vector<Outage> outages_;
  std::size_t index_ = 0;
};

// The clients that can fail under the random model: exactly round(fraction * clients), drawn
// from (seed, "availability-clients"); empty for the other models.
std::vector<int> failing_clients(const AvailabilitySpec& spec, int clients, uint64_t seed);

// The timelines of all clients for a spec (random: the failing clients are drawn from
// (seed, "availability-clients")). Trace files are read here.
std::vector<ClientTimeline> make_timelines(const AvailabilitySpec& spec, int clients,
                                           uint64_t seed);

}  // namespace fedgrid::platform
