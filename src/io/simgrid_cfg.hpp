// SimGrid options FedGrid lets through (scenario `simgrid.cfg`, `--cfg=`, `--log=`): an
// allow-list with typed, range-checked values, because SimGrid 3.32 takes many values unchecked
// (maxmin/precision:-1 segfaults, surf/precision:-5 hangs, network/model:Constant aborts on the
// first link). Everything else is refused, naming the option.
#pragma once

#include <string>

namespace fedgrid::io {

// Checks one "name:value" option. Returns "" if allowed, else what was expected, e.g. "a number
// in [1e-15, 0.01] for maxmin/precision" or "one of the options FedGrid allows (...)".
std::string simgrid_cfg_problem(const std::string& option);

// Checks a command-line engine argument ("--cfg=name:value" or "--log=category.setting:value");
// throws util::InputError "--cfg=...: expected ..., found ..." otherwise.
void check_engine_argument(const std::string& arg);

// The allowed options, one per line ("  name: values"), for --help and the docs.
std::string simgrid_cfg_help();

}  // namespace fedgrid::io
