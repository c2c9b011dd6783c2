// Values in SimGrid 3.32 platform files, read the way SimGrid reads them (a number, then a unit
// from its tables; a number without unit is taken in the base unit), and the profile files
// (state_file, speed_file, bandwidth_file, latency_file) hosts and links may name.
#pragma once

#include <optional>
#include <string>

namespace fedgrid::platform {

enum class Quantity { kSpeed, kBandwidth, kTime };

// The value of `text` in flop/s, bytes/s or seconds, or nullopt when it is not a number
// followed by one of SimGrid's units for that quantity ("1Gf", "10Mbps", "1.5GiBps", "10ms").
std::optional<double> parse_quantity(const std::string& text, Quantity q);

// Units accepted for a quantity, for messages ("f, kf, Mf, ..., flops").
std::string unit_examples(Quantity q);

// Checks a profile file: lines "DATE VALUE" (finite, dates >= 0 and non-decreasing, values
// >= 0), "PERIODICITY X" or "LOOPAFTER X" (X >= 0), blank lines and '#' comments. Throws
// util::InputError naming the file and line.
void check_profile_file(const std::string& path);

}  // namespace fedgrid::platform
