#pragma once
// gettext .po/.pot files: a parser that keeps every line it does not need to change, and a
// writer, for filling catalogues with translations (data/catalog.h). The format is GNU gettext's
// ("PO Files" in its manual): comments (# translator, #. extracted, #: reference, #, flags,
// #| previous), msgctxt, msgid, msgid_plural, msgstr / msgstr[N], C-escaped strings continued
// on following lines, obsolete entries (#~) kept as they are.
#include <string>
#include <string_view>
#include <vector>

namespace strata::data {

struct PoEntry {
  std::vector<std::string> comments_before_flags;  // "# ", "#.", "#:" lines as written
  std::vector<std::string> flags;                  // from "#," lines: "fuzzy", "c-format", ...
  std::vector<std::string> comments_after_flags;   // "#|" lines (and any comment after "#,")
  bool has_context = false;
  std::string context, msgid, msgid_plural;
  bool plural = false;
  std::vector<std::string> msgstr;  // one, or msgstr[0..n-1] for a plural entry
  std::vector<std::string> raw;     // the entry's lines as read (written back when unchanged)
  size_t keyword_line = 0;          // index in raw of the first msgctxt/msgid line
  size_t msgstr_line = 0;           // index in raw of the first msgstr line
  int line = 0;                     // 1-based line of msgid in the file
  bool obsolete = false;            // "#~" entries: raw only
  bool changed = false;             // set by whoever edits msgstr or flags

  bool is_header() const { return !obsolete && !has_context && msgid.empty(); }
  bool fuzzy() const;
  void set_fuzzy(bool on);
  bool translated() const;  // every msgstr non-empty
};

struct PoFile {
  std::vector<PoEntry> entries;  // in file order; the header (msgid "") first when present
};

// Parses `text` (UTF-8; a BOM and CR LF are accepted). Errors name the line:
// "NAME:LINE: what" (invalid UTF-8, a string that is not closed, a keyword out of order, a
// missing msgstr, msgstr[N] out of order, a duplicate msgctxt+msgid, a header charset other
// than UTF-8/ASCII).
PoFile parse_po(std::string_view text, const std::string& name);

// The file: unchanged entries byte for byte, changed ones with their comments and keyword lines
// as read, a new "#," line and new msgstr lines (wrapped at 79 columns after "\n" and spaces, as
// msgcat writes them); one blank line between entries.
std::string write_po(const PoFile& po);

// One keyword and its C-escaped string as gettext writes it ("msgstr \"...\"" or
// "msgstr \"\"" and continuation lines), each line ending in '\n'.
std::string po_string_lines(const std::string& keyword, const std::string& value);

// Header fields ("Language: de\n" lines of the header's msgstr): the value of `field`, or empty.
std::string po_header_field(const std::string& header, const std::string& field);
// Sets (adds when missing) `field` in the header text.
void set_po_header_field(std::string& header, const std::string& field, const std::string& value);

}  // namespace strata::data
