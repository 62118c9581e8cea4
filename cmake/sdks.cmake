# Optional inference SDKs: ONNX Runtime and OpenVINO; and the report's charting
# library, Apache ECharts (npm), which the HTML report inlines.
#
# Installed by package name with scripts/install_sdks.sh into <repo>/.deps, or taken from
# the user's own install via -DONNXRUNTIME_ROOT=<dir with include/ and lib/> and
# -DOpenVINO_DIR=<dir with OpenVINOConfig.cmake>.
#
# Results:
#   INFERBENCH_HAVE_ONNXRUNTIME  ON/OFF; target onnxruntime::onnxruntime when ON
#   INFERBENCH_ONNXRUNTIME_REASON  why it is OFF (empty when ON)
#   INFERBENCH_ONNXRUNTIME_VERSION e.g. 1.29.0 (from <root>/VERSION, else "api-<N>")
#   INFERBENCH_HAVE_OPENVINO     ON/OFF; target openvino::runtime when ON
#   INFERBENCH_OPENVINO_REASON     why it is OFF (empty when ON)
#   INFERBENCH_OPENVINO_VERSION    e.g. 2026.4.1
#   INFERBENCH_HAVE_ECHARTS      ON/OFF; INFERBENCH_ECHARTS_JS (cache) is the file embedded
#   INFERBENCH_ECHARTS_REASON      why it is OFF (empty when ON)
#   INFERBENCH_ECHARTS_VERSION     e.g. 6.1.0 (from the package.json beside dist/)
#
# Notes: the OpenVINO wheel is built with _GLIBCXX_USE_CXX11_ABI=1 (same as Debian) and
# bundles its own libtbb.so.12 (oneTBB 2021.13, found via RPATH $ORIGIN); Debian ships
# libtbb.so.12 (2021.8) too: keep OpenVINO and other TBB users in separate processes
# (worker per backend) if a clash ever shows.
include_guard(GLOBAL)

