#pragma once
// What data/catalog.cpp (.po, .properties) and data/catalog_ftl.cpp (.ftl) share; not a public
// interface.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/catalog.h"
#include "data/protect.h"

namespace strata::data {

// The strings of one catalogue, split into pieces, protected, translated in one call (each
// distinct piece once) and put back together (data/catalog.h describes the steps).
class TextBatch {
 public:
  TextBatch(const ProtectOptions& protect, std::string tgt_lang);
  int add(std::string_view text);  // returns the string's id
  void run(const TranslateFn& translate);

  struct Result {
    bool ok = false;
    bool copied = false;  // nothing was translated: the text is the source's
    std::string text;     // the translation (when ok)
    std::string problem;  // why not ok
    std::string refused;  // the model's output, tokens in, when not ok
  };
  // `format_string`: the string is a printf format (a "c-format" entry), so a '%' outside a
  // directive is refused even when the source has none.
  Result result(int id, bool format_string = false) const;

 private:
  struct Part {
    bool translate = false;
    std::string literal;
    Protected prot;
    int query = -1;
  };
  struct Unit {
    std::string source;
    std::vector<Part> parts;
    bool any_translated = false;
  };
  void add_piece(Unit& u, std::string_view piece);

  ProtectOptions protect_;
  std::string tgt_;
  std::vector<Unit> units_;
  std::vector<std::string> queries_, answers_;
  std::unordered_map<std::string, int> query_index_;
};

// Counts a flagged entry and records "NAME:LINE: what: problem".
void note_flagged(CatalogStats* st, const std::string& name, int line, const std::string& what,
                  const std::string& problem);

// A name ending in "accesskey" (any case): Mozilla access keys.
bool is_accesskey_name(const std::string& key);
// The access key for a translated label: the old key when the label has that letter (any case),
// else the label's first letter; the old key for ja/ko/zh (Mozilla shows "(K)" there).
std::string derive_accesskey(const std::string& old_key, const std::string& label,
                             const std::string& tgt_lang);

inline std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string fill_ftl(std::string_view input, const std::string& name, const CatalogOptions& opt,
                     const TranslateFn& translate, CatalogStats* st);

}  // namespace strata::data
