// The validating JSON pass behind Swift's `JSONTape`: RFC 8259 grammar, strict UTF-8, one token per
// value over the original bytes.
//
// Hand-written in C because it is the ingest hot path, where it measured faster than the same
// recursive descent in Swift (see JSONParser.swift for the figures): the position stays in a register
// instead of going through `inout self`, and there are no overflow or bounds traps in the inner loops,
// each read being behind an explicit length check. Strings are scanned 16 bytes at a time with SSE2 (a
// baseline of x86-64; other CPUs use 8-byte words): one signed compare finds both the control bytes and
// the bytes of multi-byte UTF-8 sequences. The rules and every error offset are those the Swift parser
// had; JSONTapeTests and fuzz/ hold it to them (fuzz-tape: this file alone, under ASan; fuzz-json:
// through the Swift tape, with a differential check against Foundation).
#include "json_tape.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    const uint8_t *b;
    size_t n;
    size_t i;
    int max_depth;
    hooklog_json_token *tokens;
    size_t count;
    size_t capacity;
    int error;
    size_t error_offset;
} parser;

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/// Records the first failure; returns 0 so that callers can `return fail(...)`.
static int fail(parser *p, int error, size_t at) {
    p->error = error;
    p->error_offset = at;
    return 0;
}

// Token buffers. Each is one allocation: a 16-byte header holding its capacity (which keeps the tokens
// 16-byte aligned), then the tokens; callers see only the tokens.
//
// Each thread keeps one spare buffer of at most SPARE_MAX tokens between documents: a 38 KB batch needs
// a 76 KB buffer, and allocating and freeing that for every request went through glibc's large-chunk
// paths (fastbin consolidation, unlinking), about 1.5 % of a busy server's CPU. A thread's spare is
// freed when the thread exits.
#define HEADER 16
#define SPARE_MAX 16384

static pthread_key_t spare_key;
static int spare_ready;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_setup(void) { spare_ready = pthread_key_create(&spare_key, free) == 0; }

static inline size_t *header_of(hooklog_json_token *tokens) { return (size_t *)((uint8_t *)tokens - HEADER); }

/// A buffer of at least `capacity` tokens (the thread's spare if it has one), or NULL.
static hooklog_json_token *buffer_take(size_t capacity) {
    pthread_once(&spare_once, spare_setup);
    size_t *base = spare_ready ? pthread_getspecific(spare_key) : NULL;
    if (base) {
        pthread_setspecific(spare_key, NULL);
        if (base[0] < capacity) {
            size_t *bigger = realloc(base, HEADER + capacity * sizeof(hooklog_json_token));
            if (!bigger) {
                free(base);
                return NULL;
            }
            base = bigger;
            base[0] = capacity;
        }
    } else {
        base = malloc(HEADER + capacity * sizeof(hooklog_json_token));
        if (!base) return NULL;
        base[0] = capacity;
    }
    return (hooklog_json_token *)((uint8_t *)base + HEADER);
}

static int grow(parser *p) {
    size_t capacity = p->capacity * 2;
    size_t *base = realloc(header_of(p->tokens), HEADER + capacity * sizeof(hooklog_json_token));
    if (!base) return fail(p, HOOKLOG_JSON_NO_MEMORY, p->i);
    base[0] = capacity;
    p->tokens = (hooklog_json_token *)((uint8_t *)base + HEADER);
    p->capacity = capacity;
    return 1;
}

/// Appends a token; returns its index, or -1 when the buffer cannot grow.
static inline long push(parser *p, uint8_t kind, size_t start, size_t end, int escaped) {
    if (UNLIKELY(p->count == p->capacity) && !grow(p)) return -1;
    hooklog_json_token *t = &p->tokens[p->count];
    t->start = (int32_t)start;
    t->end = (int32_t)end;
    t->next = (int32_t)(p->count + 1);
    t->kind = kind;
    t->escaped = (uint8_t)escaped;
    t->reserved[0] = t->reserved[1] = 0;
    return (long)p->count++;
}

static inline size_t skip_space(const uint8_t *b, size_t n, size_t i) {
    while (i < n && (b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09)) i++;
    return i;
}

static inline int is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/// Moves `i` to the first byte from `i` that needs attention in a string (a `"`, a `\`, a byte below
/// 0x20 or one of 0x80 and above), or to within a word of the end.
static inline size_t skip_plain(const uint8_t *b, size_t n, size_t i) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(b + i));
        // Signed: 0x00–0x1F and 0x80–0xFF are both below 0x20.
        __m128i flagged =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(flagged);
        if (mask) return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);  // little-endian assumed below: byte 0 lowest
        uint64_t q = w ^ (ones * 0x22), s = w ^ (ones * 0x5C);
        uint64_t flagged = (((q - ones) & ~q) | ((s - ones) & ~s) | ((w - ones * 0x20) & ~w) | w) & highs;
        if (flagged) return i + (size_t)(__builtin_ctzll(flagged) >> 3);
        i += 8;
    }
