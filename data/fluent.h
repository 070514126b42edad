#pragma once
// The Mozilla Fluent (.ftl) parser and the expansion of Fluent term references (the contract of
// every format parser: data/formats.h).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "data/formats.h"

namespace strata::data {

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

}  // namespace strata::data
