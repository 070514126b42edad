#pragma once
// HTML through a text translator (LibreTranslate's `format: html`; `strata serve`): the markup is
// kept byte for byte and the text between it is translated, a sentence at a time.
//
//   auto out = data::translate_html(docs, [&](const std::vector<std::string>& lines) {
//     return my_translate(lines);   // one translation per line, same order
//   });
//
// What is translated: runs of text and inline elements (a, b, em, span, …) between block-level
// markup (p, div, li, br, td, …), comments and declarations. Within a run every inline tag and
// every named entity other than amp/lt/gt/quot/apos/nbsp is replaced by a numbered token ("%1",
// "%2": data/protect.h's tokens) and the text is unescaped (entities to characters, whitespace
// runs to one space); the translation gets the units back in the order it puts their tokens and
// its text is escaped again (&, <, >). Never translated, kept whole: script, style, pre, textarea,
// the inline code, kbd, samp and var elements (one unit each), elements with translate="no",
// and runs without a letter.
//
// A translation that drops, repeats or invents a token, whose tags no longer pair up as in the
// source, or that leaves empty an element that held text, is not used: the run is translated again split at its tags (each text piece
// alone), and a piece whose translation still loses a token is kept as it was. So the output's
// markup is always the input's.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::data {

// Translates a batch of lines (plain text, one line each) -> one translation per line.
using TranslateLines = std::function<std::vector<std::string>(const std::vector<std::string>& lines)>;

struct HtmlStats {
  size_t runs = 0;         // runs of text sent whole
  size_t split_runs = 0;   // runs translated again in pieces
  size_t kept_pieces = 0;  // pieces left untranslated (their tokens were lost twice)
};

// Translates the text of each document (at most two calls of `translate` for the whole batch).
std::vector<std::string> translate_html(const std::vector<std::string>& docs,
                                        const TranslateLines& translate,
                                        HtmlStats* stats = nullptr);

}  // namespace strata::data
