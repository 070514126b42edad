// The LibreOffice help HTML parser (data/help_html.h).
#include "data/help_html.h"

#include <string>
#include <unordered_map>

#include "data/format_helpers.h"

namespace strata::data {
namespace {

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

}  // namespace

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
