#ifndef HOOKLOG_CRC32C_H
#define HOOKLOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Extends a CRC32C (Castagnoli, reflected polynomial 0x82F63B78) over `length` bytes.
/// Start with `crc = 0`; the pre- and post-inversion are done inside, so calls chain:
/// crc32c_extend(crc32c_extend(0, a, n), b, m) == crc32c of a followed by b.
uint32_t hooklog_crc32c_extend(uint32_t crc, const void *bytes, size_t length);

/// The table-driven path whatever the CPU (tests compare the hardware path with it).
uint32_t hooklog_crc32c_extend_software(uint32_t crc, const void *bytes, size_t length);

/// 1 when the hardware (SSE4.2) path is in use, 0 for the table-driven fallback.
int hooklog_crc32c_is_hardware(void);

#endif
