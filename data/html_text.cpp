// HTML through a text translator (data/html_text.h).
#include "data/html_text.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "data/format_helpers.h"
#include "data/protect.h"
#include "nmt/util/error.h"
#include "nmt/util/utf8.h"

namespace strata::data {
namespace {

// Inline elements: their tags stay inside a run of text.
const std::set<std::string> kInline = {"a",    "abbr", "b",      "bdi",   "bdo",  "big",  "cite",
                                       "data", "del",  "dfn",    "em",    "font", "i",    "img",
                                       "ins",  "mark", "q",      "s",     "small", "span", "strike",
                                       "strong", "sub", "sup",   "time",  "tt",   "u",    "wbr",
                                       "label", "code", "kbd",   "samp",  "var"};
// Elements kept whole, content and all (inline ones become one unit of their run).
const std::set<std::string> kKept = {"script", "style", "pre", "textarea", "code", "kbd", "samp", "var"};
// Elements without content.
const std::set<std::string> kVoid = {"area",  "base", "br",   "col",    "embed", "hr",    "img",
                                     "input", "link", "meta", "param",  "source", "track", "wbr"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool name_char(char c) { return is_alnum(c) || c == '-' || c == ':' || c == '_'; }

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// One piece of a run: decoded text, or a unit the translation must carry (a tag, a kept
// element, an entity the decoder does not know).
struct Piece {
  enum Kind { kText, kTag, kEntity } kind = kText;
  std::string raw;   // as in the document
  std::string text;  // kText: unescaped
  std::string name;  // kTag: element name (lower case)
  bool open = false, close = false;  // kTag: a start/end tag that pairs with another
};

// An item of the document: markup that ends a run (kept as is), or a piece of a run.
struct Item {
  bool brk = false;
  std::string raw;  // brk: the markup
  Piece piece;      // !brk
};

// Unescapes the text of `raw` into pieces: text (numeric references, amp, lt, gt, quot, apos and
// nbsp decoded) and entity units (other named references, kept as written).
void add_text(std::string_view raw, std::vector<Item>* items) {
  Piece cur;
  auto flush = [&] {
    if (cur.raw.empty()) return;
    Item it;
    it.piece = std::move(cur);
    items->push_back(std::move(it));
    cur = Piece();
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      cur.raw += raw[i];
      cur.text += raw[i];
      continue;
    }
    // A reference is short: look for its ';' in the next 33 bytes only (no quadratic scan).
    const size_t semi_rel = raw.substr(i + 1, 33).find(';');
    const size_t semi = semi_rel == std::string_view::npos ? std::string_view::npos : i + 1 + semi_rel;
    const std::string_view ref = semi == std::string_view::npos ? std::string_view() : raw.substr(i + 1, semi - i - 1);
    std::string decoded;
    bool known = false, named = false;
    if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      known = !digits.empty() && digits.size() <= 8;
      for (char d : digits) {
        const int h = hex ? hex_value(d) : (is_digit(d) ? d - '0' : -1);
        if (h < 0) known = false;
        if (!known) break;
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(h);
      }
      if (known) append_utf8(decoded, cp);
    } else if (!ref.empty() && is_alpha(ref[0]) &&
               std::all_of(ref.begin(), ref.end(), [](char c) { return is_alnum(c); })) {
      named = true;
      const char* rep = ref == "amp" ? "&" : ref == "lt" ? "<" : ref == "gt" ? ">"
                      : ref == "quot" ? "\"" : ref == "apos" ? "'" : ref == "nbsp" ? "\xC2\xA0" : nullptr;
      if (rep != nullptr) known = true, decoded = rep;
    }
    if (known) {
      cur.raw.append(raw.substr(i, semi - i + 1));
      cur.text += decoded;
      i = semi;
    } else if (named) {  // a named reference the decoder does not know: a unit
      flush();
      Item it;
      it.piece.kind = Piece::kEntity;
      it.piece.raw = std::string(raw.substr(i, semi - i + 1));
      items->push_back(std::move(it));
      i = semi;
    } else {  // a bare '&'
      cur.raw += '&';
      cur.text += '&';
    }
  }
  flush();
}

// Ends of tags: for a tag starting at p ('<'), one past its '>' outside quotes, npos if none.
// Linear over a whole document however many tags fail to end: from a position outside quotes the
// scan goes to the next '>', '"' or '\'' (precomputed), jumps over a quoted value to the next
// position outside quotes, and every such position's outcome is remembered.
class TagEnds {
 public:
  explicit TagEnds(std::string_view s)
      : s_(s), special_(s.size() + 1, kNone), dq_(s.size() + 1, kNone), sq_(s.size() + 1, kNone),
        memo_(s.size() + 1, kUnknown) {
    for (size_t i = s.size(); i-- > 0;) {
      const char c = s[i];
      special_[i] = c == '>' || c == '"' || c == '\'' ? i : special_[i + 1];
      dq_[i] = c == '"' ? i : dq_[i + 1];
      sq_[i] = c == '\'' ? i : sq_[i + 1];
    }
  }
  size_t operator()(size_t p) {
    std::vector<size_t> path;
    size_t at = p + 1, result = kNone;
    for (;;) {
      if (memo_[at] != kUnknown) {
        result = memo_[at];
        break;
      }
      path.push_back(at);
      const size_t i = special_[at];
      if (i == kNone) break;
      if (s_[i] == '>') {
        result = i + 1;
        break;
      }
      const size_t close = (s_[i] == '"' ? dq_ : sq_)[i + 1];
      if (close == kNone) break;
      at = close + 1;
    }
    for (size_t q : path) memo_[q] = result;
    return result == kNone ? std::string_view::npos : result;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1), kUnknown = static_cast<size_t>(-2);
  std::string_view s_;
  std::vector<size_t> special_, dq_, sq_, memo_;
};

// Whether `tag` (a start tag) has translate="no".
bool no_translate(std::string_view tag) {
  const std::string t = lower_ascii(tag);
  for (size_t at = t.find("translate"); at != std::string::npos; at = t.find("translate", at + 1)) {
    if (at > 0 && name_char(t[at - 1])) continue;
    size_t i = at + 9;
    while (i < t.size() && is_space(t[i])) ++i;
    if (i >= t.size() || t[i] != '=') continue;
    ++i;
    while (i < t.size() && is_space(t[i])) ++i;
    if (i < t.size() && (t[i] == '"' || t[i] == '\'')) ++i;
    if (t.compare(i, 2, "no") == 0 && (i + 2 >= t.size() || !name_char(t[i + 2]))) return true;
  }
  return false;
}

// One past the end tag that closes element `name` whose start tag ends at `from` (same-name
// elements nest; script/style content is raw text up to the first end tag). npos: none.
size_t element_end(std::string_view s, size_t from, const std::string& name, bool raw_text, TagEnds& tag_end) {
  int depth = 1;
  for (size_t p = s.find('<', from); p != std::string_view::npos; p = s.find('<', p + 1)) {
    const bool closing = p + 1 < s.size() && s[p + 1] == '/';
    const size_t n0 = p + (closing ? 2 : 1);
    if (s.size() - n0 < name.size() || lower_ascii(s.substr(n0, name.size())) != name) continue;
    if (n0 + name.size() < s.size() && name_char(s[n0 + name.size()])) continue;
    if (!closing && raw_text) continue;
    const size_t end = tag_end(p);
    if (end == std::string_view::npos) return end;
    if (closing) {
      if (--depth == 0) return end;
    } else if (s[end - 2] != '/') {
      ++depth;
    }
  }
  return std::string_view::npos;
}

std::vector<Item> parse(std::string_view s) {
  std::vector<Item> items;
  TagEnds tag_end(s);
  std::string text;  // raw text not yet added
  auto brk = [&](std::string_view raw) {
    add_text(text, &items);
    text.clear();
    Item it;
    it.brk = true;
    it.raw = std::string(raw);
    items.push_back(std::move(it));
  };
  auto unit = [&](Piece pc) {
    add_text(text, &items);
    text.clear();
    Item it;
    it.piece = std::move(pc);
    items.push_back(std::move(it));
  };
  size_t p = 0;
  while (p < s.size()) {
    if (s[p] != '<' || p + 1 >= s.size()) {
      text += s[p++];
      continue;
    }
    if (s.compare(p, 4, "<!--") == 0) {
      const size_t e = s.find("-->", p + 4);
      const size_t end = e == std::string_view::npos ? s.size() : e + 3;
      brk(s.substr(p, end - p));
      p = end;
      continue;
    }
    if (s[p + 1] == '!' || s[p + 1] == '?') {
      const size_t e = s.find('>', p);
      const size_t end = e == std::string_view::npos ? s.size() : e + 1;
      brk(s.substr(p, end - p));
      p = end;
      continue;
    }
    const bool closing = s[p + 1] == '/';
    const size_t n0 = p + (closing ? 2 : 1);
    if (n0 >= s.size() || !is_alpha(s[n0])) {
      text += s[p++];  // a '<' that starts no tag is text
      continue;
    }
    const size_t end = tag_end(p);
    if (end == std::string_view::npos) {
      text += s[p++];  // a '<' that starts no tag is text
      continue;
    }
    size_t n1 = n0;
    while (n1 < s.size() && name_char(s[n1])) ++n1;
    const std::string name = lower_ascii(s.substr(n0, n1 - n0));
    const std::string_view tag = s.substr(p, end - p);
    const bool inline_tag = kInline.count(name) > 0;
    const bool self_closing = !closing && tag.size() >= 2 && tag[tag.size() - 2] == '/';
    if (!closing && !self_closing && kVoid.count(name) == 0 &&
        (kKept.count(name) > 0 || no_translate(tag))) {  // the whole element, kept
      const size_t e = element_end(s, end, name, name == "script" || name == "style", tag_end);
      const size_t stop = e == std::string_view::npos ? s.size() : e;
      Piece pc;
      pc.kind = Piece::kTag;
      pc.raw = std::string(s.substr(p, stop - p));
      pc.name = name;
      if (inline_tag)
        unit(std::move(pc));
      else
        brk(pc.raw);
      p = stop;
      continue;
    }
    if (!inline_tag) {
      brk(tag);
    } else {
      Piece pc;
      pc.kind = Piece::kTag;
      pc.raw = std::string(tag);
      pc.name = name;
      const bool pairs = kVoid.count(name) == 0 && !self_closing;
      pc.open = pairs && !closing;
      pc.close = pairs && closing;
      unit(std::move(pc));
    }
    p = end;
  }
  add_text(text, &items);
  return items;
}

// A letter: ASCII, or a code point from U+00C0 on outside General Punctuation.
bool has_letter(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t len = 1;
    const uint32_t cp = decode_utf8(text, i, &len);
    if ((cp < 0x80 && is_alpha(static_cast<char>(cp))) ||
        (cp >= 0xC0 && cp != kInvalidCodePoint && !(cp >= 0x2000 && cp <= 0x206F)))
      return true;
    i += len;
  }
  return false;
}

