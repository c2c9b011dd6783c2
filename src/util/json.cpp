// JSON writing and reading helpers (see json.hpp).
#include "util/json.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

#include "util/error.hpp"

namespace fedgrid::util {

std::string json_text(const Json& j) {
  // Invalid UTF-8 (a path or host name in another encoding) becomes U+FFFD instead of throwing.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

double significant(double v, int digits) {
  if (!std::isfinite(v)) return v;
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, digits).ptr;
  double back = v;
  std::from_chars(buf, end, back);
  return back;
}

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json read_json_file(const std::string& path, const std::string& expected) {
  std::ifstream in = open_input(path, expected);
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const Json::parse_error& e) {
    std::string why = e.what();  // "[json.exception.parse_error.101] parse error at line 2, ..."
    if (why.rfind("[json.exception", 0) == 0) why = why.substr(why.find("] ") + 2);
    throw_input_error(path, 0, "", expected, "text that is not JSON (" + why + ")");
  }
}

double json_number_at(const Json& j, const std::string& key, const std::string& path,
                      double missing) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return missing;
  if (!it->is_number()) {
    throw_input_error(path, 0, key, "a number or null", it->dump());
  }
  return it->get<double>();
}

}  // namespace fedgrid::util
