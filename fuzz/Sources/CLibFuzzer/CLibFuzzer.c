// Nothing to compile: the driver is in libclang_rt.fuzzer, linked by -sanitize=fuzzer.
#include "CLibFuzzer.h"
