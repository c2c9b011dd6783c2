// A small strict XML reader for SimGrid platform files: elements, attributes (with the five
// predefined entities and character references), comments, processing instructions and a
// DOCTYPE without internal subset. Anything else (text between elements, CDATA, entity
// declarations, unbalanced tags, more than 64 levels) is refused with file:line.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fedgrid::platform {

struct XmlElement {
  std::string name;
  int line = 0;
  std::vector<std::pair<std::string, std::string>> attributes;  // in document order
  std::vector<XmlElement> children;
  // The attribute's value, or nullptr when the element has no such attribute.
  const std::string* attribute(const std::string& key) const;
};

struct XmlDocument {
  std::string doctype;  // the text after "<!DOCTYPE " (without '>'), "" if none
  XmlElement root;
};

// Parses `text`; `file` names it in util::InputError messages ("FILE:LINE: expected ...").
XmlDocument parse_xml(const std::string& text, const std::string& file);

}  // namespace fedgrid::platform
