// Platform loading/building, per-client parameters and slot actors (see world.hpp).
#include "sim/world.hpp"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <simgrid/kernel/ProfileBuilder.hpp>
#include <unordered_map>
#include <xbt/config.hpp>

#include "platform/availability.hpp"
#include "platform/client_table.hpp"
#include "platform/platform.hpp"
#include "platform/speed_change.hpp"
#include "util/error.hpp"

namespace fedgrid::sim {

namespace {

namespace fs = std::filesystem;

struct NetFactors {
  double lat = 1, bw = 1;
};

// LV08 multiplies latencies by 13.01 and bandwidths by 0.97 unless configured otherwise. The
// factor options hold doubles in SimGrid 3.32 (reading them as strings crashed).
NetFactors network_factors() {
  const std::string model = simgrid::config::get_value<std::string>("network/model");
  NetFactors f{model == "LV08" ? 13.01 : 1.0, model == "LV08" ? 0.97 : 1.0};
  if (!simgrid::config::is_default("network/latency-factor")) {
    f.lat = simgrid::config::get_value<double>("network/latency-factor");
  }
  if (!simgrid::config::is_default("network/bandwidth-factor")) {
    f.bw = simgrid::config::get_value<double>("network/bandwidth-factor");
  }
  return f;
}

// The same factors and SimGrid's TCP window, for platform::resolve.
platform::NetworkFactors resolve_factors() {
  const NetFactors f = network_factors();
  platform::NetworkFactors n;
  n.latency = f.lat;
  n.bandwidth = f.bw;
  n.tcp_gamma = simgrid::config::get_value<double>("network/TCP-gamma");
  return n;
}

// Estimated transfer time of `bytes` over a route of latency `lat` and bottleneck bandwidth `bw`.
double estimate(double lat, double bw, double bytes, NetFactors f) {
  return lat * f.lat + (std::isfinite(bw) ? bytes / (bw * f.bw) : 0.0);
}

// Appends the route's links to `route_links`.
double route_estimate(sg4::Host* a, sg4::Host* b, double bytes, NetFactors f,
                      std::vector<sg4::Link*>& route_links) {
  std::vector<sg4::Link*> links;
  double lat = 0;
  a->route_to(b, links, &lat);
  double bw = std::numeric_limits<double>::infinity();
  for (auto* l : links) bw = std::min(bw, l->get_bandwidth());
  route_links.insert(route_links.end(), links.begin(), links.end());
  return estimate(lat, bw, bytes, f);
}

// The client's availability timeline as a SimGrid host state profile (0 = off, 1 = on), drawn
// lazily: SimGrid asks for the next change when it has used the last one (after the first,
// dates are delays from the previous change). Null when the device never goes off.
simgrid::kernel::profile::Profile* state_profile(int client, platform::ClientTimeline timeline) {
  namespace sgp = simgrid::kernel::profile;
  if (timeline.empty()) return nullptr;
  struct Source {
    platform::ClientTimeline timeline;
    double last = 0;
  };
  auto src = std::make_shared<Source>(Source{std::move(timeline), 0.0});
  return sgp::ProfileBuilder::from_callback(
      "availability-client-" + std::to_string(client),
      [src](std::vector<sgp::DatedValue>& values) {
        double date = 0;
        bool on = false;
        if (!src->timeline.next(&date, &on)) return;
        values.emplace_back(values.empty() ? date : date - src->last, on ? 1.0 : 0.0);
        src->last = date;
      },
      -1);
}

// The client's speed changes as a SimGrid speed profile (factors of the host's initial speed, at
// absolute dates; speed_change.hpp). Null when its speed never changes.
simgrid::kernel::profile::Profile* speed_profile(int client, const platform::SpeedTimeline& tl) {
  if (tl.empty()) return nullptr;
  std::string text = tl.front().first > 0 ? "0 1\n" : "";
  for (const auto& [date, factor] : tl)
    text += metrics::fmt(date) + " " + metrics::fmt(factor) + "\n";
  return simgrid::kernel::profile::ProfileBuilder::from_string(
      "speed-client-" + std::to_string(client), text, -1);
}

// Speed profiles go on the hosts of an XML platform as SimGrid creates them (once per host).
void speed_profiles_on_creation(std::vector<platform::SpeedTimeline> speeds) {
  if (speeds.empty()) return;
  auto pending = std::make_shared<std::vector<platform::SpeedTimeline>>(std::move(speeds));
  sg4::Host::on_creation_cb([pending](sg4::Host& h) {
    const int u = client_of(h.get_name());
    if (u < 0 || u >= static_cast<int>(pending->size()) || (*pending)[u].empty()) return;
    if (auto* p = speed_profile(u, (*pending)[u])) h.set_speed_profile(p);
    (*pending)[u].clear();
  });
}

double mean_work(const Context& ctx) {
  const auto& w = ctx.setup.stage_work;
  return std::accumulate(w.begin(), w.end(), 0.0) / static_cast<double>(w.size());
}

// A transfer estimate with 5% slack plus 1 us for SimGrid's numerical precision (1e-9 s) even
// with free links: the upload's is how long before the deadline the client stops computing; the
// download's decides whether the deadline keeper (client.cpp) can enforce the deadline.
double with_slack(double transfer_estimate) { return 1.05 * transfer_estimate + 1e-6; }

// Per-client parameters from the hosts' routes to the server. A route is the client's own when
// none of its links is on another client's route (per-client access links, no shared link).
void route_params(Context& ctx, World& w, const std::string& where) {
  const auto& sc = ctx.setup.exp->scenario;
  const NetFactors f = network_factors();
  const double bytes = static_cast<double>(ctx.setup.model_bytes);
  const double work = mean_work(ctx);
  auto& engine = *sg4::Engine::get_instance();
  std::vector<std::vector<sg4::Link*>> routes(sc.clients);
  std::unordered_map<const sg4::Link*, int> clients_on_link;
  std::vector<double> speeds, comm_times;
  for (int u = 0; u < sc.clients; ++u) {
    const std::string name = "client-" + std::to_string(u);
    sg4::Host* h = engine.host_by_name_or_null(name);
    if (!h) {
      util::throw_input_error(
          where, 0, "host '" + name + "'",
          "a host per client (client-0 .. client-" + std::to_string(sc.clients - 1) + ")",
          "none named '" + name + "'");
    }
    ctx.setup.client_hosts.push_back(h);
    ClientParams& c = ctx.setup.clients[u];
    std::vector<sg4::Link*>& links = routes[u];
    const double up = route_estimate(h, ctx.setup.server_host, bytes, f, links);
    c.upload_margin = with_slack(up);
    const double down = route_estimate(ctx.setup.server_host, h, bytes, f, links);
    c.download_margin = with_slack(down);
    speeds.push_back(h->get_speed());
    comm_times.push_back(down + up);
    w.infos.push_back(
        {h->get_speed() / work, down + c.upload_margin, ctx.setup.exp->shards[u].size()});
    std::sort(links.begin(), links.end());
    links.erase(std::unique(links.begin(), links.end()), links.end());
    for (const sg4::Link* l : links) ++clients_on_link[l];
  }
  if (std::isnan(w.heterogeneity)) w.heterogeneity = platform::coefficient_of_variation(speeds);
  w.comm_heterogeneity = platform::coefficient_of_variation(comm_times);
  for (int u = 0; u < sc.clients; ++u) {
    ctx.setup.clients[u].own_route =
        std::all_of(routes[u].begin(), routes[u].end(),
                    [&](const sg4::Link* l) { return clients_on_link[l] == 1; });
  }
}

// A given SimGrid XML file with hosts "server" and "client-<u>".
void load_xml(sg4::Engine& engine, Context& ctx, World& w,
              std::vector<platform::ClientTimeline>& timelines) {
  if (!timelines.empty()) {  // profiles go on the hosts as the XML creates them
    // (SimGrid 3.32 signals a host's creation more than once: attach its profile once.)
    struct Pending {
      std::vector<platform::ClientTimeline> timelines;
      std::vector<char> attached;
    };
    auto pending = std::make_shared<Pending>(
        Pending{std::move(timelines), std::vector<char>(ctx.setup.exp->scenario.clients, 0)});
    sg4::Host::on_creation_cb([pending](sg4::Host& h) {
      const int u = client_of(h.get_name());
      if (u < 0 || u >= static_cast<int>(pending->attached.size()) || pending->attached[u]) return;
      pending->attached[u] = 1;
      if (auto* p = state_profile(u, std::move(pending->timelines[u]))) h.set_state_profile(p);
    });
  }
  try {
    engine.load_platform(w.platform_file);
    engine.seal_platform();  // XML zones are sealed at run() otherwise; route_to() needs it now
  } catch (const std::exception& ex) {
    util::throw_input_error(w.platform_file, 0, "", "a valid SimGrid platform", ex.what());
  }
  ctx.setup.server_host = engine.host_by_name_or_null("server");
  if (!ctx.setup.server_host) {
    util::throw_input_error(w.platform_file, 0, "host 'server'", "a host named 'server'", "none");
  }
  route_params(ctx, w, w.platform_file);
}

// A host with a split-duplex access link towards the star's centre, like platform::to_xml's
// <host>, <link sharing_policy="SPLITDUPLEX"> and <host_link>.
sg4::SplitDuplexLink* add_host(sg4::NetZone* zone, const std::string& host, double speed,
                               const std::string& link, double bandwidth, double latency,
                               sg4::Host** out) {
  *out = zone->create_host(host, speed);
  sg4::SplitDuplexLink* l = zone->create_split_duplex_link(link, bandwidth);
  l->set_latency(latency)->seal();
  zone->add_route((*out)->get_netpoint(), nullptr, nullptr, nullptr,
                  {{l, sg4::LinkInRoute::Direction::UP}}, true);
  return l;
}

// The generated platform built in place (the same star platform::to_xml describes, without
// writing and parsing XML): a star zone with the server, its optional shared link and either
// one host per client or, with host slots, `slots` hosts of speed kSlotSpeed whose access links
// the server sets per round.
void build_star(Context& ctx, const platform::Platform& p, bool host_slots, int slots,
                std::vector<platform::ClientTimeline>& timelines,
                const std::vector<platform::SpeedTimeline>& speeds) {
  auto* zone = sg4::create_star_zone("fedgrid");
  if (p.server_bandwidth) {
    add_host(zone, "server", p.server_speed, "server-link", *p.server_bandwidth, p.server_latency,
             &ctx.setup.server_host);
  } else {
    ctx.setup.server_host = zone->create_host("server", p.server_speed);
    zone->add_route(ctx.setup.server_host->get_netpoint(), nullptr, nullptr, nullptr, {}, true);
  }
  const int hosts = host_slots ? slots : static_cast<int>(p.clients.size());
  if (host_slots) ctx.slots.resize(slots);
  for (int i = 0; i < hosts; ++i) {
    const auto& c = p.clients[i];  // host slots: initial values, replaced each round
    if (!host_slots) {
      sg4::Host* h = nullptr;
      add_host(zone, c.name, c.speed, "link-" + std::to_string(i), c.bandwidth, c.latency, &h);
      if (!timelines.empty()) {
        if (auto* prof = state_profile(i, std::move(timelines[i]))) h->set_state_profile(prof);
      }
      if (!speeds.empty()) {
        if (auto* prof = speed_profile(i, speeds[i])) h->set_speed_profile(prof);
      }
      continue;
    }
    Slot& s = ctx.slots[i];
    auto* l = add_host(zone, "slot-" + std::to_string(i), kSlotSpeed,
                       "slot-link-" + std::to_string(i), c.bandwidth, c.latency, &s.host);
    s.link_up = l->get_link_up();
    s.link_down = l->get_link_down();
  }
  zone->seal();
  sg4::Engine::get_instance()->seal_platform();
}

// Client parameters of host slots, from the generated values (same formulas as the routes).
void slot_params(Context& ctx, const platform::Platform& p, World& w) {
  const NetFactors f = network_factors();
  const double bytes = static_cast<double>(ctx.setup.model_bytes);
  const double work = mean_work(ctx);
  const double server_bw =
      p.server_bandwidth ? *p.server_bandwidth : std::numeric_limits<double>::infinity();
  const double server_lat = p.server_bandwidth ? p.server_latency : 0.0;
  std::vector<double> comm_times;
  for (std::size_t u = 0; u < p.clients.size(); ++u) {
    const auto& h = p.clients[u];
    ClientParams& c = ctx.setup.clients[u];
    c.bandwidth = h.bandwidth;
    c.latency = h.latency;
    c.exec_scale = kSlotSpeed / h.speed;
    const double bw = std::min(h.bandwidth, server_bw);
    c.upload_margin = with_slack(estimate(h.latency + server_lat, bw, bytes, f));
    const double down = estimate(server_lat + h.latency, bw, bytes, f);
    c.download_margin = with_slack(down);
    c.own_route = !p.server_bandwidth;  // the slot's access link only
    w.infos.push_back({h.speed / work, down + c.upload_margin, ctx.setup.exp->shards[u].size()});
    comm_times.push_back(2 * down);  // the upload's estimate is the download's
  }
  w.comm_heterogeneity = platform::coefficient_of_variation(comm_times);
}

}  // namespace

World build_world(sg4::Engine& engine, Context& ctx, const std::string& out_dir, int slots) {
  const auto& sc = ctx.setup.exp->scenario;
  const auto& pc = sc.platform;
  World w;
  w.platform_file = pc.file;
  w.heterogeneity = std::numeric_limits<double>::quiet_NaN();
  ctx.setup.clients.resize(sc.clients);
  // With availability every client needs its own host (its state profile): no host slots.
  std::vector<platform::ClientTimeline> timelines;
  if (ctx.setup.availability)
    timelines = platform::make_timelines(sc.availability, sc.clients, sc.seed);
  // Speeds changing during the run: per-client hosts with SimGrid speed profiles (executions,
  // not sleeps, honour them).
  std::vector<platform::SpeedTimeline> speeds;
  if (sc.speed_change.model != platform::SpeedChangeModel::kNone)
    speeds = platform::make_speed_timelines(sc.speed_change, sc.clients, sc.seed);
  if (!pc.generate && !pc.table) {
    speed_profiles_on_creation(speeds);
    load_xml(engine, ctx, w, timelines);
  } else {
    // A clients CSV or FedScale capacities: the link parameters that give the times asked for.
    const auto& work = ctx.setup.stage_work;
    const platform::CommLink link{static_cast<double>(ctx.setup.model_bytes),
                                  resolve_factors().bandwidth};
    const platform::Platform p =
        pc.table ? platform::resolve(
                       *pc.table, {std::accumulate(work.begin(), work.end(), 0.0),
                                   static_cast<double>(ctx.setup.model_bytes), resolve_factors()})
                 : platform::generate(*pc.generate, util::derive_seed(sc.seed, "platform"), &link);
    w.heterogeneity = p.heterogeneity;
    w.host_slots = slots < sc.clients && !ctx.setup.availability && speeds.empty();
    // One slot per client host at a time: a computation is a sleep of known length, unless the
    // host's speed changes (speed profiles).
    ctx.setup.constant_speed_hosts = speeds.empty();
    build_star(ctx, p, w.host_slots, slots, timelines, speeds);
    if (w.host_slots) {
      slot_params(ctx, p, w);
      return w;
    }
    // The same platform as XML, for reference (and for tools that read it).
    metrics::write_file_atomic(out_dir, "platform.xml", platform::to_xml(p));
    w.platform_file = (fs::path(out_dir) / "platform.xml").string();
    route_params(ctx, w, w.platform_file);
  }
  ctx.slots.resize(slots);
  for (int i = 0; i < slots; ++i) ctx.slots[i].host = ctx.setup.client_hosts[i];
  return w;
}

int client_of(const std::string& host_name) {
  if (host_name.rfind("client-", 0) != 0) return -1;
  try {
    std::size_t pos = 0;
    const int u = std::stoi(host_name.substr(7), &pos);
    return pos + 7 == host_name.size() ? u : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

void create_slots(Context& ctx, int slots) {
  // SimGrid takes each actor stack from calloc(). With no top padding the heap grows by exactly
  // each allocation, so calloc() need not clear the stack's fresh pages: they stay untouched
  // (not resident) except the few the slot uses (~10 KB per slot in all instead of ~20 KB).
  mallopt(M_TOP_PAD, 0);
  for (int i = 0; i < slots; ++i) {
    Slot& s = ctx.slots[i];
    s.down = sg4::Mailbox::by_name("down-" + std::to_string(i));
    s.up = sg4::Mailbox::by_name("up-" + std::to_string(i));
    spawn_slot(&ctx, i, s.host);
  }
  start_deadline_keeper(&ctx);
  mallopt(M_TOP_PAD, 128 * 1024);  // glibc's default
}

}  // namespace fedgrid::sim
