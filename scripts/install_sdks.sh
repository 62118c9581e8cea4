#!/usr/bin/env bash
# Install the ONNX Runtime and OpenVINO C++ SDKs and the report's charting
# library (Apache ECharts), by package name from the package registries, into a
# project-local prefix (default: <repo>/.deps).
#
#   scripts/install_sdks.sh [PREFIX]
#
# Idempotent: a second run with the same versions is a fast no-op.
# Everything it does is logged to stderr.
#
# Layout produced:
#   PREFIX/onnxruntime/include/*.h          ORT C/C++ API headers
#   PREFIX/onnxruntime/lib/libonnxruntime.so.<ver>  (+ .so.1 soname link, + .so dev link)
#   PREFIX/onnxruntime/VERSION, .stamp
#   PREFIX/venv/                            Python venv holding the `openvino` wheel
#     .../site-packages/openvino/{include,libs,cmake}   (OpenVINOConfig.cmake in cmake/)
#     .../site-packages/onnxruntime, onnx  ONNX Runtime's Python quantizer (onnxruntime==ORT_VERSION,
#                                           the C++ SDK's version) for the onnx-int8 export
#   PREFIX/tf-venv/                         second venv: tensorflow-cpu (the TensorFlow/TFLite converter that
#                                           the savedmodel and tflite exporters run, and the TF C API:
#     .../site-packages/tensorflow/{include,libtensorflow_cc.so.2,libtensorflow_framework.so.2})
#                                           ai-edge-litert (LiteRT, .../ai_edge_litert/libLiteRt.so) and onnx
#   PREFIX/npm/node_modules/echarts/        ECharts (dist/echarts.min.js is embedded into the
#                                           binary at build time: `inferbench report`)
#   PREFIX/sdk-paths.cmake                  paths/versions, read by cmake/sdks.cmake
#
# Sources (see DESIGN.md, Dependencies):
#   ORT library : Maven Central com.microsoft.onnxruntime:onnxruntime:<ver> JAR
#                 (ai/onnxruntime/native/linux-x64/libonnxruntime.so).
#   ORT headers : Maven Central com.microsoft.onnxruntime:onnxruntime-android:<ver> AAR
#                 (headers/) when served; otherwise (not served as of 2026-11) from the
#                 npm package ORT_NPM_PKG, a Unity plugin that embeds the official ORT
#                 <ver> Android AAR (headers/) and the official linux-x64
#                 libonnxruntime.so (byte-identical to the JAR's). If Maven does not
#                 serve the JAR either, the library is taken from that npm package too.
#   OpenVINO    : PyPI `openvino==<ver>` wheel, pip-installed into a venv made with
#                 /usr/bin/python3 (Debian's python is externally managed).
#   Quantizers  : PyPI `onnxruntime==<ORT_VERSION>`, `onnx==<ONNX_PY_VERSION>` and `nncf==<NNCF_VERSION>`
#                 wheels, into the same venv (the export stage runs them; nothing links them).
#   TensorFlow  : PyPI `tensorflow-cpu==<ver>`, `ai-edge-litert==<ver>`, `onnx==<ONNX_PY_VERSION>` into a venv
#                 of their own (TensorFlow pins its own numpy/protobuf ranges; the OpenVINO venv stays as
#                 it is). Debian has no TensorFlow; the wheel carries the C API (headers and libraries).
#   ECharts     : npm `echarts@<ver>` (npm install --prefix PREFIX/npm), so the HTML
#                 report can inline it and work offline.
#
# Environment overrides:
#   ORT_VERSION (1.29.0)  ORT_NPM_PKG (com.github.asus4.onnxruntime@0.4.9, carries ORT 1.29.0)
#   OV_VERSION (2026.4.1) PYTHON (/usr/bin/python3)
#   ECHARTS_VERSION (6.1.0)
#   ONNX_PY_VERSION (1.23.2)
#   TF_VERSION (2.21.0)   LITERT_VERSION (2.3.0)   NNCF_VERSION (3.4.0)
#   SKIP_ORT=1 / SKIP_OPENVINO=1 / SKIP_ECHARTS=1 / SKIP_QUANTIZER=1 / SKIP_TENSORFLOW=1   skip one of them
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${1:-$REPO/.deps}
ORT_VERSION=${ORT_VERSION:-1.29.0}
ORT_NPM_PKG=${ORT_NPM_PKG:-com.github.asus4.onnxruntime@0.4.9}
OV_VERSION=${OV_VERSION:-2026.4.1}
PYTHON=${PYTHON:-/usr/bin/python3}
SKIP_ORT=${SKIP_ORT:-0}
SKIP_OPENVINO=${SKIP_OPENVINO:-0}
ECHARTS_VERSION=${ECHARTS_VERSION:-6.1.0}
ONNX_PY_VERSION=${ONNX_PY_VERSION:-1.23.2}
SKIP_QUANTIZER=${SKIP_QUANTIZER:-0}
TF_VERSION=${TF_VERSION:-2.21.0}
LITERT_VERSION=${LITERT_VERSION:-2.3.0}
NNCF_VERSION=${NNCF_VERSION:-3.4.0}
SKIP_TENSORFLOW=${SKIP_TENSORFLOW:-0}
SKIP_ECHARTS=${SKIP_ECHARTS:-0}

