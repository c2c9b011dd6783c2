// Checkpoint file (see checkpoint.hpp). Layout: a text header of "key value" lines (doubles as
// exact hexadecimal floats), the invocation text, the raw float32 parameters and velocity, and
// a last line "checksum <FNV-1a 64 of everything before it>".
#include "io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace fedgrid::io {

namespace {

namespace fs = std::filesystem;

// Version 4: the test evaluations' milestones (summary.json's final_evaluation_*, *_at_budget,
// time_to_target). Version 3 added each client's persistent optimiser state (client_state), the
// inputs the run read (fingerprints in the invocation) and, for asynchronous runs, the model
// versions in flight. Older versions are refused with a message.
constexpr const char* kMagic = "FEDGRID-CHECKPOINT 4\n";
constexpr const char* kMagicPrefix = "FEDGRID-CHECKPOINT ";

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

void append_floats(std::string& out, const nn::Vector& v) {
  if (v.size() == 0) return;
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// Sequential reader of the file's text with errors naming the file.
class Reader {
 public:
  Reader(std::string path, const std::string& text) : path_(std::move(path)), text_(text) {}

  std::string line() {
    const auto end = text_.find('\n', pos_);
    if (end == std::string::npos) bad("a complete header");
    std::string l = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return l;
  }
  // The value of the next line, which must be "key value".
  std::string value(const std::string& key) {
    const std::string l = line();
    if (l.rfind(key + " ", 0) != 0) bad("a '" + key + "' line");
    return l.substr(key.size() + 1);
  }
  double number(const std::string& key) {
    const std::string v = value(key);
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0') bad("a number for '" + key + "'");
    return d;
  }
  uint64_t count(const std::string& key) {
    const std::string v = value(key);
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') bad("an integer for '" + key + "'");
    return n;
  }
  std::string bytes(std::size_t n) {
    if (text_.size() - pos_ < n) bad(std::to_string(n) + " more bytes");
    std::string b = text_.substr(pos_, n);
    pos_ += n;
    return b;
  }
  nn::Vector floats(std::size_t n) {
    const std::string b = bytes(n * sizeof(float));
    nn::Vector v(static_cast<Eigen::Index>(n));
    if (n > 0) std::memcpy(v.data(), b.data(), b.size());  // (timing-only runs have no model)
    return v;
  }
  bool at_end() const { return pos_ == text_.size(); }
  [[noreturn]] void bad(const std::string& what) const {
    util::throw_input_error(path_, 0, "", "a FedGrid checkpoint with " + what,
                            "a truncated or corrupt file");
  }

 private:
  std::string path_;
  const std::string& text_;
  std::size_t pos_ = 0;
};

// Writes dir/name through a temporary file that reaches the disk (fdatasync) before it is
// renamed into place, then syncs the folder: after a power loss the checkpoint is the old one or
// the new one, and the rows it counts are on disk. util::SystemError on any failure.
void write_durably(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string tmp = (fs::path(dir) / ("." + name + ".partial")).string();
  const std::string path = (fs::path(dir) / name).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) util::throw_system_error("create", tmp, errno);
  std::size_t done = 0;
  int err = 0;
  while (done < text.size() && err == 0) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno != EINTR) err = errno;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    util::throw_system_error("write", tmp, err);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // the rename itself; some filesystems refuse fsync on folders: no error
    ::close(dfd);
  }
}

}  // namespace

void write_checkpoint(const std::string& dir, const Checkpoint& c) {
  std::string s = kMagic;
  s += "round " + std::to_string(c.round) + "\n";
  s += "t_next " + hex(c.t_next) + "\n";
  s += "clock " + hex(c.clock) + "\n";
  s += "files";
  for (uint64_t n : c.file_sizes) s += " " + std::to_string(n);
  s += "\n";
  s += "val_accuracy " + hex(c.val_accuracy) + "\n";
  s += "test_accuracy " + hex(c.test_accuracy) + "\n";
  s += "test_loss " + hex(c.test_loss) + "\n";
  s += "params " + std::to_string(c.params.size()) + "\n";
  s += "velocity " + std::to_string(c.velocity.size()) + "\n";
  std::size_t clients_with_state = 0;
  for (const auto& v : c.client_state) clients_with_state += v.size() > 0;
  s += "client_state " + std::to_string(c.client_state.size()) + " " +
       std::to_string(clients_with_state) + "\n";
  s += "evaluation_round " + hex(c.evaluation_round) + "\n";
  s += "evaluation_time " + hex(c.evaluation_time) + "\n";
  s += "budget_accuracy " + hex(c.budget_accuracy) + "\n";
  s += "budget_loss " + hex(c.budget_loss) + "\n";
  s += "target_time " + hex(c.target_time) + "\n";
  s += "invocation " + std::to_string(c.invocation.size()) + "\n";
  s += c.invocation;
  append_floats(s, c.params);
  append_floats(s, c.velocity);
  // Each client's persistent buffer: its id (decimal line), then its floats.
  for (std::size_t u = 0; u < c.client_state.size(); ++u) {
    if (c.client_state[u].size() == 0) continue;
    s += std::to_string(u) + " " + std::to_string(c.client_state[u].size()) + "\n";
    append_floats(s, c.client_state[u]);
  }
  // Asynchronous runs only: the older model versions clients in flight trained on.
  if (!c.versions.empty()) {
    s += "versions " + std::to_string(c.versions.size()) + "\n";
    for (const auto& [v, params] : c.versions) {
      s += std::to_string(v) + " " + std::to_string(params.size()) + "\n";
      append_floats(s, params);
    }
  }
  char sum[40];
  std::snprintf(sum, sizeof sum, "checksum %016" PRIx64 "\n", fnv1a(s));
  s += sum;
  write_durably(dir, "checkpoint", s);
}

