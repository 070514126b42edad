#pragma once
// The LibreOffice help HTML parser (the contract of every format parser: data/formats.h).
#include <string>
#include <string_view>
#include <vector>

#include "data/formats.h"

namespace strata::data {

// LibreOffice help HTML: each element whose id starts with "par_id" or "hd_id" is one message,
// key = the id, text = the element's inner HTML up to the matching close tag (nested markup kept,
// for clean() to strip). Elements with such ids nested inside one are messages too. The
// non-default cases of LibreOffice's switch/switchinline markup (elements with `hidden` and a
// `class`, e.g. class="MAC" "Command" next to the default "Ctrl") are removed from the text.
// An id that occurs again in the same file gets "#2", "#3", ... appended, in document order.
// Comments, <script> and <style> are skipped. An element that is never closed is an error.
std::vector<Message> parse_help_html(std::string_view html, const std::string& name);

}  // namespace strata::data
