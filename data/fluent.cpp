// The Mozilla Fluent (.ftl) parser and term expansion (data/fluent.h).
#include "data/fluent.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/format_helpers.h"
#include "nmt/util/utf8.h"

namespace strata::data {
namespace {

bool ftl_id_start(char c) { return is_alpha(c); }
bool ftl_id_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }

// Recursive-descent parser for the Fluent syntax 1.0 subset that localisation files use.
class FtlParser {
 public:
  FtlParser(std::string_view src, const std::string& name) : s_(src), name_(name) {}

  FtlResource parse() {
    FtlResource res;
    MessageList messages;
    while (!eof()) {
      char c = peek();
      if (c == '\n') {
        ++p_;
        continue;
      }
      if (c == ' ') {
        skip_spaces();
        if (eof() || peek() == '\n') continue;
        error("indented text outside a message (a continuation line must follow a message)");
      }
      if (c == '#') {
        skip_line();
        continue;
      }
      const size_t entry_start = p_;
      const bool term = c == '-';
      if (term) ++p_;
      if (!ftl_id_start(peek())) error("expected a message, a term or a comment");
      const std::string id = identifier();
      skip_spaces();
      if (peek() != '=') error("expected '=' after \"" + std::string(term ? "-" : "") + id + "\"");
      ++p_;
      skip_spaces();

      Out value;
      Capture capture;
      const bool has_value = parse_pattern(value, term ? &capture : nullptr);
      if (has_value && !term) messages.add(id, value.text, value.plural);
      int attributes = 0;
      while (at_attribute()) {
        ++p_;  // '.'
        if (!ftl_id_start(peek())) error("expected an attribute name after '.'");
        const std::string attr = identifier();
        skip_spaces();
        if (peek() != '=') error("expected '=' after attribute \"." + attr + "\"");
        ++p_;
        skip_spaces();
        Out attr_value;
        if (!parse_pattern(attr_value, nullptr)) error("attribute \"." + attr + "\" has no value");
        ++attributes;
        if (!term) messages.add(id + "." + attr, std::move(attr_value.text), attr_value.plural);
      }
      if (term) {
        if (!has_value) error_at(entry_start, "term \"-" + id + "\" has no value");
        FtlTerm t;
        if (capture.found) {
          const std::string& v = value.text;
          const std::string prefix = v.substr(0, std::min(capture.begin, v.size()));
          const std::string suffix = capture.end < v.size() ? v.substr(capture.end) : "";
          for (auto& [key, text] : capture.variants) t.variants[key] = prefix + text + suffix;
        }
        t.value = std::move(value.text);
        res.terms["-" + id] = std::move(t);
      } else {
        if (!has_value && attributes == 0) {
          error_at(entry_start, "message \"" + id + "\" has neither a value nor attributes");
        }
      }
    }
    res.messages = messages.take();
    return res;
  }

 private:
  struct Out {
    std::string text;
    bool plural = false;
  };
  // The first select expression of a term's value: its place in the text and its variants.
  struct Capture {
    bool found = false;
    size_t begin = 0, end = 0;
    std::vector<std::pair<std::string, std::string>> variants;
  };
  struct Expr {
    std::string text;       // what the expression contributes to the text
    bool variable = false;  // a variable, or a function call on one (a plural selector)
    bool plural = false;    // contains a select expression on a variable
  };

  bool eof() const { return p_ >= s_.size(); }
  char peek(size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }

  [[noreturn]] void error(const std::string& what) const { error_at(p_, what); }
  [[noreturn]] void error_at(size_t pos, const std::string& what) const {
    // At the end of the file, name the last line rather than the empty one after it.
    if (pos >= s_.size() && pos > 0) pos = s_.size() - 1;
    fail_at(name_, line_at(s_, pos), what);
  }

  void expect(char c, const char* what) {
    if (peek() != c) error(std::string("expected ") + what);
    ++p_;
  }
  void skip_spaces() {
    while (peek() == ' ') ++p_;
  }
  void skip_blank() {  // spaces and line ends
    while (peek() == ' ' || peek() == '\n') ++p_;
  }
  void skip_line() {
    while (!eof() && peek() != '\n') ++p_;
  }
  std::string identifier() {
    const size_t start = p_;
    while (ftl_id_char(peek())) ++p_;
    return std::string(s_.substr(start, p_ - start));
  }

