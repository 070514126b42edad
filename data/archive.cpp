#include "data/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string_view>
#include <vector>

#include "nmt/util/error.h"

namespace strata::data {
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

ArchivePtr new_reader() { return ArchivePtr(archive_read_new(), archive_read_free); }

// libarchive's message for the last error of `a`; it returns null when no message was set
// (a corrupt zip can fail that way), and a null char* must never reach std::string.
std::string archive_error(archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unknown error";
}

// The largest member size taken on trust from a header to pre-allocate (headers can lie: the
// bytes read decide the real size).
constexpr la_int64_t kMaxReserve = 64 << 20;

std::string strip_dot_slash(const char* p) {  // p may be null (no pathname in the header)
  std::string s = p ? p : "";
  while (s.rfind("./", 0) == 0) s.erase(0, 2);
  while (!s.empty() && s[0] == '/') s.erase(0, 1);
  return s;
}

// Reads every selected regular-file member of an opened archive.
void drain(archive* a, const std::string& name, const MemberFilter& want, const MemberSink& sink) {
  archive_entry* entry = nullptr;
  std::vector<char> buf(1 << 16);
  for (;;) {
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN)
      throw Error(name + ": corrupt archive (" + archive_error(a) + ")");
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    std::string path = strip_dot_slash(archive_entry_pathname(entry));
    if (!want(path)) continue;
    std::string bytes;
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0)
      bytes.reserve(static_cast<size_t>(std::min(archive_entry_size(entry), kMaxReserve)));
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0)
        throw Error(name + ": corrupt member " + path + " (" + archive_error(a) + ")");
      if (n == 0) break;
      bytes.append(buf.data(), n);
    }
    sink(path, std::move(bytes));
  }
}

// The outer (ar) archive feeds the inner (tar) reader through this callback.
struct Nested {
  archive* outer;
  std::vector<char> buf = std::vector<char>(1 << 16);
};

la_ssize_t nested_read(archive* inner, void* data, const void** out) {
  auto* n = static_cast<Nested*>(data);
  la_ssize_t got = archive_read_data(n->outer, n->buf.data(), n->buf.size());
  if (got < 0) archive_set_error(inner, EIO, "%s", archive_error(n->outer).c_str());
  *out = n->buf.data();
  return got;
}

}  // namespace

namespace {
// Streams the selected members of the .deb's inner tar whose ar member name starts with
// `inner` ("data.tar" or "control.tar", any compression).
void for_each_inner_member(const std::string& deb_path, const std::string& inner,
                           const MemberFilter& want, const MemberSink& sink) {
  ArchivePtr outer = new_reader();
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), deb_path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(deb_path + ": cannot open .deb (" + archive_error(outer.get()) + ")");
  archive_entry* entry = nullptr;
  for (;;) {
    int r = archive_read_next_header(outer.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN)
      throw Error(deb_path + ": not a valid .deb (" + archive_error(outer.get()) + ")");
    const char* pathname = archive_entry_pathname(entry);
    const std::string member = pathname ? pathname : "";
    if (member.rfind(inner, 0) != 0) continue;
    Nested nested{outer.get()};
    ArchivePtr tar = new_reader();
    archive_read_support_format_tar(tar.get());
    archive_read_support_filter_all(tar.get());
    if (archive_read_open(tar.get(), &nested, nullptr, nested_read, nullptr) != ARCHIVE_OK)
      throw Error(deb_path + ": corrupt " + member + " (" + archive_error(tar.get()) + ")");
    drain(tar.get(), deb_path, want, sink);
    return;
  }
  throw Error(deb_path + ": not a valid .deb (no " + inner + " member)");
}
}  // namespace

void for_each_deb_member(const std::string& deb_path, const MemberFilter& want,
                         const MemberSink& sink) {
  for_each_inner_member(deb_path, "data.tar", want, sink);
}

std::string deb_control_field(const std::string& deb_path, const std::string& field) {
  std::string control;
  bool found = false;
  for_each_inner_member(
      deb_path, "control.tar", [](const std::string& p) { return p == "control"; },
      [&](const std::string&, std::string&& bytes) {
        control = std::move(bytes);
        found = true;
      });
  if (!found) throw Error(deb_path + ": no control file in control.tar");
  // deb-control(5): "Field: value" at the start of a line; continuation lines start with a space.
  const std::string key = field + ":";
  size_t pos = 0;
  while (pos < control.size()) {
    size_t end = control.find('\n', pos);
    if (end == std::string::npos) end = control.size();
    std::string_view line(control.data() + pos, end - pos);
    if (line.size() >= key.size() && line.compare(0, key.size(), key) == 0) {
      std::string_view v = line.substr(key.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
      return std::string(v);
    }
    pos = end + 1;
  }
  throw Error(deb_path + ": control file has no " + field + " field");
}

void for_each_zip_member(std::string_view bytes, const std::string& name,
                         const MemberFilter& want, const MemberSink& sink) {
  ArchivePtr a = new_reader();
  archive_read_support_format_zip(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
    throw Error(name + ": cannot open zip (" + archive_error(a.get()) + ")");
  drain(a.get(), name, want, sink);
}

namespace {
// libarchive's messages may span lines; errors are one line.
std::string one_line(const char* msg) {
  std::string s = msg ? msg : "unknown error";
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}
}  // namespace

void verify_zip_file(const std::string& path) {
  ArchivePtr a = new_reader();
  archive_read_support_format_zip_seekable(a.get());  // the central directory: every member
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(path + ": " + one_line(archive_error_string(a.get())));
  std::vector<char> buf(1 << 16);
  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) throw Error(path + ": " + one_line(archive_error_string(a.get())));
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0)
        throw Error(path + ": member " + archive_entry_pathname(entry) + ": " +
                    one_line(archive_error_string(a.get())));
    }
  }
}

}  // namespace strata::data
