#pragma once
// A file's bytes linked into the binary by the assembler (.incbin, into
// read-only data): large or non-C++ assets (the report's ECharts bundle, the
// quantizer script) without a giant string literal or a generator step.
//
//   INFERBENCH_INCBIN(sym, "/abs/path");   at namespace scope, once per file
//   INFERBENCH_INCBIN_VIEW(sym)            its bytes as a std::string_view
//
// The path is a string literal (a compile definition); the including target
// names the file in OBJECT_DEPENDS so an edit of it rebuilds the object.
#include <cstddef>
#include <string_view>

// Defines inferbench_asset_<sym>_begin and _end around the bytes (plus a NUL, unused).
#define INFERBENCH_INCBIN(sym, file)                                \
  __asm__(".pushsection .rodata.inferbench_" #sym ",\"a\",@progbits\n" \
          ".balign 16\n"                                            \
          ".globl inferbench_asset_" #sym "_begin\n"                \
          ".hidden inferbench_asset_" #sym "_begin\n"               \
          "inferbench_asset_" #sym "_begin:\n"                      \
          ".incbin \"" file "\"\n"                                  \
          ".globl inferbench_asset_" #sym "_end\n"                  \
          ".hidden inferbench_asset_" #sym "_end\n"                 \
          "inferbench_asset_" #sym "_end:\n"                        \
          ".byte 0\n"                                               \
          ".popsection\n");                                         \
  extern "C" const char inferbench_asset_##sym##_begin[];           \
  extern "C" const char inferbench_asset_##sym##_end[]

#define INFERBENCH_INCBIN_VIEW(sym)                 \
  std::string_view(inferbench_asset_##sym##_begin, \
                   static_cast<std::size_t>(inferbench_asset_##sym##_end - inferbench_asset_##sym##_begin))