  // At a line end followed (after blank lines) by an indented ".attr": moves to the '.'.
  bool at_attribute() {
    size_t q = p_;
    bool newline = false;
    while (q < s_.size() && (s_[q] == '\n' || s_[q] == ' ')) {
      newline |= s_[q] == '\n';
      ++q;
    }
    if (!newline || q >= s_.size() || s_[q] != '.') return false;
    p_ = q;
    return true;
  }

  // Parses a pattern (inline and indented block text with placeables) into out.text; continuation
  // lines are joined with '\n' without their indentation. Returns false when it is empty.
  bool parse_pattern(Out& out, Capture* capture) {
    const size_t text_start = out.text.size();
    bool any = false;
    while (!eof()) {
      const char c = peek();
      if (c == '{') {
        ++p_;
        parse_placeable(out, capture);
        any = true;
      } else if (c == '}') {
        error("unbalanced '}' in text (write { \"}\" })");
      } else if (c == '\n') {
        // A continuation: after blank lines, an indented line that does not start with one of
        // [ * . } (variant keys, attributes, the end of a select), or a placeable at any indent.
        size_t q = p_;
        size_t indent = 0;
        while (q < s_.size() && s_[q] == '\n') {
          ++q;
          indent = 0;
          while (q < s_.size() && s_[q] == ' ') ++q, ++indent;
        }
        if (q >= s_.size()) break;
        const char d = s_[q];
        const bool continues =
            d == '{' || (indent > 0 && d != '[' && d != '*' && d != '.' && d != '}');
        if (!continues) break;
        if (out.text.size() > text_start) out.text += '\n';
        p_ = q;
      } else {
        const size_t start = p_;
        while (!eof() && peek() != '{' && peek() != '}' && peek() != '\n') ++p_;
        out.text.append(s_.substr(start, p_ - start));
        any = true;
      }
    }
    while (out.text.size() > text_start && (out.text.back() == ' ' || out.text.back() == '\n')) {
      out.text.pop_back();
    }
    return any;
  }

  // p_ is after '{'.
  void parse_placeable(Out& out, Capture* capture) {
    if (depth_ >= kMaxDepth) error("placeables nested too deeply");
    ++depth_;
    parse_placeable_body(out, capture);
    --depth_;
  }

  void parse_placeable_body(Out& out, Capture* capture) {
    skip_blank();
    const Expr selector = parse_expression();
    skip_blank();
    if (peek() == '-' && peek(1) == '>') {
      p_ += 2;
      std::vector<std::pair<std::string, std::string>> variants;
      std::string default_text;
      bool have_default = false;
      bool plural = selector.variable;
      while (true) {
        skip_blank();
        if (eof()) error("unterminated select expression (expected '}')");
        if (peek() == '}') break;
        bool is_default = false;
        if (peek() == '*') {
          is_default = true;
          ++p_;
        }
        expect('[', "a variant key '[key]'");
        skip_blank();
        const size_t key_start = p_;
        while (!eof() && peek() != ']' && peek() != ' ' && peek() != '\n') ++p_;
        std::string key(s_.substr(key_start, p_ - key_start));
        if (key.empty()) error("empty variant key");
        skip_blank();
        expect(']', "']' after the variant key");
        skip_spaces();
        Out variant;
        parse_pattern(variant, nullptr);
        plural |= variant.plural;
        if (is_default) {
          if (have_default) error("a select expression has two default variants");
          have_default = true;
          default_text = variant.text;
        }
        variants.emplace_back(std::move(key), std::move(variant.text));
      }
      if (!have_default) error("a select expression has no default variant '*[...]'");
      ++p_;  // '}'
      out.plural |= plural;
      if (capture != nullptr && !capture->found) {
        capture->found = true;
        capture->begin = out.text.size();
        out.text += default_text;
        capture->end = out.text.size();
        capture->variants = std::move(variants);
      } else {
        out.text += default_text;
      }
      return;
    }
    expect('}', "'}' to close the placeable");
    out.text += selector.text;
    out.plural |= selector.plural;
  }

