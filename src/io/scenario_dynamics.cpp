// Loader of a scenario's `speed_change` section: device speeds that change during the run
// (a step, a linear drift or a trace; platform/speed_change.hpp, docs/replanning.md).
#include <limits>

#include "io/scenario_sections.hpp"
#include "util/error.hpp"

namespace fedgrid::io {

platform::SpeedChangeSpec load_speed_change(YamlMap m, const std::string& base, int clients) {
  m.allow({"model", "fraction", "factor", "at", "start", "end", "pieces", "file"});
  platform::SpeedChangeSpec s;
  const std::string model = m.get_choice("model", {"step", "drift", "trace"});
  constexpr double kMaxTime = 1e15;
  if (model == "trace") {
    s.model = platform::SpeedChangeModel::kTrace;
    s.trace_file = resolve_path(m.get_string("file"), base);
    require_file(m, "file", "CSV file", s.trace_file);
    platform::read_speed_trace(s.trace_file, clients);  // errors now, with file:line
  } else {
    s.model =
        model == "step" ? platform::SpeedChangeModel::kStep : platform::SpeedChangeModel::kDrift;
    s.fraction = m.get_double("fraction", 0, 1, 1.0);
    s.factor = m.get_double("factor", 1e-6, 1e6);
    if (model == "step") {
      s.at = m.get_double("at", 0, kMaxTime);
    } else {
      s.start = m.get_double("start", 0, kMaxTime, 0.0);
      s.end = m.get_double("end", 0, kMaxTime);
      if (!(s.end > s.start)) {
        m.fail("end", "a time after start (" + util::short_number(s.start) + ")",
               util::short_number(s.end));
      }
      s.pieces = static_cast<int>(m.get_int("pieces", 1, 100000, 20));
    }
  }
  m.finish();
  return s;
}

}  // namespace fedgrid::io
