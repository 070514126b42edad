// Parsers for the localisation formats of data/formats.h.
#include "data/formats.h"

#include "nmt/util/utf8.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nmt/util/error.h"

namespace strata::data {
namespace {

// ---------------------------------------------------------------------------------------------
// Shared helpers

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": " + what);
}

[[noreturn]] void fail_at(const std::string& name, int line, const std::string& what) {
  throw Error(name + ":" + std::to_string(line) + ": " + what);
}

// 1-based line number of byte offset `pos`.
int line_at(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Drops a leading UTF-8 byte order mark.
std::string_view skip_bom(std::string_view text) {
  if (starts_with(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

// Converts CR LF and lone CR line ends to LF (a copy only when the text has a CR).
std::string_view normalise_newlines(std::string_view text, std::string& storage) {
  if (text.find('\r') == std::string_view::npos) return text;
  storage.clear();
  storage.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      storage += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      storage += text[i];
    }
  }
  return storage;
}

// Adds or replaces (same key: the later one wins) a message, keeping first-seen order.
class MessageList {
 public:
  void add(std::string key, std::string text, bool plural) {
    auto [it, inserted] = index_.emplace(key, messages_.size());
    if (inserted) {
      messages_.push_back(Message{std::move(key), std::move(text), plural});
    } else {
      messages_[it->second].text = std::move(text);
      messages_[it->second].plural = plural;
    }
  }
  std::vector<Message> take() { return std::move(messages_); }

 private:
  std::vector<Message> messages_;
  std::unordered_map<std::string, size_t> index_;
};

// ---------------------------------------------------------------------------------------------
// gettext .mo

constexpr uint32_t kMoMagic = 0x950412de;
constexpr uint32_t kMoMagicSwapped = 0xde120495;

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// The charset of a .mo header entry ("Content-Type: text/plain; charset=UTF-8"), or "".
std::string mo_charset(std::string_view header) {
  size_t pos = header.find("charset=");
  if (pos == std::string_view::npos) return "";
  pos += 8;
  size_t end = pos;
  while (end < header.size() && header[end] != '\n' && header[end] != ';' && header[end] != ' ' &&
         header[end] != '\t') {
    ++end;
  }
  return std::string(header.substr(pos, end - pos));
}

bool is_utf8_charset(const std::string& charset) {
  return charset.empty() || iequals(charset, "UTF-8") || iequals(charset, "UTF8") ||
         iequals(charset, "ASCII") || iequals(charset, "US-ASCII") ||
         iequals(charset, "CHARSET");  // the unfilled .pot template value
}

class Iconv {
 public:
  Iconv(const std::string& charset, const std::string& name) : charset_(charset), name_(name) {
    cd_ = iconv_open("UTF-8", charset.c_str());
    if (cd_ == reinterpret_cast<iconv_t>(-1)) fail(name, "unsupported charset \"" + charset + "\"");
  }
  ~Iconv() { iconv_close(cd_); }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  std::string convert(const std::string& in) {
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // reset the shift state
    std::string out(in.size() * 4 + 16, '\0');
    char* src = const_cast<char*>(in.data());
    size_t src_left = in.size();
    char* dst = out.data();
    size_t dst_left = out.size();
    if (iconv(cd_, &src, &src_left, &dst, &dst_left) == static_cast<size_t>(-1) ||
        iconv(cd_, nullptr, nullptr, &dst, &dst_left) == static_cast<size_t>(-1)) {
      fail(name_, "invalid " + charset_ + " text in a .mo string");
    }
    out.resize(out.size() - dst_left);
    return out;
  }

 private:
  iconv_t cd_;
  std::string charset_;
  const std::string& name_;
};

// ---------------------------------------------------------------------------------------------
// Fluent (.ftl)

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

// ---------------------------------------------------------------------------------------------
// HTML (LibreOffice help)

struct Tag {
  size_t start = 0, end = 0;  // '<' and one past '>'
  std::string_view name;
  std::string_view attrs;
  bool closing = false;
  bool self_closing = false;
};

// Parses the tag at html[pos] == '<'. False when it is not a tag (e.g. "a < b") or unterminated.
bool parse_tag(std::string_view html, size_t pos, Tag* tag) {
  size_t q = pos + 1;
  tag->closing = q < html.size() && html[q] == '/';
  if (tag->closing) ++q;
  const size_t name_start = q;
  while (q < html.size() &&
         (is_alnum(html[q]) || html[q] == ':' || html[q] == '-' || html[q] == '_')) {
    ++q;
  }
  if (q == name_start || !is_alpha(html[name_start])) return false;
  tag->name = html.substr(name_start, q - name_start);
  const size_t attrs_start = q;
  char quote = 0;
  for (; q < html.size(); ++q) {
    const char c = html[q];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      break;
    }
  }
  if (q >= html.size()) return false;
  tag->attrs = html.substr(attrs_start, q - attrs_start);
  tag->self_closing = !tag->attrs.empty() && tag->attrs.back() == '/';
  tag->start = pos;
  tag->end = q + 1;
  return true;
}

// The value of attribute `name` (present: *found = true; valueless attributes give "").
std::string_view attribute(std::string_view attrs, std::string_view name, bool* found) {
  *found = false;
  size_t q = 0;
  while (q < attrs.size()) {
    while (q < attrs.size() && !is_alpha(attrs[q])) {
      if (attrs[q] == '"' || attrs[q] == '\'') {  // stray quoted text: skip it whole
        const size_t close = attrs.find(attrs[q], q + 1);
        q = close == std::string_view::npos ? attrs.size() - 1 : close;
      }
      ++q;
    }
    if (q >= attrs.size()) break;
    const size_t n_start = q;
    while (q < attrs.size() && (is_alnum(attrs[q]) || attrs[q] == '-' || attrs[q] == '_' ||
                                attrs[q] == ':' || attrs[q] == '.')) {
      ++q;
    }
    const std::string_view attr_name = attrs.substr(n_start, q - n_start);
    while (q < attrs.size() && attrs[q] == ' ') ++q;
    std::string_view value;
    if (q < attrs.size() && attrs[q] == '=') {
      ++q;
      while (q < attrs.size() && (attrs[q] == ' ' || attrs[q] == '\n' || attrs[q] == '\t')) ++q;
      if (q < attrs.size() && (attrs[q] == '"' || attrs[q] == '\'')) {
        const char quote = attrs[q];
        const size_t close = attrs.find(quote, q + 1);
        const size_t end = close == std::string_view::npos ? attrs.size() : close;
        value = attrs.substr(q + 1, end - q - 1);
        q = std::min(end + 1, attrs.size());
      } else {
        const size_t v_start = q;
        while (q < attrs.size() && attrs[q] != ' ' && attrs[q] != '\n' && attrs[q] != '\t' &&
               attrs[q] != '/') {
          ++q;
        }
        value = attrs.substr(v_start, q - v_start);
      }
    }
    if (!attr_name.empty() && iequals(attr_name, name)) {
      *found = true;
      return value;
    }
    if (attr_name.empty() && q < attrs.size()) ++q;
  }
  return {};
}

// Position after the comment or raw-text element (script/style) starting at html[pos], or npos
// when there is none there.
size_t skip_special(std::string_view html, size_t pos) {
  if (html.compare(pos, 4, "<!--") == 0) {
    const size_t close = html.find("-->", pos + 4);
    return close == std::string_view::npos ? html.size() : close + 3;
  }
  return std::string_view::npos;
}

// Finds the close tag matching the open tag `open` (same name, nesting counted). Returns false
// when there is none.
bool find_matching_close(std::string_view html, const Tag& open, Tag* close) {
  int depth = 1;
  size_t q = open.end;
  Tag t;
  while ((q = html.find('<', q)) != std::string_view::npos) {
    const size_t after = skip_special(html, q);
    if (after != std::string_view::npos) {
      q = after;
      continue;
    }
    if (!parse_tag(html, q, &t)) {
      ++q;
      continue;
    }
    if (iequals(t.name, open.name) && !t.self_closing) {
      depth += t.closing ? -1 : 1;
      if (depth == 0) {
        *close = t;
        return true;
      }
    }
    q = t.end;
  }
  return false;
}

// Removes the non-default cases of LibreOffice's switch/switchinline markup: elements with a
// `hidden` attribute and a `class` (class="MAC", "WRITER", ...). The default case (hidden, no
// class) is kept, so "hold down Command Ctrl" reads "hold down Ctrl".
std::string drop_switch_cases(std::string_view inner) {
  if (inner.find("hidden") == std::string_view::npos) return std::string(inner);
  std::string out;
  out.reserve(inner.size());
  size_t copied = 0;
  size_t q = 0;
  Tag t, close;
  while ((q = inner.find('<', q)) != std::string_view::npos) {
    const size_t after = skip_special(inner, q);
    if (after != std::string_view::npos) {
      q = after;
      continue;
    }
    if (!parse_tag(inner, q, &t)) {
      ++q;
      continue;
    }
    bool hidden = false, has_class = false;
    if (!t.closing) {
      attribute(t.attrs, "hidden", &hidden);
      if (hidden) attribute(t.attrs, "class", &has_class);
    }
    if (hidden && has_class) {
      size_t end = t.end;
      if (!t.self_closing && find_matching_close(inner, t, &close)) end = close.end;
      out.append(inner.substr(copied, t.start - copied));
      copied = q = end;
      continue;
    }
    q = t.end;
  }
  out.append(inner.substr(copied));
  return out;
}

// ---------------------------------------------------------------------------------------------
// .properties

// Unescapes a .properties key or value (\uXXXX with surrogate pairs, \t \n \r \f, \x -> x).
std::string unescape_properties(std::string_view raw, const std::string& name, int line) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '\\' || i + 1 >= raw.size()) {
      out += c;
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        auto hex4 = [&](size_t at, uint32_t* v) {
          if (at + 4 > raw.size()) return false;
          *v = 0;
          for (size_t k = 0; k < 4; ++k) {
            const int h = hex_value(raw[at + k]);
            if (h < 0) return false;
            *v = *v * 16 + static_cast<uint32_t>(h);
          }
          return true;
        };
        uint32_t cp = 0;
        if (!hex4(i + 1, &cp)) {
          fail_at(name, line,
                  "bad \\u escape (expected 4 hex digits): \"" +
                      std::string(raw.substr(i - 1, std::min<size_t>(6, raw.size() - i + 1))) +
                      "\"");
        }
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < raw.size() && raw[i + 1] == '\\' &&
            raw[i + 2] == 'u') {
          uint32_t low = 0;
          if (hex4(i + 3, &low) && low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, cp);  // a lone surrogate becomes U+FFFD
        break;
      }
      default:
        out += e;
        break;
    }
  }
  return out;
}

