// Help texts of the fedgrid commands from their CLI11 definitions (see cli_format.hpp).
#include "app/cli_format.hpp"

#include <algorithm>
#include <set>

namespace fedgrid::app {

namespace {

constexpr std::size_t kColumn = 28;             // the option column; descriptions start there
constexpr std::size_t kContinuationIndent = 4;  // a synopsis' next lines in the overview
constexpr std::size_t kSummaryIndent = 8;       // then the command's summary

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      if (start < text.size()) out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string indent(const std::string& text, std::size_t n) {
  std::string out;
  for (const std::string& l : lines_of(text))
    out += (l.empty() ? "" : std::string(n, ' ') + l) + "\n";
  return out;
}

// `words` after `lead`, wrapped at kHelpWidth; continuation lines indented by `next`.
std::string wrap_words(const std::string& lead, const std::vector<std::string>& words,
                       std::size_t next) {
  std::string out = lead, line = lead;
  for (const std::string& w : words) {
    if (line.size() + 1 + w.size() > kHelpWidth && line.size() > std::max(lead.size(), next)) {
      out += "\n";
      line = std::string(next, ' ') + w;
      out += line;
    } else {
      line += " " + w;
      out += " " + w;
    }
  }
  return out;
}

bool is_switch(const CLI::Option* o) { return o->get_items_expected_max() == 0; }

bool repeatable(const CLI::Option* o) {
  return o->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
}

// An option in a synopsis: by its short name when it takes a value and has one (-o DIR), else by
// its long name (--quiet, --seed N).
std::string usage_name(const CLI::Option* o) {
  const auto& s = o->get_snames();
  const auto& l = o->get_lnames();
  const bool valued = !is_switch(o);
  const std::string name = (valued && !s.empty()) || l.empty() ? "-" + s.at(0) : "--" + l.at(0);
  return valued ? name + " " + o->get_type_name() : name;
}

std::string bracketed(const CLI::Option* o, const std::string& w) {
  return (o->get_required() ? w : "[" + w + "]") + (repeatable(o) ? "..." : "");
}

}  // namespace

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string wrap(const std::string& text, std::size_t width) {
  std::string out;
  for (const std::string& line : lines_of(text)) {
    const std::size_t lead = line.find_first_not_of(' ');
    if (line.size() <= width || lead == std::string::npos) {
      out += line + "\n";
      continue;
    }
    const std::string pad(lead, ' ');
    std::string cur = pad;
    std::size_t pos = lead;
    while (pos < line.size()) {
      std::size_t end = line.find(' ', pos);
      if (end == std::string::npos) end = line.size();
      const std::string word = line.substr(pos, end - pos);
      if (cur.size() > pad.size() && cur.size() + 1 + word.size() > width) {
        out += cur + "\n";
        cur = pad;
      }
      if (!word.empty()) cur += (cur.size() > pad.size() ? " " : "") + word;
      pos = end + 1;
    }
    out += cur + "\n";
  }
  return out;
}

std::vector<std::string> synopses(const CLI::App& cmd, const std::string& lead, std::size_t next) {
  const CLI::Option* resume = cmd.get_option_no_throw("--resume");
  std::vector<std::string> words, resume_words;
  if (resume) resume_words.push_back("--resume " + resume->get_type_name());
  std::set<std::string> choice_groups;  // each rendered once, as [--a | --b X | --c]
  for (const CLI::Option* o : cmd.get_options()) {
    if (o == cmd.get_help_ptr() || o == resume) continue;
    if (o->get_positional()) {  // optional only where a --resume form replaces it
      const std::string name = o->get_name(true, false);
      words.push_back(o->get_required() || resume ? name : "[" + name + "]");
      continue;
    }
    const std::string& group = o->get_group();
    std::string w;
    if (ends_with(group, kAtMostOne)) {
      if (!choice_groups.insert(group).second) continue;
      for (const CLI::Option* c : cmd.get_options()) {
        if (c->get_group() == group) w += (w.empty() ? "" : " | ") + usage_name(c);
      }
      w = "[" + w + "]";
    } else {
      w = bracketed(o, usage_name(o));
    }
    words.push_back(w);
    if (resume && !ends_with(group, kNewRunOnly)) resume_words.push_back(w);
  }
  std::vector<std::string> out{wrap_words(lead, words, next)};
  if (resume) out.push_back(wrap_words(lead, resume_words, next));
  return out;
}

HelpFormatter::HelpFormatter() {
  column_width(kColumn);
  label("Positionals", "arguments");
}

std::string HelpFormatter::make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const {
  return app->get_parent() == nullptr ? overview(*app) : command_help(*app);
}

std::string HelpFormatter::make_option_name(const CLI::Option* opt, bool positional) const {
  if (positional) return opt->get_name(true, false);
  std::string out;
  for (const std::string& s : opt->get_snames()) out += (out.empty() ? "-" : ", -") + s;
  for (const std::string& l : opt->get_lnames()) out += (out.empty() ? "--" : ", --") + l;
  return out;
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  return opt->get_positional() || is_switch(opt) ? "" : " " + opt->get_type_name();
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  std::string d = wrap(opt->get_description(), kHelpWidth - column_width_);
  return d.empty() ? d : d.substr(0, d.size() - 1);  // format_help ends the line
}

std::string HelpFormatter::option_tables(const CLI::App& app) const {
  std::string out = make_positionals(&app);
  for (const std::string& group : app.get_groups()) {
    std::vector<const CLI::Option*> opts = app.get_options(
        [&group](const CLI::Option* o) { return o->get_group() == group && o->nonpositional(); });
    if (!group.empty() && !opts.empty()) out += make_group(group, false, opts);
  }
  const bool valued =
      !app.get_options([](const CLI::Option* o) { return o->nonpositional() && !is_switch(o); })
           .empty();
  if (valued) out += "\nA value follows its option after a space or an '=' (--seed 3, --seed=3).\n";
  return out;
}

std::string HelpFormatter::command_help(const CLI::App& cmd) const {
  const std::string lead = "fedgrid " + cmd.get_name();
  std::string out;
  const std::vector<std::string> forms = synopses(cmd, "usage: " + lead, lead.size() + 8);
  for (std::size_t i = 0; i < forms.size(); ++i) {
    // The second form under the first: same columns, without "usage: ".
    out += (i == 0 ? forms[i] : std::string(7, ' ') + forms[i].substr(7)) + "\n";
  }
  out += "\n" + wrap(cmd.get_description(), kHelpWidth);
  out += option_tables(cmd);
  if (!cmd.get_footer().empty()) out += "\n" + wrap(cmd.get_footer(), kHelpWidth);
  return out;
}

std::string HelpFormatter::overview(const CLI::App& root) const {
  std::string out = wrap(root.get_description(), kHelpWidth);
  out += "\nusage: fedgrid <command> [options]\n\ncommands:\n";
  for (const CLI::App* sub : root.get_subcommands({})) {
    for (const std::string& form : synopses(*sub, "  " + sub->get_name(), kContinuationIndent)) {
      out += form + "\n";
    }
    const std::string& d = sub->get_description();
    out += indent(wrap(d.substr(0, d.find('\n')), kHelpWidth - kSummaryIndent), kSummaryIndent);
  }
  out += option_tables(root);
  if (!root.get_footer().empty()) out += "\n" + wrap(root.get_footer(), kHelpWidth);
  return out;
}

}  // namespace fedgrid::app