bool has_letter(const std::vector<Piece>& run) {
  for (const Piece& pc : run)
    if (pc.kind == Piece::kText && has_letter(pc.text)) return true;
  return false;
}

// '%' followed by a digit in the text: it would read as a token.
bool has_token_text(const std::vector<Piece>& run) {
  for (const Piece& pc : run)
    if (pc.kind == Piece::kText)
      for (size_t i = 0; i + 1 < pc.text.size(); ++i)
        if (pc.text[i] == '%' && is_digit(pc.text[i + 1])) return true;
  return false;
}

// Units of a run (its tags and entities).
size_t units_of(const std::vector<Piece>& run) {
  return static_cast<size_t>(std::count_if(run.begin(), run.end(), [](const Piece& pc) { return pc.kind != Piece::kText; }));
}

// Tokens have at most three digits (data/protect.h's restore reads no more).
constexpr size_t kMaxUnits = 999;

std::string raw_of(const std::vector<Piece>& run) {
  std::string out;
  for (const Piece& pc : run) out += pc.raw;
  return out;
}

// A run as the translator sees it: units as tokens, whitespace runs as one space, trimmed; and
// the run's own leading and trailing whitespace (raw), kept around the translation.
struct Prepared {
  std::string line, lead, trail;
  std::vector<const Piece*> units;
  std::vector<size_t> at;  // per unit: where it stands in `line` with the tokens taken out
};