Checkpoint read_checkpoint(const std::string& dir) {
  const std::string path = (fs::path(dir) / "checkpoint").string();
  std::ifstream in =
      util::open_input(path, "a checkpoint (written by --checkpoint-every or a stop)");
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  // The checksum line closes the file: "checksum " + 16 hex digits + "\n".
  constexpr std::size_t kSumLine = 9 + 16 + 1;
  Reader whole(path, text);
  if (text.compare(0, std::strlen(kMagicPrefix), kMagicPrefix) == 0 &&
      text.compare(0, std::strlen(kMagic), kMagic) != 0) {
    const std::string v = text.substr(
        std::strlen(kMagicPrefix),
        text.find('\n') == std::string::npos ? 8 : text.find('\n') - std::strlen(kMagicPrefix));
    util::throw_input_error(path, 1, "",
                            "a version 4 checkpoint (this FedGrid records the inputs a run read, "
                            "to refuse a resume from changed ones, clients' optimiser state and "
                            "what the test evaluations reached)",
                            "version " + v.substr(0, 8) +
                                ", from an older FedGrid: start the run again, or resume it with "
                                "the FedGrid that stopped it");
  }
  if (text.size() < kSumLine || text.compare(0, std::strlen(kMagic), kMagic) != 0) {
    whole.bad("the header '" + std::string(kMagic, std::strlen(kMagic) - 1) + "'");
  }
  const std::string body = text.substr(0, text.size() - kSumLine);
  char sum[40];
  std::snprintf(sum, sizeof sum, "checksum %016" PRIx64 "\n", fnv1a(body));
  if (text.compare(body.size(), kSumLine, sum) != 0) whole.bad("a matching checksum");
  Reader r(path, body);
  r.line();  // magic
  Checkpoint c;
  c.round = static_cast<int>(r.count("round"));
  c.t_next = r.number("t_next");
  c.clock = r.number("clock");
  std::istringstream files(r.value("files"));
  for (uint64_t n = 0; files >> n;) c.file_sizes.push_back(n);
  if (c.file_sizes.size() != 3) r.bad("3 file sizes");
  c.val_accuracy = r.number("val_accuracy");
  c.test_accuracy = r.number("test_accuracy");
  c.test_loss = r.number("test_loss");
  const uint64_t params = r.count("params");
  const uint64_t velocity = r.count("velocity");
  std::istringstream state(r.value("client_state"));
  uint64_t clients = 0, with_state = 0;
  if (!(state >> clients >> with_state) || with_state > clients || clients > (1u << 30)) {
    r.bad("'client_state <clients> <clients with a buffer>'");
  }
  c.evaluation_round = r.number("evaluation_round");
  c.evaluation_time = r.number("evaluation_time");
  c.budget_accuracy = r.number("budget_accuracy");
  c.budget_loss = r.number("budget_loss");
  c.target_time = r.number("target_time");
  c.invocation = r.bytes(r.count("invocation"));
  c.params = r.floats(params);
  c.velocity = r.floats(velocity);
  c.client_state.assign(clients, nn::Vector());
  for (uint64_t k = 0; k < with_state; ++k) {
    std::istringstream entry(r.line());
    uint64_t u = 0, n = 0;
    if (!(entry >> u >> n) || u >= clients || n > params || c.client_state[u].size() > 0) {
      r.bad("a client buffer header '<client> <size>'");
    }
    c.client_state[u] = r.floats(n);
  }
  if (!r.at_end()) {
    const uint64_t versions = r.count("versions");
    for (uint64_t k = 0; k < versions; ++k) {
      std::istringstream entry(r.line());
      long v = 0;
      uint64_t n = 0;
      if (!(entry >> v >> n) || v < 0 || n != params) r.bad("a model version header '<v> <size>'");
      c.versions.emplace_back(v, r.floats(n));
    }
  }
  if (!r.at_end()) r.bad("nothing after the model versions");
  return c;
}

}  // namespace fedgrid::io
