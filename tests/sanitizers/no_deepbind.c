/* LD_PRELOADed by `make sanitize` ahead of the AddressSanitizer runtime.
 *
 * oneTBB (bundled with the OpenVINO wheel) dlopens its libtbbbind with
 * RTLD_DEEPBIND, which ASan refuses outright ("incompatible with sanitizer
 * runtime", google/sanitizers#611): every process that starts OpenVINO's CPU
 * plugin would end there, so no OpenVINO code path could be tested under ASan.
 * This dlopen drops that one flag and hands the call on to the next dlopen in
 * line (ASan's interceptor). Without RTLD_DEEPBIND the library binds to the
 * process's symbols first; the only symbols at stake are hwloc's, of which
 * the process has one copy (the wheel's). Never linked into inferbench. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

void* dlopen(const char* file, int flags) {
  static void* (*next)(const char*, int) = NULL;
  if (next == NULL) next = (void* (*)(const char*, int))dlsym(RTLD_NEXT, "dlopen");
  return next(file, flags & ~RTLD_DEEPBIND);
}
