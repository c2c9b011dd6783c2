// Result files of asynchronous runs (fl/async.hpp): rounds.csv has one row per server update,
// clients.csv one row per client job. Same conventions as Recorder (temporary names, renamed by
// finish(); resumed from a checkpoint's sizes); no layers.csv or plan.csv.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/recorder.hpp"

namespace fedgrid::metrics {

// One server update: the model version it produced (1, 2, ...; 0 is the initial model).
struct UpdateRecord {
  long version = 0;
  double t_start = 0, t_end = 0;  // the previous update (0 for the first) and this one
  int updates = 0;                // client updates applied (M, 1 for FedAsync)
  double mean_staleness = kNaN;
  long max_staleness = 0;
  int started = 0, failed = 0, offline = 0;  // jobs started / failed / found offline since t_start
  double train_loss = kNaN;                  // mean over the applied updates
  double val_loss = kNaN, val_accuracy = kNaN, test_loss = kNaN, test_accuracy = kNaN;
  uint64_t bytes_down = 0, bytes_up = 0;  // transfers started / received since t_start
};

// One job: a client downloads version `version_down`, trains, uploads; the server receives the
// update when the model is at `version_up` (staleness = the difference).
struct JobRecord {
  long job = 0;  // 1-based, in the order jobs were started
  int client = 0, batch = 0, steps = 0;
  long version_down = 0, version_up = -1;  // -1: not delivered
  double t_start = kNaN, t_download = kNaN, t_compute = kNaN, t_done = kNaN;
  fl::ClientStatus status = fl::ClientStatus::kFull;  // full | failed | offline
  fl::DropReason reason = fl::DropReason::kNone;      // failed: the phase
  uint64_t bytes_up = 0;
};

class AsyncRecorder {
 public:
  // `resume_sizes`: rounds.csv and clients.csv sizes from a checkpoint (continue those files).
  explicit AsyncRecorder(const std::string& out_dir,
                         const std::vector<uint64_t>* resume_sizes = nullptr);
  // Throws util::SystemError naming the file, the error and the server update if a write
  // failed (e.g. a full disk).
  void update(const UpdateRecord& r);
  void job(const JobRecord& j);
  const std::string& dir() const { return dir_; }
  // Flushes; returns the sizes of rounds.csv, clients.csv and 0 (no layers.csv) for a checkpoint.
  std::vector<uint64_t> flush();
  void finish(const std::string& summary_json);

 private:
  std::string dir_;
  CsvFile rounds_, clients_;
  std::string line_;
  long version_ = 0;  // the last server update recorded
  void check_writes() const;
};

}  // namespace fedgrid::metrics
