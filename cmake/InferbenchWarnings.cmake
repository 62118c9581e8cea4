# inferbench_target_defaults(<target>): warnings and sanitizers for one of our
# own targets. Applied per target so nothing leaks into third-party code.
function(inferbench_target_defaults target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough)
  # `make sanitize` builds with address,undefined (build-sanitize/). A finding
  # ends the process (-fno-sanitize-recover), so UB fails the test that hit it
  # instead of printing a line nobody reads.
  if(INFERBENCH_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${INFERBENCH_SANITIZE} -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${INFERBENCH_SANITIZE})
  endif()
endfunction()
