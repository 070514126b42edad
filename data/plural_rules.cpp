// Plural rules of target languages (data/plural_rules.h).
#include "data/plural_rules.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "nmt/util/error.h"

namespace strata::data {
namespace {

struct LangRule {
  const char* langs;         // space-separated codes
  const char* plural_forms;  // gettext header value
  const char* cldr;          // CLDR cardinal categories (integers), space-separated
  int mozilla;               // forms of Mozilla's PluralForm rule
};

// gettext's values as msginit writes them; CLDR's categories for integer counts.
constexpr LangRule kRules[] = {
    {"ja ko zh zh-CN zh-TW zh-HK vi th id ms lo my", "nplurals=1; plural=0;", "other", 1},
    {"en de nl sv da nb nn no fi el es it pt hu tr eu ca gl bg et he kk ka af eo fy ia sq az "
     "uz mn ur hi bn ta te ml kn mr gu pa ne si sw",
     "nplurals=2; plural=(n != 1);", "one other", 2},
    {"fr pt-BR oc br", "nplurals=2; plural=(n > 1);", "one other", 2},
    {"ru uk be",
     "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || "
     "n%100>=20) ? 1 : 2);",
     "one few many other", 3},
    {"sr hr bs",
     "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || "
     "n%100>=20) ? 1 : 2);",
     "one few other", 3},
    {"pl",
     "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
     "one few many other", 3},
    {"cs sk", "nplurals=3; plural=(n==1) ? 0 : (n>=2 && n<=4) ? 1 : 2;", "one few many other", 3},
    {"sl", "nplurals=4; plural=(n%100==1 ? 0 : n%100==2 ? 1 : n%100==3 || n%100==4 ? 2 : 3);",
     "one two few other", 4},
    {"lt",
     "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && (n%100<10 || n%100>=20) ? 1 : "
     "2);",
     "one few many other", 3},
    {"lv", "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n != 0 ? 1 : 2);", "zero one other", 3},
    {"ro", "nplurals=3; plural=(n==1 ? 0 : (n==0 || (n%100 > 0 && n%100 < 20)) ? 1 : 2);",
     "one few other", 3},
    {"ar",
     "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 "
     "? 4 : 5;",
     "zero one two few many other", 6},
    {"ga", "nplurals=5; plural=n==1 ? 0 : n==2 ? 1 : n<7 ? 2 : n<11 ? 3 : 4;",
     "one two few many other", 5},
    {"cy", "nplurals=4; plural=(n==1) ? 0 : (n==2) ? 1 : (n != 8 && n != 11) ? 2 : 3;",
     "zero one two few many other", 6},
};

// "pt_BR" -> "pt-BR"; a region that the table does not name falls back to the language.
const LangRule* find_rule(const std::string& lang) {
  std::string code = lang;
  std::replace(code.begin(), code.end(), '_', '-');
  for (int pass = 0; pass < 2; ++pass) {
    for (const LangRule& r : kRules) {
      const char* p = r.langs;
      while (*p) {
        const char* end = std::strchr(p, ' ');
        const size_t n = end ? static_cast<size_t>(end - p) : std::strlen(p);
        if (code.size() == n && code.compare(0, n, p, n) == 0) return &r;
        p += n;
        while (*p == ' ') ++p;
      }
    }
    const size_t dash = code.find('-');
    if (dash == std::string::npos) break;
    code.resize(dash);
  }
  return nullptr;
}

}  // namespace

std::string gettext_plural_forms(const std::string& lang) {
  const LangRule* r = find_rule(lang);
  return r ? r->plural_forms : "";
}

std::vector<std::string> cldr_plural_categories(const std::string& lang) {
  const LangRule* r = find_rule(lang);
  std::vector<std::string> out;
  const char* p = r ? r->cldr : "one other";
  std::string word;
  for (; ; ++p) {
    if (*p == ' ' || *p == '\0') {
      if (!word.empty()) out.push_back(word);
      word.clear();
      if (*p == '\0') break;
    } else {
      word += *p;
    }
  }
  return out;
}

int mozilla_plural_count(const std::string& lang) {
  const LangRule* r = find_rule(lang);
  return r ? r->mozilla : 2;
}

// ---- the Plural-Forms expression ----

struct PluralForms::Node {
  enum Kind { kN, kNum, kUnary, kBinary, kTernary } kind = kNum;
  char op = 0;  // unary: '!' '-'; binary: one char per operator (see below)
  unsigned long value = 0;
  std::shared_ptr<const Node> a, b, c;