Prepared prepare(const std::vector<Piece>& run) {
  Prepared pr;
  if (!run.empty() && run.front().kind == Piece::kText) {
    const std::string& r = run.front().raw;
    size_t k = 0;
    while (k < r.size() && is_space(r[k])) ++k;
    pr.lead = r.substr(0, k);
  }
  if (!run.empty() && run.back().kind == Piece::kText && !(run.size() == 1 && pr.lead.size() == run[0].raw.size())) {
    const std::string& r = run.back().raw;
    size_t k = r.size();
    while (k > 0 && is_space(r[k - 1])) --k;
    pr.trail = r.substr(k);
  }
  std::string line;
  size_t plain = 0;  // text bytes so far
  for (const Piece& pc : run) {
    if (pc.kind == Piece::kText) {
      for (char c : pc.text) {
        if (is_space(c)) {
          if (!line.empty() && line.back() != ' ') line += ' ', ++plain;
        } else {
          line += c, ++plain;
        }
      }
    } else {
      pr.units.push_back(&pc);
      pr.at.push_back(plain);
      line += protection_token(pr.units.size() - 1);
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  pr.line = line.substr(line.empty() || line[0] != ' ' ? 0 : 1);
  return pr;
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
}

// Pairs of start/end tags (indices into `order`, by unit) as a stack matches them.
std::set<std::pair<size_t, size_t>> tag_pairs(const std::vector<const Piece*>& units,
                                              const std::vector<size_t>& order) {
  std::set<std::pair<size_t, size_t>> pairs;
  std::vector<size_t> stack;
  for (size_t u : order) {
    const Piece* pc = units[u];
    if (pc->open) {
      stack.push_back(u);
    } else if (pc->close) {
      // The nearest open element of that name among the innermost 64 (bounded: no quadratic scan).
      const auto stop = stack.size() > 64 ? stack.rbegin() + 64 : stack.rend();
      auto it = std::find_if(stack.rbegin(), stop, [&](size_t o) { return units[o]->name == pc->name; });
      if (it != stop) {
        pairs.insert({*it, u});
        stack.erase(std::next(it).base(), stack.end());
      }
    }
  }
  return pairs;
}

// The text of `line` without its tokens.
std::string plain_text(const std::string& line, size_t units) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (units > 0 && line[i] == '%' && i + 1 < line.size() && is_digit(line[i + 1])) {
      size_t k = i + 1;
      while (k < line.size() && is_digit(line[k]) && k - i < 4) ++k;
      i = k - 1;
      continue;
    }
    out += line[i];
  }
  return out;
}

