// Progress line of a run (see progress.hpp).
#include "util/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace fedgrid::util {

namespace {

bool whole_number(const std::string& s, double lo, double hi, double* out) {
  if (s.empty() || s.size() > 12) return false;
  for (char c : s) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !(v >= lo && v <= hi)) return false;
  *out = v;
  return true;
}

}  // namespace

ProgressMode ProgressMode::parse(const std::string& text, const std::string& flag) {
  ProgressMode m;
  const auto bad = [&]() {
    throw InputError(flag +
                     " expects auto, bar, lines, lines:N (every N rounds), lines:Ss (every " +
                     "S wall seconds) or none, found '" + text + "'");
  };
  if (text == "auto") {
    m.kind = kAuto;
  } else if (text == "bar") {
    m.kind = kBar;
  } else if (text == "none") {
    m.kind = kNone;
  } else if (text == "lines") {
    m.kind = kLines;
  } else if (text.rfind("lines:", 0) == 0) {
    m.kind = kLines;
    std::string v = text.substr(6);
    double x = 0;
    if (!v.empty() && v.back() == 's') {
      v.pop_back();
      if (!whole_number(v, 0.001, 1e6, &x)) bad();
      m.every_seconds = x;
    } else {
      if (v.find('.') != std::string::npos || !whole_number(v, 1, 1e9, &x)) bad();
      m.every_rounds = static_cast<int>(x);
    }
  } else {
    bad();
  }
  return m;
}

Progress::Progress(ProgressMode mode, const char* what, long total, double budget, std::FILE* out)
    : mode_(mode), what_(what), total_(total), budget_(budget), out_(out) {
  if (mode_.kind == ProgressMode::kAuto) {
    mode_.kind = isatty(fileno(out_)) ? ProgressMode::kBar : ProgressMode::kLines;
  }
  start_ = last_print_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

std::string Progress::duration(double s) {
  if (!(s >= 0) || !std::isfinite(s)) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", t);
  }
  return buf;
}

void Progress::step(long step, double t, const std::string& details) {
  if (mode_.kind == ProgressMode::kNone) return;
  const auto now = std::chrono::steady_clock::now();
  if (first_step_ < 0) {  // the baseline of the rate: this step's end
    first_step_ = step;
    first_t_ = t;
    start_ = now;
  }
  const bool last = step >= total_ || t >= budget_;
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  bool print = step == first_step_ || last;
  if (mode_.kind == ProgressMode::kBar) {
    print = print || since_print >= 0.1;
  } else if (mode_.every_seconds > 0) {
    print = print || since_print >= mode_.every_seconds;
  } else {
    print = print || (step - first_step_) % mode_.every_rounds == 0;
  }
  if (!print) return;
  last_print_ = now;
  const double wall = std::chrono::duration<double>(now - start_).count();
  std::string line =
      "[fedgrid] " + std::string(what_) + " " + std::to_string(step) + "/" + std::to_string(total_);
  char buf[96];
  std::snprintf(buf, sizeof buf, "  t=%.3f", t);
  line += buf;
  line += details;
  const long done = step - first_step_;
  if (done > 0 && wall > 0) {
    const double rate = done / wall;  // steps per wall second
    double left = (total_ - step) / rate;
    if (std::isfinite(budget_) && t > first_t_) {  // the budget may end the run first
      left = std::min(left, (budget_ - t) / ((t - first_t_) / wall));
    }
    std::snprintf(buf, sizeof buf, "  %.3g %ss/s  ETA %s", rate, what_,
                  last ? "0s" : duration(left).c_str());
    line += buf;
  }
  if (mode_.kind == ProgressMode::kBar) {
    const std::size_t width = line.size();
    if (width < last_width_) line.append(last_width_ - width, ' ');
    last_width_ = width;
    std::fprintf(out_, "\r%s", line.c_str());
    open_line_ = true;
    if (last) finish();
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void Progress::finish() {
  if (!open_line_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  open_line_ = false;
  last_width_ = 0;
}

}  // namespace fedgrid::util
