// Command-line options of the run / validate / platform / plan subcommands (see options.hpp).
#include "app/options.hpp"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "io/simgrid_cfg.hpp"
#include "util/error.hpp"

namespace fedgrid::app {

// A whole-string integer in [lo, hi], or an InputError naming the flag.
static long parse_count(const std::string& cmd, const std::string& flag, const std::string& v,
                        long lo, long hi) {
  try {
    std::size_t pos = 0;
    long n = std::stol(v, &pos);
    if (pos == v.size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  throw util::InputError(cmd + ": " + flag + " expects an integer in [" + std::to_string(lo) +
                         ", " + std::to_string(hi) + "], found '" + v + "'");
}

// A seed in [0, 2^64 - 1], digits only.
static uint64_t parse_seed(const std::string& cmd, const std::string& v) {
  bool ok = !v.empty() && v.size() <= 20;
  for (char c : v) ok = ok && c >= '0' && c <= '9';
  errno = 0;
  const unsigned long long n = ok ? std::strtoull(v.c_str(), nullptr, 10) : 0;
  if (!ok || errno == ERANGE) {
    throw util::InputError(cmd + ": --seed expects an integer in [0, " +
                           std::to_string(std::numeric_limits<uint64_t>::max()) + "], found '" + v +
                           "'");
  }
  return n;
}

// Parses the options common to the subcommands; `allowed` lists the flags this one takes.
Options parse_options(const std::vector<std::string>& args, const std::string& cmd,
                      const std::string& allowed) {
  Options o;
  auto need_value = [&](std::size_t& i, const std::string& flag) {
    if (i + 1 >= args.size()) throw util::InputError(cmd + ": " + flag + " expects a value");
    return args[++i];
  };
  auto check = [&](const std::string& flag) {
    if (allowed.find(flag) == std::string::npos) {
      throw util::InputError(cmd + ": unknown option '" + flag + "' (see fedgrid " + cmd +
                             " --help)");
    }
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "-o" || a == "--out") {
      check("-o");
      o.out = need_value(i, a);
    } else if (a == "--set") {
      check("--set");
      o.sets.push_back(need_value(i, a));
    } else if (a.rfind("--set=", 0) == 0) {
      check("--set");
      o.sets.push_back(a.substr(6));
    } else if (a == "--seed") {
      check("--seed");
      o.seed = parse_seed(cmd, need_value(i, a));
    } else if (a == "--threads") {
      check("--threads");
      o.threads = static_cast<int>(parse_count(cmd, a, need_value(i, a), 1, 4096));
    } else if (a == "--checkpoint-every") {
      check("--checkpoint-every");
      o.checkpoint_every = static_cast<int>(parse_count(cmd, a, need_value(i, a), 1, 1 << 30));
    } else if (a == "--resume") {
      check("--resume");
      o.resume = need_value(i, a);
    } else if (a == "--quiet" || a == "-q") {
      check("--quiet");
      o.quiet = true;
    } else if (a == "--force") {
      check("--force");
      o.force = true;
    } else if (a == "--allow-large") {
      check("--allow-large");
      o.allow_large = true;
    } else if (a.rfind("--cfg=", 0) == 0 || a.rfind("--log=", 0) == 0) {
      check("--cfg");
      io::check_engine_argument(a);  // an allow-list, before SimGrid sees anything
      o.engine_args.push_back(a);
    } else if (!a.empty() && a[0] == '-') {
      throw util::InputError(cmd + ": unknown option '" + a + "' (see fedgrid " + cmd + " --help)");
    } else if (o.scenario.empty()) {
      o.scenario = a;
    } else {
      throw util::InputError(cmd + ": unexpected argument '" + a + "'");
    }
  }
  if (!o.resume.empty()) {
    if (!o.scenario.empty() || !o.sets.empty() || o.seed || !o.out.empty() || o.force) {
      throw util::InputError(cmd +
                             ": --resume DIR takes the scenario, -o, --set and --seed of the "
                             "interrupted run; give none of them (nor --force)");
    }
  } else if (!o.help && o.scenario.empty()) {
    throw util::InputError(cmd + ": expects a SCENARIO.yaml");
  }
  return o;
}

}  // namespace fedgrid::app
