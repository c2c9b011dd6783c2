// Typed per-round, per-client and per-stage records streamed to CSV files under temporary names;
// finish() writes summary.json and renames everything, so a directory is either whole or marked.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "fl/types.hpp"

namespace fedgrid::metrics {

// "No value" (a round not evaluated, a wait-for-all round's deadline): a quiet NaN with its own
// payload, written as an empty CSV cell. Any other NaN is a computed one (a diverged loss) and is
// written "nan". Arithmetic keeps a NaN operand's payload (IEEE 754), so values derived from a
// missing one stay missing.
constexpr double kNaN = __builtin_nan("0x25A5A5A5A5A5A");  // bits 0x7FFA5A5A5A5A5A5A

// True for kNaN (and NaNs derived from it), false for every number and every other NaN.
bool is_missing(double v);

struct RoundRecord {
  int round = 0;
  double t_start = 0, t_end = 0;
  double deadline = kNaN;  // duration; NaN when the round waits for everyone
  double lr = 0;
  int selected = 0, full = 0, partial = 0, dropped = 0;
  int failed = 0, offline = 0;  // the device went off during the round / was off at its start
  double train_loss = kNaN;     // mean over contributing clients' batches
  double val_loss = kNaN, val_accuracy = kNaN, test_loss = kNaN, test_accuracy = kNaN;
  uint64_t bytes_down = 0, bytes_up = 0;
};

struct ClientRecord {
  int round = 0, client = 0, batch = 0, stages_done = 0;
  double t_download = kNaN, t_compute = kNaN, t_done = kNaN;
  fl::ClientStatus status = fl::ClientStatus::kDropped;
  // dropped: download | compute | incomplete | upload | timeout; failed: the phase the device
  // went off in (download | compute | upload); full, partial, offline: none.
  fl::DropReason reason = fl::DropReason::kNone;
  uint64_t bytes_up = 0;
  int steps = 1, steps_done = 0;  // local steps planned and finished
};

struct LayerRecord {
  int round = 0, stage = 0;
  std::string name;
  int contributors = 0;
  double expected_p = kNaN;  // P(no contributor) under the paper's timing model
  bool updated = false;
};

class CsvFile {
 public:
  CsvFile() = default;
  // Starts dir/name (under a temporary name) with `header`, or with `resume_size` continues the
  // file an interrupted run left (temporary or final name) from that many bytes.
  CsvFile(const std::string& dir, const std::string& name, const std::string& header,
          std::optional<uint64_t> resume_size = std::nullopt);
  CsvFile(CsvFile&&) noexcept;
  CsvFile& operator=(CsvFile&&) noexcept;
  ~CsvFile();
  // Appends a row. A failed write is remembered (error()), not thrown: records are written in
  // the middle of a round, where an exception would leave the round's work half done.
  void line(const std::string& text);
  uint64_t flush();  // writes the buffer out; returns the file's size; util::SystemError
  void commit();     // close and rename to the final name; util::SystemError, never closes twice
  int error() const { return errno_; }  // the errno of the first failed write, 0 if none
  const std::string& path() const { return tmp_; }

 private:
  std::FILE* f_ = nullptr;
  std::string tmp_, final_;
  int errno_ = 0;
};

// Number formatting shared by every output: %.10g; empty for kNaN, "nan" for other NaNs.
std::string fmt(double v);
// The double fmt(v) reads back as (v itself when NaN or infinite): what the JSON files store, so
// that a number read from summary.json equals the same number read from a CSV cell.
double as_written(double v);

class Recorder {
 public:
  // With `resume_sizes` (rounds, clients, layers: from a checkpoint) the files of the
  // interrupted run are continued from those sizes.
  // `local_work`: clients.csv gets the columns steps, steps_done (runs that set local work).
  explicit Recorder(const std::string& out_dir, const std::vector<uint64_t>* resume_sizes = nullptr,
                    bool local_work = false);
  // Ends the round's records: throws util::SystemError naming the file, the error and the round
  // if any write of the round (or before) failed, e.g. a full disk.
  void round(const RoundRecord& r);
  void client(const ClientRecord& c);
  void layer(const LayerRecord& l);
  const std::string& dir() const { return dir_; }
  // Flushes the CSV files; returns their sizes (rounds, clients, layers) for a checkpoint.
  std::vector<uint64_t> flush();
  // Writes summary.json and renames the CSV files into place.
  void finish(const std::string& summary_json);

 private:
  std::string dir_;
  CsvFile rounds_, clients_, layers_;
  bool local_work_ = false;
  std::string line_;  // reused buffer of the row being written
  int round_ = 0;     // the round of the last record
  void check_writes() const;
};

// Writes `text` to dir/name atomically (temporary name + rename); util::SystemError (and no
// temporary file left) if a write, the close or the rename fails.
void write_file_atomic(const std::string& dir, const std::string& name, const std::string& text);

}  // namespace fedgrid::metrics
