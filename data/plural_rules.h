#pragma once
// Plural rules of target languages, for writing catalogues: gettext's Plural-Forms header (and an
// evaluator of its C expression), CLDR's cardinal plural categories (Fluent select variants) and
// the number of forms of Mozilla's PluralForm rule (.properties "#1 file;#1 files" lists).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::data {

// The Plural-Forms header gettext's msginit writes for `lang` (a code as in the data config:
// "de", "zh-CN", "pt-BR"; "pt_BR" works too), e.g. "nplurals=2; plural=(n != 1);"; empty when
// the language is not in the table.
std::string gettext_plural_forms(const std::string& lang);

// A parsed Plural-Forms value: nplurals and the C expression of n (integers, n, ! unary -,
// * / %, + -, < <= > >=, == !=, &&, ||, ?:, parentheses), as msgfmt accepts it.
class PluralForms {
 public:
  // Throws strata::Error("WHERE: ...") for a malformed value or nplurals outside 1..6.
  PluralForms(std::string_view header_value, const std::string& where);
  int nplurals() const { return nplurals_; }
  // The form index for n (a division by zero or an index out of [0, nplurals) gives -1).
  int index(unsigned long n) const;

  struct Node;

 private:
  int nplurals_ = 1;
  std::shared_ptr<const Node> expr_;
};

// CLDR cardinal plural categories of `lang` in CLDR order (zero one two few many other);
// {"one", "other"} for languages not in the table.
std::vector<std::string> cldr_plural_categories(const std::string& lang);

// The number of plural forms of Mozilla's PluralForm rule for `lang` (the count of ';'-separated
// forms a .properties plural list needs); 2 for languages not in the table.
int mozilla_plural_count(const std::string& lang);

}  // namespace strata::data
