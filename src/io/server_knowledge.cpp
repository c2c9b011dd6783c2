// Stage costs and device availability as the server's timing model sees them.
#include "io/server_knowledge.hpp"

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
  } else if (a.model == platform::AvailabilityModel::kTrace) {
    cfg.availability.assign(sc.clients, plan::Availability{});
    for (const auto& o : platform::read_outage_trace(a.trace_file, sc.clients)) {
      auto& c = cfg.availability[o.client];
      c.kind = plan::Availability::Kind::kTrace;
      c.outages.emplace_back(o.off, o.on);
    }
  }
  cfg.speed_changes.clear();
  if (sc.speed_change.model != platform::SpeedChangeModel::kNone) {
    cfg.speed_changes = platform::make_speed_timelines(sc.speed_change, sc.clients, sc.seed);
  }
  return cfg;
}

}  // namespace fedgrid::io
