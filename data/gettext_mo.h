#pragma once
// The gettext .mo parser (the contract of every format parser: data/formats.h).
#include <string>
#include <string_view>
#include <vector>

namespace strata::data {

// gettext .mo (both byte orders). For each entry: context (msgctxt, empty when none), msgid
// (English) and msgstr (the first plural form when plural). The header entry (empty msgid) is
// skipped. Every offset and length is bounds-checked ("x.mo: truncated .mo file (string table at
// offset 1234 past end of 900-byte file)"). Catalogues whose header declares a charset other
// than UTF-8/ASCII are converted to UTF-8 (iconv). Fuzzy and untranslated entries are not in a
// .mo that msgfmt compiled without --use-fuzzy, so they do not appear.
struct MoEntry {
  std::string context;
  std::string msgid;
  std::string msgstr;
  bool plural = false;
};
std::vector<MoEntry> parse_mo(std::string_view bytes, const std::string& name);

}  // namespace strata::data
