#include "hooklog_malloc_tuning.h"

#include <stdlib.h>  // defines __GLIBC__ (through features.h) on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int hooklog_malloc_tune(int mmap_threshold, int trim_threshold) {
#if defined(__GLIBC__)
    int ok = mallopt(M_MMAP_THRESHOLD, mmap_threshold) && mallopt(M_TRIM_THRESHOLD, trim_threshold);
    return ok ? 0 : -1;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return -1;
#endif
}