bool properties_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// ---------------------------------------------------------------------------------------------
// XML entities (.dtd values)

// Unescapes &#N; &#xH; and the five predefined XML entities; other references stay as written.
std::string unescape_xml(std::string_view v) {
  if (v.find('&') == std::string_view::npos) return std::string(v);
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '&') {
      out += v[i];
      continue;
    }
    const size_t semi = v.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += '&';
      continue;
    }
    const std::string_view ref = v.substr(i + 1, semi - i - 1);
    if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      bool ok = !digits.empty();
      for (char d : digits) {
        const int h = hex ? hex_value(d) : (is_digit(d) ? d - '0' : -1);
        if (h < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(h);
      }
      if (ok) {
        append_utf8(out, cp);
        i = semi;
        continue;
      }
    } else {
      const char* rep = ref == "amp"    ? "&"
                        : ref == "lt"   ? "<"
                        : ref == "gt"   ? ">"
                        : ref == "quot" ? "\""
                        : ref == "apos" ? "'"
                                        : nullptr;
      if (rep != nullptr) {
        out += rep;
        i = semi;
        continue;
      }
    }
    out += '&';
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::vector<MoEntry> parse_mo(std::string_view bytes, const std::string& name) {
  const uint64_t size = bytes.size();
  if (size < 28) {
    fail(name, "truncated .mo file (" + std::to_string(size) +
                   "-byte file is shorter than the 28-byte header)");
  }
  auto raw32 = [&](uint64_t off) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data() + off);
    return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
           static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
  };
  const uint32_t magic = raw32(0);
  if (magic != kMoMagic && magic != kMoMagicSwapped) {
    fail(name, "not a .mo file (bad magic number " + hex32(magic) + ")");
  }
  const bool swap = magic == kMoMagicSwapped;
  auto u32 = [&](uint64_t off) -> uint64_t {
    const uint32_t v = raw32(off);
    return swap ? (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24) : v;
  };
  const uint64_t revision = u32(4);
  if ((revision >> 16) > 1) {
    fail(name, "unsupported .mo format revision " + std::to_string(revision >> 16) + "." +
                   std::to_string(revision & 0xFFFF));
  }
  const uint64_t count = u32(8);
  const uint64_t originals = u32(12);
  const uint64_t translations = u32(16);
  auto check_table = [&](const char* what, uint64_t offset) {
    if (offset + count * 8 > size) {
      const std::string entries =
          offset <= size ? " (" + std::to_string(count) + " entries of 8 bytes)" : "";
      fail(name, "truncated .mo file (" + std::string(what) + " at offset " +
                     std::to_string(offset) + entries + " past end of " + std::to_string(size) +
                     "-byte file)");
    }
  };
  check_table("string table", originals);
  check_table("translation table", translations);

  auto string_at = [&](uint64_t table, uint64_t i, const char* what) -> std::string_view {
    const uint64_t length = u32(table + i * 8);
    const uint64_t offset = u32(table + i * 8 + 4);
    if (offset + length > size) {
      fail(name, "truncated .mo file (" + std::string(what) + " " + std::to_string(i) +
                     " at offset " + std::to_string(offset) + " with length " +
                     std::to_string(length) + " past end of " + std::to_string(size) +
                     "-byte file)");
    }
    return bytes.substr(offset, length);
  };

  std::vector<MoEntry> entries;
  std::string charset;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view original = string_at(originals, i, "string");
    const std::string_view translation = string_at(translations, i, "translation");
    MoEntry e;
    const size_t eot = original.find('\x04');
    if (eot != std::string_view::npos) {
      e.context = std::string(original.substr(0, eot));
      original.remove_prefix(eot + 1);
    }
    const size_t nul = original.find('\0');
    e.plural = nul != std::string_view::npos;
    e.msgid = std::string(original.substr(0, nul));
    if (e.msgid.empty()) {
      if (eot == std::string_view::npos) charset = mo_charset(translation);
      continue;  // the header entry
    }
    e.msgstr = std::string(translation.substr(0, translation.find('\0')));
    entries.push_back(std::move(e));
  }
  if (!is_utf8_charset(charset)) {
    Iconv conv(charset, name);
    for (MoEntry& e : entries) {
      e.context = conv.convert(e.context);
      e.msgid = conv.convert(e.msgid);
      e.msgstr = conv.convert(e.msgstr);
    }
  }
  return entries;
}

