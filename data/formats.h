#pragma once
// The common interface of the parsers for the localisation formats Debian ships: gettext .mo
// (data/gettext_mo.h), Mozilla Fluent .ftl (data/fluent.h), Java-style .properties
// (data/properties.h), XML .dtd entities (data/dtd.h) and LibreOffice help HTML
// (data/help_html.h).
//
// Every parser takes the file's bytes and a display name (used in error messages, e.g.
// "libreoffice-l10n-de.deb:usr/lib/.../sw.mo"), and throws strata::Error with a one-line
// message "NAME: what" or "NAME:LINE: what" on malformed input (no partial results). Any input,
// however broken, gives either a result or strata::Error. Text is expected to be UTF-8 (a UTF-8
// BOM is skipped; CR LF line ends are accepted).
// Parsers undo format-level escaping only; markup, accelerators and placeholders are left in
// the text for data/clean.h. Where a key occurs twice in a file, the later value wins and the
// message keeps the place of the first.
#include <string>

namespace strata::data {

// One translatable string of a file.
struct Message {
  std::string key;      // unique within the file: message id (+ ".attr"), entity name, par_id
  std::string text;     // the string's value after the format's own unescaping
  bool plural = false;  // a plural form (gettext msgid_plural, Fluent selector on a variable,
                        // .properties "#1;#1s" plural list)
};

}  // namespace strata::data
