#ifndef HOOKLOG_CZLIB_SHIM_H
#define HOOKLOG_CZLIB_SHIM_H
#include <zlib.h>
#endif
