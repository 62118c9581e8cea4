#!/usr/bin/env bash
# Installs what inferbench needs, by package name: Debian's packages here, then
# the ONNX Runtime and OpenVINO SDKs (Maven Central / npm / PyPI) into .deps/
# through scripts/install_sdks.sh. Idempotent: when everything is present it
# only checks (well under a second).
#
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --bench    also what only the comparison benchmarks need
#
# Debian's python3-torch / python3-torchvision are test dependencies: tests
# compare our models and weight import with torchvision's own definitions.
# chromium is one too: the report test opens the HTML report in headless
# Chromium and checks that every chart rendered.
# clang + libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, which clang
# only recommends): the fuzz harnesses (make fuzz; make test runs their smoke).
# libopenblas0-openmp: libtorch-dev pulls in only the reference BLAS, on
# which LibTorch eager runs its convolutions outside oneDNN (small spatial
# sizes, batch 1) and its linear layers 5-10x slower; installing OpenBLAS
# (OpenMP build, as LibTorch's threads) makes Debian's alternatives switch
# libblas.so.3 to it (benchmarks/torch.md).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopencv-dev libjpeg-dev libpng-dev libwebp-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev
  libxxhash-dev libsqlite3-dev
  libpq-dev postgresql
  libonnx-dev libprotobuf-dev maven
  libtorch-dev libopenblas0-openmp
  libgtest-dev libbenchmark-dev
  python3 python3-venv libpython3-dev python3-numpy python3-torch python3-torchvision
  chromium
  clang libclang-rt-14-dev
)
# npm fetches ECharts (and ONNX Runtime's headers). A Node.js from elsewhere
# (e.g. NodeSource's nodejs, which provides and conflicts with Debian's npm)
# already has it: ask for Debian's only when there is no npm at all.
command -v npm >/dev/null || packages+=(npm)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(python3-pil) ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} Debian packages present" >&2
else
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: Debian packages done" >&2
fi

# Inference SDKs into the project-local prefix (skipped when present).
"$(dirname "$0")/install_sdks.sh"
