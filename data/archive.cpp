#include "data/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "data/error.h"

namespace strata::data {
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

ArchivePtr new_reader() { return ArchivePtr(archive_read_new(), archive_read_free); }

std::string strip_dot_slash(const char* p) {
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
      throw Error(name + ": corrupt archive (" + archive_error_string(a) + ")");
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    std::string path = strip_dot_slash(archive_entry_pathname(entry));
    if (!want(path)) continue;
    std::string bytes;
    if (archive_entry_size_is_set(entry)) bytes.reserve(archive_entry_size(entry));
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0)
        throw Error(name + ": corrupt member " + path + " (" + archive_error_string(a) + ")");
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
  if (got < 0) archive_set_error(inner, EIO, "%s", archive_error_string(n->outer));
  *out = n->buf.data();
  return got;
}

}  // namespace

void for_each_deb_member(const std::string& deb_path, const MemberFilter& want,
                         const MemberSink& sink) {
  ArchivePtr outer = new_reader();
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), deb_path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(deb_path + ": cannot open .deb (" + archive_error_string(outer.get()) + ")");
  archive_entry* entry = nullptr;
  bool found = false;
  for (;;) {
    int r = archive_read_next_header(outer.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN)
      throw Error(deb_path + ": not a valid .deb (" + archive_error_string(outer.get()) + ")");
    std::string member = archive_entry_pathname(entry);
    if (member.rfind("data.tar", 0) != 0) continue;
    found = true;
    Nested nested{outer.get()};
    ArchivePtr inner = new_reader();
    archive_read_support_format_tar(inner.get());
    archive_read_support_filter_all(inner.get());
    if (archive_read_open(inner.get(), &nested, nullptr, nested_read, nullptr) != ARCHIVE_OK)
      throw Error(deb_path + ": corrupt " + member + " (" + archive_error_string(inner.get()) + ")");
    drain(inner.get(), deb_path, want, sink);
    break;
  }
  if (!found) throw Error(deb_path + ": not a valid .deb (no data.tar member)");
}

void for_each_zip_member(std::string_view bytes, const std::string& name,
                         const MemberFilter& want, const MemberSink& sink) {
  ArchivePtr a = new_reader();
  archive_read_support_format_zip(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
    throw Error(name + ": cannot open zip (" + archive_error_string(a.get()) + ")");
  drain(a.get(), name, want, sink);
}

}  // namespace strata::data
