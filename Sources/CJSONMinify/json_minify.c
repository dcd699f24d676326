// Minifying JSON for export's NDJSON lines (`payload` embedded without the whitespace outside strings).
//
// Hand-written because it is export's hot loop: a byte-at-a-time state machine (or memchr from quote to
// quote, as the Swift version did) ran at ~0.5 GB/s on webhook bodies with a space after every `:` and
// `,`. Here each 64-byte chunk is classified with SSE2 (baseline on x86-64) into bit masks — quotes,
// backslashes, whitespace — and the "inside a string" mask is the prefix XOR of the quote mask (the
// technique simdjson made known). A chunk with a backslash, or that starts just after one, goes through
// the byte-at-a-time path: escapes are rare in webhook JSON and this keeps the vector path simple.
// Dropping the whitespace from a chunk is a byte shuffle (SSSE3 `pshufb`, every x86-64 CPU since 2006,
// checked at run time) driven by a table of the kept positions of each 8-bit pattern; without SSSE3 a
// branch-free store-every-byte loop does it (~2.5× slower on the export benchmark's bodies).
#include "json_minify.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <pthread.h>
#include <tmmintrin.h>
#endif

/// State carried between chunks: inside a string, and the previous byte was an escaping backslash.
struct state {
    int in_string;
    int escaped;
};

static inline int is_space(uint8_t b) { return b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D; }

/// The byte-at-a-time step over `src[0..<n]`, appending to `dst + *o`.
static inline void scalar_run(const uint8_t *src, size_t n, uint8_t *dst, size_t *o, struct state *s) {
    size_t out = *o;
    for (size_t k = 0; k < n; k++) {
        uint8_t b = src[k];
        if (s->in_string) {
            dst[out++] = b;
            if (s->escaped) s->escaped = 0;
            else if (b == '\\') s->escaped = 1;
            else if (b == '"') s->in_string = 0;
        } else if (!is_space(b)) {
            dst[out++] = b;
            if (b == '"') s->in_string = 1;
        }
    }
    *o = out;
}

size_t hooklog_json_minify_scalar(const uint8_t *src, size_t length, uint8_t *dst) {
    struct state s = {0, 0};
    size_t o = 0;
    scalar_run(src, length, dst, &o, &s);
    return o;
}

#if defined(__SSE2__)
static inline uint64_t prefix_xor(uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

static inline uint64_t movemask64(__m128i a, __m128i b, __m128i c, __m128i d) {
    return (uint64_t)(uint16_t)_mm_movemask_epi8(a) | (uint64_t)(uint16_t)_mm_movemask_epi8(b) << 16 |
           (uint64_t)(uint16_t)_mm_movemask_epi8(c) << 32 | (uint64_t)(uint16_t)_mm_movemask_epi8(d) << 48;
}

static inline __m128i space16(__m128i v) {
    return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x09))),
                        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x0A)), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x0D))));
}

/// For each 8-bit pattern of dropped bytes: the positions of the kept ones, in order (then 0x80, which
/// `pshufb` turns into a zero), and how many are kept.
static uint64_t keep_shuffle[256];
static uint8_t keep_count[256];
static int has_ssse3;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (int m = 0; m < 256; m++) {
        uint64_t shuffle = 0x8080808080808080ull;
        int n = 0;
        for (int k = 0; k < 8; k++) {
            if (m & (1 << k)) continue;
            shuffle &= ~(0xffull << (8 * n));
            shuffle |= (uint64_t)k << (8 * n);
            n++;
        }
        keep_shuffle[m] = shuffle;
        keep_count[m] = (uint8_t)n;
    }
    __builtin_cpu_init();
    has_ssse3 = __builtin_cpu_supports("ssse3");
}

/// Whitespace bytes of `v` in one table lookup: the table holds, at each low nibble, the whitespace
/// byte with that nibble (0x20, 0x09, 0x0A, 0x0D) or 0xFF, which no byte below 0x80 equals (and
/// `pshufb` gives 0 for bytes from 0x80, which equal no such byte either).
__attribute__((target("ssse3"))) static inline __m128i space16_shuffle(__m128i v) {
    const __m128i table = _mm_setr_epi8(0x20, -1, -1, -1, -1, -1, -1, -1, -1, 0x09, 0x0A, -1, -1, 0x0D, -1, -1);
    return _mm_cmpeq_epi8(_mm_shuffle_epi8(table, v), v);
}

/// Stores the bytes of `v` whose bit in `drop` (16 bits) is clear, in order, at `d`; returns the new end.
/// Writes 16 bytes from `d` whatever it keeps (the caller's buffer has room).
__attribute__((target("ssse3"))) static inline uint8_t *compact16(__m128i v, uint32_t drop, uint8_t *d) {
    uint32_t lo = drop & 0xff, hi = (drop >> 8) & 0xff;
    __m128i shuffle = _mm_set_epi64x((long long)(keep_shuffle[hi] + 0x0808080808080808ull), (long long)keep_shuffle[lo]);
    __m128i packed = _mm_shuffle_epi8(v, shuffle);
    _mm_storel_epi64((__m128i *)d, packed);
    d += keep_count[lo];
    _mm_storel_epi64((__m128i *)d, _mm_unpackhi_epi64(packed, packed));
    return d + keep_count[hi];
}

