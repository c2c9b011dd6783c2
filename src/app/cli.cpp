// fedgrid's command line with CLI11 (see cli.hpp): the commands of app/cli_commands.cpp under a
// root with --help, --version, help and version. CLI11's own errors become util::InputError
// naming the command and the option; SimGrid's --cfg/--log are checked against the allow-list.
#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>

#include "app/cli_commands.hpp"
#include "app/cli_format.hpp"
#include "app/run_record.hpp"
#include "io/simgrid_cfg.hpp"
#include "util/error.hpp"

namespace fedgrid::app {

namespace {

const char* kAbout =
    "fedgrid - discrete-event simulator for federated learning on heterogeneous devices\n";
const char* kFooter =
    "Every command accepts -h/--help: its options, examples and notes. Exit codes: 0 ok, 1 "
    "internal or system error (e.g. a full disk), 2 bad input, 3 the run diverged (a NaN or "
    "infinite loss or parameter), 128 + signal when a run was stopped by a signal.\n";
const char* kCommands = "run, validate, platform, plan, sweep, help or version";

std::string prefix(const std::string& cmd) { return cmd.empty() ? "" : cmd + ": "; }

std::string see(const std::string& cmd) {
  return " (see fedgrid " + (cmd.empty() ? "" : cmd + " ") + "--help)";
}

const CLI::App* find_command(const CLI::App& root, const std::string& name) {
  for (const CLI::App* c : root.get_subcommands([](const CLI::App*) { return true; })) {
    if (c->get_name() == name) return c;
  }
  return nullptr;
}

// The root: a parsed command fills `o` (sweep: `s`), `help COMMAND` fills `topic`.
std::unique_ptr<CLI::App> make_root(Options& o, SweepOptions& s, std::string& topic) {
  auto root = std::make_unique<CLI::App>(kAbout, "fedgrid");
  root->formatter(std::make_shared<HelpFormatter>());  // inherited by the commands
  root->option_defaults()->group("options");
  root->footer(kFooter);
  root->require_subcommand(0, 1);  // a command's extra arguments are not read as a second one
  root->allow_extras();            // reported below, naming them
  root->set_help_flag();
  add_commands(*root, o, s);
  CLI::App* help =
      root->add_subcommand("help", "This text, or a command's (fedgrid COMMAND --help).");
  help->add_option("COMMAND", topic, "run, validate, platform, plan or sweep")->group("arguments");
  help->set_help_flag("-h,--help", "this text");
  CLI::App* version = root->add_subcommand("version", "The same as fedgrid --version.");
  version->set_help_flag("-h,--help", "this text");
  root->set_version_flag(
      "--version", [] { return version_text(); },
      "the version, git revision and build (flags, instruction set)");
  root->set_help_flag("-h,--help", "this text, or with a command: its options and notes");
  return root;
}

// CLI11 2.1 reads a switch given a value (--quiet=no) as the switch set to that value, and an
// empty "--opt=" as "--opt" taking the next argument: the first is refused, the second made
// explicit ("--opt" ""). Sets *at to the index of the command's name (args.size(): none).
std::vector<std::string> normalize(const CLI::App& root, const std::vector<std::string>& args,
                                   std::size_t* at) {
  std::vector<std::string> out;
  const CLI::App* app = &root;
  std::string cmd;
  bool options = true;  // until "--"
  *at = args.size();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (*at == args.size() && !a.empty() && a[0] != '-') {
      *at = i;
      if (const CLI::App* c = find_command(root, a)) {
        app = c;
        cmd = a;
      }
    }
    const std::size_t eq = a.find('=');
    if (options && a.size() > 2 && a.compare(0, 2, "--") == 0 && eq != std::string::npos) {
      const std::string name = a.substr(0, eq);
      if (const CLI::Option* opt = app->get_option_no_throw(name)) {
        if (opt->get_items_expected_max() == 0) {
          throw util::InputError(prefix(cmd) + name + " takes no value, found '" + a + "'");
        }
        if (eq + 1 == a.size()) {
          out.push_back(name);
          out.push_back("");
          continue;
        }
      }
    }
    if (a == "--") options = false;
    out.push_back(a);
  }
  return out;
}

// CLI11's message as FedGrid's: "--seed: 1 required N missing" (a valued option given last).
std::string translate(const CLI::ParseError& e, const std::string& cmd) {
  const std::string what = e.what();
  const std::size_t colon = what.find(": ");
  const std::size_t req = what.find(" required ");
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && colon != std::string::npos &&
      req != std::string::npos && ends_with(what, " missing")) {
    const std::string type = what.substr(req + 10, what.size() - 8 - (req + 10));
    return prefix(cmd) + what.substr(0, colon) + " expects a value (" + type + "), found none" +
           see(cmd);
  }
  return prefix(cmd) + what + see(cmd);
}

