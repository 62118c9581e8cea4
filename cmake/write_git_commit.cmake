# Run at every build (cmake -P, by the inferbench_git_commit target of
# cmake/InferbenchVersion.cmake): writes OUT, a header defining
# inferbench::build::kGitCommit as `git rev-parse --short=12 HEAD` of
# SOURCE_DIR, with "-dirty" when tracked files differ from it. Written only
# when its text changes, so an unchanged tree rebuilds nothing, and a new
# commit or an edit shows in the next build's records (a configure-time value
# stayed at the commit CMake was first run on).
set(commit "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${SOURCE_DIR}
    OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND head)
    set(commit ${head})
    execute_process(COMMAND ${GIT_EXECUTABLE} status --porcelain --untracked-files=no
      WORKING_DIRECTORY ${SOURCE_DIR}
      OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(dirty)
      string(APPEND commit "-dirty")
    endif()
  endif()
endif()
set(text "#pragma once\n// Generated at build time by cmake/write_git_commit.cmake; do not edit.\nnamespace inferbench::build {\ninline constexpr const char* kGitCommit = \"${commit}\";\n}  // namespace inferbench::build\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
