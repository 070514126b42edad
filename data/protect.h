#pragma once
// Protection of what a translation must carry over unchanged: placeholders, markup, URLs and
// accelerators. Before translation each protected span is replaced by a numbered token the model
// copies; after translation the tokens are put back in the order the translation puts them, and
// a translation whose tokens (or placeholders) do not match the source's exactly is refused,
// never restored approximately.
#include <string>
#include <string_view>
#include <vector>

namespace strata::data {

// Accelerator markers ("_Open", "&Open", "~Open").
enum class AccelMode {
  kNone,        // no accelerators: every character is text
  kAuto,        // one '_', '&' or '~' at the start of a word before a letter or digit, when the
                // string has exactly one such marker (and no other '_' for '_')
  kUnderscore,  // GTK: exactly one '_' before a letter or digit
  kAmpersand,   // Qt/KDE: exactly one '&' before a letter or digit ("&&" is a literal '&')
  kTilde,       // LibreOffice: exactly one '~' before a letter or digit
};
// "auto", "none", "_", "&", "~"; throws strata::Error naming `what` otherwise.
AccelMode parse_accel_mode(const std::string& s, const std::string& what);

// The protected spans of `text`, left to right (what protect() replaces by tokens):
// - printf directives: %s %d %5.2f %-10s %lld %zu %1$S %<PRIuMAX> and "%%"; Python %(name)s;
// - Qt/LibreOffice/ICU numbered %1..%99 and %L1; Mozilla #1..#9; upper-case %PRODUCTNAME,
//   %FILENAME%;
// - braces: {0}, {name}, Fluent placeables { $x }, { -brand }, { NUMBER($n) } (balanced, one line);
// - variables $(VAR), ${x}, $name; entities &amp; &#38; &#x26;
// - markup tags <b>, </a>, <a href="…">, <br/>, comments <!-- … -->;
// - URLs (scheme://…, www.…, mailto:…) and e-mail addresses, without trailing punctuation;
// - command-line options at a word start: --long-name, --opt=VALUE, --color[=WHEN], -x.
std::vector<std::string> protected_spans(std::string_view text);

// The same spans with their byte offsets.
struct Span {
  size_t begin = 0, end = 0;
};
std::vector<Span> find_spans(std::string_view text);

// The token that stands for span i (0-based) in the text the model sees: "%1", "%2", …
std::string protection_token(size_t i);

// One string prepared for the model.
struct Protected {
  std::string text;                // what the model translates
  std::vector<std::string> spans;  // spans[i] is replaced by protection_token(i) in `text`
  char accel = 0;                  // the accelerator marker removed from the text, 0 for none
  std::string accel_key;           // the character (UTF-8) the marker stood before
};
struct ProtectOptions {
  bool placeholders = true;  // false: the text goes to the model as it is (no tokens)
  AccelMode accel = AccelMode::kNone;
};
Protected protect(std::string_view text, const ProtectOptions& opt);

struct Restored {
  bool ok = false;
  std::string text;     // the translation with spans and accelerator restored (when ok)
  std::string problem;  // why not ok, e.g. "placeholder %s missing"
};
// Puts the spans and the accelerator back into `translation` (the model's output for
// p.text). Refused (ok = false) when a token is missing, repeated or unknown, or when the
// restored text's protected spans are not exactly the source's (a multiset: the model may move
// them, not drop, add or change one); when the source has printf directives that take their
// arguments in order (%s, %d; not %1$s), those keep their order and every other '%' must be
// part of a span ("%%"), as msgfmt --check-format demands. The accelerator goes before the first occurrence of its
// key in the translation (ignoring ASCII case), else before the first letter; for ja, ko and zh*
// targets it is written as a suffix "(_K)" (before a trailing "…", "..." or ':').
Restored restore(const Protected& p, std::string_view translation, const std::string& tgt_lang);

// The format-string check of restore() on a whole string: when `source` has printf directives
// that take their arguments in order, `translation` has them in the same order and no '%' outside
// a directive (the latter also when `format_string`, e.g. a "c-format" entry without directives).
// Empty when fine, else the problem.
std::string check_format(std::string_view source, const std::string& translation,
                         bool format_string = false);

// Masks one multi-way training row the way protect() masks a string: the i-th protected span
// of texts[en] becomes protection_token(i); in every other text, each span equal to one of the
// English spans (matched in order of occurrence) becomes that span's token; spans of a
// translation that the English lacks are left as they are. Returns the number of spans masked
// in texts[en].
size_t mask_row_placeholders(std::vector<std::string>& texts, size_t en);

}  // namespace strata::data
