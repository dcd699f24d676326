#ifndef HOOKLOG_BENCH_CSQLITE3_SHIM_H
#define HOOKLOG_BENCH_CSQLITE3_SHIM_H
#include <sqlite3.h>
#endif