// The translation with its tokens back as units and its text escaped; false when a token is
// missing, repeated or unknown, when the tags pair up differently from the source, or when an
// element that held text in the source holds none in the translation.
bool restore_run(const Prepared& pr, const std::string& translation, std::string* out) {
  std::vector<size_t> order;
  std::vector<int> seen(pr.units.size(), 0);
  std::vector<size_t> at(pr.units.size(), 0);  // per unit: its place in the translation's text
  std::string body, plain;
  size_t from = 0;
  for (size_t i = 0; i < translation.size(); ++i) {
    if (pr.units.empty() || translation[i] != '%' || i + 1 >= translation.size() || !is_digit(translation[i + 1]))
      continue;
    size_t k = i + 1, value = 0;
    while (k < translation.size() && is_digit(translation[k]) && k - i < 4) value = value * 10 + (translation[k++] - '0');
    if (value < 1 || value > pr.units.size() || ++seen[value - 1] > 1) return false;
    append_escaped(body, std::string_view(translation).substr(from, i - from));
    plain.append(translation, from, i - from);
    at[value - 1] = plain.size();
    body += pr.units[value - 1]->raw;
    order.push_back(value - 1);
    from = k;
    i = k - 1;
  }
  if (std::count(seen.begin(), seen.end(), 1) != static_cast<long>(seen.size())) return false;
  append_escaped(body, std::string_view(translation).substr(from));
  std::vector<size_t> source(pr.units.size());
  for (size_t u = 0; u < source.size(); ++u) source[u] = u;
  const auto pairs = tag_pairs(pr.units, source);
  if (tag_pairs(pr.units, order) != pairs) return false;
  const std::string src_plain = plain_text(pr.line, pr.units.size());
  for (const auto& [o, c] : pairs)
    if (has_letter(std::string_view(src_plain).substr(pr.at[o], pr.at[c] - pr.at[o])) &&
        !has_letter(std::string_view(plain).substr(at[o], at[c] - at[o])))
      return false;
  *out = pr.lead + body + pr.trail;
  return true;
}

