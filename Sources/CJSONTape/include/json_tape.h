#ifndef HOOKLOG_JSON_TAPE_H
#define HOOKLOG_JSON_TAPE_H

#include <stddef.h>
#include <stdint.h>

/// One JSON value of a tape (16 bytes). `kind` is the raw value of Swift's `JSONTape.Kind`.
typedef struct {
    /// First byte of the value (the quote of a string, the bracket of a container).
    int32_t start;
    /// One past its last byte.
    int32_t end;
    /// The token index after this value's whole subtree.
    int32_t next;
    /// HOOKLOG_JSON_OBJECT ... HOOKLOG_JSON_NULL.
    uint8_t kind;
    /// 1: a string with backslash escapes (it must be decoded, not just sliced).
    uint8_t escaped;
    uint8_t reserved[2];
} hooklog_json_token;

enum {
    HOOKLOG_JSON_OBJECT = 0,
    HOOKLOG_JSON_ARRAY = 1,
    HOOKLOG_JSON_STRING = 2,
    HOOKLOG_JSON_NUMBER = 3,
    HOOKLOG_JSON_TRUE = 4,
    HOOKLOG_JSON_FALSE = 5,
    HOOKLOG_JSON_NULL = 6,
};

/// Why a document was refused (the Swift side words each one).
enum {
    HOOKLOG_JSON_OK = 0,
    HOOKLOG_JSON_EMPTY,               // "empty body"
    HOOKLOG_JSON_END,                 // "unexpected end of JSON"
    HOOKLOG_JSON_UNEXPECTED,          // "unexpected character 'c'" (the byte at the offset)
    HOOKLOG_JSON_BAD_LITERAL,         // "invalid literal"
    HOOKLOG_JSON_TOO_DEEP,            // "nesting deeper than N levels"
    HOOKLOG_JSON_EXPECTED_NAME,       // "expected a member name in quotes"
    HOOKLOG_JSON_EXPECTED_COLON,      // "expected ':' after a member name"
    HOOKLOG_JSON_EXPECTED_OBJECT_END, // "expected ',' or '}'"
    HOOKLOG_JSON_EXPECTED_ARRAY_END,  // "expected ',' or ']'"
    HOOKLOG_JSON_BAD_U_ESCAPE,        // "invalid \u escape"
    HOOKLOG_JSON_BAD_ESCAPE,          // "invalid escape"
    HOOKLOG_JSON_CONTROL,             // "control character in a string"
    HOOKLOG_JSON_UNTERMINATED,        // "unterminated string"
    HOOKLOG_JSON_BAD_UTF8,            // "invalid UTF-8"
    HOOKLOG_JSON_BAD_NUMBER,          // "invalid number"
    HOOKLOG_JSON_TRAILING,            // "unexpected data after the JSON value"
    HOOKLOG_JSON_NO_MEMORY,           // the token buffer could not grow
};

/// What `hooklog_json_tape` found.
typedef struct {
    /// The tokens in document order (`count` of them): the caller frees them with `hooklog_json_free`,
    /// whatever the outcome (NULL is allowed), and never with `free`.
    hooklog_json_token *tokens;
    size_t count;
    /// HOOKLOG_JSON_OK, or why the document was refused ...
    int error;
    /// ... and the byte offset where it was found.
    size_t error_offset;
} hooklog_json_result;

/// Validates `bytes[0..<length]` as one JSON document (RFC 8259 grammar, strict UTF-8, surrounding
/// whitespace allowed, nesting at most `max_depth` containers deep) and records every value as a token.
///
/// `length` must be below 2^31 (offsets are 32-bit). Reads nothing outside the bytes given, for any
/// input. `capacity_hint` is the first size of the token buffer (it doubles when full).
void hooklog_json_tape(const uint8_t *bytes, size_t length, int max_depth, size_t capacity_hint,
                       hooklog_json_result *result);

/// Frees a result's tokens, or keeps their buffer as the calling thread's spare for its next document.
void hooklog_json_free(hooklog_json_token *tokens);

#endif