log() { echo "[install_sdks] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
[[ -x $PYTHON ]] || PYTHON=$(command -v python3) || die "no python3 found"

TMP=$(mktemp -d "$PREFIX/.tmp-install.XXXXXX")
cleanup() { rm -rf "$TMP" "$PREFIX/onnxruntime.new"; }
trap cleanup EXIT

# extract_member ZIP MEMBER DEST  (python: no dependency on unzip)
extract_member() {
  "$PYTHON" - "$@" <<'PY'
import sys, zipfile, shutil
zf, member, dest = sys.argv[1:4]
with zipfile.ZipFile(zf) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PY
}
# extract_dir ZIP PREFIX_IN_ZIP DESTDIR  (files under PREFIX_IN_ZIP, flattened one level)
extract_dir() {
  "$PYTHON" - "$@" <<'PY'
import sys, os, zipfile, shutil
zf, pre, dest = sys.argv[1:4]
n = 0
with zipfile.ZipFile(zf) as z:
    for name in z.namelist():
        if name.startswith(pre) and not name.endswith("/"):
            rel = name[len(pre):]
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            with z.open(name) as src, open(os.path.join(dest, rel), "wb") as out:
                shutil.copyfileobj(src, out)
            n += 1
if n == 0:
    sys.exit(f"no files under {pre} in {zf}")
PY
}

mvn_copy() {  # mvn_copy GROUP:ARTIFACT:VERSION:TYPE OUTDIR -> 0 if fetched
  command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; return 1; }
  (cd "$TMP" && mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="$1" \
      -DoutputDirectory="$2" >"$TMP/mvn.log" 2>&1) && return 0
  log "  Maven Central did not serve $1"
  return 1
}

NPM_DIR=""
npm_fetch() {  # unpack ORT_NPM_PKG once into $TMP/npm/package
  [[ -n $NPM_DIR ]] && return 0
  command -v npm >/dev/null || die "npm not found (needed for $ORT_NPM_PKG)"
  log "  npm pack $ORT_NPM_PKG"
  mkdir -p "$TMP/npm"
  local tgz
  tgz=$(cd "$TMP/npm" && npm pack --silent "$ORT_NPM_PKG" 2>"$TMP/npm.log" | tail -n1) || true
  [[ -n $tgz && -f $TMP/npm/$tgz ]] || { cat "$TMP/npm.log" >&2; die "npm pack $ORT_NPM_PKG failed"; }
  log "  unpacking $tgz ($(du -h "$TMP/npm/$tgz" | cut -f1))"
  tar -xzf "$TMP/npm/$tgz" -C "$TMP/npm" package/Plugins/Android/onnxruntime.aar \
      package/Plugins/Linux/x64/libonnxruntime.so
  NPM_DIR=$TMP/npm/package
}

