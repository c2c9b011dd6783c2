// CSV/JSON output with atomic renames (see recorder.hpp for the file layout).
#include "metrics/recorder.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>

#include "util/error.hpp"
#include "util/json.hpp"

namespace fedgrid::metrics {

namespace fs = std::filesystem;

namespace {

// Appends v like printf("%.10g") (std::to_chars with a precision is specified as printf's %g in
// the C locale), or nothing for NaN: the CSV cell format of fmt() without a temporary string.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    if (!is_missing(v)) out += "nan";  // computed: the run diverged
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "inf" : "-inf";
    return;
  }
  char buf[32];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 10).ptr);
}

template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// CSV cells after the first: ",v1,v2,..." (numbers as fmt(), integers exact, text as is).
void append_cell(std::string& out, double v) { append_number(out, v); }
void append_cell(std::string& out, int v) { append_int(out, v); }
void append_cell(std::string& out, uint64_t v) { append_int(out, v); }
void append_cell(std::string& out, const std::string& v) { out += v; }
void append_cell(std::string& out, const char* v) { out += v; }

template <class T>
void append_cells(std::string& out, std::initializer_list<T> values) {
  for (const T& v : values) {
    out += ',';
    append_cell(out, v);
  }
}

}  // namespace

bool is_missing(double v) {
  if (!std::isnan(v)) return false;
  uint64_t a, b;
  std::memcpy(&a, &v, sizeof a);
  std::memcpy(&b, &kNaN, sizeof b);
  // The payload bits a float conversion keeps (sign and low bits may change on the way).
  constexpr uint64_t kHigh = 0x000FFFFFE0000000ull;
  return (a & kHigh) == (b & kHigh);
}

std::string fmt(double v) {
  std::string s;
  append_number(s, v);
  return s;
}

double as_written(double v) { return util::significant(v, 10); }

CsvFile::CsvFile(const std::string& dir, const std::string& name, const std::string& header,
                 std::optional<uint64_t> resume_size)
    : tmp_((fs::path(dir) / ("." + name + ".partial")).string()),
      final_((fs::path(dir) / name).string()) {
  if (resume_size) {
    // Continue the interrupted run's file (still partial, or renamed by a clean stop) from the
    // checkpoint's size: rows written after the checkpoint are dropped, they will be redone.
    if (!fs::exists(tmp_) && fs::exists(final_)) fs::rename(final_, tmp_);
    std::error_code ec;
    const auto size = fs::file_size(tmp_, ec);
    if (ec || size < *resume_size) {
      throw util::InputError(final_ + ": expected at least " + std::to_string(*resume_size) +
                             " bytes written before the checkpoint, found " +
                             (ec ? std::string("no file") : std::to_string(size) + " bytes"));
    }
    fs::resize_file(tmp_, *resume_size);
    f_ = std::fopen(tmp_.c_str(), "a");
  } else {
    f_ = std::fopen(tmp_.c_str(), "w");
  }
  if (!f_) util::throw_system_error("create", tmp_, errno);
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);  // million-row files: few large writes
  if (!resume_size) line(header);
}

CsvFile::CsvFile(CsvFile&& o) noexcept
    : f_(o.f_), tmp_(std::move(o.tmp_)), final_(o.final_), errno_(o.errno_) {
  o.f_ = nullptr;
}

CsvFile& CsvFile::operator=(CsvFile&& o) noexcept {
  if (f_) std::fclose(f_);
  f_ = o.f_;
  tmp_ = std::move(o.tmp_);
  final_ = std::move(o.final_);
  errno_ = o.errno_;
  o.f_ = nullptr;
  return *this;
}

CsvFile::~CsvFile() {
  if (f_) std::fclose(f_);  // only after an error elsewhere: the run is failing anyway
}

void CsvFile::line(const std::string& text) {
  if (errno_ != 0) return;
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), f_) != text.size() || std::fputc('\n', f_) == EOF) {
    errno_ = errno != 0 ? errno : EIO;
  }
}

uint64_t CsvFile::flush() {
  if (errno_ != 0) util::throw_system_error("write", tmp_, errno_);
  errno = 0;
  if (std::fflush(f_) != 0) util::throw_system_error("write", tmp_, errno != 0 ? errno : EIO);
  // On disk before a checkpoint counts these bytes (a power loss keeps what it says).
  if (::fdatasync(::fileno(f_)) != 0 && errno != EINVAL) {
    util::throw_system_error("write", tmp_, errno);
  }
  return static_cast<uint64_t>(std::ftell(f_));
}

