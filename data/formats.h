#pragma once
// Parsers for the localisation formats Debian ships: gettext .mo, Mozilla Fluent .ftl,
// Java-style .properties, XML .dtd entities and LibreOffice help HTML.
//
// Every parser takes the file's bytes and a display name (used in error messages, e.g.
// "libreoffice-l10n-de.deb:usr/lib/.../sw.mo"), and throws strata::Error with a one-line
// message "NAME: what" or "NAME:LINE: what" on malformed input (no partial results). Any input,
// however broken, gives either a result or strata::Error. Text is expected to be UTF-8 (a UTF-8
// BOM is skipped; CR LF line ends are accepted).
// Parsers undo format-level escaping only; markup, accelerators and placeholders are left in
// the text for data/clean.h. Where a key occurs twice in a file, the later value wins and the
// message keeps the place of the first.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace strata::data {

// One translatable string of a file.
struct Message {
  std::string key;      // unique within the file: message id (+ ".attr"), entity name, par_id
  std::string text;     // the string's value after the format's own unescaping
  bool plural = false;  // a plural form (gettext msgid_plural, Fluent selector on a variable,
                        // .properties "#1;#1s" plural list)
};

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

// .properties: `key = value` (or `key: value`, `key value`) lines, `#`/`!` comments, `\` line
// continuations, \uXXXX (surrogate pairs combined; a lone surrogate becomes U+FFFD), \n, \t,
// \\ escapes, in keys and values. Read as UTF-8 (Mozilla's are). A value with `;`-separated forms
// and a `#1`-style number is marked plural; its text is the whole value ("#1 file;#1 files").
// A malformed \u escape is an error naming the line.
std::vector<Message> parse_properties(std::string_view text, const std::string& name);

// .dtd: `<!ENTITY name "value">` or '...' declarations; comments, parameter entities
// (`<!ENTITY % x SYSTEM ...>`, `%x;`) and external entities are skipped; XML character references
// and the five predefined entities are unescaped, other references (`&brandShortName;`) stay.
std::vector<Message> parse_dtd(std::string_view text, const std::string& name);

// Fluent term: a default value plus named variants (for parametrised terms, e.g. case/gender).
// When the term's value has a select expression (`{ $case -> [nom] ... *[gen] ... }`), each
// variant is the whole value with that variant in place of the select.
struct FtlTerm {
  std::string value;                            // default variant (or the plain value)
  std::map<std::string, std::string> variants;  // variant key -> value; empty for plain terms
};
struct FtlResource {
  std::vector<Message> messages;         // "id" for the value, "id.attr" for each attribute
  std::map<std::string, FtlTerm> terms;  // "-brand-short-name" -> term
};
// .ftl (Fluent 1.0 syntax): messages, attributes, multi-line values, comments; string literals
// `{ "x" }` and number literals are unescaped into the text; variables are normalised to
// `{ $var }` (`{$var}` too); term references stay, normalised, as `{ -brand-name }` or
// `{ -brand-name(case: "gen") }` until expand_ftl_terms; message references `{ other-id }` and
// function calls `{ NUMBER($n, style: "percent") }` stay as written. Continuation lines are
// joined with '\n' without their indentation (clean() collapses white space). A select
// expression contributes its default (`*[...]`) variant, the rest of the pattern is kept; the
// message (or attribute) is marked plural when a selector is a variable or a function call on
// one (`{ $n -> ...}`, `{ NUMBER($n) -> ...}`), not when it is a term attribute or `PLATFORM()`.
// A message with only attributes gives only "id.attr" messages. Syntax errors (which Fluent
// tools would turn into Junk) throw strata::Error naming the line.
FtlResource parse_ftl(std::string_view text, const std::string& name);

// Replaces term references in `text` with the terms' values (the named variant when the reference
// passes a parameter that selects one, e.g. `{ -brand-short-name(case: "gen") }`, else the
// default). Terms used inside term values are expanded too (to a bounded depth, so cycles end).
// Unknown terms and term attributes are left as written.
std::string expand_ftl_terms(const std::string& text, const std::map<std::string, FtlTerm>& terms);

// LibreOffice help HTML: each element whose id starts with "par_id" or "hd_id" is one message,
// key = the id, text = the element's inner HTML up to the matching close tag (nested markup kept,
// for clean() to strip). Elements with such ids nested inside one are messages too. The
// non-default cases of LibreOffice's switch/switchinline markup (elements with `hidden` and a
// `class`, e.g. class="MAC" "Command" next to the default "Ctrl") are removed from the text.
// An id that occurs again in the same file gets "#2", "#3", ... appended, in document order.
// Comments, <script> and <style> are skipped. An element that is never closed is an error.
std::vector<Message> parse_help_html(std::string_view html, const std::string& name);

}  // namespace strata::data