#endif
    return i;
}

/// Validates one multi-byte UTF-8 sequence at `p->i` (no overlongs, no surrogates, ≤ U+10FFFF).
static int utf8_sequence(parser *p) {
    const uint8_t *b = p->b;
    size_t i = p->i, n = p->n;
    uint8_t b0 = b[i], low, high;
    size_t length;
    if (b0 >= 0xC2 && b0 <= 0xDF) { length = 2; low = 0x80; high = 0xBF; }
    else if (b0 == 0xE0) { length = 3; low = 0xA0; high = 0xBF; }
    else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) { length = 3; low = 0x80; high = 0xBF; }
    else if (b0 == 0xED) { length = 3; low = 0x80; high = 0x9F; }
    else if (b0 == 0xF0) { length = 4; low = 0x90; high = 0xBF; }
    else if (b0 >= 0xF1 && b0 <= 0xF3) { length = 4; low = 0x80; high = 0xBF; }
    else if (b0 == 0xF4) { length = 4; low = 0x80; high = 0x8F; }
    else return fail(p, HOOKLOG_JSON_BAD_UTF8, i);
    if (n - i < length || b[i + 1] < low || b[i + 1] > high) return fail(p, HOOKLOG_JSON_BAD_UTF8, i);
    for (size_t k = 2; k < length; k++)
        if (b[i + k] < 0x80 || b[i + k] > 0xBF) return fail(p, HOOKLOG_JSON_BAD_UTF8, i);
    p->i = i + length;
    return 1;
}

