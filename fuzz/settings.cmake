# Settings of the fuzz build (-DINFERBENCH_FUZZ=ON, clang only), included by
# the top-level CMakeLists.txt before its options: every library below is
# compiled with libFuzzer's coverage instrumentation, AddressSanitizer and
# UndefinedBehaviorSanitizer, a sanitizer finding ending the process
# (-fno-sanitize-recover) so that libFuzzer records it as a crash.
#
# The harnesses parse files and JSON; none needs an inference SDK, the tests or
# the micro-benchmarks, so those are off (the backends registry still lists
# every backend with its options, from the backends' INFO files). LibTorch is
# off for src/ (no trainer); fuzz/CMakeLists.txt finds it for the .pth reader
# alone.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "INFERBENCH_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++ (Debian: clang, libclang-rt-14-dev)")
endif()
set(INFERBENCH_BUILD_TESTS OFF)
set(INFERBENCH_BUILD_BENCHMARKS OFF)
set(INFERBENCH_WITH_LIBTORCH OFF)
set(INFERBENCH_WITH_ONNXRUNTIME OFF)
set(INFERBENCH_WITH_OPENVINO OFF)
set(INFERBENCH_SANITIZE "")  # the flags come from here, for every target
set(INFERBENCH_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
add_compile_options(${INFERBENCH_FUZZ_FLAGS})
add_link_options(-fsanitize=address,undefined)
# -DCMAKE_BUILD_TYPE=Fuzz (what `make fuzz` passes): optimised enough to run
# fast, assertions kept (no NDEBUG), line tables for the sanitizers' reports.
set(CMAKE_CXX_FLAGS_FUZZ "-O1 -gline-tables-only")
