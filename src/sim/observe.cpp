// What adaptive algorithms (ADEL-FL re-planning) see of each round: every client's download
// time, time computed and stages finished, at the precision of clients.csv, live and, when a run
// resumes from a checkpoint, replayed from the CSV files of the rounds already done, so that a
// resumed run plans exactly as an uninterrupted one.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/context.hpp"
#include "util/error.hpp"

namespace fedgrid::sim {

namespace {

namespace fs = std::filesystem;

// A number as clients.csv holds it (10 significant digits); NaN for an empty field.
double as_recorded(double v) {
  const std::string s = metrics::fmt(v);
  return s.empty() ? std::nan("") : std::stod(s);
}
double parse(const std::string& s) { return s.empty() ? std::nan("") : std::stod(s); }

// The rows of a run's CSV file (the partial file of an unfinished run, else the final one).
std::vector<std::map<std::string, std::string>> read_rows(const std::string& dir,
                                                          const std::string& name) {
  fs::path path = fs::path(dir) / ("." + name + ".partial");
  if (!fs::exists(path)) path = fs::path(dir) / name;
  std::ifstream in(path);
  if (!in) throw util::InputError(path.string() + ": expected the run's " + name + ", found none");
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    if (line.back() == ',') cells.emplace_back();
    if (header.empty()) {
      header = cells;
      continue;
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

fl::ClientObservation from_values(int client, int batch, int stages, const std::string& status,
                                  double t0, double t_download, double t_compute) {
  fl::ClientObservation o;
  o.client = client;
  o.batch = batch;
  o.stages_done = stages;
  o.download = t_download - t0;
  o.compute = status == "failed" || status == "offline" ? std::nan("") : t_compute - t_download;
  return o;
}

}  // namespace

void observe_client(Context* ctx, const metrics::ClientRecord& c, double t0) {
  if (!ctx->setup.algorithm->adaptive()) return;
  fl::RoundObservation& obs = ctx->round.observation;
  if (obs.round != c.round) obs = fl::RoundObservation{c.round, as_recorded(t0), {}};
  obs.clients.push_back(from_values(c.client, c.batch, c.stages_done, fl::status_name(c.status),
                                    obs.start, as_recorded(c.t_download),
                                    as_recorded(c.t_compute)));
}

void end_observed_round(Context* ctx, int round, double t0) {
  if (!ctx->setup.algorithm->adaptive()) return;
  fl::RoundObservation& obs = ctx->round.observation;
  if (obs.round != round) obs = fl::RoundObservation{round, as_recorded(t0), {}};  // no client
  ctx->setup.algorithm->observe(obs);
  ctx->round.observation = fl::RoundObservation{};
}

void replay_observations(Context* ctx, int rounds_done) {
  if (!ctx->setup.algorithm->adaptive() || rounds_done < 1) return;
  const std::string& dir = ctx->setup.recorder->dir();
  std::map<int, double> starts;
  for (const auto& r : read_rows(dir, "rounds.csv"))
    starts[std::stoi(r.at("round"))] = parse(r.at("t_start"));
  std::map<int, fl::RoundObservation> rounds;
  for (const auto& c : read_rows(dir, "clients.csv")) {
    const int round = std::stoi(c.at("round"));
    if (round > rounds_done) continue;
    fl::RoundObservation& obs = rounds[round];
    obs.round = round;
    obs.start = starts.at(round);
    obs.clients.push_back(from_values(std::stoi(c.at("client")), std::stoi(c.at("batch")),
                                      std::stoi(c.at("stages_done")), c.at("status"), obs.start,
                                      parse(c.at("t_download")), parse(c.at("t_compute"))));
  }
  for (int r = 1; r <= rounds_done; ++r) {
    fl::RoundObservation& obs = rounds[r];
    if (obs.round != r) obs = fl::RoundObservation{r, starts.at(r), {}};
    ctx->setup.algorithm->observe(obs);
  }
}

}  // namespace fedgrid::sim