  // Binary op codes: '*' '/' '%' '+' '-' '<' 'l' (<=) '>' 'g' (>=) '=' (==) '!' (!=) '&' '|'.
  bool eval(unsigned long n, unsigned long* out) const {
    unsigned long x = 0, y = 0;
    switch (kind) {
      case kN:
        *out = n;
        return true;
      case kNum:
        *out = value;
        return true;
      case kUnary:
        if (!a->eval(n, &x)) return false;
        *out = op == '!' ? !x : static_cast<unsigned long>(-static_cast<long>(x));
        return true;
      case kTernary:
        if (!a->eval(n, &x)) return false;
        return (x ? b : c)->eval(n, out);
      case kBinary:
        if (op == '&' || op == '|') {
          if (!a->eval(n, &x)) return false;
          if (op == '&' && !x) return *out = 0, true;
          if (op == '|' && x) return *out = 1, true;
          if (!b->eval(n, &y)) return false;
          *out = y != 0;
          return true;
        }
        if (!a->eval(n, &x) || !b->eval(n, &y)) return false;
        switch (op) {
          case '*': *out = x * y; return true;
          case '/': if (y == 0) return false; *out = x / y; return true;
          case '%': if (y == 0) return false; *out = x % y; return true;
          case '+': *out = x + y; return true;
          case '-': *out = x - y; return true;
          case '<': *out = x < y; return true;
          case 'l': *out = x <= y; return true;
          case '>': *out = x > y; return true;
          case 'g': *out = x >= y; return true;
          case '=': *out = x == y; return true;
          case '!': *out = x != y; return true;
        }
        return false;
    }
    return false;
  }
};

namespace {

using NodeP = std::shared_ptr<const PluralForms::Node>;

class ExprParser {
 public:
  ExprParser(std::string_view s, const std::string& where) : s_(s), where_(where) {}

