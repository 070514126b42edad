// The gettext .mo parser (data/gettext_mo.h).
#include "data/gettext_mo.h"

#include <iconv.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "data/format_helpers.h"

namespace strata::data {
namespace {

constexpr uint32_t kMoMagic = 0x950412de;
constexpr uint32_t kMoMagicSwapped = 0xde120495;

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// The charset of a .mo header entry ("Content-Type: text/plain; charset=UTF-8"), or "".
std::string mo_charset(std::string_view header) {
  size_t pos = header.find("charset=");
  if (pos == std::string_view::npos) return "";
  pos += 8;
  size_t end = pos;
  while (end < header.size() && header[end] != '\n' && header[end] != ';' && header[end] != ' ' &&
         header[end] != '\t') {
    ++end;
  }
  return std::string(header.substr(pos, end - pos));
}

bool is_utf8_charset(const std::string& charset) {
  return charset.empty() || iequals(charset, "UTF-8") || iequals(charset, "UTF8") ||
         iequals(charset, "ASCII") || iequals(charset, "US-ASCII") ||
         iequals(charset, "CHARSET");  // the unfilled .pot template value
}

class Iconv {
 public:
  Iconv(const std::string& charset, const std::string& name) : charset_(charset), name_(name) {
    cd_ = iconv_open("UTF-8", charset.c_str());
    if (cd_ == reinterpret_cast<iconv_t>(-1)) fail(name, "unsupported charset \"" + charset + "\"");
  }
  ~Iconv() { iconv_close(cd_); }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  std::string convert(const std::string& in) {
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // reset the shift state
    std::string out(in.size() * 4 + 16, '\0');
    char* src = const_cast<char*>(in.data());
    size_t src_left = in.size();
    char* dst = out.data();
    size_t dst_left = out.size();
    if (iconv(cd_, &src, &src_left, &dst, &dst_left) == static_cast<size_t>(-1) ||
        iconv(cd_, nullptr, nullptr, &dst, &dst_left) == static_cast<size_t>(-1)) {
      fail(name_, "invalid " + charset_ + " text in a .mo string");
    }
    out.resize(out.size() - dst_left);
    return out;
  }

 private:
  iconv_t cd_;
  std::string charset_;
  const std::string& name_;
};

}  // namespace

std::vector<MoEntry> parse_mo(std::string_view bytes, const std::string& name) {
  const uint64_t size = bytes.size();
  if (size < 28) {
    fail(name, "truncated .mo file (" + std::to_string(size) +
                   "-byte file is shorter than the 28-byte header)");
  }
  auto raw32 = [&](uint64_t off) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data() + off);
    return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
           static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
  };
  const uint32_t magic = raw32(0);
  if (magic != kMoMagic && magic != kMoMagicSwapped) {
    fail(name, "not a .mo file (bad magic number " + hex32(magic) + ")");
  }
  const bool swap = magic == kMoMagicSwapped;
  auto u32 = [&](uint64_t off) -> uint64_t {
    const uint32_t v = raw32(off);
    return swap ? (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24) : v;
  };
  const uint64_t revision = u32(4);
  if ((revision >> 16) > 1) {
    fail(name, "unsupported .mo format revision " + std::to_string(revision >> 16) + "." +
                   std::to_string(revision & 0xFFFF));
  }
  const uint64_t count = u32(8);
  const uint64_t originals = u32(12);
  const uint64_t translations = u32(16);
  auto check_table = [&](const char* what, uint64_t offset) {
    if (offset + count * 8 > size) {
      const std::string entries =
          offset <= size ? " (" + std::to_string(count) + " entries of 8 bytes)" : "";
      fail(name, "truncated .mo file (" + std::string(what) + " at offset " +
                     std::to_string(offset) + entries + " past end of " + std::to_string(size) +
                     "-byte file)");
    }
  };
  check_table("string table", originals);
  check_table("translation table", translations);

  auto string_at = [&](uint64_t table, uint64_t i, const char* what) -> std::string_view {
    const uint64_t length = u32(table + i * 8);
    const uint64_t offset = u32(table + i * 8 + 4);
    if (offset + length > size) {
      fail(name, "truncated .mo file (" + std::string(what) + " " + std::to_string(i) +
                     " at offset " + std::to_string(offset) + " with length " +
                     std::to_string(length) + " past end of " + std::to_string(size) +
                     "-byte file)");
    }
    return bytes.substr(offset, length);
  };

  std::vector<MoEntry> entries;
  std::string charset;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view original = string_at(originals, i, "string");
    const std::string_view translation = string_at(translations, i, "translation");
    MoEntry e;
    const size_t eot = original.find('\x04');
    if (eot != std::string_view::npos) {
      e.context = std::string(original.substr(0, eot));
      original.remove_prefix(eot + 1);
    }
    const size_t nul = original.find('\0');
    e.plural = nul != std::string_view::npos;
    e.msgid = std::string(original.substr(0, nul));
    if (e.msgid.empty()) {
      if (eot == std::string_view::npos) charset = mo_charset(translation);
      continue;  // the header entry
    }
    e.msgstr = std::string(translation.substr(0, translation.find('\0')));
    entries.push_back(std::move(e));
  }
  if (!is_utf8_charset(charset)) {
    Iconv conv(charset, name);
    for (MoEntry& e : entries) {
      e.context = conv.convert(e.context);
      e.msgid = conv.convert(e.msgid);
      e.msgstr = conv.convert(e.msgstr);
    }
  }
  return entries;
}

}  // namespace strata::data
