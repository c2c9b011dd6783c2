// Readers of per-client platform files and their resolution into SimGrid link parameters (see
// client_table.hpp).
#include "platform/client_table.hpp"

#include <cmath>
#include <map>

#include "platform/table_csv.hpp"
#include "util/error.hpp"

namespace fedgrid::platform {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// "start:end;start:end" (end may be inf): on intervals in time order, not overlapping.
OnIntervals parse_active(const TableCsv& csv, const std::string& column) {
  OnIntervals a;
  const std::string& cell = csv.text(column);
  if (cell.empty()) {
    a.on.push_back({0.0, kInf});  // always on
    return a;
  }
  const char* shape = "';'-separated start:end intervals (seconds, end > start, end may be inf)";
  std::size_t pos = 0;
  while (pos <= cell.size()) {
    const auto semi = cell.find(';', pos);
    std::string item = cell.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    const auto colon = item.find(':');
    double start = 0, end = 0;
    const std::string end_text = colon == std::string::npos ? "" : item.substr(colon + 1);
    if (colon == std::string::npos || !parse_finite(item.substr(0, colon), &start) ||
        !(end_text == "inf" || parse_finite(end_text, &end))) {
      csv.fail(column, shape, quoted(item));
    }
    if (end_text == "inf") end = kInf;
    if (start < 0 || !(end > start)) {
      csv.fail(column, "intervals with 0 <= start < end", quoted(item));
    }
    if (!a.on.empty() && start < a.on.back().second) {
      csv.fail(column, "intervals in time order, each starting at or after the previous end",
               quoted(item));
    }
    a.on.push_back({start, end});
    if (std::isinf(end) && semi != std::string::npos) {
      csv.fail(column, "nothing after an interval that ends at inf", quoted(cell));
    }
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  return a;
}

// Row of client u (ids checked against [0, clients) and for repeats).
int client_id(const TableCsv& csv, const std::string& column, int clients, long offset,
              std::vector<int>& seen_line) {
  const long id = csv.integer(column, offset, clients - 1 + offset);
  const int u = static_cast<int>(id - offset);
  if (seen_line[u] != 0) {
    csv.fail(column, "each client once",
             "client " + std::to_string(id) + " again (first on line " +
                 std::to_string(seen_line[u]) + ")");
  }
  seen_line[u] = csv.line();
  return u;
}

void require_all(const std::string& path, const std::vector<int>& seen_line, long offset,
                 const std::string& what) {
  for (std::size_t u = 0; u < seen_line.size(); ++u) {
    if (seen_line[u] == 0) {
      util::throw_input_error(path, 0, "",
                              "a row for every client " + std::to_string(offset) + " .. " +
                                  std::to_string(static_cast<long>(seen_line.size()) - 1 + offset) +
                                  what,
                              "none for client " + std::to_string(static_cast<long>(u) + offset));
    }
  }
}

}  // namespace

bool clients_csv_has_active(const std::string& path) {
  return TableCsv(path, {"client", "speed"}, {"bandwidth", "latency", "comm_time", "active"})
      .has("active");
}

ClientTable read_clients_csv(const std::string& path, int clients, std::vector<OnIntervals>* active,
                             bool* has_active) {
  TableCsv csv(path, {"client", "speed"}, {"bandwidth", "latency", "comm_time", "active"});
  const bool link = csv.has("bandwidth") || csv.has("latency");
  if (link == csv.has("comm_time") || csv.has("bandwidth") != csv.has("latency")) {
    util::throw_input_error(path, 1, "",
                            "columns 'bandwidth' and 'latency', or 'comm_time' (not both)",
                            std::string(csv.has("comm_time") ? "comm_time " : "") +
                                (csv.has("bandwidth") ? "bandwidth " : "") +
                                (csv.has("latency") ? "latency" : "neither"));
  }
  if (has_active) *has_active = csv.has("active");
  ClientTable t;
  t.clients.resize(clients);
  if (active) active->assign(csv.has("active") ? clients : 0, OnIntervals{});
  std::vector<int> seen(clients, 0);
  while (csv.next()) {
    const int u = client_id(csv, "client", clients, 0, seen);
    ClientEntry& e = t.clients[u];
    e.where = csv.where();
    e.speed = csv.positive("speed");
    if (link) {
      e.link = LinkForm::kLink;
      e.bandwidth = csv.positive("bandwidth");
      e.latency = csv.number("latency");
      if (e.latency < 0) csv.fail("latency", "a number >= 0", quoted(csv.text("latency")));
    } else {
      e.link = LinkForm::kCommTime;
      e.comm_time = csv.positive("comm_time");
    }
    if (csv.has("active")) {  // checked even when not asked for
      OnIntervals a = parse_active(csv, "active");
      if (active) (*active)[u] = std::move(a);
    }
  }
  require_all(path, seen, 0, "");
  return t;
}

ClientTable read_fedscale_capacity(const std::string& path, int clients, double augmentation) {
  TableCsv csv(path, {"client_id", "computation", "communication"}, {});
  ClientTable t;
  t.clients.resize(clients);
  std::vector<int> seen(clients, 0);
  while (csv.next()) {
    // FedScale ids start at 1; FedGrid uses 1 .. clients and ignores the others.
    const long id = csv.integer("client_id", 0, 1L << 53);
    if (id < 1) csv.fail("client_id", "a FedScale client id (>= 1)", quoted(csv.text("client_id")));
    if (id > clients) continue;
    const int u = client_id(csv, "client_id", clients, 1, seen);
    ClientEntry& e = t.clients[u];
    e.where = csv.where();
    e.sample_time = augmentation * csv.positive("computation") / 1000.0;
    e.link = LinkForm::kRate;
    e.bandwidth = csv.positive("communication") * 1000.0 / 8.0;  // kbit/s -> bytes/s
  }
  require_all(path, seen, 1, " (FedScale ids: FedGrid client u is FedScale client u + 1)");
  return t;
}

std::vector<OnIntervals> read_fedscale_behaviour(const std::string& path, int clients) {
  TableCsv csv(path, {"client_id", "active", "inactive", "finish_time"}, {});
  std::vector<OnIntervals> out(clients);
  std::vector<int> first(clients, 0);
  while (csv.next()) {
    const long id = csv.integer("client_id", 0, 1L << 53);
    if (id < 1) csv.fail("client_id", "a FedScale client id (>= 1)", quoted(csv.text("client_id")));
    if (id > clients) continue;
    const int u = static_cast<int>(id - 1);
    OnIntervals& a = out[u];
    const double start = csv.number("active"), end = csv.number("inactive");
    const double period = csv.positive("finish_time");
    if (first[u] == 0) {
      first[u] = csv.line();
      a.period = period;
    } else if (period != a.period) {
      csv.fail("finish_time",
               "the finish_time of client " + std::to_string(id) + "'s first row (line " +
                   std::to_string(first[u]) + ")",
               quoted(csv.text("finish_time")));
    }
    if (start < 0) csv.fail("active", "a time >= 0", quoted(csv.text("active")));
    if (!(end > start)) csv.fail("inactive", "a time after 'active'", quoted(csv.text("inactive")));
    if (end > period) {
      csv.fail("inactive", "a time <= finish_time (" + csv.text("finish_time") + ")",
               quoted(csv.text("inactive")));
    }
    if (!a.on.empty() && start < a.on.back().second) {
      csv.fail("active",
               "client " + std::to_string(id) +
                   "'s intervals in time order, each starting at or after the previous "
                   "'inactive'",
               quoted(csv.text("active")));
    }
    a.on.push_back({start, end});
  }
  require_all(path, first, 1, " (FedScale ids: FedGrid client u is FedScale client u + 1)");
  return out;
}

Platform resolve(const ClientTable& table, const ResolveParams& params) {
  Platform p;
  p.server_speed = params.server_speed;
  const NetworkFactors& f = params.net;
  std::vector<double> speeds;
  for (std::size_t u = 0; u < table.clients.size(); ++u) {
    const ClientEntry& e = table.clients[u];
    ClientHost h;
    h.name = "client-" + std::to_string(u);
    h.speed = e.speed > 0 ? e.speed : params.sample_work / e.sample_time;
    if (!(std::isfinite(h.speed) && h.speed > 0)) {
      util::throw_input_error(e.where, 0, "", "a finite speed > 0 for client " + std::to_string(u),
                              format_number(h.speed));
    }
    double rate = e.bandwidth;  // bytes/s a lone transfer gets (as generate's comm_time links)
    if (e.link == LinkForm::kCommTime) {
      rate = CommLink{params.model_bytes, 1.0}.bandwidth(e.comm_time);
    }
    const double latency = e.link == LinkForm::kLink ? e.latency : 0.0;
    // SimGrid's TCP window caps a flow at bandwidth-factor x gamma / (2 x link latency), the
    // link's own latency (before the latency factor); measured in SimGrid 3.32 (LV08, CM02).
    const double link_latency = latency > 0 ? latency / f.latency : 0.0;
    const double cap = f.bandwidth * f.tcp_gamma / (2.0 * link_latency);
    if (link_latency > 0 && rate > cap) {
      util::throw_input_error(
          e.where, 0, "",
          "a bandwidth <= " + format_number(cap) + " bytes/s for latency " +
              format_number(latency) + " s (SimGrid's TCP window, network/TCP-gamma " +
              format_number(f.tcp_gamma) +
              " bytes, caps a flow at bandwidth-factor x gamma / (2 x latency / latency-factor))",
          format_number(rate));
    }
    h.bandwidth = rate / f.bandwidth;
    h.latency = link_latency;
    if (!(std::isfinite(h.bandwidth) && h.bandwidth > 0 && std::isfinite(h.latency))) {
      util::throw_input_error(e.where, 0, "",
                              "a finite bandwidth > 0 for client " + std::to_string(u),
                              format_number(h.bandwidth));
    }
    speeds.push_back(h.speed);
    p.clients.push_back(h);
  }
  p.heterogeneity = coefficient_of_variation(speeds);
  return p;
}

}  // namespace fedgrid::platform