/// Minifies the 64 bytes at `p` to `d` (which has room for 64), from and to state `s`; returns the
/// bytes written. A chunk with a backslash, or that starts just after one, goes byte by byte.
__attribute__((always_inline)) static inline size_t minify_chunk(const uint8_t *p, uint8_t *d, struct state *s, int ssse3) {
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    __m128i v0 = _mm_loadu_si128((const __m128i *)p), v1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i v2 = _mm_loadu_si128((const __m128i *)(p + 32)), v3 = _mm_loadu_si128((const __m128i *)(p + 48));
    uint64_t bs = movemask64(_mm_cmpeq_epi8(v0, backslash), _mm_cmpeq_epi8(v1, backslash),
                             _mm_cmpeq_epi8(v2, backslash), _mm_cmpeq_epi8(v3, backslash));
    if (bs != 0 || s->escaped) {
        size_t n = 0;
        scalar_run(p, 64, d, &n, s);
        return n;
    }
    uint64_t quotes = movemask64(_mm_cmpeq_epi8(v0, quote), _mm_cmpeq_epi8(v1, quote),
                                 _mm_cmpeq_epi8(v2, quote), _mm_cmpeq_epi8(v3, quote));
    uint64_t spaces = ssse3 ? movemask64(space16_shuffle(v0), space16_shuffle(v1), space16_shuffle(v2), space16_shuffle(v3))
                            : movemask64(space16(v0), space16(v1), space16(v2), space16(v3));
    // Bit k set: byte k is inside a string (an opening quote counts as inside, a closing one not;
    // neither is whitespace, so only the bytes between them matter).
    uint64_t inside = prefix_xor(quotes) ^ (s->in_string ? ~(uint64_t)0 : 0);
    s->in_string = (int)(inside >> 63);
    uint64_t drop = spaces & ~inside;
    if (drop == 0) {
        memcpy(d, p, 64);
        return 64;
    }
    if (drop == ~(uint64_t)0) return 0;  // a run of indentation
    if (ssse3) {
        // Each 16-byte step stores from where its output starts, never past the chunk's 64 bytes.
        uint8_t *e = d;
        e = compact16(v0, (uint32_t)drop, e);
        e = compact16(v1, (uint32_t)(drop >> 16), e);
        e = compact16(v2, (uint32_t)(drop >> 32), e);
        e = compact16(v3, (uint32_t)(drop >> 48), e);
        return (size_t)(e - d);
    }
    // Every byte is stored; the output position moves only past the kept ones (branch-free).
    size_t n = 0;
    for (int k = 0; k < 64; k++) {
        d[n] = p[k];
        n += 1 - ((drop >> k) & 1);
    }
    return n;
}

/// The chunked minifier; `ssse3` picks how a chunk with whitespace to drop is compacted.
///
/// Output never runs ahead of input, so each chunk's stores stay within `dst[0..<length]`. The last
/// partial chunk is padded with spaces (dropped outside strings) and minified through a local buffer:
/// byte by byte, the ~32 bytes left of each ~1 KB payload took a quarter of the time. If the text ends
/// inside a string (not valid JSON), the padding would be kept: that tail is redone byte by byte.
__attribute__((always_inline)) static inline size_t minify_chunks(const uint8_t *src, size_t length, uint8_t *dst, int ssse3) {
    struct state s = {0, 0};
    size_t o = 0, i = 0;
    for (; length - i >= 64; i += 64) o += minify_chunk(src + i, dst + o, &s, ssse3);
    size_t rest = length - i;
    if (rest == 0) return o;
    uint8_t in[64], out[64];
    memset(in, ' ', sizeof in);
    memcpy(in, src + i, rest);
    struct state tail = s;
    size_t n = minify_chunk(in, out, &tail, ssse3);
    if (tail.in_string || tail.escaped || n > rest) {
        scalar_run(src + i, rest, dst, &o, &s);
        return o;
    }
    memcpy(dst + o, out, n);
    return o + n;
}

__attribute__((target("ssse3"))) static size_t minify_ssse3(const uint8_t *src, size_t length, uint8_t *dst) {
    return minify_chunks(src, length, dst, 1);
}

static size_t minify_sse2(const uint8_t *src, size_t length, uint8_t *dst) {
    return minify_chunks(src, length, dst, 0);
}

size_t hooklog_json_minify(const uint8_t *src, size_t length, uint8_t *dst) {
    pthread_once(&tables_once, build_tables);
    return has_ssse3 ? minify_ssse3(src, length, dst) : minify_sse2(src, length, dst);
}

size_t hooklog_json_minify_sse2(const uint8_t *src, size_t length, uint8_t *dst) {
    pthread_once(&tables_once, build_tables);
    return minify_sse2(src, length, dst);
}

#else
size_t hooklog_json_minify(const uint8_t *src, size_t length, uint8_t *dst) {
    return hooklog_json_minify_scalar(src, length, dst);
}

size_t hooklog_json_minify_sse2(const uint8_t *src, size_t length, uint8_t *dst) {
    return hooklog_json_minify_scalar(src, length, dst);
}
#endif
