// YAML documents as JSON (see yaml_json.hpp).
#include "io/yaml_json.hpp"

#include <charconv>
#include <cmath>
#include <regex>
#include <sstream>

namespace fedgrid::io {

namespace {

util::Json plain_scalar(const std::string& s) {
  static const std::regex integer(R"([-+]?[0-9]+)");
  static const std::regex decimal(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
  const char* end = s.data() + s.size();
  if (std::regex_match(s, integer)) {
    int64_t i = 0;
    if (std::from_chars(begin, end, i).ec == std::errc()) return i;
    uint64_t u = 0;
    if (std::from_chars(begin, end, u).ec == std::errc()) return u;
  }
  if (std::regex_match(s, decimal)) {
    double d = 0;
    if (std::from_chars(begin, end, d).ec == std::errc() && std::isfinite(d)) return d;
  }
  return s;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  return parts;
}

// Sets `value` at `path` in `root` unless a value is there (nothing when the path crosses
// something that is not an object).
void fill_default(util::Json& root, const std::string& path, util::Json value) {
  if (path.find('[') != std::string::npos) return;  // (list items: not in scenarios)
  util::Json* cur = &root;
  const std::vector<std::string> parts = split_path(path);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!cur->is_object()) return;
    auto it = cur->find(parts[i]);
    const bool last = i + 1 == parts.size();
    if (it == cur->end() || it->is_null()) {
      (*cur)[parts[i]] = last ? std::move(value) : util::Json::object();
      if (last) return;
    }
    cur = &(*cur)[parts[i]];
  }
}

}  // namespace

util::Json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      util::Json obj = util::Json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key = it->first.IsScalar() ? it->first.Scalar() : YAML::Dump(it->first);
        obj[key] = yaml_to_json(it->second);
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      util::Json arr = util::Json::array();
      for (const auto& item : node) arr.push_back(yaml_to_json(item));
      return arr;
    }
    case YAML::NodeType::Scalar:
      // yaml-cpp tags plain scalars "?" and quoted ones "!"; any other tag was written out.
      return node.Tag() == "?" || node.Tag().empty() ? plain_scalar(node.Scalar())
                                                     : util::Json(node.Scalar());
    default:  // Null, Undefined
      return nullptr;
  }
}

std::string resolved_json(const YAML::Node& root, const std::vector<UsedDefault>& defaults,
                          uint64_t seed) {
  util::Json j = yaml_to_json(root);
  if (j.is_object()) j["seed"] = seed;
  for (const auto& d : defaults) {
    fill_default(j, d.path, std::visit([](const auto& v) { return util::Json(v); }, d.value));
  }
  return j.dump(-1, ' ', false, util::Json::error_handler_t::replace);
}

}  // namespace fedgrid::io
