// The table of algorithms (one line each) and the typed access to their parameters.
#include "fl/registry.hpp"

#include <stdexcept>

#include "fl/algorithm.hpp"
#include "fl/algorithms.hpp"

namespace fedgrid::fl {

const std::vector<AlgorithmInfo>& algorithms() {
  static const std::vector<AlgorithmInfo> table{
      fedavg_algorithm(),  fedavg_deadline_algorithm(), salf_algorithm(),    adel_fl_algorithm(),
      fedprox_algorithm(), fednova_algorithm(),         fedbuff_algorithm(), fedasync_algorithm(),
  };
  return table;
}

const AlgorithmInfo* find_algorithm(const std::string& name) {
  for (const auto& a : algorithms()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::unique_ptr<Algorithm> make_algorithm(const AlgorithmConfig& cfg,
                                          std::vector<ClientInfo> clients, int num_stages) {
  const AlgorithmInfo* info = find_algorithm(cfg.name);
  if (!info) throw std::invalid_argument("unknown algorithm '" + cfg.name + "'");
  return info->make(cfg, std::move(clients), num_stages);
}

Params default_params(const std::string& name) {
  const AlgorithmInfo* info = find_algorithm(name);
  if (!info) throw std::invalid_argument("unknown algorithm '" + name + "'");
  Params p;
  for (const auto& spec : info->params) {
    if (spec.def.empty()) continue;
    if (spec.at_most_clients && spec.def == "clients") continue;  // needs the scenario
    if (spec.type == ParamType::kNumber || spec.type == ParamType::kInteger) {
      p.set_number(spec.key, std::stod(spec.def));
    } else if (spec.type == ParamType::kBool) {
      p.set_number(spec.key, spec.def == "true" ? 1.0 : 0.0);
    } else {
      p.set_text(spec.key, spec.def);
    }
  }
  return p;
}

double Params::number(const std::string& key) const {
  auto it = numbers_.find(key);
  if (it == numbers_.end()) throw std::logic_error("algorithm parameter '" + key + "' not set");
  return it->second;
}

const std::string& Params::text(const std::string& key) const {
  static const std::string empty;
  auto it = texts_.find(key);
  if (it == texts_.end()) {
    if (numbers_.count(key))
      throw std::logic_error("algorithm parameter '" + key + "' is a number");
    return empty;  // an optional path that was not given
  }
  return it->second;
}

}  // namespace fedgrid::fl
