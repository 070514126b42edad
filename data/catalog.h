#pragma once
// Translating localisation catalogues: gettext .po/.pot, Fluent .ftl and Java/Mozilla
// .properties in, the same file for the target language out (`strata translate --format`).
// Pure text work: the model is a callback, so the rules are tested without one.
//
// Every string goes through the same steps: split into lines and into the columns of
// command-line help (runs of 2+ spaces or a tab), white space at either end kept as it is;
// pieces with no letter outside the protected spans (only placeholders, numbers, punctuation)
// are copied; the rest are protected (data/protect.h), translated (each distinct piece once),
// restored and checked. A string with a piece that cannot be restored exactly is not written
// as a translation ("flagged").
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/protect.h"

namespace strata::data {

enum class CatalogFormat { kText, kPo, kFtl, kProperties };
// "text", "po" (also .pot), "ftl", "properties"; throws strata::Error naming `what` otherwise.
CatalogFormat parse_catalog_format(const std::string& s, const std::string& what);

enum class CatalogScope {
  kUntranslated,  // .po: entries without a translation (default)
  kFuzzy,         // .po: also replace fuzzy translations
  kAll,           // .po: replace every translation
};
CatalogScope parse_catalog_scope(const std::string& s, const std::string& what);

struct CatalogOptions {
  CatalogFormat format = CatalogFormat::kPo;
  std::string tgt_lang;
  CatalogScope scope = CatalogScope::kUntranslated;
  bool mark_fuzzy = true;   // .po: machine translations get the "fuzzy" flag (translators review)
  bool protect = true;      // false: the model sees placeholders and markup as they are (the
                            // restored text is still checked)
  bool accel_set = false;   // accel given; else auto for .po, none for .ftl/.properties (Mozilla
                            // access keys are separate entries: derived from the translated label)
  AccelMode accel = AccelMode::kAuto;
  bool comment_flagged = true;  // flagged strings: the refused output is written as a comment
                                // ("# strata: …"); false: nothing is written (stderr only)
};

// Translates a batch of pieces (the same order and count back).
using TranslateFn = std::function<std::vector<std::string>(const std::vector<std::string>&)>;

struct CatalogStats {
  int entries = 0;     // translatable entries in the file (messages, attributes, keys)
  int kept = 0;        // already translated and left as they are
  int translated = 0;  // filled with a machine translation
  int copied = 0;      // nothing to translate (placeholders, numbers, punctuation): copied
  int flagged = 0;     // not translated: a placeholder could not be restored
  std::vector<std::string> problems;  // "NAME:LINE: key: problem" of each flagged entry
};

// The filled catalogue. Throws strata::Error "NAME:LINE: what" on malformed input.
std::string translate_catalog(std::string_view input, const std::string& name,
                              const CatalogOptions& opt, const TranslateFn& translate,
                              CatalogStats* stats);

}  // namespace strata::data
