// Client availability timelines (see availability.hpp).
#include "platform/availability.hpp"

#include <cmath>
#include <numeric>

#include "util/csv.hpp"
#include "util/error.hpp"

namespace fedgrid::platform {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

std::vector<Outage> read_outage_trace(const std::string& path, int clients) {
  util::CsvReader csv(path, {"client", "off", "on"});
  std::vector<Outage> out;
  std::vector<double> last_on(clients, -1.0);  // per client: when its previous outage ended
  while (csv.next()) {
    Outage o;
    const double id = csv.number(0);
    if (id != std::floor(id) || id < 0 || id >= clients) {
      csv.fail(0, "a client id in [0, " + std::to_string(clients - 1) + "]", csv.field(0));
    }
    o.client = static_cast<int>(id);
    o.off = csv.number(1);
    if (o.off < 0) csv.fail(1, "a time >= 0", csv.field(1));
    const std::string& on = csv.field(2);
    if (!on.empty() && on != "inf") {
      o.on = csv.number(2);
      if (!(o.on > o.off)) csv.fail(2, "a time after 'off' (or empty: never back)", on);
    }
    double& prev = last_on[o.client];
    if (o.off <= prev || std::isinf(prev)) {
      csv.fail(
          1,
          "outages of client " + std::to_string(o.client) +
              " in time order, each starting after the previous one ended",
          "off " + csv.field(1) + " while the previous outage ends at " + util::short_number(prev));
    }
    prev = o.on;
    out.push_back(o);
  }
  return out;
}

ClientTimeline::ClientTimeline(uint64_t seed, int client, double mean_up, double mean_down)
    : kind_(Kind::kRandom),
      rng_(seed, "availability", static_cast<uint64_t>(client)),
      mean_up_(mean_up),
      mean_down_(mean_down) {}

ClientTimeline::ClientTimeline(std::vector<Outage> outages, std::vector<Outage> block,
                               double period)
    : kind_(outages.empty() && block.empty() ? Kind::kNone : Kind::kTrace),
      outages_(std::move(outages)),
      block_(std::move(block)),
      period_(period) {}

double ClientTimeline::gone_at() const {
  if (kind_ != Kind::kTrace || std::isfinite(period_) || outages_.empty()) return kInf;
  const Outage& last = outages_.back();
  return std::isinf(last.on) ? last.off : kInf;
}

ClientTimeline timeline_from_on_intervals(int client, const OnIntervals& a) {
  if (a.on.empty()) return ClientTimeline({Outage{client, 0.0, kInf}});  // never on
  std::vector<Outage> prefix, block;
  const auto& on = a.on;
  if (on.front().first > 0) prefix.push_back({client, 0.0, on.front().first});
  for (std::size_t i = 0; i + 1 < on.size(); ++i) {
    if (on[i].second < on[i + 1].first) block.push_back({client, on[i].second, on[i + 1].first});
  }
  if (std::isinf(a.period)) {
    if (std::isfinite(on.back().second)) block.push_back({client, on.back().second, kInf});
    prefix.insert(prefix.end(), block.begin(), block.end());
    return ClientTimeline(std::move(prefix));
  }
  // Off from the last interval's end to the first one's start in the next period.
  const double next_on = a.period + on.front().first;
  if (on.back().second < next_on) block.push_back({client, on.back().second, next_on});
  prefix.insert(prefix.end(), block.begin(), block.end());
  return ClientTimeline(std::move(prefix), std::move(block), a.period);
}

bool ClientTimeline::next(double* date, bool* on) {
  if (kind_ == Kind::kRandom) {
    now_ += (on_ ? mean_up_ : mean_down_) * rng_.exponential1();
    on_ = !on_;
    *date = now_;
    *on = on_;
    return true;
  }
  if (kind_ != Kind::kTrace) return false;
  if (index_ >= outages_.size()) {  // the next period's outages, if the trace repeats
    if (std::isinf(period_) || block_.empty()) return false;
    shift_ += period_;
    outages_ = block_;
    for (Outage& o : outages_) o.off += shift_, o.on += shift_;
    index_ = 0;
  }
  const Outage& o = outages_[index_];
  if (on_) {  // next: this outage begins
    *date = o.off;
    *on = on_ = false;
    return true;
  }
  ++index_;  // this outage ends (if it ever does)
  if (std::isinf(o.on)) return false;
  *date = o.on;
  *on = on_ = true;
  return true;
}

std::vector<ClientTimeline> make_timelines(const AvailabilitySpec& spec, int clients,
                                           uint64_t seed) {
  std::vector<ClientTimeline> t(clients);
  if (spec.model == AvailabilityModel::kTrace && spec.format != TraceFormat::kOutages) {
    const std::vector<OnIntervals> on = spec.format == TraceFormat::kFedscale
                                            ? read_fedscale_behaviour(spec.trace_file, clients)
                                            : [&] {
                                                std::vector<OnIntervals> a;
                                                read_clients_csv(spec.trace_file, clients, &a);
                                                return a;
                                              }();
    for (int u = 0; u < clients && u < static_cast<int>(on.size()); ++u) {
      t[u] = timeline_from_on_intervals(u, on[u]);
    }
  } else if (spec.model == AvailabilityModel::kTrace) {
    std::vector<std::vector<Outage>> per(clients);
    for (const Outage& o : read_outage_trace(spec.trace_file, clients)) per[o.client].push_back(o);
    for (int u = 0; u < clients; ++u) t[u] = ClientTimeline(std::move(per[u]));
  } else if (spec.model == AvailabilityModel::kRandom) {
    for (int u : failing_clients(spec, clients, seed))
      t[u] = ClientTimeline(seed, u, spec.mean_up, spec.mean_down);
  }
  return t;
}

std::vector<int> failing_clients(const AvailabilitySpec& spec, int clients, uint64_t seed) {
  if (spec.model != AvailabilityModel::kRandom) return {};
  // Exactly round(fraction * clients) clients can fail, chosen uniformly.
  std::vector<int> ids(clients);
  std::iota(ids.begin(), ids.end(), 0);
  util::Rng rng(seed, "availability-clients");
  util::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(static_cast<std::size_t>(std::lround(spec.fraction * clients)));
  return ids;
}

}  // namespace fedgrid::platform
