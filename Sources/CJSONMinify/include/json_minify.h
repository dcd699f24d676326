#ifndef HOOKLOG_JSON_MINIFY_H
#define HOOKLOG_JSON_MINIFY_H

#include <stddef.h>
#include <stdint.h>

/// Copies the JSON text `src[0..<length]` to `dst` without the whitespace (space, tab, LF, CR) outside
/// its strings; returns the number of bytes written (never more than `length`).
///
/// `dst` must have room for `length` bytes (bytes past the returned count may be overwritten as scratch);
/// `src` and `dst` must not overlap. Any bytes are safe (nothing is
/// read or written out of those bounds); for text that is not valid JSON the output is what a
/// byte-at-a-time minifier tracking quotes and backslash escapes would produce.
size_t hooklog_json_minify(const uint8_t *src, size_t length, uint8_t *dst);

/// The vector path without SSSE3 (its branch-free compaction), whatever the CPU: for the tests.
size_t hooklog_json_minify_sse2(const uint8_t *src, size_t length, uint8_t *dst);

/// The byte-at-a-time version whatever the CPU (tests compare the vector path with it).
size_t hooklog_json_minify_scalar(const uint8_t *src, size_t length, uint8_t *dst);

#endif
