// Translating Fluent (.ftl) files (data/catalog.h): messages and attributes are translated,
// select expressions keep their selectors and get the target language's plural variants, terms
// and comments are kept as written.
#include <algorithm>
#include <map>
#include <set>

#include "data/catalog_internal.h"
#include "data/fluent.h"
#include "data/format_helpers.h"
#include "data/plural_rules.h"
#include "nmt/util/error.h"

namespace strata::data {
namespace {

struct FVariant;
struct FPiece {
  bool select = false;
  std::string run;       // text with inline placeables as written (select = false)
  int id = -1;           // its string in the TextBatch
  std::string selector;  // select = true
  std::vector<FVariant> variants;
};
struct FVariant {
  std::string key;
  bool is_default = false;
  std::vector<FPiece> pattern;
};
struct FAttr {
  std::string name;
  std::vector<FPiece> pattern;
};
struct FItem {
  bool message = false;
  std::string raw;  // as written (everything that is not a message, and each message)
  std::string id;
  bool has_value = false;
  std::vector<FPiece> value;
  std::vector<FAttr> attrs;
  int line = 0;
};

bool id_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }

// A structural reader of a file that parse_ftl has already accepted.
class FtlReader {
 public:
  explicit FtlReader(std::string_view s) : s_(s) {}

  std::vector<FItem> read() {
    std::vector<FItem> items;
    while (!eof()) {
      const size_t start = p_;
      FItem it;
      const char c = peek();
      if (c == '\n' || c == ' ' || c == '#') {
        while (!eof() && peek() != '\n') ++p_;
        if (!eof()) ++p_;
        it.raw = std::string(s_.substr(start, p_ - start));
        items.push_back(std::move(it));
        continue;
      }
      const bool term = c == '-';
      if (term) ++p_;
      const size_t id_begin = p_;
      while (id_char(peek())) ++p_;
      it.id = std::string(s_.substr(id_begin, p_ - id_begin));
      it.line = line_at(s_, start);
      skip_spaces();
      if (peek() == '=') ++p_;
      skip_spaces();
      it.has_value = parse_pattern(it.value);
      while (at_attribute()) {
        ++p_;
        FAttr a;
        const size_t n = p_;
        while (id_char(peek())) ++p_;
        a.name = std::string(s_.substr(n, p_ - n));
        skip_spaces();
        if (peek() == '=') ++p_;
        skip_spaces();
        parse_pattern(a.pattern);
        it.attrs.push_back(std::move(a));
      }
      if (p_ == start) ++p_;  // cannot happen on a file parse_ftl accepted; never loop forever
      it.raw = std::string(s_.substr(start, p_ - start));
      it.message = !term && !it.id.empty();
      items.push_back(std::move(it));
    }
    return items;
  }