std::vector<Message> parse_properties(std::string_view input, const std::string& name) {
  std::string storage;
  const std::string_view text = normalise_newlines(skip_bom(input), storage);
  MessageList messages;
  size_t p = 0;
  int line = 1;
  std::string logical;
  while (p < text.size()) {
    const int start_line = line;
    while (p < text.size() && properties_space(text[p])) ++p;
    if (p >= text.size()) break;
    if (text[p] == '\n' || text[p] == '#' || text[p] == '!') {
      while (p < text.size() && text[p] != '\n') ++p;
      ++p;
      ++line;
      continue;
    }
    // Gather the logical line: escapes kept, `\` + line end joins the next line (minus its
    // leading white space).
    logical.clear();
    while (p < text.size() && text[p] != '\n') {
      if (text[p] == '\\' && p + 1 < text.size()) {
        if (text[p + 1] == '\n') {
          p += 2;
          ++line;
          while (p < text.size() && properties_space(text[p])) ++p;
          continue;
        }
        logical += text[p];
        logical += text[p + 1];
        p += 2;
        continue;
      }
      if (text[p] == '\\') {  // a backslash at the end of the file
        ++p;
        continue;
      }
      logical += text[p++];
    }
    ++p;
    ++line;
    // key: up to the first unescaped '=', ':' or white space.
    size_t k = 0;
    while (k < logical.size() && logical[k] != '=' && logical[k] != ':' &&
           !properties_space(logical[k])) {
      k += logical[k] == '\\' ? 2 : 1;
    }
    k = std::min(k, logical.size());
    size_t v = k;
    while (v < logical.size() && properties_space(logical[v])) ++v;
    if (v < logical.size() && (logical[v] == '=' || logical[v] == ':')) ++v;
    while (v < logical.size() && properties_space(logical[v])) ++v;
    std::string key = unescape_properties(std::string_view(logical).substr(0, k), name, start_line);
    std::string value = unescape_properties(std::string_view(logical).substr(v), name, start_line);
    if (key.empty()) fail_at(name, start_line, "empty key");
    bool plural = false;
    if (value.find(';') != std::string::npos) {
      for (size_t i = 0; i + 1 < value.size(); ++i) {
        if (value[i] == '#' && is_digit(value[i + 1])) {
          plural = true;
          break;
        }
      }
    }
    messages.add(std::move(key), std::move(value), plural);
  }
  return messages.take();
}

