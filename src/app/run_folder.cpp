// Output folder states for `fedgrid run` (see run_folder.hpp).
#include "app/run_folder.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace fedgrid::app {

namespace fs = std::filesystem;

namespace {

// The raw token after "key": in one of FedGrid's flat JSON files ("" if absent).
std::string json_token(const std::string& text, const std::string& key) {
  const std::string tag = "\"" + key + "\": ";
  auto pos = text.find(tag);
  if (pos == std::string::npos) return "";
  pos += tag.size();
  auto end = text.find_first_of(",\n}", pos);
  std::string v = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

FolderState inspect_folder(const std::string& dir) {
  FolderState st;
  std::error_code ec;
  st.checkpoint = fs::exists(fs::path(dir) / "checkpoint", ec);
  std::ifstream in(fs::path(dir) / "summary.json", std::ios::binary);
  if (!in) return st;
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const bool whole =
      text.size() > 3 && text.front() == '{' && text.compare(text.size() - 2, 2, "}\n") == 0;
  if (!whole) return st;
  st.complete = json_token(text, "complete") == "true";
  st.diverged = json_token(text, "diverged") == "true";
  st.rounds = json_token(text, "rounds");
  st.scenario = json_token(text, "scenario");
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