 private:
  bool eof() const { return p_ >= s_.size(); }
  char peek(size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }
  void skip_spaces() {
    while (peek() == ' ') ++p_;
  }
  void skip_blank() {
    while (peek() == ' ' || peek() == '\n') ++p_;
  }
  bool at_attribute() {
    size_t q = p_;
    bool newline = false;
    while (q < s_.size() && (s_[q] == '\n' || s_[q] == ' ')) newline |= s_[q++] == '\n';
    if (!newline || q >= s_.size() || s_[q] != '.') return false;
    p_ = q;
    return true;
  }
  // From '{' at p_: the end of the placeable (after '}'), or the "->" of a select expression.
  size_t scan_placeable(size_t* arrow) {
    int depth = 0;
    bool in_string = false;
    for (size_t q = p_; q < s_.size(); ++q) {
      const char c = s_[q];
      if (in_string) {
        if (c == '\\') ++q;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      else if (c == '{') ++depth;
      else if (c == '}') {
        if (--depth == 0) return q + 1;
      } else if (c == '-' && q + 1 < s_.size() && s_[q + 1] == '>' && depth == 1) {
        *arrow = q;
        return q + 2;
      }
    }
    return s_.size();
  }

  bool parse_pattern(std::vector<FPiece>& out) {
    std::string run;
    bool any = false;
    auto flush = [&] {
      if (!run.empty()) {
        FPiece piece;
        piece.run = std::move(run);
        out.push_back(std::move(piece));
        run.clear();
      }
    };
    while (!eof()) {
      const char c = peek();
      if (c == '{') {
        any = true;
        size_t arrow = std::string_view::npos;
        const size_t end = scan_placeable(&arrow);
        if (arrow == std::string_view::npos) {
          run.append(s_.substr(p_, end - p_));
          p_ = end;
          continue;
        }
        flush();
        FPiece sel;
        sel.select = true;
        std::string selector(s_.substr(p_ + 1, arrow - p_ - 1));
        while (!selector.empty() && (selector.front() == ' ' || selector.front() == '\n')) selector.erase(0, 1);
        while (!selector.empty() && (selector.back() == ' ' || selector.back() == '\n')) selector.pop_back();
        sel.selector = selector;
        p_ = end;
        while (true) {
          skip_blank();
          if (eof()) break;
          if (peek() == '}') {
            ++p_;
            break;
          }
          FVariant v;
          if (peek() == '*') {
            v.is_default = true;
            ++p_;
          }
          if (peek() == '[') ++p_;
          skip_blank();
          const size_t k = p_;
          while (!eof() && peek() != ']' && peek() != ' ' && peek() != '\n') ++p_;
          v.key = std::string(s_.substr(k, p_ - k));
          skip_blank();
          if (peek() == ']') ++p_;
          skip_spaces();
          parse_pattern(v.pattern);
          sel.variants.push_back(std::move(v));
        }
        out.push_back(std::move(sel));
      } else if (c == '}') {
        break;
      } else if (c == '\n') {
        size_t q = p_;
        size_t indent = 0;
        while (q < s_.size() && s_[q] == '\n') {
          ++q;
          indent = 0;
          while (q < s_.size() && s_[q] == ' ') ++q, ++indent;
        }
        if (q >= s_.size()) break;
        const char d = s_[q];
        const bool continues = d == '{' || (indent > 0 && d != '[' && d != '*' && d != '.' && d != '}');
        if (!continues) break;
        if (!run.empty() || !out.empty()) run += '\n';
        p_ = q;
      } else {
        const size_t start = p_;
        while (!eof() && peek() != '{' && peek() != '}' && peek() != '\n') ++p_;
        run.append(s_.substr(start, p_ - start));
        any = true;
      }
    }
    while (!run.empty() && (run.back() == ' ' || run.back() == '\n')) run.pop_back();
    flush();
    return any;
  }

  std::string_view s_;
  size_t p_ = 0;
};

// Attributes whose values are not text: kept as written (access keys are derived).
bool keep_attr(const std::string& name) {
  static const std::set<std::string> kKeep = {"key", "commandkey", "keycode", "style", "width",
                                              "height", "modifiers"};
  return kKeep.count(name) > 0;
}

void add_runs(std::vector<FPiece>& pattern, TextBatch& batch) {
  for (FPiece& p : pattern) {
    if (!p.select) {
      p.id = batch.add(p.run);
    } else {
      for (FVariant& v : p.variants) add_runs(v.pattern, batch);
    }
  }
}

// Results of every run of a pattern: false with the first problem when one is refused.
struct Outcome {
  bool ok = true, copied = true;
  std::string problem, refused;
};
void collect(const std::vector<FPiece>& pattern, const TextBatch& batch,
             std::map<int, std::string>* text, Outcome* o) {
  for (const FPiece& p : pattern) {
    if (!p.select) {
      const TextBatch::Result r = batch.result(p.id);
      if (!r.ok) {
        if (o->ok) o->problem = r.problem, o->refused = r.refused;
        o->ok = false;
      }
      o->copied &= r.copied;
      (*text)[p.id] = r.text;
    } else {
      for (const FVariant& v : p.variants) collect(v.pattern, batch, text, o);
    }
  }
}

// Whether every '{' of `s` is closed by a later '}' and no '}' comes unopened; inside braces, a
// "string literal" (with \ escapes) is skipped, as Fluent reads `{ "}" }`.
bool braces_balance(std::string_view s) {
  int depth = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    const char c = s[k];
    if (c == '"' && depth > 0) {
      for (++k; k < s.size() && s[k] != '"'; ++k)
        if (s[k] == '\\') ++k;
      if (k >= s.size()) return false;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth < 0) {
      return false;
    }
  }
  return depth == 0;
}

// Literal braces outside placeables, and '[', '*', '.' at the start of a line, as string
// literals (they would be syntax otherwise).
std::string escape_ftl_line(const std::string& line) {
  const std::vector<Span> spans = find_spans(line);
  std::string out;
  size_t next_span = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (next_span < spans.size() && i == spans[next_span].begin) {
      const Span span = spans[next_span++];
      // A span is copied as it is only when its braces balance: a placeable that a translation
      // split (or a span that took half of one) is written with its braces as literals.
      if (braces_balance(std::string_view(line).substr(span.begin, span.end - span.begin))) {
        out.append(line, i, span.end - i);
        i = span.end - 1;
        continue;
      }
    }
    const char c = line[i];
    if (c == '{' || c == '}' || (out.empty() && (c == '[' || c == '*' || c == '.'))) {
      out += std::string("{ \"") + c + "\" }";
    } else {
      out += c;
    }
  }
  return out;
}

bool is_cldr_category(const std::string& k) {
  return k == "zero" || k == "one" || k == "two" || k == "few" || k == "many" || k == "other";
}