std::vector<Message> parse_dtd(std::string_view input, const std::string& name) {
  const std::string_view text = skip_bom(input);
  MessageList messages;
  size_t p = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  auto skip_ws = [&] {
    while (p < text.size() && is_space(text[p])) ++p;
  };
  // Skips to just past the next '>' outside quotes.
  auto skip_declaration = [&](size_t start) {
    char quote = 0;
    for (; p < text.size(); ++p) {
      if (quote != 0) {
        if (text[p] == quote) quote = 0;
      } else if (text[p] == '"' || text[p] == '\'') {
        quote = text[p];
      } else if (text[p] == '>') {
        ++p;
        return;
      }
    }
    fail_at(name, line_at(text, start), "unterminated declaration");
  };
  while (true) {
    skip_ws();
    if (p >= text.size()) break;
    const size_t start = p;
    if (text.compare(p, 4, "<!--") == 0) {
      const size_t close = text.find("-->", p + 4);
      if (close == std::string_view::npos) fail_at(name, line_at(text, p), "unterminated comment");
      p = close + 3;
    } else if (text.compare(p, 2, "<?") == 0) {
      const size_t close = text.find("?>", p + 2);
      if (close == std::string_view::npos) {
        fail_at(name, line_at(text, p), "unterminated processing instruction");
      }
      p = close + 2;
    } else if (text.compare(p, 8, "<!ENTITY") == 0 && p + 8 < text.size() &&
               is_space(text[p + 8])) {
      p += 8;
      skip_ws();
      if (p < text.size() && text[p] == '%') {  // a parameter entity
        skip_declaration(start);
        continue;
      }
      const size_t name_start = p;
      while (p < text.size() && !is_space(text[p]) && text[p] != '"' && text[p] != '\'' &&
             text[p] != '>') {
        ++p;
      }
      const std::string entity(text.substr(name_start, p - name_start));
      if (entity.empty()) fail_at(name, line_at(text, start), "entity declaration without a name");
      skip_ws();
      if (p < text.size() && (text[p] == '"' || text[p] == '\'')) {
        const char quote = text[p];
        const size_t close = text.find(quote, p + 1);
        if (close == std::string_view::npos) {
          fail_at(name, line_at(text, start), "unterminated value of entity \"" + entity + "\"");
        }
        std::string value = unescape_xml(text.substr(p + 1, close - p - 1));
        p = close + 1;
        skip_ws();
        if (p >= text.size() || text[p] != '>') {
          fail_at(name, line_at(text, p),
                  "expected '>' after the value of entity \"" + entity + "\"");
        }
        ++p;
        messages.add(entity, std::move(value), false);
      } else {  // an external entity (SYSTEM/PUBLIC): no text
        skip_declaration(start);
      }
    } else if (text.compare(p, 2, "<!") == 0) {  // <!ATTLIST ...>, <!ELEMENT ...>
      skip_declaration(start);
    } else if (text[p] == '%') {  // parameter entity reference %name;
      const size_t semi = text.find(';', p);
      if (semi == std::string_view::npos) fail_at(name, line_at(text, p), "unterminated '%name;'");
      p = semi + 1;
    } else {
      fail_at(name, line_at(text, p), "expected <!ENTITY ...> or a comment");
    }
  }
  return messages.take();
}

