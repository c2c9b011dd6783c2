// Everything a run needs besides the simulator: model, data splits, client shards, initial params.
#pragma once

#include <string>

#include "data/dataset.hpp"
#include "io/scenario.hpp"
#include "nn/model.hpp"

namespace fedgrid::io {

struct Experiment {
  Scenario scenario;
  nn::Model model;
  data::Dataset train, validation, test;
  data::Partition shards;
  nn::Vector initial_params;
};

// Loads the data (IDX folder or synthetic), splits validation, partitions, builds the model and
// checks that data and model agree (features, classes). Throws util::InputError.
Experiment prepare_experiment(const Scenario& s);

// partition.csv: client,samples,label_0..label_{C-1}
std::string partition_csv(const Experiment& e);

}  // namespace fedgrid::io
