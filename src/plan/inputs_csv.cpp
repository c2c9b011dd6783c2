// Reader for the planner's per-client CSV (client,P_u,B_u,sigma_u) with file:line errors.
#include "plan/inputs_csv.hpp"

#include "util/csv.hpp"
#include "util/error.hpp"

namespace fedgrid::plan {

ClientInputs read_client_inputs_csv(const std::string& path) {
  util::CsvReader csv(path, {"client", "P_u", "B_u", "sigma_u"});
  ClientInputs out;
  while (csv.next()) {
    const double id = csv.number(0);
    if (id != static_cast<double>(out.P.size())) {
      csv.fail(0, "client id " + std::to_string(out.P.size()) + " (ids in order)", csv.field(0));
    }
    const double p = csv.number(1);
    const double b = csv.number(2);
    const double s = csv.number(3);
    if (!(p > 0.0)) csv.fail(1, "a value > 0", csv.field(1));
    if (!(b >= 0.0)) csv.fail(2, "a value >= 0", csv.field(2));
    if (!(s >= 0.0)) csv.fail(3, "a value >= 0", csv.field(3));
    out.P.push_back(p);
    out.B.push_back(b);
    out.sigma.push_back(s);
  }
  if (out.P.empty())
    util::throw_input_error(path, csv.line(), "", "at least one client row", "none");
  return out;
}

}  // namespace fedgrid::plan