FtlResource parse_ftl(std::string_view text, const std::string& name) {
  std::string storage;
  const std::string_view src = normalise_newlines(skip_bom(text), storage);
  return FtlParser(src, name).parse();
}

std::string expand_ftl_terms(const std::string& text, const std::map<std::string, FtlTerm>& terms) {
  return expand_terms(text, terms, 0);
}

std::vector<Message> parse_help_html(std::string_view html, const std::string& name) {
  MessageList messages;
  std::unordered_map<std::string, int> seen;
  size_t q = 0;
  Tag t, close;
  while ((q = html.find('<', q)) != std::string_view::npos) {
    const size_t after = skip_special(html, q);
    if (after != std::string_view::npos) {
      q = after;
      continue;
    }
    if (!parse_tag(html, q, &t)) {
      ++q;
      continue;
    }
    q = t.end;
    if (t.closing) continue;
    if (iequals(t.name, "script") || iequals(t.name, "style")) {
      const std::string end_tag = "</" + std::string(t.name);
      size_t e = q;
      while (e < html.size() && !(html[e] == '<' && html.size() - e >= end_tag.size() &&
                                  iequals(html.substr(e, end_tag.size()), end_tag))) {
        ++e;
      }
      q = e;
      continue;
    }
    bool has_id = false;
    const std::string_view id = attribute(t.attrs, "id", &has_id);
    if (!has_id || !(starts_with(id, "par_id") || starts_with(id, "hd_id"))) continue;
    std::string text;
    if (!t.self_closing) {
      if (!find_matching_close(html, t, &close)) {
        fail_at(name, line_at(html, t.start),
                "<" + std::string(t.name) + " id=\"" + std::string(id) + "\"> is never closed");
      }
      text = drop_switch_cases(html.substr(t.end, close.start - t.end));
    }
    std::string key(id);
    const int n = ++seen[key];
    if (n > 1) key += "#" + std::to_string(n);
    messages.add(std::move(key), std::move(text), false);
  }
  return messages.take();
}

}  // namespace strata::data
