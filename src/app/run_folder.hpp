// What a run's output folder already holds, and whether a new run may write there: a finished
// run (complete or diverged) is kept unless --force, a stopped one is continued with --resume.
#pragma once

#include <string>

namespace fedgrid::app {

struct FolderState {
  bool complete = false;    // summary.json says "complete": true
  bool diverged = false;    // summary.json says "diverged": true
  bool checkpoint = false;  // DIR/checkpoint exists (a stopped or killed run)
  std::string rounds;       // rounds done, from summary.json ("" if none)
  std::string scenario;     // the scenario name in summary.json
};

// Reads DIR/summary.json (only if whole: a JSON object) and checks for DIR/checkpoint.
FolderState inspect_folder(const std::string& dir);

// Before a new run (not --resume) writes `dir`, which this process has locked: throws
// util::InputError for a finished or stopped run there unless `force`; then removes a previous
// summary.json and checkpoint, so that the folder never looks complete or resumable before
// this run says so.
void claim_for_new_run(const std::string& dir, bool force);

// Before --resume: `dir` must be a folder with a checkpoint (a finished run has none).
void check_resumable(const std::string& dir);

}  // namespace fedgrid::app
