#ifndef HOOKLOG_BENCH_CLZ4_SHIM_H
#define HOOKLOG_BENCH_CLZ4_SHIM_H
#include <lz4.h>
#endif
