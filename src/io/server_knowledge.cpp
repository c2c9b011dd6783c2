// Stage costs and device availability as the server's timing model sees them.
#include "io/server_knowledge.hpp"

#include <limits>
#include <numeric>

#include "platform/availability.hpp"
#include "platform/speed_change.hpp"

namespace fedgrid::io {

fl::AlgorithmConfig algorithm_config(const Experiment& exp) {
  const Scenario& sc = exp.scenario;
  fl::AlgorithmConfig cfg = sc.algorithm;
  cfg.stage_law = sc.timing.law;
  if (sc.timing.flops_cost) {
    const auto& stages = exp.model.stages();
    double mean = 0.0;
    for (const auto& st : stages) mean += st.backward_flops;
    mean /= static_cast<double>(stages.size());
    cfg.stage_cost.clear();
    for (const auto& st : stages) cfg.stage_cost.push_back(st.backward_flops / mean);
  }
  const auto& a = sc.availability;
  cfg.availability.clear();
  if (a.model == platform::AvailabilityModel::kRandom) {
    cfg.availability.assign(sc.clients, plan::Availability{});
    for (int u : platform::failing_clients(a, sc.clients, sc.seed)) {
      auto& c = cfg.availability[u];
      c.kind = plan::Availability::Kind::kAlternating;
      c.mean_up = a.mean_up;
      c.mean_down = a.mean_down;
    }
  } else if (a.model == platform::AvailabilityModel::kTrace &&
             a.format == platform::TraceFormat::kOutages) {
    cfg.availability.assign(sc.clients, plan::Availability{});
    for (const auto& o : platform::read_outage_trace(a.trace_file, sc.clients)) {
      auto& c = cfg.availability[o.client];
      c.kind = plan::Availability::Kind::kTrace;
      c.outages.emplace_back(o.off, o.on);
    }
  } else if (a.model == platform::AvailabilityModel::kTrace) {
    // Clients CSV `active` column or FedScale behaviour trace (periodic): the same timelines
    // the simulation plays, as outages up to the run's horizon (time budget, else rounds x
    // deadline; periodic traces beyond it are cut at 10^6 changes per client).
    const auto& al = sc.algorithm;
    const double horizon = al.time_budget > 0 ? al.time_budget
                           : al.deadline > 0  ? al.rounds * al.deadline
                                              : std::numeric_limits<double>::infinity();
    cfg.availability.assign(sc.clients, plan::Availability{});
    std::vector<platform::ClientTimeline> timelines =
        platform::make_timelines(a, sc.clients, sc.seed);
    for (int u = 0; u < sc.clients; ++u) {
      auto& c = cfg.availability[u];
      double date = 0, off = 0;
      bool on = true, is_off = false;
      for (int changes = 0; changes < 1000000 && timelines[u].next(&date, &on); ++changes) {
        if (date > horizon) break;
        if (!on) {
          off = date;
          is_off = true;
          continue;
        }
        c.kind = plan::Availability::Kind::kTrace;
        c.outages.emplace_back(off, date);
        is_off = false;
      }
      if (is_off) {  // off for good, or still off at the horizon
        c.kind = plan::Availability::Kind::kTrace;
        c.outages.emplace_back(off, std::numeric_limits<double>::infinity());
      }
    }
  }
  cfg.speed_changes.clear();
  if (sc.speed_change.model != platform::SpeedChangeModel::kNone) {
    cfg.speed_changes = platform::make_speed_timelines(sc.speed_change, sc.clients, sc.seed);
  }
  return cfg;
}

}  // namespace fedgrid::io
