#!/usr/bin/env bash
# Installs everything Strata needs on Debian 12 (bookworm), from Debian packages only.
# Idempotent: packages already present are skipped by apt; SentencePiece is rebuilt only when missing.
#   scripts/bootstrap.sh [--bench] [--fuzz] [BUILD_DIR]     (default BUILD_DIR: build)
#   --bench also installs python3-torch (PyTorch 1.13), the reference that bench/ compares with.
#   --fuzz also installs clang-15 and libFuzzer (libfuzzer-15-dev), for scripts/fuzz.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bench=0
fuzz=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench=1; shift ;;
    --fuzz) fuzz=1; shift ;;
    *) break ;;
  esac
done
build_dir=${1:-$here/build}
mkdir -p "$build_dir" && build_dir=$(cd "$build_dir" && pwd)
say() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "run as root or install sudo"
  sudo=sudo
fi

pkgs=(
  build-essential cmake ccache pkg-config git        # compiler, build system, compiler cache
  libtorch-dev                                       # LibTorch 1.13 (CPU): tensors, autograd, c10d
  libopenblas0-pthread                               # fast BLAS for LibTorch's matrix products
  libgloo-dev                                        # Gloo collectives (c10d ProcessGroupGloo)
  libyaml-cpp-dev nlohmann-json3-dev                 # YAML configs, JSON logs/manifests
  libboost-program-options-dev libboost-dev          # CLI parsing, asio/beast (serving)
  libgtest-dev                                       # unit tests
  libarchive-dev                                     # reading .deb (ar+tar) and .xpi/.ja (zip) members
  protobuf-compiler libprotobuf-dev                  # SentencePiece rebuilt against system protobuf
  dpkg-dev                                           # apt-get source
  gettext                                            # msgfmt/msgcat: .mo parser tests, checks of written .po files
  curl                                               # HTTP client of the server tests (strata serve)
  python3-websockets                                 # WebSocket client of the server tests (Marian's protocol)
  chromium                                           # headless browser: the server page's test
  libssl-dev                                         # md5 (OpenSSL) for the split order
  libpng-dev                                         # PNG heat maps (strata analyze routing)
  libdnnl-dev                                        # oneDNN: int8 and bf16 products (kernels/)
  ocl-icd-opencl-dev                                 # OpenCL headers: Debian's dnnl CMake config requires them
  python3                                            # zip fixtures in the archive tests
  libmetis-dev                                       # METIS graph partitions (strata analyze modularity)
  python3-scipy python3-sklearn                      # second implementations in tests (assignment, AP, tests)
)
if [ "$bench" = 1 ]; then pkgs+=(python3-torch); fi
if [ "$fuzz" = 1 ]; then pkgs+=(clang-15 libfuzzer-15-dev llvm); fi  # llvm: llvm-symbolizer
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || die "apt-get update failed (no network or broken sources.list?)"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
else
  say "all Debian packages present"
fi

# Select OpenBLAS (pthread) as the system BLAS/LAPACK: LibTorch's reference BLAS is ~10x slower.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  alt="/usr/lib/$arch/openblas-pthread/$lib"
  if [ -e "$alt" ]; then
    $sudo update-alternatives --set "$lib-$arch" "$alt" >/dev/null 2>&1 || true
  fi
done
say "BLAS: $(readlink -f /usr/lib/$arch/libblas.so.3)"

# SentencePiece: Debian's libsentencepiece0 embeds protobuf 3.14 and crashes any process that also
# loads libtorch (protobuf 3.21). Rebuild it from Debian's source against the system protobuf, into a
# prefix inside the build tree.
"$here/scripts/build_sentencepiece.sh" "$build_dir/third_party"

# Tests only, from npm into BUILD_DIR/npm/node_modules: Mozilla's Fluent parser checks the .ftl
# files `strata translate --format ftl` writes (tests/data/catalog_test.cpp), and the npm
# `libretranslate` client talks to `strata serve` (tests/cli/serve_cli_test.cpp). Node.js and npm
# are the machine's (Debian's npm package would replace a newer Node.js); without them those
# checks are skipped, with a message in the test output.
if [ ! -f "$build_dir/npm/node_modules/@fluent/syntax/package.json" ] ||
   [ ! -f "$build_dir/npm/node_modules/libretranslate/package.json" ]; then
  if command -v npm >/dev/null && command -v node >/dev/null; then
    mkdir -p "$build_dir/npm"
    (cd "$build_dir/npm" && npm install --no-audit --no-fund --silent @fluent/syntax@0.19 libretranslate@1.0.1 >/dev/null) \
      || die "npm install @fluent/syntax libretranslate failed (needs the npm registry)"
  else
    say "no node/npm: the checks with @fluent/syntax and the libretranslate client will be skipped"
  fi
fi
say "done"