void CsvFile::commit() {
  if (!f_) return;
  std::FILE* f = f_;
  f_ = nullptr;  // closed below whatever happens: never twice
  errno = 0;
  const bool closed = std::fclose(f) == 0;
  if (errno_ != 0 || !closed) {
    util::throw_system_error("write", tmp_, errno_ != 0 ? errno_ : errno != 0 ? errno : EIO);
  }
  std::error_code ec;
  fs::rename(tmp_, final_, ec);
  if (ec) util::throw_system_error("rename", tmp_, ec.value(), " to " + final_);
}

void write_file_atomic(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string tmp = (fs::path(dir) / ("." + name + ".partial")).string();
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) util::throw_system_error("create", tmp, errno);
  errno = 0;
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (!closed && err == 0) err = errno;
  std::error_code ec;
  if (!written || !closed) {
    fs::remove(tmp, ec);
    util::throw_system_error("write", tmp, err != 0 ? err : EIO);
  }
  fs::rename(tmp, fs::path(dir) / name, ec);
  if (ec) {
    const int rename_err = ec.value();
    fs::remove(tmp, ec);
    util::throw_system_error("rename", tmp, rename_err, " to " + (fs::path(dir) / name).string());
  }
}

Recorder::Recorder(const std::string& out_dir, const std::vector<uint64_t>* resume_sizes,
                   bool local_work)
    : dir_(out_dir), local_work_(local_work) {
  fs::create_directories(dir_);
  // The folder counts as complete only once summary.json exists: drop a previous run's.
  fs::remove(fs::path(dir_) / "summary.json");
  auto at = [&](std::size_t i) {
    return resume_sizes ? std::optional<uint64_t>(resume_sizes->at(i)) : std::nullopt;
  };
  rounds_ = CsvFile(dir_, "rounds.csv",
                    "round,t_start,t_end,duration,deadline,lr,selected,full,partial,dropped,"
                    "failed,offline,train_loss,val_loss,val_accuracy,test_loss,test_accuracy,"
                    "bytes_down,bytes_up",
                    at(0));
  clients_ = CsvFile(dir_, "clients.csv",
                     std::string("round,client,batch,stages_done,t_download,t_compute,t_done,"
                                 "status,reason,bytes_up") +
                         (local_work ? ",steps,steps_done" : ""),
                     at(1));
  layers_ = CsvFile(dir_, "layers.csv", "round,stage,name,contributors,expected_p,updated", at(2));
}

std::vector<uint64_t> Recorder::flush() {
  check_writes();
  return {rounds_.flush(), clients_.flush(), layers_.flush()};
}

void Recorder::check_writes() const {
  for (const CsvFile* f : {&rounds_, &clients_, &layers_}) {
    if (f->error() != 0) {
      util::throw_system_error("write", f->path(), f->error(),
                               " (in round " + std::to_string(round_) +
                                   "; the run stops there, its files are incomplete)");
    }
  }
}

void Recorder::round(const RoundRecord& r) {
  round_ = r.round;
  std::string& s = line_;
  s.clear();
  append_int(s, r.round);
  append_cells<double>(s, {r.t_start, r.t_end, r.t_end - r.t_start, r.deadline, r.lr});
  append_cells<int>(s, {r.selected, r.full, r.partial, r.dropped, r.failed, r.offline});
  append_cells<double>(s, {r.train_loss, r.val_loss, r.val_accuracy, r.test_loss, r.test_accuracy});
  append_cells<uint64_t>(s, {r.bytes_down, r.bytes_up});
  rounds_.line(s);
  check_writes();
}

void Recorder::client(const ClientRecord& c) {
  round_ = c.round;
  std::string& s = line_;
  s.clear();
  append_int(s, c.round);
  append_cells<int>(s, {c.client, c.batch, c.stages_done});
  append_cells<double>(s, {c.t_download, c.t_compute, c.t_done});
  append_cells<const char*>(s, {fl::status_name(c.status), fl::reason_name(c.reason)});
  append_cells<uint64_t>(s, {c.bytes_up});
  if (local_work_) append_cells<int>(s, {c.steps, c.steps_done});
  clients_.line(s);
}

void Recorder::layer(const LayerRecord& l) {
  std::string& s = line_;
  s.clear();
  append_int(s, l.round);
  append_cells<int>(s, {l.stage});
  append_cells<std::string>(s, {l.name});
  append_cells<int>(s, {l.contributors});
  append_cells<double>(s, {l.expected_p});
  s += l.updated ? ",1" : ",0";
  layers_.line(s);
}

void Recorder::finish(const std::string& summary_json) {
  check_writes();
  rounds_.commit();
  clients_.commit();
  layers_.commit();
  write_file_atomic(dir_, "summary.json", summary_json);
}

}  // namespace fedgrid::metrics