install_ort() {
  local root=$PREFIX/onnxruntime stamp=$PREFIX/onnxruntime/.stamp
  if [[ -f $stamp && $(head -n1 "$stamp") == "onnxruntime $ORT_VERSION" \
        && -e $root/lib/libonnxruntime.so.1 && -f $root/include/onnxruntime_cxx_api.h ]]; then
    log "onnxruntime $ORT_VERSION already installed in $root"
    return 0
  fi
  log "installing onnxruntime $ORT_VERSION into $root"
  local new=$PREFIX/onnxruntime.new lib_src hdr_src
  rm -rf "$new"; mkdir -p "$new/include" "$new/lib"

  # library: Maven JAR, else npm package
  if mvn_copy "com.microsoft.onnxruntime:onnxruntime:$ORT_VERSION:jar" "$TMP/mvn"; then
    log "  extracting linux-x64 libonnxruntime.so from onnxruntime-$ORT_VERSION.jar"
    extract_member "$TMP/mvn/onnxruntime-$ORT_VERSION.jar" \
        ai/onnxruntime/native/linux-x64/libonnxruntime.so "$new/lib/libonnxruntime.so.$ORT_VERSION"
    lib_src="maven:com.microsoft.onnxruntime:onnxruntime:$ORT_VERSION"
  else
    npm_fetch
    cp "$NPM_DIR/Plugins/Linux/x64/libonnxruntime.so" "$new/lib/libonnxruntime.so.$ORT_VERSION"
    lib_src="npm:$ORT_NPM_PKG"
  fi

  # headers: Maven AAR, else the AAR embedded in the npm package
  local aar
  if mvn_copy "com.microsoft.onnxruntime:onnxruntime-android:$ORT_VERSION:aar" "$TMP/mvn"; then
    aar=$TMP/mvn/onnxruntime-android-$ORT_VERSION.aar
    hdr_src="maven:com.microsoft.onnxruntime:onnxruntime-android:$ORT_VERSION"
  else
    npm_fetch
    aar=$NPM_DIR/Plugins/Android/onnxruntime.aar
    hdr_src="npm:$ORT_NPM_PKG (Plugins/Android/onnxruntime.aar)"
  fi
  log "  extracting headers/ from $(basename "$aar")"
  extract_dir "$aar" headers/ "$new/include"

  # consistency: header API version must equal the minor version of the library
  local api want=${ORT_VERSION#*.}; want=${want%%.*}
  api=$(sed -n 's/^#define ORT_API_VERSION \([0-9]*\).*/\1/p' "$new/include/onnxruntime_c_api.h")
  [[ $api == "$want" ]] || die "headers have ORT_API_VERSION=$api, expected $want (ORT $ORT_VERSION)"
  grep -aq "$ORT_VERSION" "$new/lib/libonnxruntime.so.$ORT_VERSION" \
      || die "library does not carry version string $ORT_VERSION"

  local soname=libonnxruntime.so.1
  if command -v readelf >/dev/null; then
    soname=$(readelf -d "$new/lib/libonnxruntime.so.$ORT_VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [[ -n $soname ]] || soname=libonnxruntime.so.1
  fi
  chmod 0755 "$new/lib/libonnxruntime.so.$ORT_VERSION"
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$new/lib/$soname"
  ln -sf "$soname" "$new/lib/libonnxruntime.so"
  echo "$ORT_VERSION" >"$new/VERSION"
  printf 'onnxruntime %s\nlib: %s\nheaders: %s\nsoname: %s\n' \
      "$ORT_VERSION" "$lib_src" "$hdr_src" "$soname" >"$new/.stamp"
  rm -rf "$root"; mv "$new" "$root"
  log "  onnxruntime $ORT_VERSION: lib from $lib_src; headers from $hdr_src"
}

OV_CMAKE_DIR=""
install_openvino() {
  local venv=$PREFIX/venv
  local dist=("$venv"/lib/python3*/site-packages/openvino-"$OV_VERSION".dist-info)
  if [[ -x $venv/bin/python && -d ${dist[0]} ]]; then
    log "openvino $OV_VERSION already installed in $venv"
  else
    if [[ ! -x $venv/bin/python ]]; then
      log "creating venv $venv with $PYTHON"
      "$PYTHON" -m venv "$venv" || die "python venv failed (apt-get install python3-venv)"
    fi
    log "pip install openvino==$OV_VERSION into $venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        "openvino==$OV_VERSION" >&2
  fi
  local sp=("$venv"/lib/python3*/site-packages)
  OV_CMAKE_DIR=${sp[0]}/openvino/cmake
  if [[ ! -f $OV_CMAKE_DIR/OpenVINOConfig.cmake ]]; then
    OV_CMAKE_DIR=$("$venv/bin/python" -c 'from openvino.utils import get_cmake_path; print(get_cmake_path())')
  fi
  [[ -f $OV_CMAKE_DIR/OpenVINOConfig.cmake ]] || die "OpenVINOConfig.cmake not found in the wheel"
}

# ONNX Runtime's Python quantizer, pinned to the C++ SDK's version, and NNCF,
# in the venv: the onnx-int8 and openvino-int8 exporters run them on
# inferbench's own calibration tensors.
QUANTIZE_PYTHON=""
install_quantizer() {
  local venv=$PREFIX/venv
  if [[ ! -x $venv/bin/python ]]; then
    log "creating venv $venv with $PYTHON"
    "$PYTHON" -m venv "$venv" || die "python venv failed (apt-get install python3-venv)"
  fi
  local ort=("$venv"/lib/python3*/site-packages/onnxruntime-"$ORT_VERSION".dist-info)
  local onnx=("$venv"/lib/python3*/site-packages/onnx-"$ONNX_PY_VERSION".dist-info)
  local nncf=("$venv"/lib/python3*/site-packages/nncf-"$NNCF_VERSION".dist-info)
  if [[ -d ${ort[0]} && -d ${onnx[0]} && -d ${nncf[0]} ]]; then
    log "onnxruntime $ORT_VERSION, onnx $ONNX_PY_VERSION and nncf $NNCF_VERSION (quantizers) already installed in $venv"
  else
    log "pip install onnxruntime==$ORT_VERSION onnx==$ONNX_PY_VERSION nncf==$NNCF_VERSION into $venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        "onnxruntime==$ORT_VERSION" "onnx==$ONNX_PY_VERSION" "nncf==$NNCF_VERSION" >&2 \
        || die "pip install onnxruntime==$ORT_VERSION onnx==$ONNX_PY_VERSION nncf==$NNCF_VERSION failed"
  fi
  QUANTIZE_PYTHON=$venv/bin/python
}

# TensorFlow (the converter of the savedmodel/tflite exporters, and the C API
# the tensorflow backend links) and LiteRT, pinned, in a venv of their own.
TF_PYTHON=""
install_tensorflow() {
  local venv=$PREFIX/tf-venv
  local tf=("$venv"/lib/python3*/site-packages/tensorflow_cpu-"$TF_VERSION".dist-info)
  local lrt=("$venv"/lib/python3*/site-packages/ai_edge_litert-"$LITERT_VERSION".dist-info)
  local onnx=("$venv"/lib/python3*/site-packages/onnx-"$ONNX_PY_VERSION".dist-info)
  if [[ -x $venv/bin/python && -d ${tf[0]} && -d ${lrt[0]} && -d ${onnx[0]} ]]; then
    log "tensorflow-cpu $TF_VERSION, ai-edge-litert $LITERT_VERSION and onnx $ONNX_PY_VERSION already installed in $venv"
  else
    if [[ ! -x $venv/bin/python ]]; then
      log "creating venv $venv with $PYTHON"
      "$PYTHON" -m venv "$venv" || die "python venv failed (apt-get install python3-venv)"
    fi
    log "pip install tensorflow-cpu==$TF_VERSION ai-edge-litert==$LITERT_VERSION onnx==$ONNX_PY_VERSION into $venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        "tensorflow-cpu==$TF_VERSION" "ai-edge-litert==$LITERT_VERSION" "onnx==$ONNX_PY_VERSION" >&2 \
        || die "pip install tensorflow-cpu==$TF_VERSION ai-edge-litert==$LITERT_VERSION failed"
  fi
  TF_PYTHON=$venv/bin/python
}

# The report's charting library. Its own package.json says which version is
# there, so a second run with the same version does not touch the network.
install_echarts() {
  local dir=$PREFIX/npm pkg=$PREFIX/npm/node_modules/echarts
  if [[ -f $pkg/dist/echarts.min.js && -f $pkg/package.json ]] \
      && grep -q "\"version\": *\"$ECHARTS_VERSION\"" "$pkg/package.json"; then
    log "echarts $ECHARTS_VERSION already installed in $pkg"
    return 0
  fi
  command -v npm >/dev/null || die "npm not found (apt-get install npm; needed for echarts)"
  log "npm install echarts@$ECHARTS_VERSION into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save --silent "echarts@$ECHARTS_VERSION" >&2 \
      || die "npm install echarts@$ECHARTS_VERSION failed"
  [[ -f $pkg/dist/echarts.min.js ]] || die "echarts@$ECHARTS_VERSION has no dist/echarts.min.js"
}

write_paths() {
  local out=$PREFIX/sdk-paths.cmake content
  content="# Generated by scripts/install_sdks.sh; read by cmake/sdks.cmake.
"
  if [[ -f $PREFIX/onnxruntime/VERSION ]]; then
    content+="set(INFERBENCH_SDK_ONNXRUNTIME_ROOT \"$PREFIX/onnxruntime\")
set(INFERBENCH_SDK_ONNXRUNTIME_VERSION \"$(cat "$PREFIX/onnxruntime/VERSION")\")
"
  fi
  if [[ -n $OV_CMAKE_DIR ]]; then
    content+="set(INFERBENCH_SDK_OpenVINO_DIR \"$OV_CMAKE_DIR\")
set(INFERBENCH_SDK_OPENVINO_VERSION \"$OV_VERSION\")
"
  fi
  if [[ -n $QUANTIZE_PYTHON ]]; then
    content+="set(INFERBENCH_SDK_QUANTIZE_PYTHON \"$QUANTIZE_PYTHON\")
set(INFERBENCH_SDK_QUANTIZE_ORT_VERSION \"$ORT_VERSION\")
set(INFERBENCH_SDK_QUANTIZE_NNCF_VERSION \"$NNCF_VERSION\")
"
  fi
  if [[ -n $TF_PYTHON ]]; then
    local sp=("$PREFIX"/tf-venv/lib/python3*/site-packages)
    content+="set(INFERBENCH_SDK_TF_PYTHON \"$TF_PYTHON\")
set(INFERBENCH_SDK_TF_VERSION \"$TF_VERSION\")
set(INFERBENCH_SDK_TF_ROOT \"${sp[0]}/tensorflow\")
set(INFERBENCH_SDK_LITERT_ROOT \"${sp[0]}/ai_edge_litert\")
set(INFERBENCH_SDK_LITERT_VERSION \"$LITERT_VERSION\")
"
  fi
  # Naming the file here also makes an existing build folder re-run CMake (it
  # reads this file), so ECharts installed after a configure is picked up.
  local echarts_js=$PREFIX/npm/node_modules/echarts/dist/echarts.min.js
  if [[ -f $echarts_js ]]; then
    content+="set(INFERBENCH_SDK_ECHARTS_JS \"$echarts_js\")
"
  fi
  if [[ ! -f $out || $(cat "$out") != "${content%$'\n'}" ]]; then
    printf '%s' "$content" >"$out"
    log "wrote $out"
  fi
}

[[ $SKIP_ORT == 1 ]] || install_ort
if [[ $SKIP_OPENVINO == 1 ]]; then
  _cfg=("$PREFIX"/venv/lib/python3*/site-packages/openvino/cmake/OpenVINOConfig.cmake)
  [[ -f ${_cfg[0]} ]] && OV_CMAKE_DIR=$(dirname "${_cfg[0]}")
else
  install_openvino
fi
if [[ $SKIP_QUANTIZER == 1 ]]; then
  _q=("$PREFIX"/venv/lib/python3*/site-packages/onnxruntime-"$ORT_VERSION".dist-info)
  [[ -d ${_q[0]} ]] && QUANTIZE_PYTHON=$PREFIX/venv/bin/python
else
  install_quantizer
fi
if [[ $SKIP_TENSORFLOW == 1 ]]; then
  _t=("$PREFIX"/tf-venv/lib/python3*/site-packages/tensorflow_cpu-"$TF_VERSION".dist-info)
  [[ -d ${_t[0]} ]] && TF_PYTHON=$PREFIX/tf-venv/bin/python
else
  install_tensorflow
fi
[[ $SKIP_ECHARTS == 1 ]] || install_echarts
write_paths
log "done (prefix $PREFIX)"
