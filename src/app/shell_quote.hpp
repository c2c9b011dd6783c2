// Text that goes into emitted job files (jobs.txt lines, sweep.sbatch): each argument quoted
// for the shell, and nothing that could end a line or a quote early. A control character
// (newline, carriage return, ...) in a path or value is refused: one line must stay one command.
#pragma once

#include <string>

namespace fedgrid::app {

// `s` as one shell word: unchanged if made of [A-Za-z0-9_./=:,@%+-] only, else in single quotes
// (a quote inside written '\''). The result never starts a comment, expansion or redirection.
std::string shell_quote(const std::string& s);

// True when `s` holds a byte below 0x20 or 0x7f.
bool has_control_char(const std::string& s);

// Throws util::InputError "sweep --emit: WHAT 'S' holds a control character ..." if it does.
void refuse_control_chars(const std::string& what, const std::string& s);

// A path for an #SBATCH option: refused (util::InputError) unless made of characters sbatch
// reads literally ([A-Za-z0-9_./+,:@=-]); Slurm's filename patterns use '%' and its line parser
// splits at spaces and quotes.
void check_sbatch_path(const std::string& what, const std::string& path);

}  // namespace fedgrid::app
