// FedGrid's own check of a SimGrid platform file, before SimGrid sees it (SimGrid 3.32 aborts
// the process on many bad platforms: a zero or NaN speed, a link named twice, a missing profile
// file, a second route). The subset FedGrid supports: <platform version="4.1"> with one <zone>
// (routing Cluster, Full, Floyd, Dijkstra or DijkstraCache) of <host>, <link>, <router>,
// <host_link> (Cluster zones), <route>/<link_ctn> (the others) and <prop>. Anything else is
// refused with file:line, saying what is supported.
#pragma once

#include <string>
#include <vector>

namespace fedgrid::platform {

struct PlatformFileInfo {
  int hosts = 0, links = 0;
  std::vector<std::string> profile_files;  // resolved paths of the profile files it names
};

// Checks `path` for a run with `clients` clients: well-formed XML of the supported subset,
// every host speed > 0 and finite (each pstate), core >= 1, bandwidths > 0 and finite,
// latencies >= 0 and finite, names unique (hosts, routers and the zone; links with their _UP and
// _DOWN halves), host_link/route/link_ctn naming what exists, profile files present and valid
// (and each used once), hosts "server" and client-0 .. client-<clients-1>, a route both ways
// between the server and every client, and no state_file on a client host when FedGrid's
// availability model drives its state (`fedgrid_availability`), no speed_file on a client host
// when the scenario's speed_change drives its speed (`fedgrid_speed`). Throws util::InputError.
PlatformFileInfo check_platform_file(const std::string& path, int clients,
                                     bool fedgrid_availability, bool fedgrid_speed = false);

}  // namespace fedgrid::platform
