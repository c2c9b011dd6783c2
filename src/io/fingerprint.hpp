// What a run was computed from, recorded in its checkpoints so that --resume refuses to splice
// a run from changed inputs: every file it reads (scenario, model, platform XML and its profile
// files, outage trace, ADEL-FL inputs CSV, data files), each by size and a fast 64-bit digest of
// its bytes, and the build (version, compiler, flags, instruction set).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/scenario.hpp"

namespace fedgrid::io {

// 64-bit digest of a file's bytes (not cryptographic: it detects edits, not attacks).
// util::SystemError if the file cannot be read.
uint64_t file_digest(const std::string& path);

// The files a run of `s` reads, as (what, path): "scenario", "model", "platform", "profile",
// "outage trace", "inputs_csv", "data".
std::vector<std::pair<std::string, std::string>> run_inputs(const Scenario& s);

// One line per input: "WHAT<TAB>PATH<TAB>SIZE<TAB>DIGEST".
std::string inputs_fingerprint(const Scenario& s);

// The compile-time part of the build: FedGrid version, compiler, flags and instruction set
// extensions (results may differ in the last bits across them).
std::string build_fingerprint();

// "" when `now` equals `then`, else the changes in words ("the model file M (512 -> 498 bytes),
// the data file D (same size, other bytes)"), for messages.
std::string describe_changes(const std::string& then, const std::string& now);

}  // namespace fedgrid::io
