// Strict XML reader for platform files (see xml_reader.hpp): one pass, an explicit element
// stack (no recursion), line numbers counted as it goes.
#include "platform/xml_reader.hpp"

#include <cstdint>
#include <cstring>

#include "util/error.hpp"

namespace fedgrid::platform {

const std::string* XmlElement::attribute(const std::string& key) const {
  for (const auto& [k, v] : attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

constexpr std::size_t kMaxDepth = 64;

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Reader {
 public:
  Reader(const std::string& text, const std::string& file) : t_(text), file_(file) {}

  XmlDocument document() {
    XmlDocument doc;
    bool have_root = false;
    while (true) {
      skip_space();
      if (at_end()) break;
      if (starts("<?")) {
        skip_past("?>", "the end of a processing instruction '?>'");
      } else if (starts("<!--")) {
        skip_past("-->", "the end of a comment '-->'");
      } else if (starts("<!DOCTYPE")) {
        if (have_root || !doc.doctype.empty())
          fail("one DOCTYPE before the root element", "another");
        doc.doctype = doctype();
      } else if (!have_root && peek() == '<') {
        doc.root = element_tree();
        have_root = true;
      } else {
        fail(have_root ? "nothing after the root element" : "an element",
             have_root && peek() == '<' ? "a second root element" : quote_here());
      }
    }
    if (!have_root) fail("a root element", "none");
    return doc;
  }

 private:
  bool at_end() const { return p_ >= t_.size(); }
  char peek() const { return at_end() ? '\0' : t_[p_]; }
  bool starts(const char* s) const { return t_.compare(p_, std::strlen(s), s) == 0; }
  void advance(std::size_t n) {
    for (std::size_t i = 0; i < n && p_ < t_.size(); ++i) line_ += t_[p_++] == '\n';
  }
  void skip_space() {
    while (!at_end() && space(peek())) advance(1);
  }
  [[noreturn]] void fail(const std::string& expected, const std::string& found) const {
    util::throw_input_error(file_, line_, "", expected, found);
  }
  std::string quote_here() const {
    if (at_end()) return "the end of the file";
    std::string s = t_.substr(p_, 20);
    for (char& c : s)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return "'" + s + (p_ + 20 < t_.size() ? "...'" : "'");
  }
  void skip_past(const char* end, const std::string& what) {
    const std::size_t e = t_.find(end, p_);
    if (e == std::string::npos) fail(what, "the end of the file");
    advance(e + std::strlen(end) - p_);
  }
  void expect(char c, const std::string& what) {
    if (peek() != c) fail(what, quote_here());
    advance(1);
  }

  std::string doctype() {
    advance(9);  // <!DOCTYPE
    const std::size_t start = p_;
    while (!at_end() && peek() != '>') {
      if (peek() == '[') fail("a DOCTYPE without internal subset (entity declarations)", "'['");
      advance(1);
    }
    std::string d = t_.substr(start, p_ - start);
    expect('>', "the end of the DOCTYPE '>'");
    const auto b = d.find_first_not_of(" \t\r\n");
    return b == std::string::npos ? "" : d.substr(b);
  }

  std::string name(const std::string& what) {
    if (!name_start(peek())) fail(what, quote_here());
    const std::size_t start = p_;
    while (!at_end() && name_char(peek())) advance(1);
    return t_.substr(start, p_ - start);
  }

  // An attribute value up to the closing quote, entities replaced.
  std::string value() {
    const char q = peek();
    if (q != '"' && q != '\'') fail("a quoted attribute value", quote_here());
    advance(1);
    std::string v;
    while (!at_end() && peek() != q) {
      const char c = peek();
      if (c == '<') fail("an attribute value without '<'", "'<'");
      if (c == '&') {
        v += entity();
      } else {
        v += c;
        advance(1);
      }
    }
    expect(q, "the closing quote of an attribute value");
    return v;
  }

  std::string entity() {
    const std::size_t semi = t_.find(';', p_);
    if (semi == std::string::npos || semi - p_ > 12) fail("an entity such as &amp;", quote_here());
    const std::string e = t_.substr(p_ + 1, semi - p_ - 1);
    advance(semi + 1 - p_);
    if (e == "amp") return "&";
    if (e == "lt") return "<";
    if (e == "gt") return ">";
    if (e == "quot") return "\"";
    if (e == "apos") return "'";
    uint32_t code = 0;
    bool ok = e.size() >= 2 && e[0] == '#';
    const bool hex = ok && (e[1] == 'x' || e[1] == 'X');
    for (std::size_t i = hex ? 2 : 1; ok && i < e.size(); ++i) {
      const char c = e[i];
      const int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
      ok = d >= 0 && code < 0x110000;
      code = code * (hex ? 16 : 10) + static_cast<uint32_t>(d < 0 ? 0 : d);
    }
    ok = ok && e.size() > (hex ? 2u : 1u) && code >= 0x20 && code < 0x110000;
    if (!ok) fail("a predefined entity or a character reference", "'&" + e + ";'");
    return utf8(code);
  }

  static std::string utf8(uint32_t c) {
    std::string s;
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xC0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xE0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
    return s;
  }

  // A start tag at '<': fills `e`; returns true when it closes itself ("/>").
  bool start_tag(XmlElement& e) {
    advance(1);
    e.line = line_;
    e.name = name("an element name");
    while (true) {
      const bool had_space = space(peek());
      skip_space();
      if (starts("/>")) {
        advance(2);
        return true;
      }
      if (peek() == '>') {
        advance(1);
        return false;
      }
      if (!had_space) fail("a space, '>' or '/>' in <" + e.name + ">", quote_here());
      const std::string key = name("an attribute name in <" + e.name + ">");
      if (e.attribute(key)) fail("each attribute once in <" + e.name + ">", key + " twice");
      skip_space();
      expect('=', "'=' after attribute " + key);
      skip_space();
      e.attributes.emplace_back(key, value());
    }
  }

  // Content between tags: whitespace, comments and processing instructions only.
  void skip_content() {
    while (true) {
      skip_space();
      if (starts("<!--")) {
        skip_past("-->", "the end of a comment '-->'");
      } else if (starts("<?")) {
        skip_past("?>", "the end of a processing instruction '?>'");
      } else if (starts("<![CDATA[")) {
        fail("elements only (no CDATA)", "CDATA");
      } else if (!at_end() && peek() != '<') {
        fail("elements only between tags (no text)", quote_here());
      } else {
        return;
      }
    }
  }

  XmlElement element_tree() {
    std::vector<XmlElement> stack(1);
    if (start_tag(stack[0])) return std::move(stack[0]);
    while (true) {
      skip_content();
      if (at_end()) fail("</" + stack.back().name + ">", "the end of the file");
      if (starts("</")) {
        advance(2);
        const std::string n = name("an element name after '</'");
        skip_space();
        expect('>', "'>' closing </" + n + ">");
        if (n != stack.back().name) fail("</" + stack.back().name + ">", "</" + n + ">");
        if (stack.size() == 1) return std::move(stack[0]);
        XmlElement done = std::move(stack.back());
        stack.pop_back();
        stack.back().children.push_back(std::move(done));
        continue;
      }
      XmlElement e;
      if (start_tag(e)) {
        stack.back().children.push_back(std::move(e));
      } else {
        if (stack.size() >= kMaxDepth) fail("at most 64 nested elements", "more");
        stack.push_back(std::move(e));
      }
    }
  }

  const std::string& t_;
  const std::string& file_;
  std::size_t p_ = 0;
  int line_ = 1;
};

}  // namespace

XmlDocument parse_xml(const std::string& text, const std::string& file) {
  return Reader(text, file).document();
}

}  // namespace fedgrid::platform
