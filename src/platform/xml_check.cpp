// Platform file checks (see xml_check.hpp): the XML tree from xml_reader, each element's
// attributes and values, then names, routes and what FedGrid needs.
#include "platform/xml_check.hpp"

#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "platform/xml_reader.hpp"
#include "platform/xml_values.hpp"
#include "util/error.hpp"

namespace fedgrid::platform {

namespace {

namespace fs = std::filesystem;

struct LinkInfo {
  bool split = false;  // SPLITDUPLEX: used as NAME_UP / NAME_DOWN (or NAME with a direction)
};

class Checker {
 public:
  Checker(std::string path, int clients, bool availability, bool speed)
      : path_(std::move(path)), clients_(clients), availability_(availability), speed_(speed) {}

  PlatformFileInfo run() {
    std::ifstream in = util::open_input(path_, "a SimGrid platform file");
    std::ostringstream text;
    text << in.rdbuf();
    const XmlDocument doc = parse_xml(text.str(), path_);
    if (doc.doctype.rfind("platform", 0) != 0) {
      fail(1, "",
           "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\"> before the "
           "root (SimGrid refuses files without it)",
           doc.doctype.empty() ? "none" : "'" + doc.doctype + "'");
    }
    const XmlElement& root = doc.root;
    if (root.name != "platform") fail(root.line, "", "the root element <platform>", tag(root));
    only(root, {"version"});
    const std::string* version = root.attribute("version");
    if (!version || *version != "4.1") {
      fail(root.line, "<platform> version",
           "\"4.1\" (SimGrid 3.32; convert older files with simgrid_update_xml)",
           version ? "'" + *version + "'" : "none");
    }
    const XmlElement* zone = nullptr;
    for (const XmlElement& c : root.children) {
      if (c.name != "zone" || zone) {
        fail(c.line, "", "one <zone> in <platform> (FedGrid reads single-zone platforms)",
             tag(c) + (c.name == "zone" ? " (a second zone)" : ""));
      }
      zone = &c;
    }
    if (!zone) fail(root.line, "", "a <zone> in <platform>", "none");
    check_zone(*zone);
    check_fedgrid_hosts(*zone);
    info_.hosts = static_cast<int>(hosts_.size());
    info_.links = static_cast<int>(links_.size());
    return info_;
  }