  // Inline expression: string or number literal, variable, term/message reference, function call
  // or a nested placeable.
  Expr parse_expression() {
    Expr e;
    const char c = peek();
    if (c == '"') {
      e.text = string_literal();
    } else if (is_digit(c) || (c == '-' && is_digit(peek(1)))) {
      e.text = number_literal();
    } else if (c == '-' && ftl_id_start(peek(1))) {
      ++p_;
      std::string ref = "-" + identifier();
      if (peek() == '.' && ftl_id_start(peek(1))) {
        ++p_;
        ref += "." + identifier();
      }
      const size_t save = p_;
      skip_blank();
      if (peek() == '(') {
        bool unused = false;
        ref += call_arguments(&unused);
      } else {
        p_ = save;
      }
      e.text = "{ " + ref + " }";
    } else if (c == '$') {
      ++p_;
      if (!ftl_id_start(peek())) error("expected a variable name after '$'");
      e.text = "{ $" + identifier() + " }";
      e.variable = true;
    } else if (ftl_id_start(c)) {
      std::string id = identifier();
      const size_t save = p_;
      skip_blank();
      if (peek() == '(') {
        bool on_variable = false;
        id += call_arguments(&on_variable);
        e.variable = on_variable;
      } else {
        p_ = save;
        if (peek() == '.' && ftl_id_start(peek(1))) {
          ++p_;
          id += "." + identifier();
        }
      }
      e.text = "{ " + id + " }";
    } else if (c == '{') {
      ++p_;
      Out inner;
      parse_placeable(inner, nullptr);
      e.text = std::move(inner.text);
      e.plural = inner.plural;
    } else {
      error("expected an expression in '{ }'");
    }
    return e;
  }

  // `(arg, name: "value")`, returned normalised; *on_variable is set when a positional argument
  // is a variable.
  std::string call_arguments(bool* on_variable) {
    expect('(', "'('");
    std::string out = "(";
    bool first = true;
    while (true) {
      skip_blank();
      if (eof()) error("unterminated argument list (expected ')')");
      if (peek() == ')') break;
      if (!first) out += ", ";
      first = false;
      const size_t start = p_;
      bool named = false;
      if (ftl_id_start(peek())) {
        const std::string id = identifier();
        skip_blank();
        if (peek() == ':') {
          ++p_;
          skip_blank();
          const size_t value_start = p_;
          if (peek() == '"') {
            string_literal();
          } else if (is_digit(peek()) || peek() == '-') {
            number_literal();
          } else {
            error("a named argument's value must be a string or number literal");
          }
          out += id + ": " + std::string(s_.substr(value_start, p_ - value_start));
          named = true;
        } else {
          p_ = start;
        }
      }
      if (!named) {
        const Expr arg = parse_expression();
        if (arg.variable) *on_variable = true;
        out += std::string(s_.substr(start, p_ - start));
      }
      skip_blank();
      if (peek() == ',') {
        ++p_;
      } else if (peek() != ')') {
        error("expected ',' or ')' in an argument list");
      }
    }
    ++p_;
    return out + ")";
  }

  std::string number_literal() {
    const size_t start = p_;
    if (peek() == '-') ++p_;
    if (!is_digit(peek())) error("expected a number");
    while (is_digit(peek())) ++p_;
    if (peek() == '.' && is_digit(peek(1))) {
      ++p_;
      while (is_digit(peek())) ++p_;
    }
    return std::string(s_.substr(start, p_ - start));
  }

