// Consistency of a checkpoint with its run and its result files (see checkpoint_check.hpp).
#include "io/checkpoint_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "util/error.hpp"

namespace fedgrid::io {

namespace {

namespace fs = std::filesystem;

struct Prefix {
  uint64_t lines = 0;
  std::string last_row;  // the last complete line before the size
  bool ends_with_newline = false;
};

// Reads the first `size` bytes of the file (its temporary name first, as the recorder resumes).
Prefix read_prefix(const std::string& dir, const std::string& name, uint64_t size,
                   const std::string& where) {
  std::string path = (fs::path(dir) / ("." + name + ".partial")).string();
  std::error_code ec;
  if (!fs::exists(path, ec)) path = (fs::path(dir) / name).string();
  std::FILE* f = std::fopen(path.c_str(), "rb");
  const uint64_t have = f ? static_cast<uint64_t>(fs::file_size(path, ec)) : 0;
  if (!f || ec || have < size) {
    if (f) std::fclose(f);
    util::throw_input_error(
        where, 0, "files",
        std::to_string(size) + " bytes written to " + name + " before the checkpoint",
        f ? std::to_string(have) + " bytes" : "no such file");
  }
  Prefix p;
  std::vector<char> buf(1 << 20);
  std::string tail;
  for (uint64_t left = size; left > 0;) {
    const std::size_t n = std::fread(buf.data(), 1, std::min<uint64_t>(left, buf.size()), f);
    if (n == 0) break;
    p.lines += static_cast<uint64_t>(std::count(buf.begin(), buf.begin() + n, '\n'));
    tail.append(buf.data(), n);
    if (tail.size() > 8192) tail.erase(0, tail.size() - 4096);
    left -= n;
  }
  std::fclose(f);
  p.ends_with_newline = !tail.empty() && tail.back() == '\n';
  if (p.ends_with_newline) {
    const auto start = tail.rfind('\n', tail.size() - 2);
    p.last_row = tail.substr(start == std::string::npos ? 0 : start + 1);
  }
  return p;
}

}  // namespace

void check_checkpoint(const std::string& dir, const Checkpoint& c, const RunShape& shape) {
  const std::string where = (fs::path(dir) / "checkpoint").string();
  auto bad = [&](const std::string& key, const std::string& expected, const std::string& found) {
    util::throw_input_error(where, 0, key, expected, found + " (an edited or foreign checkpoint)");
  };
  if (c.round < 0 || c.round >= shape.rounds) {
    bad("round", "rounds finished in [0, " + std::to_string(shape.rounds - 1) + "]",
        std::to_string(c.round));
  }
  if (!std::isfinite(c.t_next) || c.t_next < 0 || !std::isfinite(c.clock) || c.clock < 0) {
    bad("clock", "finite times >= 0",
        util::short_number(c.t_next) + " and " + util::short_number(c.clock));
  }
  for (const nn::Vector* v : {&c.params, &c.velocity}) {
    const std::size_t want = v == &c.params ? shape.params : shape.velocity;
    if (static_cast<std::size_t>(v->size()) != want) {
      bad(v == &c.params ? "params" : "velocity", std::to_string(want) + " values",
          std::to_string(v->size()));
    }
    if (!v->allFinite()) bad(v == &c.params ? "params" : "velocity", "finite values", "NaN or inf");
  }
  // The last evaluation (NaN: none yet) was one of the rounds finished.
  if (!std::isnan(c.evaluation_round) &&
      !(c.evaluation_round >= 1 && c.evaluation_round <= c.round)) {
    bad("evaluation_round", "a round in [1, " + std::to_string(c.round) + "] or nan",
        util::short_number(c.evaluation_round));
  }
  const uint64_t r = static_cast<uint64_t>(c.round);
  const char* names[] = {"rounds.csv", "clients.csv", "layers.csv"};
  const uint64_t rows[] = {r, r * static_cast<uint64_t>(shape.clients_per_round),
                           r * static_cast<uint64_t>(shape.stages)};
  for (int i = 0; i < 3; ++i) {
    if (shape.asynchronous && i == 2) {  // no layers.csv
      if (c.file_sizes[i] != 0)
        bad("files", "0 bytes of layers.csv", std::to_string(c.file_sizes[i]));
      continue;
    }
    const Prefix p = read_prefix(dir, names[i], c.file_sizes[i], where);
    const bool any_rows = shape.asynchronous && i == 1;  // one row per job
    if (!p.ends_with_newline || (any_rows ? p.lines < 1 : p.lines != rows[i] + 1)) {
      if (any_rows) {
        bad("files", "clients.csv cut after whole rows",
            std::to_string(c.file_sizes[i]) + " bytes ending in a partial row");
      }
      bad("files",
          std::string(names[i]) + " cut after its header and " + std::to_string(rows[i]) +
              " rows (round " + std::to_string(c.round) + ")",
          std::to_string(c.file_sizes[i]) + " bytes holding " + std::to_string(p.lines) +
              (p.ends_with_newline ? " lines" : " lines and a partial row"));
    }
    if (i == 0 && r > 0) {  // the next round starts where the last one ended
      const std::string& row = p.last_row;
      const auto a = row.find(','), b = row.find(',', a + 1), e = row.find(',', b + 1);
      const double t_end = a == std::string::npos || b == std::string::npos
                               ? NAN
                               : std::strtod(row.substr(b + 1, e - b - 1).c_str(), nullptr);
      if (!(std::fabs(t_end - c.t_next) <= 1e-9 * std::max(1.0, std::fabs(t_end)))) {
        bad("t_next",
            "the end of round " + std::to_string(c.round) + " in rounds.csv (" + row.substr(0, 60) +
                ")",
            util::short_number(c.t_next));
      }
    }
  }
  if (r == 0 && c.t_next != 0)
    bad("t_next", "0 before the first round", util::short_number(c.t_next));
}

}  // namespace fedgrid::io
