// Registry entries of the algorithms, one per file (fl/fedavg.cpp, ...), gathered by
// fl/registry.cpp. Only registry.cpp includes this.
#pragma once

#include "fl/registry.hpp"

namespace fedgrid::fl {

AlgorithmInfo fedavg_algorithm();
AlgorithmInfo fedavg_deadline_algorithm();
AlgorithmInfo salf_algorithm();
AlgorithmInfo adel_fl_algorithm();
AlgorithmInfo fedprox_algorithm();
AlgorithmInfo fednova_algorithm();
AlgorithmInfo fedbuff_algorithm();
AlgorithmInfo fedasync_algorithm();

}  // namespace fedgrid::fl