// Arguments CLI11 left (allow_extras), but the "--" it keeps there: an unknown option, an extra
// argument or an unknown command.
void reject_extras(const std::vector<std::string>& left, const std::string& cmd) {
  const auto it = std::find_if(left.begin(), left.end(), [](const auto& a) { return a != "--"; });
  if (it == left.end()) return;
  const std::string& a = *it;
  if (a.size() > 1 && a[0] == '-') {
    throw util::InputError(prefix(cmd) + "unknown option '" + a + "'" + see(cmd));
  }
  if (cmd.empty()) {
    throw util::InputError("unknown command '" + a + "' (expected " + kCommands +
                           "; see fedgrid --help)");
  }
  throw util::InputError(cmd + ": unexpected argument '" + a + "'" + see(cmd));
}

// --cfg and --log values, in the order given, as "--cfg=VALUE" / "--log=VALUE" for SimGrid.
std::vector<std::string> engine_args(const CLI::App& c) {
  const CLI::Option* cfg = c.get_option_no_throw("--cfg");
  const CLI::Option* log = c.get_option_no_throw("--log");
  std::vector<std::string> out;
  std::size_t n_cfg = 0, n_log = 0;
  for (const CLI::Option* opt : c.parse_order()) {
    if (opt != cfg && opt != log) continue;
    const std::string arg =
        opt == cfg ? "--cfg=" + cfg->results().at(n_cfg++) : "--log=" + log->results().at(n_log++);
    try {
      io::check_engine_argument(arg);  // an allow-list, before SimGrid sees anything
    } catch (const util::InputError& e) {
      throw util::InputError(c.get_name() + ": " + e.what());
    }
    out.push_back(arg);
  }
  return out;
}

// Options the command's groups say cannot go together.
void check_groups(const CLI::App& c, const Options& o) {
  const auto in = [&c](const char* tail) {
    return c.get_options([tail](const CLI::Option* x) { return ends_with(x->get_group(), tail); });
  };
  if (!o.resume.empty()) {
    bool given = !o.scenario.empty();
    for (const CLI::Option* x : in(kNewRunOnly)) given = given || x->count() > 0;
    if (given) {
      throw util::InputError(c.get_name() +
                             ": --resume DIR takes the scenario, -o, --set and --seed of the "
                             "interrupted run; give none of them (nor --force)");
    }
  } else if (c.get_name() == "run" && o.scenario.empty()) {
    throw util::InputError("run: expects a SCENARIO.yaml (or --resume DIR)" + see("run"));
  }
  const std::vector<const CLI::Option*> modes = in(kAtMostOne);
  std::string names;
  std::size_t given = 0;
  for (std::size_t i = 0; i < modes.size(); ++i) {
    names += (i == 0 ? "" : i + 1 == modes.size() ? " and " : ", ") + modes[i]->get_name();
    given += modes[i]->count() > 0;
  }
  if (given > 1) throw util::InputError(c.get_name() + ": " + names + " exclude each other");
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& given) {
  CommandLine line;
  Options o;
  SweepOptions s;
  std::string topic;
  const std::unique_ptr<CLI::App> root = make_root(o, s, topic);
  const auto help_of = [&root](const CLI::App* app) {
    return root->get_formatter()->make_help(app, "", CLI::AppFormatMode::Normal);
  };
  if (given.empty()) {
    line.text = help_of(root.get());
    line.to_stderr = true;
    line.exit_code = 2;
    return line;
  }
  std::size_t at = 0;
  std::vector<std::string> args = normalize(*root, given, &at);
  const CLI::App* named = at < given.size() ? find_command(*root, given[at]) : nullptr;
  const std::string cmd = named ? named->get_name() : "";
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    root->parse(args);
  } catch (const CLI::CallForHelp&) {
    line.text = help_of(named ? named : root.get());
    return line;
  } catch (const CLI::CallForVersion& e) {
    line.text = e.what();
    return line;
  } catch (const CLI::ParseError& e) {
    throw util::InputError(translate(e, cmd));
  }
  // The root's leftovers: before the command, unknown options; after it (a command returns what
  // follows a "--" once its arguments are filled), the command's extra arguments.
  const std::vector<std::string> left = root->remaining();
  const auto before = given.begin() + static_cast<std::ptrdiff_t>(std::min(at, given.size()));
  const bool after = named && !left.empty() && std::find(given.begin(), before, left[0]) == before;
  reject_extras(left, after ? cmd : "");
  if (root->get_subcommands().empty()) {  // e.g. only "--"
    line.text = help_of(root.get());
    line.to_stderr = true;
    line.exit_code = 2;
    return line;
  }
  const CLI::App& c = *root->get_subcommands().front();
  reject_extras(c.remaining(), cmd);
  if (cmd == "help") {
    const CLI::App* about = topic.empty() ? root.get() : find_command(*root, topic);
    if (!about) {
      throw util::InputError("help: unknown command '" + topic + "' (expected " + kCommands + ")");
    }
    line.text = help_of(about);
    return line;
  }
  if (cmd == "version") {
    line.text = version_text();
    return line;
  }
  o.engine_args = engine_args(c);
  check_groups(c, o);
  line.command = cmd;
  line.args.assign(given.begin() + static_cast<std::ptrdiff_t>(at) + 1, given.end());
  line.options = o;
  line.sweep = s;
  return line;
}

}  // namespace fedgrid::app