// What one document is made of: kept markup, or runs (indices into the batch's runs).
struct Part {
  std::string markup;
  long run = -1;
};

}  // namespace

std::vector<std::string> translate_html(const std::vector<std::string>& docs,
                                        const TranslateLines& translate, HtmlStats* stats) {
  HtmlStats local;
  HtmlStats& st = stats != nullptr ? *stats : local;
  std::vector<std::vector<Part>> parts(docs.size());
  std::vector<std::vector<Piece>> runs;
  for (size_t d = 0; d < docs.size(); ++d) {
    std::vector<Piece> run;
    auto close_run = [&] {
      if (run.empty()) return;
      Part part;
      part.run = static_cast<long>(runs.size());
      runs.push_back(std::move(run));
      parts[d].push_back(std::move(part));
      run.clear();
    };
    for (Item& it : parse(docs[d])) {
      if (it.brk) {
        close_run();
        Part part;
        part.markup = std::move(it.raw);
        parts[d].push_back(std::move(part));
      } else {
        run.push_back(std::move(it.piece));
      }
    }
    close_run();
  }
  // Round 1: every run with a letter, whole.
  std::vector<std::string> done(runs.size());
  std::vector<Prepared> prepared(runs.size());
  std::vector<std::string> lines;
  std::vector<size_t> sent;
  std::vector<size_t> split;  // runs for round 2
  for (size_t r = 0; r < runs.size(); ++r) {
    if (!has_letter(runs[r])) {
      done[r] = raw_of(runs[r]);
    } else if ((has_token_text(runs[r]) && units_of(runs[r]) > 0) || units_of(runs[r]) > kMaxUnits) {
      split.push_back(r);
    } else {
      prepared[r] = prepare(runs[r]);
      lines.push_back(prepared[r].line);
      sent.push_back(r);
    }
  }
  st.runs += sent.size();
  if (!lines.empty()) {
    const auto out = translate(lines);
    if (out.size() != lines.size()) throw Error("translate_html: the translator returned a wrong number of lines");
    for (size_t i = 0; i < sent.size(); ++i)
      if (!restore_run(prepared[sent[i]], out[i], &done[sent[i]])) split.push_back(sent[i]);
  }
  // Round 2: the runs that failed, in pieces split at their tags.
  std::sort(split.begin(), split.end());
  st.split_runs += split.size();
  struct Sub {
    size_t run;
    std::vector<Piece> pieces;  // a tag alone, or text and entities
    Prepared pr;
    std::string out;
    bool send = false;
  };
  std::vector<Sub> subs;
  lines.clear();
  for (size_t r : split) {
    std::vector<Piece> cur;
    auto flush = [&] {
      if (cur.empty()) return;
      Sub s{r, std::move(cur), {}, {}, false};
      s.send = has_letter(s.pieces) && !(has_token_text(s.pieces) && units_of(s.pieces) > 0) &&
               units_of(s.pieces) <= kMaxUnits;
      if (s.send) {
        s.pr = prepare(s.pieces);
        lines.push_back(s.pr.line);
      } else {
        s.out = raw_of(s.pieces);
        if (has_letter(s.pieces)) ++st.kept_pieces;
      }
      subs.push_back(std::move(s));
      cur.clear();
    };
    for (Piece& pc : runs[r]) {
      if (pc.kind == Piece::kTag) {
        flush();
        cur.push_back(std::move(pc));
        flush();
      } else {
        cur.push_back(std::move(pc));
      }
    }
    flush();
  }
  if (!lines.empty()) {
    const auto out = translate(lines);
    if (out.size() != lines.size()) throw Error("translate_html: the translator returned a wrong number of lines");
    size_t i = 0;
    for (Sub& s : subs) {
      if (!s.send) continue;
      if (!restore_run(s.pr, out[i++], &s.out)) {
        s.out = raw_of(s.pieces);
        ++st.kept_pieces;
      }
    }
  }
  for (size_t r : split) done[r].clear();
  for (const Sub& s : subs) done[s.run] += s.out;
  std::vector<std::string> result(docs.size());
  for (size_t d = 0; d < docs.size(); ++d)
    for (const Part& part : parts[d]) result[d] += part.run >= 0 ? done[static_cast<size_t>(part.run)] : part.markup;
  return result;
}

}  // namespace strata::data
