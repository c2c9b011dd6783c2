// Output folder states for `fedgrid run` (see run_folder.hpp).
#include "app/run_folder.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.hpp"
#include "util/json.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;

FolderState inspect_folder(const std::string& dir) {
  FolderState st;
  std::error_code ec;
  st.checkpoint = fs::exists(fs::path(dir) / "checkpoint", ec);
  std::ifstream in(fs::path(dir) / "summary.json", std::ios::binary);
  if (!in) return st;
  std::ostringstream buf;
  buf << in.rdbuf();
  // A file that does not parse (cut short by a full disk, say) is no finished run.
  const util::Json j = util::Json::parse(buf.str(), nullptr, false);
  if (!j.is_object()) return st;
  const auto at = [&j](const char* key) {
    const auto it = j.find(key);
    return it == j.end() ? util::Json() : *it;
  };
  st.complete = at("complete") == true;
  st.diverged = at("diverged") == true;
  if (at("rounds").is_number()) st.rounds = at("rounds").dump();
  if (at("scenario").is_string()) st.scenario = at("scenario").get<std::string>();
  return st;
}

void claim_for_new_run(const std::string& dir, bool force) {
  const FolderState st = inspect_folder(dir);
  if (!force && (st.complete || st.diverged)) {
    util::throw_input_error(
        dir, 0, "", "a folder without a finished run (use --force to replace it, or another -o)",
        std::string(st.complete ? "the complete run" : "the diverged run") + " of '" + st.scenario +
            "' (" + st.rounds + " rounds, summary.json)");
  }
  if (!force && st.checkpoint) {
    util::throw_input_error(dir, 0, "",
                            "a folder without a stopped run (continue it with: fedgrid run "
                            "--resume " +
                                dir + "; or use --force to start over)",
                            "a checkpoint");
  }
  std::error_code ec;
  fs::remove(fs::path(dir) / "summary.json", ec);
  fs::remove(fs::path(dir) / "checkpoint", ec);
}

void check_resumable(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    util::throw_input_error(dir, 0, "", "the folder of a stopped run (--resume)",
                            fs::exists(dir, ec) ? "not a folder" : "no such folder");
  }
  const FolderState st = inspect_folder(dir);
  if (!st.checkpoint && (st.complete || st.diverged)) {
    util::throw_input_error(
        dir, 0, "", "a stopped run with a checkpoint (--resume)",
        std::string(st.complete ? "a complete" : "a diverged") + " run: nothing to resume");
  }
}

}  // namespace fedgrid::app