// The target language's plural variants for a select on a number: numeric keys as they are,
// then one variant per CLDR category of the target (the source's, else its "other"), "other"
// the default. Other selects are kept as they are.
std::vector<FVariant> target_variants(const FPiece& sel, const std::string& tgt) {
  if (sel.selector.find('$') == std::string::npos) return sel.variants;
  const FVariant* other = nullptr;
  for (const FVariant& v : sel.variants) {
    const bool number = !v.key.empty() && std::all_of(v.key.begin(), v.key.end(), [](char c) { return is_digit(c); });
    if (!number && !is_cldr_category(v.key)) return sel.variants;
    if (v.key == "other") other = &v;
  }
  if (other == nullptr || !other->is_default) return sel.variants;
  std::vector<FVariant> out;
  for (const FVariant& v : sel.variants) {
    if (!is_cldr_category(v.key)) out.push_back(v);
  }
  for (const std::string& cat : cldr_plural_categories(tgt)) {
    const FVariant* src = other;
    for (const FVariant& v : sel.variants) {
      if (v.key == cat) src = &v;
    }
    FVariant v = *src;
    v.key = cat;
    v.is_default = cat == "other";
    out.push_back(std::move(v));
  }
  return out;
}

std::string serialize(const std::vector<FPiece>& pattern, size_t indent,
                      const std::map<int, std::string>* text, const std::string& tgt) {
  std::string out;
  const std::string pad(indent, ' ');
  for (const FPiece& p : pattern) {
    if (!p.select) {
      const std::string t = text ? text->at(p.id) : p.run;
      size_t start = 0;
      bool first = true;
      while (true) {
        const size_t nl = t.find('\n', start);
        const std::string line = t.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!first) out += "\n" + pad;
        out += text ? escape_ftl_line(line) : line;
        first = false;
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
      continue;
    }
    out += "{ " + p.selector + " ->";
    const std::vector<FVariant> variants = text ? target_variants(p, tgt) : p.variants;
    for (const FVariant& v : variants) {
      out += "\n" + std::string(indent + (v.is_default ? 3 : 4), ' ') + (v.is_default ? "*[" : "[") +
             v.key + "] " + serialize(v.pattern, indent + 8, text, tgt);
    }
    out += "\n" + pad + "}";
  }
  return out;
}

}  // namespace

std::string fill_ftl(std::string_view input, const std::string& name, const CatalogOptions& opt,
                     const TranslateFn& translate, CatalogStats* st) {
  (void)parse_ftl(input, name);  // syntax errors name the line
  std::string storage;
  const std::string_view text = normalise_newlines(skip_bom(input), storage);
  std::vector<FItem> items = FtlReader(text).read();

  ProtectOptions popt;
  popt.placeholders = opt.protect;
  popt.accel = opt.accel_set ? opt.accel : AccelMode::kNone;
  TextBatch batch(popt, opt.tgt_lang);
  for (FItem& it : items) {
    if (!it.message) continue;
    if (it.has_value) add_runs(it.value, batch), ++st->entries;
    for (FAttr& a : it.attrs) {
      ++st->entries;
      if (keep_attr(a.name) || is_accesskey_name(a.name)) continue;
      add_runs(a.pattern, batch);
    }
  }
  batch.run(translate);

  std::string out;
  for (FItem& it : items) {
    if (!it.message) {
      out += it.raw;
      continue;
    }
    std::map<int, std::string> texts;
    Outcome o;
    int translatable = 0, kept = 0;
    if (it.has_value) collect(it.value, batch, &texts, &o), ++translatable;
    for (const FAttr& a : it.attrs) {
      if (keep_attr(a.name) || is_accesskey_name(a.name)) {
        ++kept;
        continue;
      }
      collect(a.pattern, batch, &texts, &o);
      ++translatable;
    }
    if (!o.ok) {
      st->flagged += translatable - 1;
      st->kept += kept;
      note_flagged(st, name, it.line, it.id, o.problem);
      if (opt.comment_flagged) out += "# strata: not translated (" + one_line(o.problem) + "): " + one_line(o.refused) + "\n";
      out += it.raw;
      continue;
    }
    (o.copied ? st->copied : st->translated) += translatable;
    st->kept += kept;
    std::string msg = it.id + " =";
    std::string label;
    if (it.has_value) {
      const std::string v = serialize(it.value, 4, &texts, opt.tgt_lang);
      msg += " " + v;
      label = v;
    }
    for (const FAttr& a : it.attrs) {
      if (a.name == "label") label = serialize(a.pattern, 4, &texts, opt.tgt_lang);
    }
    for (const FAttr& a : it.attrs) {
      std::string v;
      if (keep_attr(a.name)) {
        v = serialize(a.pattern, 8, nullptr, opt.tgt_lang);
      } else if (is_accesskey_name(a.name)) {
        const std::string old = serialize(a.pattern, 8, nullptr, opt.tgt_lang);
        v = label.empty() || old.find('{') != std::string::npos ? old : escape_ftl_line(derive_accesskey(old, label, opt.tgt_lang));
      } else {
        v = serialize(a.pattern, 8, &texts, opt.tgt_lang);
      }
      msg += "\n    ." + a.name + " = " + v;
    }
    out += msg;
  }
  return out;
}

}  // namespace strata::data