  NodeP parse_all() {
    NodeP e = ternary(0);
    skip();
    if (p_ < s_.size() && s_[p_] != ';') fail("unexpected '" + std::string(1, s_[p_]) + "'");
    return e;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_ + ": Plural-Forms: " + what + " in \"" + std::string(s_) + "\"");
  }
  void skip() {
    while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
  }
  bool eat(std::string_view tok) {
    skip();
    if (s_.substr(p_, tok.size()) == tok) {
      p_ += tok.size();
      return true;
    }
    return false;
  }
  static NodeP make(PluralForms::Node::Kind k, char op, NodeP a, NodeP b = nullptr,
                    NodeP c = nullptr) {
    auto n = std::make_shared<PluralForms::Node>();
    n->kind = k;
    n->op = op;
    n->a = std::move(a);
    n->b = std::move(b);
    n->c = std::move(c);
    return n;
  }
  NodeP ternary(int depth) {
    if (depth > 64) fail("expression nested too deeply");
    NodeP cond = logical_or(depth);
    if (eat("?")) {
      NodeP yes = ternary(depth + 1);
      if (!eat(":")) fail("expected ':'");
      NodeP no = ternary(depth + 1);
      return make(PluralForms::Node::kTernary, 0, cond, yes, no);
    }
    return cond;
  }
  NodeP logical_or(int d) {
    NodeP l = logical_and(d);
    while (eat("||")) l = make(PluralForms::Node::kBinary, '|', l, logical_and(d));
    return l;
  }
  NodeP logical_and(int d) {
    NodeP l = equality(d);
    while (eat("&&")) l = make(PluralForms::Node::kBinary, '&', l, equality(d));
    return l;
  }
  NodeP equality(int d) {
    NodeP l = relational(d);
    while (true) {
      if (eat("==")) l = make(PluralForms::Node::kBinary, '=', l, relational(d));
      else if (eat("!=")) l = make(PluralForms::Node::kBinary, '!', l, relational(d));
      else return l;
    }
  }
  NodeP relational(int d) {
    NodeP l = additive(d);
    while (true) {
      if (eat("<=")) l = make(PluralForms::Node::kBinary, 'l', l, additive(d));
      else if (eat(">=")) l = make(PluralForms::Node::kBinary, 'g', l, additive(d));
      else if (eat("<")) l = make(PluralForms::Node::kBinary, '<', l, additive(d));
      else if (eat(">")) l = make(PluralForms::Node::kBinary, '>', l, additive(d));
      else return l;
    }
  }
  NodeP additive(int d) {
    NodeP l = multiplicative(d);
    while (true) {
      if (eat("+")) l = make(PluralForms::Node::kBinary, '+', l, multiplicative(d));
      else if (eat("-")) l = make(PluralForms::Node::kBinary, '-', l, multiplicative(d));
      else return l;
    }
  }
  NodeP multiplicative(int d) {
    NodeP l = unary(d);
    while (true) {
      if (eat("*")) l = make(PluralForms::Node::kBinary, '*', l, unary(d));
      else if (eat("/")) l = make(PluralForms::Node::kBinary, '/', l, unary(d));
      else if (eat("%")) l = make(PluralForms::Node::kBinary, '%', l, unary(d));
      else return l;
    }
  }
  NodeP unary(int d) {
    if (d > 64) fail("expression nested too deeply");
    skip();
    if (p_ < s_.size() && s_[p_] == '!' && (p_ + 1 >= s_.size() || s_[p_ + 1] != '=')) {
      ++p_;
      return make(PluralForms::Node::kUnary, '!', unary(d + 1));
    }
    if (eat("-")) return make(PluralForms::Node::kUnary, '-', unary(d + 1));
    return primary(d);
  }
  NodeP primary(int d) {
    skip();
    if (p_ >= s_.size()) fail("expression ends too early");
    if (s_[p_] == '(') {
      ++p_;
      NodeP e = ternary(d + 1);
      if (!eat(")")) fail("expected ')'");
      return e;
    }
    if (s_[p_] == 'n') {
      ++p_;
      auto n = std::make_shared<PluralForms::Node>();
      n->kind = PluralForms::Node::kN;
      return n;
    }
    if (std::isdigit(static_cast<unsigned char>(s_[p_]))) {
      unsigned long v = 0;
      while (p_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p_]))) {
        v = v * 10 + static_cast<unsigned long>(s_[p_] - '0');
        if (v > 1000000000UL) fail("number too large");
        ++p_;
      }
      auto n = std::make_shared<PluralForms::Node>();
      n->kind = PluralForms::Node::kNum;
      n->value = v;
      return n;
    }
    fail("unexpected '" + std::string(1, s_[p_]) + "'");
  }

  std::string_view s_;
  size_t p_ = 0;
  const std::string& where_;
};

}  // namespace

PluralForms::PluralForms(std::string_view v, const std::string& where) {
  const size_t np = v.find("nplurals");
  const size_t pl = v.find("plural", np == std::string_view::npos ? 0 : np + 8);
  if (np == std::string_view::npos || pl == std::string_view::npos) {
    throw Error(where + ": Plural-Forms must be \"nplurals=N; plural=EXPRESSION;\", not \"" +
                std::string(v) + "\"");
  }
  size_t p = np + 8;
  while (p < v.size() && v[p] == ' ') ++p;
  if (p >= v.size() || v[p] != '=') throw Error(where + ": Plural-Forms: expected '=' after nplurals");
  ++p;
  while (p < v.size() && v[p] == ' ') ++p;
  int n = 0;
  const size_t digits = p;
  while (p < v.size() && std::isdigit(static_cast<unsigned char>(v[p])) && n < 100) n = n * 10 + (v[p++] - '0');
  if (p == digits || n < 1 || n > 6) {
    throw Error(where + ": Plural-Forms: nplurals must be a number from 1 to 6 in \"" +
                std::string(v) + "\"");
  }
  nplurals_ = n;
  p = pl + 6;
  while (p < v.size() && v[p] == ' ') ++p;
  if (p >= v.size() || v[p] != '=') throw Error(where + ": Plural-Forms: expected '=' after plural");
  expr_ = ExprParser(v.substr(p + 1), where).parse_all();
}

int PluralForms::index(unsigned long n) const {
  unsigned long out = 0;
  if (!expr_->eval(n, &out) || out >= static_cast<unsigned long>(nplurals_)) return -1;
  return static_cast<int>(out);
}

}  // namespace strata::data
