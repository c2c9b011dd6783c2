// The scenario's device sections, moved out of scenario.cpp: the platform (a SimGrid file, a
// generator spec with its distributions, a clients CSV or FedScale capacities) and when devices
// are available (random, an outage trace, a FedScale behaviour trace).
#include <limits>

#include "io/scenario_sections.hpp"
#include "platform/availability.hpp"
#include "platform/client_table.hpp"
#include "util/error.hpp"

namespace fedgrid::io {

constexpr double kInf = std::numeric_limits<double>::infinity();

static platform::Distribution load_distribution(YamlMap m, bool allow_zero) {
  m.allow({"dist", "value", "min", "max", "median", "sigma", "slow_factor", "slow_fraction"});
  platform::Distribution d;
  d.kind = m.get_choice("dist", {"constant", "uniform", "lognormal", "two_tier"});
  const double lo = allow_zero ? 0.0 : std::numeric_limits<double>::min();
  if (d.kind == "constant") {
    d.value = m.get_double("value", lo, kInf);
  } else if (d.kind == "uniform") {
    d.min = m.get_double("min", lo, kInf);
    d.max = m.get_double("max", lo, kInf);
    if (d.min > d.max) {
      m.fail("max", "a value >= min (" + std::to_string(d.min) + ")", std::to_string(d.max));
    }
  } else if (d.kind == "lognormal") {
    d.median = m.get_double("median", std::numeric_limits<double>::min(), kInf);
    d.sigma = m.get_double("sigma", 0, 10);
  } else {
    d.value = m.get_double("value", std::numeric_limits<double>::min(), kInf);
    d.slow_factor = m.get_double("slow_factor", 1, kInf);
    d.slow_fraction = m.get_double("slow_fraction", 0, 1);
  }
  m.finish();
  return d;
}

PlatformConfig load_platform(YamlMap m, int clients, const std::string& base) {
  m.allow({"file", "generate", "clients_csv", "fedscale"});
  PlatformConfig pc;
  const int given = m.has("file") + m.has("generate") + m.has("clients_csv") + m.has("fedscale");
  if (given != 1) {
    m.fail(m.has("file") || given == 0 ? "file"
           : m.has("generate")         ? "generate"
                                       : "clients_csv",
           "exactly one of 'file' (a SimGrid XML), 'generate' (a generator spec), 'clients_csv' "
           "(a per-client CSV) or 'fedscale' (FedScale device capacities)",
           given == 0 ? "none" : std::to_string(given) + " of them");
  }
  if (m.has("clients_csv")) {
    pc.clients_file = resolve_path(m.get_string("clients_csv"), base);
    require_file(m, "clients_csv", "CSV file", pc.clients_file);
    pc.table = platform::read_clients_csv(pc.clients_file, clients);  // errors now
  } else if (m.has("fedscale")) {
    YamlMap f = m.get_map("fedscale");
    f.allow({"capacity", "augmentation"});
    pc.fedscale = true;
    pc.clients_file = resolve_path(f.get_string("capacity"), base);
    require_file(f, "capacity", "CSV file", pc.clients_file);
    const double augmentation = f.get_double("augmentation", 1e-300, kInf, 3.0);
    pc.table = platform::read_fedscale_capacity(pc.clients_file, clients, augmentation);
    f.finish();
  } else if (m.has("file")) {
    pc.file = resolve_path(m.get_string("file"), base);
    require_file(m, "file", "SimGrid platform file", pc.file);
  } else {
    YamlMap g = m.get_map("generate");
    g.allow({"speed", "bandwidth", "latency", "comm_time", "server_speed", "server_link"});
    platform::PlatformSpec spec;
    spec.clients = clients;
    spec.speed = load_distribution(g.get_map("speed"), false);
    g.note_default("bandwidth", "required unless comm_time");
    g.note_default("latency", "required unless comm_time");
    if (g.has("comm_time")) {  // seconds, instead of SimGrid's link parameters
      if (g.has("bandwidth") || g.has("latency")) {
        g.fail(g.has("bandwidth") ? "bandwidth" : "latency",
               "either comm_time (seconds) or bandwidth and latency (SimGrid's link parameters)",
               "both");
      }
      spec.comm_time = load_distribution(g.get_map("comm_time"), false);
    } else {
      spec.bandwidth = load_distribution(g.get_map("bandwidth"), false);
      spec.latency = load_distribution(g.get_map("latency"), true);
    }
    spec.server_speed = g.get_double("server_speed", 1e-300, kInf, 1e12);
    if (g.has("server_link")) {
      YamlMap s = g.get_map("server_link");
      s.allow({"bandwidth", "latency"});
      spec.server_bandwidth = s.get_double("bandwidth", 1e-300, kInf);
      spec.server_latency = s.get_double("latency", 0, kInf, 0.0);
      s.finish();
    }
    g.finish();
    pc.generate = spec;
  }
  m.finish();
  return pc;
}

platform::AvailabilitySpec load_availability(YamlMap m, const std::string& base, int clients) {
  m.allow({"model", "fraction", "mean_up", "mean_down", "file"});
  platform::AvailabilitySpec a;
  const std::string model = m.get_choice("model", {"always", "random", "trace", "fedscale"});
  if (model == "random") {
    a.model = platform::AvailabilityModel::kRandom;
    a.fraction = m.get_double("fraction", 0, 1, 1.0);
    a.mean_up = m.get_double("mean_up", 1e-9, 1e15);
    a.mean_down = m.get_double("mean_down", 1e-9, 1e15);
  } else if (model == "trace") {
    a.model = platform::AvailabilityModel::kTrace;
    a.trace_file = resolve_path(m.get_string("file"), base);
    require_file(m, "file", "CSV file", a.trace_file);
    platform::read_outage_trace(a.trace_file, clients);  // errors now, with file:line
  } else if (model == "fedscale") {
    a.model = platform::AvailabilityModel::kTrace;
    a.format = platform::TraceFormat::kFedscale;
    a.trace_file = resolve_path(m.get_string("file"), base);
    require_file(m, "file", "CSV file", a.trace_file);
    platform::read_fedscale_behaviour(a.trace_file, clients);  // errors now
  }
  m.finish();
  return a;
}

}  // namespace fedgrid::io