  // "..." with \" \\ \uHHHH \UHHHHHH escapes.
  std::string string_literal() {
    ++p_;  // '"'
    std::string out;
    while (true) {
      if (eof() || peek() == '\n') error("unterminated string literal");
      const char c = peek();
      if (c == '"') {
        ++p_;
        return out;
      }
      if (c != '\\') {
        out += c;
        ++p_;
        continue;
      }
      const char e = peek(1);
      if (e == '"' || e == '\\') {
        out += e;
        p_ += 2;
      } else if (e == 'u' || e == 'U') {
        const int digits = e == 'u' ? 4 : 6;
        uint32_t cp = 0;
        for (int i = 0; i < digits; ++i) {
          const int h = hex_value(peek(2 + i));
          if (h < 0) error(std::string("bad \\") + e + " escape in a string literal");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        append_utf8(out, cp);
        p_ += 2 + digits;
      } else {
        error("unknown escape in a string literal");
      }
    }
  }

  static constexpr int kMaxDepth = 64;  // bounds the recursion on hostile input

  std::string_view s_;
  size_t p_ = 0;
  int depth_ = 0;
  const std::string& name_;
};

// Parses `{ -id(.attr)?( (args) )? }` at text[pos] (which is '{'). On success sets the end
// (after '}'), the term name ("-id") and the value of each named argument.
bool match_term_reference(std::string_view text, size_t pos, size_t* end, std::string* term,
                          std::vector<std::string>* arg_values) {
  size_t q = pos + 1;
  auto skip_ws = [&] {
    while (q < text.size() && (text[q] == ' ' || text[q] == '\n')) ++q;
  };
  skip_ws();
  if (q + 1 >= text.size() || text[q] != '-' || !ftl_id_start(text[q + 1])) return false;
  const size_t id_start = q++;
  while (q < text.size() && ftl_id_char(text[q])) ++q;
  if (q < text.size() && text[q] == '.') return false;  // term attributes are not values
  *term = std::string(text.substr(id_start, q - id_start));
  arg_values->clear();
  skip_ws();
  if (q < text.size() && text[q] == '(') {
    ++q;
    while (true) {
      skip_ws();
      if (q >= text.size()) return false;
      if (text[q] == ')') {
        ++q;
        break;
      }
      // argument: [name ':'] value, up to ',' or ')'
      const size_t arg_start = q;
      bool in_string = false;
      while (q < text.size() && (in_string || (text[q] != ',' && text[q] != ')'))) {
        if (text[q] == '"' && (q == arg_start || text[q - 1] != '\\')) in_string = !in_string;
        ++q;
      }
      if (q >= text.size()) return false;
      std::string_view arg = text.substr(arg_start, q - arg_start);
      const size_t colon = arg.find(':');
      if (colon != std::string_view::npos && arg.find('"') > colon) {
        std::string_view value = arg.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\n')) {
          value.remove_suffix(1);
        }
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        arg_values->emplace_back(value);
      }
      if (text[q] == ',') ++q;
    }
  }
  skip_ws();
  if (q >= text.size() || text[q] != '}') return false;
  *end = q + 1;
  return true;
}

std::string expand_terms(const std::string& text, const std::map<std::string, FtlTerm>& terms,
                         int depth) {
  if (depth > 8 || text.find("{") == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  std::string term;
  std::vector<std::string> args;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('{', i);
    if (open == std::string::npos) break;
    out.append(text, i, open - i);
    size_t end = 0;
    if (match_term_reference(text, open, &end, &term, &args)) {
      auto it = terms.find(term);
      if (it != terms.end()) {
        const std::string* value = &it->second.value;
        for (const std::string& a : args) {
          auto v = it->second.variants.find(a);
          if (v != it->second.variants.end()) {
            value = &v->second;
            break;
          }
        }
        out += expand_terms(*value, terms, depth + 1);
        i = end;
        continue;
      }
    }
    out += '{';
    i = open + 1;
  }
  out.append(text, std::min(i, text.size()), std::string::npos);
  return out;
}

}  // namespace

FtlResource parse_ftl(std::string_view text, const std::string& name) {
  std::string storage;
  const std::string_view src = normalise_newlines(skip_bom(text), storage);
  return FtlParser(src, name).parse();
}

std::string expand_ftl_terms(const std::string& text, const std::map<std::string, FtlTerm>& terms) {
  return expand_terms(text, terms, 0);
}

}  // namespace strata::data
