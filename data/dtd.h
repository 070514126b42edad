#pragma once
// The XML .dtd entity parser (the contract of every format parser: data/formats.h).
#include <string>
#include <string_view>
#include <vector>

#include "data/formats.h"

namespace strata::data {

// .dtd: `<!ENTITY name "value">` or '...' declarations; comments, parameter entities
// (`<!ENTITY % x SYSTEM ...>`, `%x;`) and external entities are skipped; XML character references
// and the five predefined entities are unescaped, other references (`&brandShortName;`) stay.
std::vector<Message> parse_dtd(std::string_view text, const std::string& name);

}  // namespace strata::data
