#ifndef HOOKLOG_MALLOC_TUNING_H
#define HOOKLOG_MALLOC_TUNING_H

/// Sets glibc malloc's mmap threshold (blocks from this size up are mapped apart) and trim threshold
/// (freed memory at the heap's top kept up to this size); returns 0 on success, -1 elsewhere (other C
/// libraries keep their defaults). Swift's Glibc module does not import malloc.h: this is all this
/// module is for.
int hooklog_malloc_tune(int mmap_threshold, int trim_threshold);

#endif
