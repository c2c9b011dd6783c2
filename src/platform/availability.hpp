// Client availability: when each client's device is switched off and on again. Either random
// (a seeded fraction of the clients alternates exponential up and down periods) or read from a
// trace file: FedGrid's outages (client,off,on rows), a FedScale behaviour trace (periodic
// active intervals) or the `active` column of a clients CSV. The sim layer turns each client's
// timeline into a SimGrid host state profile; this module knows nothing of SimGrid, so it is tested
// on its own.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "platform/client_table.hpp"
#include "util/rng.hpp"

namespace fedgrid::platform {

enum class AvailabilityModel { kAlways, kRandom, kTrace };
// The format of a trace file.
enum class TraceFormat { kOutages, kFedscale, kClientsCsv };

struct AvailabilitySpec {
  AvailabilityModel model = AvailabilityModel::kAlways;
  double fraction = 1.0;   // random: share of the clients that can fail (exactly round(f * n))
  double mean_up = 0;      // random: mean time from start or recovery to the next failure (s)
  double mean_down = 0;    // random: mean time a failed device stays off (s)
  std::string trace_file;  // trace: resolved path of the CSV file
  TraceFormat format = TraceFormat::kOutages;
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
  // From a trace: this client's outages in time order; then, when `period` is finite, the
  // outages of `block` shifted by period, 2 period, ... for ever.
  explicit ClientTimeline(std::vector<Outage> outages, std::vector<Outage> block = {},
                          double period = std::numeric_limits<double>::infinity());

  bool empty() const { return kind_ == Kind::kNone; }
  // Date of the next change and the state it sets (false = off). Returns false when there is
  // no further change.
  bool next(double* date, bool* on);
  // When the device goes off for good (inf: never).
  double gone_at() const;

 private:
  enum class Kind { kNone, kRandom, kTrace };
  Kind kind_ = Kind::kNone;
  util::Rng rng_{0};
  double mean_up_ = 0, mean_down_ = 0;
  double now_ = 0;
  bool on_ = true;
  std::vector<Outage> outages_;
  std::size_t index_ = 0;
  std::vector<Outage> block_;
  double period_ = std::numeric_limits<double>::infinity();
  double shift_ = 0;  // of the block being played
};

// The timeline of a device that is on during `a`'s intervals (repeating with its period) and
// off otherwise; touching intervals merge.
ClientTimeline timeline_from_on_intervals(int client, const OnIntervals& a);

// The clients that can fail under the random model: exactly round(fraction * clients), drawn
// from (seed, "availability-clients"); empty for the other models.
std::vector<int> failing_clients(const AvailabilitySpec& spec, int clients, uint64_t seed);

// The timelines of all clients for a spec (random: the failing clients are drawn from
// (seed, "availability-clients")). Trace files (every format) are read here.
std::vector<ClientTimeline> make_timelines(const AvailabilitySpec& spec, int clients,
                                           uint64_t seed);

}  // namespace fedgrid::platform
