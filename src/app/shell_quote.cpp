// Shell quoting and the checks on emitted job text (see shell_quote.hpp).
#include "app/shell_quote.hpp"

#include <cctype>
#include <cstdio>

#include "util/error.hpp"

namespace fedgrid::app {

namespace {

bool plain(char c, const char* extra) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  for (const char* e = extra; *e; ++e)
    if (c == *e) return true;
  return false;
}

// The first control character, shown as \n, \r or \xNN.
std::string shown(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      if (c == '\n') return "\\n";
      if (c == '\r') return "\\r";
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      return buf;
    }
  }
  return "";
}

// `s` printable in a message: control characters written as escapes.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s)
    out += has_control_char(std::string(1, c)) ? shown(std::string(1, c)) : std::string(1, c);
  return out;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  bool ok = !s.empty();
  for (char c : s) ok = ok && plain(c, "_./=:,@%+-");
  if (ok) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool has_control_char(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

void refuse_control_chars(const std::string& what, const std::string& s) {
  if (!has_control_char(s)) return;
  throw util::InputError("sweep: " + what + " '" + printable(s) +
                         "': expected no control characters (a job line must stay one command), "
                         "found " +
                         shown(s));
}

void check_sbatch_path(const std::string& what, const std::string& path) {
  for (char c : path) {
    if (!plain(c, "_./+,:@=-")) {
      throw util::InputError("sweep --emit slurm: " + what + " '" + printable(path) +
                             "': expected a path of letters, digits and _ . / + , : @ = - (it "
                             "goes into an #SBATCH line), found '" +
                             printable(std::string(1, c)) + "'");
    }
  }
}

}  // namespace fedgrid::app
