// YAML limits (see yaml_guard.hpp): one pass over the parser's events computes the expanded
// size of every anchored node (an alias adds the size of what it names) and the keys of every
// mapping; no node tree is built, so the cost is linear in the text whatever the aliases.
#include "io/yaml_guard.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "util/error.hpp"

namespace fedgrid::io {

namespace {

int line_of(const YAML::Mark& m) { return m.line >= 0 ? m.line + 1 : 0; }

// A parser error as an InputError; a one-line text (a --set value) gets no line number.
[[noreturn]] void syntax_error(const std::string& text, const std::string& source,
                               const YAML::Exception& e) {
  const int line = text.find('\n') == std::string::npos ? 0 : line_of(e.mark);
  util::throw_input_error(source, line, "", "valid YAML", e.msg);
}

class LimitChecker : public YAML::EventHandler {
 public:
  LimitChecker(std::string source, std::size_t budget)
      : source_(std::move(source)), budget_(budget) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    node(mark, 1, anchor, "~", true);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = anchors_.find(anchor);
    const Anchor a = it == anchors_.end() ? Anchor{} : it->second;
    node(mark, a.size, 0, a.scalar, a.is_scalar);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    node(mark, 1, anchor, value, true);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Anchor {
    std::size_t size = 1;
    std::string scalar;
    bool is_scalar = false;
  };
  struct Frame {
    YAML::Mark mark;
    YAML::anchor_t anchor = 0;
    bool map = false;
    bool want_key = true;             // maps: the next node is a key
    std::size_t size = 1;             // this node and everything below it, aliases expanded
    std::size_t items = 0;            // sequences: index of the next item
    std::string key;                  // maps: the current key
    std::map<std::string, int> keys;  // maps: key -> line
  };

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool map) {
    Frame f;
    f.mark = mark;
    f.anchor = anchor;
    f.map = map;
    frames_.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(frames_.back());
    frames_.pop_back();
    node(f.mark, f.size, f.anchor, "", false);
  }

  // The dotted path of the node being read ("algorithm.rounds", "layers[2].kind").
  std::string path() const {
    std::string p;
    for (const Frame& f : frames_) {
      if (f.map) {
        if (!f.want_key) p += (p.empty() ? "" : ".") + f.key;
      } else {
        p += "[" + std::to_string(f.items) + "]";
      }
    }
    return p;
  }

  // A complete node of `size` expanded nodes: recorded under its anchor, added to its parent.
  void node(const YAML::Mark& mark, std::size_t size, YAML::anchor_t anchor,
            const std::string& scalar, bool is_scalar) {
    size = std::min(size, budget_ + 1);  // saturated: no overflow, whatever the nesting
    if (anchor != 0) anchors_[anchor] = Anchor{size, scalar, is_scalar};
    if (frames_.empty()) {
      check_budget(mark, size);
      return;
    }
    Frame& parent = frames_.back();
    if (parent.map && parent.want_key) {
      const std::string key = is_scalar ? scalar : "(a collection)";
      const auto [it, fresh] = parent.keys.emplace(key, line_of(mark));
      if (!fresh) {
        parent.key = key;
        parent.want_key = false;
        util::throw_input_error(
            source_, line_of(mark), path(),
            "each key once in a mapping (first at line " + std::to_string(it->second) + ")",
            "it again");
      }
      parent.key = key;
    }
    parent.size = std::min(parent.size + size, budget_ + 1);
    check_budget(mark, parent.size);
    if (parent.map) {
      parent.want_key = !parent.want_key;
    } else {
      ++parent.items;
    }
  }

  void check_budget(const YAML::Mark& mark, std::size_t size) const {
    if (size <= budget_) return;
    util::throw_input_error(source_, line_of(mark), "",
                            "a document of at most " + std::to_string(budget_) +
                                " nodes with its aliases (*name) expanded",
                            "more (aliases of aliases multiply; write the values out)");
  }

  std::string source_;
  std::size_t budget_;
  std::vector<Frame> frames_;
  std::unordered_map<YAML::anchor_t, Anchor> anchors_;
};

}  // namespace

void check_yaml_text(const std::string& text, const std::string& source, std::size_t budget) {
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    LimitChecker checker(source, budget);
    parser.HandleNextDocument(checker);
  } catch (const YAML::Exception& e) {
    syntax_error(text, source, e);
  }
}

YAML::Node load_yaml_text(const std::string& text, const std::string& source) {
  check_yaml_text(text, source);
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    syntax_error(text, source, e);
  }
}

}  // namespace fedgrid::io
