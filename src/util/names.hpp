// Names that become folder names (a scenario's name -> results/<name>, a sweep's name and run
// ids -> DIR/runs/<id>): letters, digits and . _ + -, never '.' or '..' (no way out of the
// folder they go in), 1 to 128 characters.
#pragma once

#include <string>

namespace fedgrid::util {

constexpr const char* kSafeNameRule =
    "a name of letters, digits and . _ + - (not '.' or '..', at most 128 characters)";

bool is_safe_name(const std::string& name);

}  // namespace fedgrid::util
