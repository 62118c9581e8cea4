# inferbench_add_optional(<kind> <name> INFO <file> [SOURCES <files>]
#                         [REQUIRES <targets>] [LIBS <libs>] [REASON <why not>])
#
# One optional module of a registry: a backend (kind "backend") or an
# exporter (kind "export"). Defines the static library inferbench_<kind>_<name>
# in the calling folder.
# - INFO holds the module's static description (name, formats, precisions,
#   options) and is always built, so a module whose SDK is missing is still
#   listed, as unavailable, with its reason.
# - When every REQUIRES target exists, SOURCES (the SDK-dependent code) are
#   built and linked with LIBS (PRIVATE), and INFO is compiled with
#   INFERBENCH_<KIND>_BUILT=1; otherwise INFO is compiled with
#   INFERBENCH_<KIND>_UNAVAILABLE="<REASON>" and SOURCES are left out.
# - The global property INFERBENCH_<KIND>_TARGETS collects every target (the
#   registry links them all), INFERBENCH_BUILT_<KIND>S the names of those built
#   with their SDK (the tests use it to pick what they can run).
function(inferbench_add_optional kind name)
  cmake_parse_arguments(M "" "INFO;REASON" "SOURCES;REQUIRES;LIBS" ${ARGN})
  string(TOUPPER "${kind}" KIND)
  set(built ON)
  foreach(t IN LISTS M_REQUIRES)
    if(NOT TARGET ${t})
      set(built OFF)
    endif()
  endforeach()
  set(target inferbench_${kind}_${name})
  if(built)
    add_library(${target} STATIC ${M_INFO} ${M_SOURCES})
    target_link_libraries(${target} PRIVATE ${M_LIBS})
    set_source_files_properties(${M_INFO} PROPERTIES COMPILE_DEFINITIONS "INFERBENCH_${KIND}_BUILT=1")
    set_property(GLOBAL APPEND PROPERTY INFERBENCH_BUILT_${KIND}S ${name})
    message(STATUS "inferbench: ${kind} ${name} on")
  else()
    add_library(${target} STATIC ${M_INFO})
    # The reason becomes a C string literal: no double quotes or backslashes in it.
    string(REPLACE "\"" "'" reason "${M_REASON}")
    string(REPLACE "\\" "/" reason "${reason}")
    set_source_files_properties(${M_INFO} PROPERTIES
      COMPILE_DEFINITIONS "INFERBENCH_${KIND}_UNAVAILABLE=\"${reason}\"")
    message(STATUS "inferbench: ${kind} ${name} off, because ${M_REASON}")
  endif()
  inferbench_target_defaults(${target})
  set_property(GLOBAL APPEND PROPERTY INFERBENCH_${KIND}_TARGETS ${target})
endfunction()
