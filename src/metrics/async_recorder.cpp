// CSV rows of asynchronous runs (see async_recorder.hpp).
#include "metrics/async_recorder.hpp"

#include <filesystem>
#include <optional>

#include "util/error.hpp"

namespace fedgrid::metrics {

namespace fs = std::filesystem;

namespace {

void cell(std::string& s, double v) {
  s += ',';
  s += fmt(v);
}
void cell(std::string& s, long v) {
  s += ',';
  s += std::to_string(v);
}
void cell(std::string& s, const char* v) {
  s += ',';
  s += v;
}

}  // namespace

AsyncRecorder::AsyncRecorder(const std::string& out_dir, const std::vector<uint64_t>* resume)
    : dir_(out_dir) {
  fs::create_directories(dir_);
  fs::remove(fs::path(dir_) / "summary.json");
  if (!resume) {  // files a round-based run may have left in the folder
    for (const char* name : {"layers.csv", "plan.csv"}) fs::remove(fs::path(dir_) / name);
  }
  auto at = [&](std::size_t i) {
    return resume ? std::optional<uint64_t>(resume->at(i)) : std::nullopt;
  };
  rounds_ = CsvFile(dir_, "rounds.csv",
                    "version,t_start,t_end,duration,updates,mean_staleness,max_staleness,started,"
                    "failed,offline,train_loss,val_loss,val_accuracy,test_loss,test_accuracy,"
                    "bytes_down,bytes_up",
                    at(0));
  clients_ = CsvFile(dir_, "clients.csv",
                     "job,client,batch,steps,version_down,version_up,staleness,t_start,t_download,"
                     "t_compute,t_done,status,reason,bytes_up",
                     at(1));
}

void AsyncRecorder::update(const UpdateRecord& r) {
  std::string& s = line_;
  s = std::to_string(r.version);
  for (double v : {r.t_start, r.t_end, r.t_end - r.t_start}) cell(s, v);
  cell(s, static_cast<long>(r.updates));
  cell(s, r.mean_staleness);
  cell(s, r.max_staleness);
  for (int v : {r.started, r.failed, r.offline}) cell(s, static_cast<long>(v));
  for (double v : {r.train_loss, r.val_loss, r.val_accuracy, r.test_loss, r.test_accuracy})
    cell(s, v);
  for (uint64_t v : {r.bytes_down, r.bytes_up}) cell(s, static_cast<long>(v));
  rounds_.line(s);
  version_ = r.version;
  check_writes();
}

void AsyncRecorder::job(const JobRecord& j) {
  std::string& s = line_;
  s = std::to_string(j.job);
  for (int v : {j.client, j.batch, j.steps}) cell(s, static_cast<long>(v));
  cell(s, j.version_down);
  if (j.version_up >= 0) {
    cell(s, j.version_up);
    cell(s, j.version_up - j.version_down);
  } else {
    s += ",,";
  }
  for (double v : {j.t_start, j.t_download, j.t_compute, j.t_done}) cell(s, v);
  cell(s, fl::status_name(j.status));
  cell(s, fl::reason_name(j.reason));
  cell(s, static_cast<long>(j.bytes_up));
  clients_.line(s);
}

std::vector<uint64_t> AsyncRecorder::flush() {
  check_writes();
  return {rounds_.flush(), clients_.flush(), 0};
}

void AsyncRecorder::check_writes() const {
  for (const CsvFile* f : {&rounds_, &clients_}) {
    if (f->error() != 0) {
      util::throw_system_error("write", f->path(), f->error(),
                               " (at server update " + std::to_string(version_) +
                                   "; the run stops there, its files are incomplete)");
    }
  }
}

void AsyncRecorder::finish(const std::string& summary_json) {
  check_writes();
  rounds_.commit();
  clients_.commit();
  write_file_atomic(dir_, "summary.json", summary_json);
}

}  // namespace fedgrid::metrics