/// Scans a string from its opening quote at `p->i`; on success `p->i` is past its closing quote and
/// `*escaped` says whether it holds escapes.
static int string(parser *p, int *escaped) {
    const uint8_t *b = p->b;
    size_t n = p->n, i = p->i + 1;
    int esc = 0;
    for (;;) {
        i = skip_plain(b, n, i);
        if (UNLIKELY(i >= n)) break;
        uint8_t c = b[i];
        if (LIKELY(c == '"')) {
            p->i = i + 1;
            *escaped = esc;
            return 1;
        }
        if (c == '\\') {
            esc = 1;
            if (i + 1 >= n) return fail(p, HOOKLOG_JSON_END, i);
            switch (b[i + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                i += 2;
                break;
            case 'u':
                if (n - i < 6 || !is_hex(b[i + 2]) || !is_hex(b[i + 3]) || !is_hex(b[i + 4]) || !is_hex(b[i + 5]))
                    return fail(p, HOOKLOG_JSON_BAD_U_ESCAPE, i);
                i += 6;
                break;
            default:
                return fail(p, HOOKLOG_JSON_BAD_ESCAPE, i);
            }
        } else if (c < 0x20) {
            return fail(p, HOOKLOG_JSON_CONTROL, i);
        } else if (c < 0x80) {
            i += 1;  // only near the end: skip_plain stops at no such byte before
        } else {
            p->i = i;
            if (!utf8_sequence(p)) return 0;
            i = p->i;
        }
    }
    return fail(p, HOOKLOG_JSON_UNTERMINATED, i);
}

static inline int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int number(parser *p) {
    const uint8_t *b = p->b;
    size_t n = p->n, i = p->i;
    if (b[i] == '-') i++;
    if (i >= n || !is_digit(b[i])) return fail(p, HOOKLOG_JSON_BAD_NUMBER, i);
    if (b[i] == '0') i++;
    else while (i < n && is_digit(b[i])) i++;
    if (i < n && b[i] == '.') {
        i++;
        if (i >= n || !is_digit(b[i])) return fail(p, HOOKLOG_JSON_BAD_NUMBER, i);
        while (i < n && is_digit(b[i])) i++;
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        if (i < n && (b[i] == '+' || b[i] == '-')) i++;
        if (i >= n || !is_digit(b[i])) return fail(p, HOOKLOG_JSON_BAD_NUMBER, i);
        while (i < n && is_digit(b[i])) i++;
    }
    p->i = i;
    return 1;
}

static int literal(parser *p, const char *word, size_t length, uint8_t kind) {
    size_t start = p->i;
    if (p->n - start < length) return fail(p, HOOKLOG_JSON_END, start);
    for (size_t k = 0; k < length; k++)
        if (p->b[start + k] != (uint8_t)word[k]) return fail(p, HOOKLOG_JSON_BAD_LITERAL, start + k);
    p->i = start + length;
    return push(p, kind, start, p->i, 0) >= 0;
}

static int value(parser *p, int depth);

static int container(parser *p, int object, int depth) {
    if (depth >= p->max_depth) return fail(p, HOOKLOG_JSON_TOO_DEEP, p->i);
    long index = push(p, object ? HOOKLOG_JSON_OBJECT : HOOKLOG_JSON_ARRAY, p->i, 0, 0);
    if (index < 0) return 0;
    const uint8_t *b = p->b;
    size_t n = p->n;
    uint8_t close = object ? '}' : ']';
    p->i = skip_space(b, n, p->i + 1);
    if (p->i < n && b[p->i] == close) {
        p->i++;
    } else {
        for (;;) {
            if (object) {
                if (p->i >= n || b[p->i] != '"')
                    return fail(p, p->i < n ? HOOKLOG_JSON_EXPECTED_NAME : HOOKLOG_JSON_END, p->i);
                size_t start = p->i;
                int escaped;
                if (!string(p, &escaped) || push(p, HOOKLOG_JSON_STRING, start, p->i, escaped) < 0) return 0;
                p->i = skip_space(b, n, p->i);
                if (p->i >= n || b[p->i] != ':')
                    return fail(p, p->i < n ? HOOKLOG_JSON_EXPECTED_COLON : HOOKLOG_JSON_END, p->i);
                p->i = skip_space(b, n, p->i + 1);
            }
            // Most members are strings or numbers: tested here first, which the branch predictor learns,
            // rather than through value()'s jump table, whose indirect branch it mostly mispredicts.
            size_t at = p->i;
            if (at < n && b[at] == '"') {
                int escaped;
                if (!string(p, &escaped) || push(p, HOOKLOG_JSON_STRING, at, p->i, escaped) < 0) return 0;
            } else if (at < n && (is_digit(b[at]) || b[at] == '-')) {
                if (!number(p) || push(p, HOOKLOG_JSON_NUMBER, at, p->i, 0) < 0) return 0;
            } else if (!value(p, depth + 1)) {
                return 0;
            }
            p->i = skip_space(b, n, p->i);
            if (p->i >= n) return fail(p, HOOKLOG_JSON_END, p->i);
            if (b[p->i] == ',') {
                p->i = skip_space(b, n, p->i + 1);
                continue;
            }
            if (b[p->i] != close)
                return fail(p, object ? HOOKLOG_JSON_EXPECTED_OBJECT_END : HOOKLOG_JSON_EXPECTED_ARRAY_END, p->i);
            p->i++;
            break;
        }
    }
    p->tokens[index].end = (int32_t)p->i;
    p->tokens[index].next = (int32_t)p->count;
    return 1;
}

static int value(parser *p, int depth) {
    if (p->i >= p->n) return fail(p, p->n == 0 ? HOOKLOG_JSON_EMPTY : HOOKLOG_JSON_END, p->i);
    size_t start = p->i;
    switch (p->b[start]) {
    case '"': {
        int escaped;
        return string(p, &escaped) && push(p, HOOKLOG_JSON_STRING, start, p->i, escaped) >= 0;
    }
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        return number(p) && push(p, HOOKLOG_JSON_NUMBER, start, p->i, 0) >= 0;
    case '{':
        return container(p, 1, depth);
    case '[':
        return container(p, 0, depth);
    case 't':
        return literal(p, "true", 4, HOOKLOG_JSON_TRUE);
    case 'f':
        return literal(p, "false", 5, HOOKLOG_JSON_FALSE);
    case 'n':
        return literal(p, "null", 4, HOOKLOG_JSON_NULL);
    default:
        return fail(p, HOOKLOG_JSON_UNEXPECTED, start);
    }
}

void hooklog_json_tape(const uint8_t *bytes, size_t length, int max_depth, size_t capacity_hint,
                       hooklog_json_result *result) {
    parser p = {.b = bytes, .n = length, .i = 0, .max_depth = max_depth, .count = 0, .error = HOOKLOG_JSON_OK};
    p.tokens = buffer_take(capacity_hint < 16 ? 16 : capacity_hint);
    p.capacity = p.tokens ? *header_of(p.tokens) : 0;
    if (!p.tokens) {
        fail(&p, HOOKLOG_JSON_NO_MEMORY, 0);
    } else {
        p.i = skip_space(bytes, length, 0);
        if (value(&p, 0)) {
            p.i = skip_space(bytes, length, p.i);
            if (p.i != length) fail(&p, HOOKLOG_JSON_TRAILING, p.i);
        }
    }
    result->tokens = p.tokens;
    result->count = p.count;
    result->error = p.error;
    result->error_offset = p.error_offset;
}

void hooklog_json_free(hooklog_json_token *tokens) {
    if (!tokens) return;
    size_t *base = header_of(tokens);
    if (spare_ready && base[0] <= SPARE_MAX && !pthread_getspecific(spare_key) && pthread_setspecific(spare_key, base) == 0)
        return;
    free(base);
}