get_filename_component(_inferbench_repo_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(INFERBENCH_DEPS_DIR "${_inferbench_repo_root}/.deps" CACHE PATH
    "Prefix that scripts/install_sdks.sh installs the inference SDKs into")
option(INFERBENCH_WITH_ONNXRUNTIME "Use ONNX Runtime if found" ON)
option(INFERBENCH_WITH_OPENVINO "Use OpenVINO if found" ON)

# Paths written by the installer (only used as defaults).
unset(INFERBENCH_SDK_ONNXRUNTIME_ROOT)
unset(INFERBENCH_SDK_OpenVINO_DIR)
unset(INFERBENCH_SDK_OPENVINO_VERSION)
unset(INFERBENCH_SDK_ECHARTS_JS)
unset(INFERBENCH_SDK_QUANTIZE_PYTHON)
unset(INFERBENCH_SDK_QUANTIZE_ORT_VERSION)
unset(INFERBENCH_SDK_QUANTIZE_NNCF_VERSION)
unset(INFERBENCH_SDK_TF_PYTHON)
unset(INFERBENCH_SDK_TF_VERSION)
unset(INFERBENCH_SDK_TF_ROOT)
unset(INFERBENCH_SDK_LITERT_ROOT)
unset(INFERBENCH_SDK_LITERT_VERSION)
if(EXISTS "${INFERBENCH_DEPS_DIR}/sdk-paths.cmake")
  include("${INFERBENCH_DEPS_DIR}/sdk-paths.cmake")
endif()

# inferbench_cache_default(<var> PATH|FILEPATH <default> <doc>): a cache entry
# that starts at <default> (the installer's path) and follows it when it moves
# (e.g. INFERBENCH_DEPS_DIR changed), unless the user set it to something else.
function(inferbench_cache_default var type default doc)
  set(${var} "${default}" CACHE ${type} "${doc}")
  if(DEFINED _INFERBENCH_${var}_DEFAULT AND "${${var}}" STREQUAL "${_INFERBENCH_${var}_DEFAULT}")
    set(${var} "${default}" CACHE ${type} "${doc}" FORCE)
  endif()
  set(_INFERBENCH_${var}_DEFAULT "${default}" CACHE INTERNAL "")
endfunction()

# ---------------------------------------------------------------- ONNX Runtime
set(INFERBENCH_HAVE_ONNXRUNTIME OFF)
set(INFERBENCH_ONNXRUNTIME_REASON "")
set(INFERBENCH_ONNXRUNTIME_VERSION "")
if(INFERBENCH_SDK_ONNXRUNTIME_ROOT)
  set(_ort_default "${INFERBENCH_SDK_ONNXRUNTIME_ROOT}")
else()
  set(_ort_default "${INFERBENCH_DEPS_DIR}/onnxruntime")
endif()
inferbench_cache_default(ONNXRUNTIME_ROOT PATH "${_ort_default}"
    "ONNX Runtime root (include/ with onnxruntime_cxx_api.h, lib/ with libonnxruntime.so)")

if(NOT INFERBENCH_WITH_ONNXRUNTIME)
  set(INFERBENCH_ONNXRUNTIME_REASON "disabled by INFERBENCH_WITH_ONNXRUNTIME=OFF")
elseif(TARGET onnxruntime::onnxruntime)
  set(INFERBENCH_HAVE_ONNXRUNTIME ON)
else()
  # Forget cached results when the root changed (or a previous search failed).
  if(NOT "${ONNXRUNTIME_ROOT}" STREQUAL "${_INFERBENCH_ORT_ROOT_USED}"
     OR NOT ONNXRUNTIME_INCLUDE_DIR OR NOT ONNXRUNTIME_LIBRARY)
    unset(ONNXRUNTIME_INCLUDE_DIR CACHE)
    unset(ONNXRUNTIME_LIBRARY CACHE)
  endif()
  set(_INFERBENCH_ORT_ROOT_USED "${ONNXRUNTIME_ROOT}" CACHE INTERNAL "")
  find_path(ONNXRUNTIME_INCLUDE_DIR onnxruntime_cxx_api.h
    HINTS "${ONNXRUNTIME_ROOT}/include"
          "${ONNXRUNTIME_ROOT}/include/onnxruntime"
          "${ONNXRUNTIME_ROOT}/include/onnxruntime/core/session"
    PATH_SUFFIXES onnxruntime onnxruntime/core/session)
  find_library(ONNXRUNTIME_LIBRARY NAMES onnxruntime libonnxruntime.so.1
    HINTS "${ONNXRUNTIME_ROOT}/lib" "${ONNXRUNTIME_ROOT}/lib64")
  if(NOT ONNXRUNTIME_INCLUDE_DIR)
    set(INFERBENCH_ONNXRUNTIME_REASON
        "onnxruntime_cxx_api.h not found under ONNXRUNTIME_ROOT=${ONNXRUNTIME_ROOT} (run scripts/install_sdks.sh)")
  elseif(NOT ONNXRUNTIME_LIBRARY)
    set(INFERBENCH_ONNXRUNTIME_REASON
        "libonnxruntime not found under ONNXRUNTIME_ROOT=${ONNXRUNTIME_ROOT}/lib (run scripts/install_sdks.sh)")
  else()
    file(STRINGS "${ONNXRUNTIME_INCLUDE_DIR}/onnxruntime_c_api.h" _ort_api
         REGEX "^#define ORT_API_VERSION [0-9]+")
    string(REGEX REPLACE ".* ([0-9]+).*" "\\1" _ort_api "${_ort_api}")
    if(EXISTS "${ONNXRUNTIME_ROOT}/VERSION")
      file(STRINGS "${ONNXRUNTIME_ROOT}/VERSION" INFERBENCH_ONNXRUNTIME_VERSION LIMIT_COUNT 1)
    else()
      set(INFERBENCH_ONNXRUNTIME_VERSION "api-${_ort_api}")
    endif()
    # Link against the real file; its SONAME (libonnxruntime.so.1) sits beside it, so the
    # build-tree RPATH CMake derives from this directory finds it at run time.
    get_filename_component(_ort_real "${ONNXRUNTIME_LIBRARY}" REALPATH)
    add_library(onnxruntime::onnxruntime SHARED IMPORTED GLOBAL)
    set_target_properties(onnxruntime::onnxruntime PROPERTIES
      IMPORTED_LOCATION "${_ort_real}"
      INTERFACE_INCLUDE_DIRECTORIES "${ONNXRUNTIME_INCLUDE_DIR}")
    set(INFERBENCH_HAVE_ONNXRUNTIME ON)
  endif()
endif()
if(INFERBENCH_HAVE_ONNXRUNTIME)
  message(STATUS "ONNX Runtime: ${INFERBENCH_ONNXRUNTIME_VERSION} (${ONNXRUNTIME_LIBRARY})")
else()
  message(STATUS "ONNX Runtime: not used - ${INFERBENCH_ONNXRUNTIME_REASON}")
endif()

# -------------------------------------------------------------------- OpenVINO
set(INFERBENCH_HAVE_OPENVINO OFF)
set(INFERBENCH_OPENVINO_REASON "")
set(INFERBENCH_OPENVINO_VERSION "")
set(_ov_default "")
if(INFERBENCH_SDK_OpenVINO_DIR AND EXISTS "${INFERBENCH_SDK_OpenVINO_DIR}/OpenVINOConfig.cmake")
  set(_ov_default "${INFERBENCH_SDK_OpenVINO_DIR}")
else()
  file(GLOB _ov_cfgs "${INFERBENCH_DEPS_DIR}/venv/lib/python3*/site-packages/openvino/cmake/OpenVINOConfig.cmake")
  if(_ov_cfgs)
    list(GET _ov_cfgs 0 _ov_cfg)
    get_filename_component(_ov_default "${_ov_cfg}" DIRECTORY)
  endif()
endif()
# Fill OpenVINO_DIR from .deps unless the user gave one (a NOTFOUND left by an earlier
# configure, before the SDK was installed, is replaced).
if(_ov_default AND (NOT OpenVINO_DIR OR OpenVINO_DIR MATCHES "-NOTFOUND$"))
  set(OpenVINO_DIR "${_ov_default}" CACHE PATH "Directory containing OpenVINOConfig.cmake" FORCE)
endif()

if(NOT INFERBENCH_WITH_OPENVINO)
  set(INFERBENCH_OPENVINO_REASON "disabled by INFERBENCH_WITH_OPENVINO=OFF")
else()
  find_package(OpenVINO QUIET COMPONENTS Runtime)
  if(OpenVINO_FOUND AND TARGET openvino::runtime)
    set(INFERBENCH_HAVE_OPENVINO ON)
    set(INFERBENCH_OPENVINO_VERSION "${OpenVINO_VERSION}")
  elseif(OpenVINO_DIR AND NOT OpenVINO_DIR MATCHES "-NOTFOUND$")
    set(INFERBENCH_OPENVINO_REASON
        "find_package(OpenVINO COMPONENTS Runtime) failed with OpenVINO_DIR=${OpenVINO_DIR}")
  else()
    set(INFERBENCH_OPENVINO_REASON
        "OpenVINOConfig.cmake not found (set -DOpenVINO_DIR=... or run scripts/install_sdks.sh)")
  endif()
endif()
if(INFERBENCH_HAVE_OPENVINO)
  message(STATUS "OpenVINO: ${INFERBENCH_OPENVINO_VERSION} (${OpenVINO_DIR})")
else()
  message(STATUS "OpenVINO: not used - ${INFERBENCH_OPENVINO_REASON}")
endif()

# ------------------------------------------------------------------ TensorFlow
# The TF C API of the tensorflow-cpu wheel (scripts/install_sdks.sh, .deps/tf-venv),
# or -DTENSORFLOW_ROOT=<the wheel's tensorflow/ folder>: its include/ declares
# the functions (target inferbench_tensorflow_c_api, headers only), its
# libtensorflow_cc.so.2 is opened at run time by the tensorflow backend.
#   INFERBENCH_TENSORFLOW_REASON, INFERBENCH_TENSORFLOW_LIBRARY, INFERBENCH_TENSORFLOW_VERSION
option(INFERBENCH_WITH_TENSORFLOW "Use TensorFlow's C API if found" ON)
set(INFERBENCH_TENSORFLOW_REASON "")
if(INFERBENCH_SDK_TF_ROOT)
  set(_tf_default "${INFERBENCH_SDK_TF_ROOT}")
else()
  file(GLOB _tf_globbed "${INFERBENCH_DEPS_DIR}/tf-venv/lib/python3*/site-packages/tensorflow")
  list(GET _tf_globbed 0 _tf_default)
  if(NOT _tf_default)
    set(_tf_default "${INFERBENCH_DEPS_DIR}/tf-venv/lib/python3/site-packages/tensorflow")
  endif()
endif()
inferbench_cache_default(TENSORFLOW_ROOT PATH "${_tf_default}"
    "The tensorflow-cpu wheel's tensorflow/ folder (include/, libtensorflow_cc.so.2)")
set(INFERBENCH_TENSORFLOW_LIBRARY "${TENSORFLOW_ROOT}/libtensorflow_cc.so.2")
if(INFERBENCH_SDK_TF_VERSION)
  set(INFERBENCH_TENSORFLOW_VERSION "${INFERBENCH_SDK_TF_VERSION}")
else()
  set(INFERBENCH_TENSORFLOW_VERSION "2.21.0")
endif()
if(NOT INFERBENCH_WITH_TENSORFLOW)
  set(INFERBENCH_TENSORFLOW_REASON "disabled by INFERBENCH_WITH_TENSORFLOW=OFF")
elseif(NOT EXISTS "${TENSORFLOW_ROOT}/include/tensorflow/c/c_api.h")
  set(INFERBENCH_TENSORFLOW_REASON
      "tensorflow/c/c_api.h not found under TENSORFLOW_ROOT=${TENSORFLOW_ROOT}/include (run scripts/install_sdks.sh)")
elseif(NOT TARGET inferbench_tensorflow_c_api)
  add_library(inferbench_tensorflow_c_api INTERFACE)
  target_include_directories(inferbench_tensorflow_c_api SYSTEM INTERFACE "${TENSORFLOW_ROOT}/include")
endif()
if(TARGET inferbench_tensorflow_c_api)
  message(STATUS "TensorFlow C API: ${INFERBENCH_TENSORFLOW_VERSION} (${TENSORFLOW_ROOT})")
else()
  message(STATUS "TensorFlow C API: not used - ${INFERBENCH_TENSORFLOW_REASON}")
endif()

# ---------------------------------------------------------------------- LiteRT
# The interpreter of the PyPI wheel ai-edge-litert (scripts/install_sdks.sh puts
# it in .deps/tf-venv), run by the litert backend in embedded CPython: the
# system's libpython for embedding (Debian: libpython3-dev; target
# inferbench_python_embed), and the venv's site-packages, which must be for the
# same Python minor version (their extension modules are built for it).
# -DLITERT_SITE=<site-packages> names another.
#   INFERBENCH_LITERT_REASON, INFERBENCH_LITERT_SITE, INFERBENCH_LITERT_VERSION
option(INFERBENCH_WITH_LITERT "Use LiteRT (ai-edge-litert in embedded Python) if found" ON)
set(INFERBENCH_LITERT_REASON "")
if(INFERBENCH_SDK_LITERT_ROOT)
  get_filename_component(_litert_default "${INFERBENCH_SDK_LITERT_ROOT}" DIRECTORY)
else()
  file(GLOB _litert_globbed "${INFERBENCH_DEPS_DIR}/tf-venv/lib/python3*/site-packages")
  list(GET _litert_globbed 0 _litert_default)
  if(NOT _litert_default)
    set(_litert_default "${INFERBENCH_DEPS_DIR}/tf-venv/lib/python3/site-packages")
  endif()
endif()
inferbench_cache_default(LITERT_SITE PATH "${_litert_default}"
    "site-packages holding ai_edge_litert (the litert backend's default)")
set(INFERBENCH_LITERT_SITE "${LITERT_SITE}")
if(INFERBENCH_SDK_LITERT_VERSION)
  set(INFERBENCH_LITERT_VERSION "${INFERBENCH_SDK_LITERT_VERSION}")
else()
  set(INFERBENCH_LITERT_VERSION "2.3.0")
endif()
if(NOT INFERBENCH_WITH_LITERT)
  set(INFERBENCH_LITERT_REASON "disabled by INFERBENCH_WITH_LITERT=OFF")
else()
  find_package(Python3 COMPONENTS Development.Embed QUIET)
  string(REGEX MATCH "python3\\.[0-9]+" _litert_venv_python "${LITERT_SITE}")
  if(NOT Python3_Development.Embed_FOUND)
    set(INFERBENCH_LITERT_REASON "no libpython for embedding found (Debian: apt-get install libpython3-dev)")
  elseif(_litert_venv_python AND NOT _litert_venv_python STREQUAL "python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}")
    set(INFERBENCH_LITERT_REASON
        "LITERT_SITE=${LITERT_SITE} is for ${_litert_venv_python}, the embedded Python is ${Python3_VERSION} (make the venv with the system's python3)")
  elseif(NOT TARGET inferbench_python_embed)
    add_library(inferbench_python_embed INTERFACE)
    target_link_libraries(inferbench_python_embed INTERFACE Python3::Python)
  endif()
endif()
if(TARGET inferbench_python_embed)
  message(STATUS "LiteRT: ai-edge-litert ${INFERBENCH_LITERT_VERSION} in embedded Python ${Python3_VERSION} (${LITERT_SITE})")
else()
  message(STATUS "LiteRT: not used - ${INFERBENCH_LITERT_REASON}")
endif()

# --------------------------------------------------------------------- ECharts
# echarts.min.js is embedded into the binary (src/report); without it the build
# still works and `inferbench report` writes Markdown and CSV but no HTML.
set(INFERBENCH_HAVE_ECHARTS OFF)
set(INFERBENCH_ECHARTS_REASON "")
set(INFERBENCH_ECHARTS_VERSION "")
if(INFERBENCH_SDK_ECHARTS_JS)
  set(_echarts_default "${INFERBENCH_SDK_ECHARTS_JS}")
else()
  set(_echarts_default "${INFERBENCH_DEPS_DIR}/npm/node_modules/echarts/dist/echarts.min.js")
endif()
inferbench_cache_default(INFERBENCH_ECHARTS_JS FILEPATH "${_echarts_default}"
    "Apache ECharts' dist/echarts.min.js, inlined into the HTML report")
if(EXISTS "${INFERBENCH_ECHARTS_JS}")
  set(INFERBENCH_HAVE_ECHARTS ON)
  set(INFERBENCH_ECHARTS_VERSION "unknown")
  get_filename_component(_echarts_pkg "${INFERBENCH_ECHARTS_JS}" DIRECTORY)
  set(_echarts_pkg "${_echarts_pkg}/../package.json")
  if(EXISTS "${_echarts_pkg}")
    # Re-run CMake when the package (its version) changes; the .js itself is an
    # OBJECT_DEPENDS of the embedding source (src/report).
    set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_echarts_pkg}")
    file(READ "${_echarts_pkg}" _echarts_json)
    string(JSON _echarts_name ERROR_VARIABLE _echarts_err GET "${_echarts_json}" name)
    string(JSON _echarts_ver ERROR_VARIABLE _echarts_err GET "${_echarts_json}" version)
    if(NOT _echarts_err AND _echarts_name STREQUAL "echarts")
      set(INFERBENCH_ECHARTS_VERSION "${_echarts_ver}")
    endif()
  endif()
  message(STATUS "ECharts: ${INFERBENCH_ECHARTS_VERSION} (${INFERBENCH_ECHARTS_JS})")
else()
  set(INFERBENCH_ECHARTS_REASON "ECharts not found at ${INFERBENCH_ECHARTS_JS} (run scripts/setup.sh)")
  message(STATUS "ECharts: not used - ${INFERBENCH_ECHARTS_REASON}; the HTML report is unavailable")
endif()
