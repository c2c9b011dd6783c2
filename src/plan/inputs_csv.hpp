// Reader for per-client planner inputs in the reference CSV format
// (header `client,P_u,B_u,sigma_u`, one row per client, clients numbered 0..U-1 in order).
#pragma once

#include <string>
#include <vector>

namespace fedgrid::plan {

struct ClientInputs {
  std::vector<double> P;      // capability P_u > 0
  std::vector<double> B;      // communication time B_u >= 0
  std::vector<double> sigma;  // gradient std sigma_u >= 0
};

// Throws util::InputError "FILE:LINE: key 'COLUMN': expected ..., found ..." on a missing file,
// a wrong header, a row with the wrong number of fields, a non-number, an out-of-range value or a
// client id out of sequence. Blank lines (and a trailing '\r') are ignored.
ClientInputs read_client_inputs_csv(const std::string& path);

}  // namespace fedgrid::plan
