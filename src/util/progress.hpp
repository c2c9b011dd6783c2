// Progress reports of a run on stderr: one line redrawn in place on a terminal, or a line every N
// rounds or S seconds when stderr is a file or a pipe; with the rate (rounds per wall second) and
// an estimate of the time left. Only stderr: result files never depend on it.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace fedgrid::util {

struct ProgressMode {
  enum Kind { kAuto, kBar, kLines, kNone };
  Kind kind = kAuto;
  int every_rounds = 1;      // kLines: a line every N rounds (and the first and last)...
  double every_seconds = 0;  // ...or, when > 0, at most one line per S wall seconds instead

  // "auto" | "bar" | "lines" | "lines:N" | "lines:Ss" | "none"; throws util::InputError naming
  // `flag` and the accepted forms.
  static ProgressMode parse(const std::string& text, const std::string& flag);
};

class Progress {
 public:
  // `what` names a step ("round", "update"); `total` steps at most, `budget` virtual seconds at
  // most (infinite: none). kAuto becomes kBar when `out` is a terminal, kLines otherwise.
  Progress(ProgressMode mode, const char* what, long total, double budget, std::FILE* out = stderr);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Step `step` ended at virtual time `t`; `details` is the rest of the line (counts, accuracy).
  void step(long step, double t, const std::string& details);
  // Ends a redrawn line (before any other message and at the end of the run).
  void finish();
  // Before printing another message to the same stream: ends a redrawn line if one is open.
  void interrupt() { finish(); }

  // "1:02:03", "4:05", "12s": a duration for humans (negative or NaN: "?").
  static std::string duration(double seconds);

 private:
  ProgressMode mode_;
  const char* what_;
  long total_;
  double budget_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_print_;
  long first_step_ = -1;  // the first step seen (resumed runs start beyond 1)
  double first_t_ = 0;    // virtual time before the first step seen
  bool open_line_ = false;
  std::size_t last_width_ = 0;
};

}  // namespace fedgrid::util
