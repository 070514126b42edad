#pragma once
// Streaming readers for the archives Debian's localisation data comes in (libarchive):
// .deb (an ar archive holding data.tar.{xz,zst,gz}) and zip files (.xpi langpacks, omni.ja).
// Members are streamed: nothing is unpacked to disk.
#include <functional>
#include <string>
#include <string_view>

namespace strata::data {

// Selects members by path (relative, without a leading "./").
using MemberFilter = std::function<bool(const std::string& path)>;
// Receives a selected member's path and its bytes.
using MemberSink = std::function<void(const std::string& path, std::string&& bytes)>;

// Calls `sink` for every regular file in the .deb's data archive whose path passes `want`.
// Throws strata::Error naming the file when it is missing, not a .deb, or corrupt.
void for_each_deb_member(const std::string& deb_path, const MemberFilter& want,
                         const MemberSink& sink);

// The value of one field of the .deb's control file (e.g. "Version"), from its control.tar
// member. Throws strata::Error naming the file when the field or the control file is missing.
std::string deb_control_field(const std::string& deb_path, const std::string& field);

// Same for a zip archive held in memory; `name` is used in error messages.
void for_each_zip_member(std::string_view bytes, const std::string& name,
                         const MemberFilter& want, const MemberSink& sink);

// Reads every member of the zip file at `path` and checks that it decompresses and matches its
// CRC-32. Throws strata::Error "PATH: member M: WHY" (or "PATH: WHY" for the archive itself). (LibTorch's checkpoint
// reader checks neither, and a damaged TorchScript member can crash its parser.)
void verify_zip_file(const std::string& path);

}  // namespace strata::data
