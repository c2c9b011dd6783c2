// Speed-change timelines: step, drift and trace (see speed_change.hpp).
#include "platform/speed_change.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util/csv.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace fedgrid::platform {

double speed_factor(const SpeedTimeline& timeline, double t) {
  double f = 1.0;
  for (const auto& [date, factor] : timeline) {
    if (date > t) break;
    f = factor;
  }
  return f;
}

std::vector<SpeedTimeline> read_speed_trace(const std::string& path, int clients) {
  util::CsvReader csv(path, {"client", "t", "factor"});
  std::vector<SpeedTimeline> out(clients);
  while (csv.next()) {
    const double c = csv.number(0);
    if (c != std::floor(c) || c < 0 || c >= clients) {
      csv.fail(0, "a client id in 0.." + std::to_string(clients - 1), csv.field(0));
    }
    const double t = csv.number(1);
    const double f = csv.number(2);
    if (!(t >= 0.0)) csv.fail(1, "a time >= 0", csv.field(1));
    if (!(f > 0.0)) csv.fail(2, "a factor > 0", csv.field(2));
    SpeedTimeline& tl = out[static_cast<int>(c)];
    if (!tl.empty() && t <= tl.back().first) {
      csv.fail(
          1,
          "a time after this client's previous row (" + util::short_number(tl.back().first) + ")",
          csv.field(1));
    }
    tl.emplace_back(t, f);
  }
  return out;
}

std::vector<SpeedTimeline> make_speed_timelines(const SpeedChangeSpec& spec, int clients,
                                                uint64_t seed) {
  std::vector<SpeedTimeline> out(clients);
  if (spec.model == SpeedChangeModel::kNone) return out;
  if (spec.model == SpeedChangeModel::kTrace) return read_speed_trace(spec.trace_file, clients);
  std::vector<int> ids(clients);
  std::iota(ids.begin(), ids.end(), 0);
  util::Rng rng(seed, "speed-change-clients");
  util::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(static_cast<std::size_t>(std::lround(spec.fraction * clients)));
  SpeedTimeline tl;
  if (spec.model == SpeedChangeModel::kStep) {
    tl.emplace_back(spec.at, spec.factor);
  } else {  // drift: at start + i (end - start) / pieces the factor becomes 1 + (f - 1) i / pieces
    for (int i = 1; i <= spec.pieces; ++i) {
      const double date = spec.start + (spec.end - spec.start) * i / spec.pieces;
      tl.emplace_back(date, 1.0 + (spec.factor - 1.0) * i / spec.pieces);
    }
  }
  for (int u : ids) out[u] = tl;
  return out;
}

}  // namespace fedgrid::platform
