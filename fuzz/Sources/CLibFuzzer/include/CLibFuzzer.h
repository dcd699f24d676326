// libFuzzer's driver, for the fuzz targets' entry points.
//
// SwiftPM links an executable with `--defsym main=<module>_main`, so libFuzzer's own `main` is never
// used: each target's `@main` calls `LLVMFuzzerRunDriver` (libFuzzer's documented API for programs that
// have their own main), which parses the libFuzzer flags and runs the target.
#ifndef HOOKLOG_CLIBFUZZER_H
#define HOOKLOG_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
