# Writes build facts (version, git commit, build type, compiler, sanitizers)
# into generated headers so `inferbench --version` and every result record can
# say exactly what produced them. The commit is taken at build time, not at
# configure time (cmake/write_git_commit.cmake): an incremental build after a
# `git pull` or an edit records the tree it was built from.
set(INFERBENCH_COMPILER "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/src/common/build_info.h.in
  ${CMAKE_CURRENT_BINARY_DIR}/generated/inferbench/build_info.h @ONLY)
set(INFERBENCH_GIT_COMMIT_HEADER ${CMAKE_CURRENT_BINARY_DIR}/generated/inferbench/git_commit.h)
add_custom_target(inferbench_git_commit ALL
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR} -DOUT=${INFERBENCH_GIT_COMMIT_HEADER}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/write_git_commit.cmake
  BYPRODUCTS ${INFERBENCH_GIT_COMMIT_HEADER}
  VERBATIM)
# The targets whose sources include build_info.h (and so git_commit.h) wait
# for it: called after the targets exist (top-level CMakeLists.txt). A new
# includer of build_info.h goes in this list.
set(INFERBENCH_BUILD_INFO_USERS inferbench_common inferbench inferbench_report inferbench_train
    inferbench_bench_env inferbench_export_onnx torch_bench)
function(inferbench_build_info_users)
  foreach(t IN LISTS ARGN)
    if(TARGET ${t})
      add_dependencies(${t} inferbench_git_commit)
    endif()
  endforeach()
endfunction()
