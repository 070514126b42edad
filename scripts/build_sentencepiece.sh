#!/usr/bin/env bash
# Builds SentencePiece from Debian's source package against the system protobuf, installed into
# PREFIX/sentencepiece (default build/third_party/sentencepiece). Skips the work when already installed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$here/build/third_party}
mkdir -p "$root" && root=$(cd "$root" && pwd)  # absolute: the script changes directory
prefix=$root/sentencepiece
say() { printf '[sentencepiece] %s\n' "$*"; }
die() { printf '[sentencepiece] error: %s\n' "$*" >&2; exit 1; }
if [ -f "$prefix/lib/libsentencepiece_train.so" ] && [ -f "$prefix/include/sentencepiece_processor.h" ]; then
  say "already built in $prefix"; exit 0
fi
mkdir -p "$root/src"
cd "$root/src"
if ! ls -d sentencepiece-*/ >/dev/null 2>&1; then
  # A private deb-src list so the system's sources.list is left untouched.
  lists=$root/src/apt-lists; mkdir -p "$lists/partial"
  cat > "$root/src/sources.list" <<SRC
deb-src http://deb.debian.org/debian bookworm main
SRC
  opts=(-o Dir::Etc::SourceList="$root/src/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$lists" -o Debug::NoLocking=1)
  say "fetching Debian source package"
  apt-get "${opts[@]}" update -qq || die "apt-get update (deb-src) failed"
  apt-get "${opts[@]}" source -qq --download-only sentencepiece >/dev/null || die "apt-get source failed"
  dpkg-source -x --skip-patches sentencepiece_*.dsc >/dev/null 2>&1 || dpkg-source -x sentencepiece_*.dsc >/dev/null \
    || die "unpacking the source failed"
fi
src=$(ls -d "$root"/src/sentencepiece-*/ | head -n1)
# Use the system protobuf instead of the embedded 3.14 copy.
sed -i 's|#include "third_party/protobuf-lite/google/protobuf/message_lite.h"|#include <google/protobuf/message_lite.h>|' "$src/src/init.h"
say "building (about 2 minutes)"
cmake -S "$src" -B "$root/src/build" -DCMAKE_BUILD_TYPE=Release -DSPM_USE_BUILTIN_PROTOBUF=OFF \
  -DSPM_ENABLE_TCMALLOC=OFF -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null \
  || die "cmake configure failed"
cmake --build "$root/src/build" -j"$(nproc)" >/dev/null 2>"$root/src/build.err" || { tail -20 "$root/src/build.err"; die "build failed"; }
cmake --install "$root/src/build" >/dev/null || die "install failed"
say "installed into $prefix"
