#pragma once
// Cleaning and plausibility rules for aligned localisation strings (../shared/docs/corpus.md,
// "Cleaning"). Pure functions of their inputs, each rule covered by a hand case in the tests.
#include <string>
#include <string_view>
#include <vector>

namespace strata::data {

struct CleanOptions {
  int max_words = 120;             // English segments longer than this are dropped
  int max_chars = 800;             // ... or longer than this many characters (UTF-8 code points)
  bool drop_placeholders = false;  // drop every segment that contains any placeholder
};

// Accelerator conventions of the source the string came from.
enum class Accel {
  kNone,
  kTilde,       // LibreOffice: "~Save" -> "Save"
  kUnderscore,  // GTK: "_Open" -> "Open", only when the string has exactly one '_'
  kAmpersand,   // Qt: "&Open" -> "Open" ("&&" -> "&"; "&amp;"-style entities are not accelerators)
};

// Normalises one string, in this order:
// 1. removes a CJK accelerator suffix "(&F)", "(_F)", "(~F)" (also full-width parentheses, with
//    any "...", "…", ":" after it: "保存(&S)..." -> "保存..."), whatever `accel` is;
// 2. removes the accelerator marker per `accel` ('~'/'&' before a letter, digit or non-ASCII
//    character; '&' followed by an entity such as "&amp;" or "&#38;" is not an accelerator);
// 3. %PRODUCTNAME -> LibreOffice;
// 4. removes markup tags of HTML, Pango and LibreOffice help (by tag name, so "<None>" and
//    "<filename>" stay) and comments, keeping the text inside; block tags (<br>, <p>, <li>, ...)
//    become a space;
// 5. unescapes HTML character references (common named ones, decimal, hex; unknown ones stay);
// 6. removes bidi marks (U+200E/F, U+202A-E, U+2066-9), zero-width characters (U+200B-D, U+2060,
//    U+FEFF), soft hyphens and control characters; turns every run of white space (ASCII, NBSP
//    and the other Unicode spaces) into one space and trims.
// Invalid UTF-8 bytes are passed through.
std::string clean(std::string_view text, Accel accel);

// Placeholders in a string, sorted (a multiset): printf (%s, %d, %1$S, %lld, %.2f, %-5s; not
// "%%" and not "50% of"), Fluent `{ $x }` (`{$x}` and `{ NUMBER($x, ...) }` give "{ $x }"),
// LibreOffice `$(ARG1)`, Qt/LibreOffice `%1`..`%9`, Mozilla `#1`, uppercase tokens `%PRODUCTNAME`
// / `%FILENAME%`, and `{0}`. Used to compare the variable sets of an English string and its
// translation.
std::vector<std::string> placeholders(std::string_view text);

// Empty when the cleaned English segment is usable; otherwise the reason it is dropped, the first
// that applies of: "too-long" (more than max_words words or max_chars code points),
// "placeholder" (drop_placeholders and any placeholder), "no-letters" (no 2 consecutive ASCII
// letters outside placeholders), "url" (the whole segment is one URL: scheme://..., www.,
// mailto:, about:), "css" (`^[a-z-]+\s*:\s*[0-9#]`, e.g. "width: 30em"), "code" (one token with
// no white space that has '.', '/', '\' or '_' between word characters, or a lower-case letter
// followed by an upper-case one: FOO.BAR, fooBar, a/path, MAX_SIZE; "Save" is not code).
std::string reject_english(const std::string& en, const CleanOptions& opt);

// Empty when the cleaned translation `tr` of cleaned English `en` into `lang` is usable;
// otherwise the reason, the first that applies of: "empty", "identical", "placeholder"
// (drop_placeholders and any placeholder in en or tr), "no-text" (no letter or digit of any
// script outside placeholders), "placeholders" (different placeholder multiset), "junk"
// (LibreOffice help build junk in en or tr: "[text/.../x.xhp#id not found]", "D'oh! You found a
// bug"), "ratio" (when en has >= 20 code points: code-point length ratio tr/en outside
// [0.3, 3], or [0.06, 2.5] for ja, ko, zh, zh-CN, zh-TW).
std::string reject_translation(const std::string& en, const std::string& tr,
                               const std::string& lang, const CleanOptions& opt);

// The split key: ASCII letters lower-cased (keys are English; other letters are kept as they
// are), and everything that is not a letter or digit removed: ASCII punctuation, symbols and
// white space, and Unicode punctuation, symbols and spaces (… – — ’ “ ” « » · NBSP, arrows,
// emoji, ...), so that "Save As…" and "save as" both give "saveas".
std::string normalise_key(std::string_view en);

// Number of whitespace-separated words.
int count_words(std::string_view s);

// Number of UTF-8 code points (bytes that are not continuation bytes).
int count_chars(std::string_view s);

}  // namespace strata::data