 private:
  [[noreturn]] void fail(int line, const std::string& where, const std::string& expected,
                         const std::string& found) const {
    util::throw_input_error(path_, line, where, expected, found);
  }
  static std::string tag(const XmlElement& e) {
    const std::string* id = e.attribute("id");
    return "<" + e.name + (id ? " id='" + *id + "'" : "") + ">";
  }
  std::string where(const XmlElement& e, const std::string& attr) const {
    return tag(e) + " " + attr;
  }
  void only(const XmlElement& e, std::initializer_list<const char*> allowed) const {
    for (const auto& [k, v] : e.attributes) {
      bool ok = false;
      std::string list;
      for (const char* a : allowed) {
        ok = ok || k == a;
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      if (!ok)
        fail(e.line, where(e, k), "an attribute of <" + e.name + "> (" + list + ")",
             "unknown attribute '" + k + "'");
    }
  }
  const std::string& need(const XmlElement& e, const char* attr) const {
    const std::string* v = e.attribute(attr);
    if (!v || v->empty()) fail(e.line, where(e, attr), "a value (required)", "none");
    return *v;
  }
  double quantity(const XmlElement& e, const char* attr, const std::string& text, Quantity q,
                  bool zero_ok) const {
    const auto v = parse_quantity(text, q);
    const char* what = q == Quantity::kSpeed       ? "a speed"
                       : q == Quantity::kBandwidth ? "a bandwidth"
                                                   : "a latency";
    if (!v || *v < 0 || (!zero_ok && *v == 0)) {
      fail(e.line, where(e, attr),
           std::string(what) + (zero_ok ? " >= 0" : " > 0") + ", finite, with " + unit_examples(q),
           "'" + text + "'");
    }
    return *v;
  }
  int integer(const XmlElement& e, const char* attr, int lo, int hi) const {
    const std::string* s = e.attribute(attr);
    if (!s) return lo;
    bool ok = !s->empty() && s->size() < 10;
    for (char c : *s) ok = ok && c >= '0' && c <= '9';
    const int v = ok ? std::stoi(*s) : -1;
    if (!ok || v < lo || v > hi) {
      fail(e.line, where(e, attr),
           "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
           "'" + *s + "'");
    }
    return v;
  }
  void props(const XmlElement& e) const {
    for (const XmlElement& c : e.children) {
      if (c.name != "prop") fail(c.line, "", "only <prop> inside " + tag(e), tag(c));
      only(c, {"id", "value"});
      need(c, "id");
      if (!c.attribute("value")) fail(c.line, where(c, "value"), "a value (required)", "none");
      if (!c.children.empty()) fail(c.children[0].line, "", "an empty <prop>", tag(c.children[0]));
    }
  }
  void name(std::set<std::string>& names, const XmlElement& e, const std::string& id,
            const std::string& kind) {
    if (!names.insert(id).second) {
      fail(e.line, where(e, "id"), "a " + kind + " name used once", "'" + id + "' again");
    }
  }
  void profile(const XmlElement& e, const char* attr) {
    const std::string* f = e.attribute(attr);
    if (!f) return;
    const fs::path dir = fs::path(path_).parent_path();
    std::string resolved = *f;
    std::error_code ec;
    if (fs::path(*f).is_relative() && fs::exists(dir / *f, ec)) resolved = (dir / *f).string();
    if (!fs::is_regular_file(resolved, ec)) {
      fail(e.line, where(e, attr), "an existing profile file (relative to the platform file)",
           "'" + *f + "'" + (fs::is_directory(resolved, ec) ? " (a folder)" : ""));
    }
    const std::string canonical = fs::weakly_canonical(resolved, ec).string();
    if (!profiles_.insert(canonical).second || !profile_names_.insert(*f).second) {
      fail(e.line, where(e, attr), "each profile file used once (SimGrid refuses a second use)",
           "'" + *f + "' again");
    }
    check_profile_file(resolved);
    info_.profile_files.push_back(resolved);
  }

  void check_host(const XmlElement& e) {
    only(e, {"id", "speed", "core", "pstate", "speed_file", "availability_file", "state_file"});
    const std::string& id = need(e, "id");
    name(netpoints_, e, id, "host, router or zone");
    const std::string& speeds = need(e, "speed");
    int n = 0;
    std::stringstream ss(speeds);
    for (std::string one; std::getline(ss, one, ',');) {
      quantity(e, "speed", one, Quantity::kSpeed, false);
      ++n;
    }
    if (speeds.back() == ',') quantity(e, "speed", "", Quantity::kSpeed, false);
    integer(e, "core", 1, 1000000);
    integer(e, "pstate", 0, n - 1);
    profile(e, "speed_file");
    profile(e, "availability_file");
    profile(e, "state_file");
    if (availability_ && e.attribute("state_file") && id.rfind("client-", 0) == 0) {
      fail(e.line, where(e, "state_file"),
           "no state_file on client hosts when the scenario's availability model drives "
           "them (SimGrid gives a host one state profile)",
           "'" + *e.attribute("state_file") + "'");
    }
    if (speed_ && e.attribute("speed_file") && id.rfind("client-", 0) == 0) {
      fail(e.line, where(e, "speed_file"),
           "no speed_file on client hosts when the scenario's speed_change drives "
           "them (SimGrid gives a host one speed profile)",
           "'" + *e.attribute("speed_file") + "'");
    }
    props(e);
    hosts_.insert(id);
  }

  void check_link(const XmlElement& e) {
    only(e, {"id", "bandwidth", "latency", "sharing_policy", "bandwidth_file", "latency_file",
             "state_file"});
    const std::string& id = need(e, "id");
    quantity(e, "bandwidth", need(e, "bandwidth"), Quantity::kBandwidth, false);
    quantity(e, "latency", need(e, "latency"), Quantity::kTime, true);
    const std::string* policy = e.attribute("sharing_policy");
    const std::string p = policy ? *policy : "SHARED";
    if (p != "SHARED" && p != "SPLITDUPLEX" && p != "FATPIPE") {
      fail(e.line, where(e, "sharing_policy"), "SHARED, SPLITDUPLEX or FATPIPE", "'" + p + "'");
    }
    for (const char* f : {"bandwidth_file", "latency_file", "state_file"}) profile(e, f);
    props(e);
    const bool split = p == "SPLITDUPLEX";
    name(link_names_, e, id, "link");
    if (split) {
      name(link_names_, e, id + "_UP", "link");
      name(link_names_, e, id + "_DOWN", "link");
    }
    links_[id] = LinkInfo{split};
  }

  // A link as host_link's up/down or link_ctn's id: a plain link, or a SPLITDUPLEX half.
  bool usable_link(const std::string& name, const std::string& direction) const {
    const auto it = links_.find(name);
    if (it != links_.end())
      return it->second.split ? direction == "UP" || direction == "DOWN" : true;
    for (const char* half : {"_UP", "_DOWN"}) {
      const std::string h(half);
      if (name.size() > h.size() && name.compare(name.size() - h.size(), h.size(), h) == 0) {
        const auto base = links_.find(name.substr(0, name.size() - h.size()));
        if (base != links_.end() && base->second.split)
          return direction.empty() || direction == "NONE";
      }
    }
    return false;
  }

  void check_host_link(const XmlElement& e) {
    only(e, {"id", "up", "down"});
    const std::string& id = need(e, "id");
    if (!hosts_.count(id))
      fail(e.line, where(e, "id"), "a host declared before it", "'" + id + "'");
    if (!host_links_.insert(id).second)
      fail(e.line, where(e, "id"), "one <host_link> per host", "a second one");
    for (const char* dir : {"up", "down"}) {
      const std::string& l = need(e, dir);
      if (!usable_link(l, "")) {
        fail(e.line, where(e, dir),
             "a link declared before it (NAME_UP / NAME_DOWN for a SPLITDUPLEX link)",
             "'" + l + "'");
      }
    }
    if (!e.children.empty())
      fail(e.children[0].line, "", "an empty <host_link>", tag(e.children[0]));
  }

  void check_route(const XmlElement& e) {
    only(e, {"src", "dst", "symmetrical"});
    const std::string& src = need(e, "src");
    const std::string& dst = need(e, "dst");
    for (const std::string* n : {&src, &dst}) {
      if (!hosts_.count(*n) && !routers_.count(*n)) {
        fail(e.line, where(e, n == &src ? "src" : "dst"), "a host or router declared before it",
             "'" + *n + "'");
      }
    }
    const std::string* sym = e.attribute("symmetrical");
    const std::string s = sym ? *sym : "YES";
    if (s != "YES" && s != "NO" && s != "yes" && s != "no") {
      fail(e.line, where(e, "symmetrical"), "YES or NO", "'" + s + "'");
    }
    for (const XmlElement& c : e.children) {
      if (c.name != "link_ctn") fail(c.line, "", "only <link_ctn> inside <route>", tag(c));
      only(c, {"id", "direction"});
      const std::string& id = need(c, "id");
      const std::string* d = c.attribute("direction");
      if (!usable_link(id, d ? *d : "")) {
        fail(c.line, where(c, "id"),
             "a link declared before it (a SPLITDUPLEX link needs direction UP or DOWN)",
             "'" + id + "'" + (d ? " direction '" + *d + "'" : ""));
      }
    }
    const bool both = s == "YES" || s == "yes";
    for (int k = 0; k < (both && src != dst ? 2 : 1); ++k) {
      const auto key = k ? std::make_pair(dst, src) : std::make_pair(src, dst);
      if (!routes_.insert(key).second) {
        fail(e.line, "",
             "one route per pair of hosts (routes are symmetrical unless "
             "symmetrical=\"NO\")",
             "a second route between '" + src + "' and '" + dst + "'");
      }
      graph_[key.first].push_back(key.second);
    }
  }

  void check_zone(const XmlElement& z) {
    only(z, {"id", "routing"});
    name(netpoints_, z, need(z, "id"), "host, router or zone");
    const std::string& routing = need(z, "routing");
    if (routing != "Cluster" && routing != "Full" && routing != "Floyd" && routing != "Dijkstra" &&
        routing != "DijkstraCache") {
      fail(z.line, where(z, "routing"), "Cluster, Full, Floyd, Dijkstra or DijkstraCache",
           "'" + routing + "'");
    }
    star_ = routing == "Cluster";
    for (const XmlElement& c : z.children) {
      if (c.name == "host") {
        check_host(c);
      } else if (c.name == "link") {
        check_link(c);
      } else if (c.name == "prop") {
        only(c, {"id", "value"});
      } else if (c.name == "host_link" && star_) {
        check_host_link(c);
      } else if (c.name == "router" && !star_) {
        only(c, {"id"});
        name(netpoints_, c, need(c, "id"), "host, router or zone");
        routers_.insert(need(c, "id"));
      } else if (c.name == "route" && !star_) {
        check_route(c);
      } else {
        fail(c.line, "",
             std::string("<host>, <link>, <prop> and ") +
                 (star_ ? "<host_link> in a Cluster zone" : "<router>, <route> in this zone") +
                 " (FedGrid's subset of SimGrid's format)",
             tag(c));
      }
    }
  }

  // Everything reachable from `from` along the routes (reversed: everything that reaches it).
  std::unordered_set<std::string> reach(const std::string& from, bool reversed) const {
    std::unordered_map<std::string, std::vector<std::string>> rev;
    if (reversed) {
      for (const auto& [a, bs] : graph_)
        for (const auto& b : bs) rev[b].push_back(a);
    }
    const auto& g = reversed ? rev : graph_;
    std::unordered_set<std::string> seen{from};
    std::deque<std::string> todo{from};
    while (!todo.empty()) {
      const auto it = g.find(todo.front());
      todo.pop_front();
      if (it == g.end()) continue;
      for (const auto& n : it->second)
        if (seen.insert(n).second) todo.push_back(n);
    }
    return seen;
  }

  void check_fedgrid_hosts(const XmlElement& z) {
    if (!hosts_.count("server")) fail(z.line, "", "a host named 'server'", "none");
    for (int u = 0; u < clients_; ++u) {
      const std::string c = "client-" + std::to_string(u);
      if (!hosts_.count(c)) {
        fail(z.line, "",
             "a host per client: client-0 .. client-" + std::to_string(clients_ - 1) +
                 " (the scenario has " + std::to_string(clients_) + " clients)",
             "no host '" + c + "'");
      }
    }
    if (star_) return;  // a Cluster zone routes every pair of hosts
    const bool full = need(z, "routing") == "Full";
    std::unordered_set<std::string> from, to;
    if (!full) {
      from = reach("server", false);
      to = reach("server", true);
    }
    for (int u = 0; u < clients_; ++u) {
      const std::string c = "client-" + std::to_string(u);
      const bool down = full ? routes_.count({"server", c}) > 0 : from.count(c) > 0;
      const bool up = full ? routes_.count({c, "server"}) > 0 : to.count(c) > 0;
      if (!down || !up) {
        fail(z.line, "", "a route from 'server' to every client and back",
             std::string("none ") +
                 (down ? "from '" + c + "' to 'server'" : "from 'server' to '" + c + "'"));
      }
    }
  }

  std::string path_;
  int clients_;
  bool availability_;
  bool speed_;
  bool star_ = false;
  PlatformFileInfo info_;
  std::set<std::string> netpoints_, link_names_, hosts_, routers_, host_links_;
  std::map<std::string, LinkInfo> links_;
  std::set<std::pair<std::string, std::string>> routes_;
  std::unordered_map<std::string, std::vector<std::string>> graph_;
  std::set<std::string> profiles_, profile_names_;
};

}  // namespace

PlatformFileInfo check_platform_file(const std::string& path, int clients,
                                     bool fedgrid_availability, bool fedgrid_speed) {
  return Checker(path, clients, fedgrid_availability, fedgrid_speed).run();
}

}  // namespace fedgrid::platform
