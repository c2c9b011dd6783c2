// SimGrid 3.32 XML for a generated star platform: one zone routing="Cluster" (a StarZone in
// 3.32), one host and one split-duplex <link> + <host_link> per client, optional server link.
#include <charconv>
#include <cstddef>
#include <string>
#include <system_error>

#include "platform/platform.hpp"

namespace fedgrid::platform {

std::string format_number(double x) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 17);
  return std::string(buf, res.ptr);  // 64 bytes always suffice for 17 significant digits
}

namespace {

// <host id="NAME" speed="Xf"/>
void append_host(std::string& out, const std::string& name, double speed) {
  out += "    <host id=\"";
  out += name;
  out += "\" speed=\"";
  out += format_number(speed);
  out += "f\"/>\n";
}

// A split-duplex link LINK (SimGrid creates LINK_UP and LINK_DOWN) attached to host NAME:
// transfers leaving NAME cross LINK_UP, transfers arriving at NAME cross LINK_DOWN.
void append_access_link(std::string& out, const std::string& host, const std::string& link,
                        double bandwidth, double latency) {
  out += "    <link id=\"";
  out += link;
  out += "\" bandwidth=\"";
  out += format_number(bandwidth);
  out += "Bps\" latency=\"";
  out += format_number(latency);
  out += "s\" sharing_policy=\"SPLITDUPLEX\"/>\n";
  out += "    <host_link id=\"";
  out += host;
  out += "\" up=\"";
  out += link;
  out += "_UP\" down=\"";
  out += link;
  out += "_DOWN\"/>\n";
}

}  // namespace

std::string to_xml(const Platform& p) {
  std::string out;
  out.reserve(256 + 240 * p.clients.size());
  out += "<?xml version='1.0'?>\n";
  out += "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n";
  out += "<platform version=\"4.1\">\n";
  out += "  <!-- FedGrid star platform: ";
  out += std::to_string(p.clients.size());
  out += " clients, speed CV ";
  out += format_number(p.heterogeneity);
  out += p.server_bandwidth ? ", shared server link -->\n" : ", no server link -->\n";
  out += "  <zone id=\"fedgrid\" routing=\"Cluster\">\n";
  append_host(out, "server", p.server_speed);
  if (p.server_bandwidth) {
    append_access_link(out, "server", "server-link", *p.server_bandwidth, p.server_latency);
  }
  for (std::size_t u = 0; u < p.clients.size(); ++u) {
    const auto& c = p.clients[u];
    append_host(out, c.name, c.speed);
    append_access_link(out, c.name, "link-" + std::to_string(u), c.bandwidth, c.latency);
  }
  out += "  </zone>\n";
  out += "</platform>\n";
  return out;
}

}  // namespace fedgrid::platform
