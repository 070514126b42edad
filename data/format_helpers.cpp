// Helpers shared by the format parsers (data/format_helpers.h).
#include "data/format_helpers.h"

#include <algorithm>
#include <utility>

#include "nmt/util/error.h"

namespace strata::data {
namespace {

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": " + what);
}

[[noreturn]] void fail_at(const std::string& name, int line, const std::string& what) {
  throw Error(name + ":" + std::to_string(line) + ": " + what);
}

int line_at(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

std::string_view skip_bom(std::string_view text) {
  if (starts_with(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

std::string_view normalise_newlines(std::string_view text, std::string& storage) {
  if (text.find('\r') == std::string_view::npos) return text;
  storage.clear();
  storage.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      storage += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      storage += text[i];
    }
  }
  return storage;
}

void MessageList::add(std::string key, std::string text, bool plural) {
  auto [it, inserted] = index_.emplace(key, messages_.size());
  if (inserted) {
    messages_.push_back(Message{std::move(key), std::move(text), plural});
  } else {
    messages_[it->second].text = std::move(text);
    messages_[it->second].plural = plural;
  }
}

}  // namespace strata::data
