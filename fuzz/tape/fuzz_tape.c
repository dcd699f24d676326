// libFuzzer target for the C pass behind the JSON tape (Sources/CJSONTape), built by clang alone with
// ASan (fuzz/run.sh tape): it reads request bodies before anything else does, so it gets its own fast
// target besides fuzz-json (which runs it through Swift against Foundation, but whose C is not
// instrumented). For every input it checks, and aborts when one fails:
//  1. nothing is read or written out of bounds (ASan), at the default depth limit and at a small one;
//  2. an accepted document's tokens are well formed: the root spans the document less its surrounding
//     whitespace, every token lies inside its parent, siblings follow each other, `next` skips exactly
//     the subtree, strings are quoted, literals and numbers are made of what they should be;
//  3. a refusal's offset is within the input (at most its length).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_tape.h"

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "check failed at line %d: %s\n", __LINE__, #c); \
            abort();                                                          \
        }                                                                     \
    } while (0)

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Checks the value at `i` lies within [lo, hi); returns the index after its subtree.
static size_t walk(const uint8_t *b, const hooklog_json_token *t, size_t count, size_t i, size_t lo, size_t hi) {
    CHECK(i < count);
    const hooklog_json_token *v = &t[i];
    CHECK(v->start >= 0 && (size_t)v->start >= lo && v->end > v->start && (size_t)v->end <= hi);
    CHECK((size_t)v->next > i && (size_t)v->next <= count);
    size_t start = (size_t)v->start, end = (size_t)v->end;
    switch (v->kind) {
    case HOOKLOG_JSON_OBJECT:
    case HOOKLOG_JSON_ARRAY: {
        CHECK(b[start] == (v->kind == HOOKLOG_JSON_OBJECT ? '{' : '['));
        CHECK(b[end - 1] == (v->kind == HOOKLOG_JSON_OBJECT ? '}' : ']'));
        size_t j = i + 1, at = start + 1, members = 0;
        while (j < (size_t)v->next) {
            if (v->kind == HOOKLOG_JSON_OBJECT && members % 2 == 0) CHECK(t[j].kind == HOOKLOG_JSON_STRING);
            CHECK((size_t)t[j].start >= at);
            at = (size_t)t[j].end;
            j = walk(b, t, count, j, start + 1, end - 1);
            members++;
        }
        CHECK(j == (size_t)v->next);
        if (v->kind == HOOKLOG_JSON_OBJECT) CHECK(members % 2 == 0);
        break;
    }
    case HOOKLOG_JSON_STRING:
        CHECK(end - start >= 2 && b[start] == '"' && b[end - 1] == '"');
        CHECK(v->escaped == (memchr(b + start + 1, '\\', end - start - 2) != NULL));
        CHECK(v->next == (int32_t)(i + 1));
        break;
    case HOOKLOG_JSON_NUMBER:
        for (size_t k = start; k < end; k++) CHECK(strchr("-+.eE0123456789", b[k]) && b[k] != 0);
        CHECK(v->next == (int32_t)(i + 1));
        break;
    case HOOKLOG_JSON_TRUE: CHECK(end - start == 4 && memcmp(b + start, "true", 4) == 0); break;
    case HOOKLOG_JSON_FALSE: CHECK(end - start == 5 && memcmp(b + start, "false", 5) == 0); break;
    case HOOKLOG_JSON_NULL: CHECK(end - start == 4 && memcmp(b + start, "null", 4) == 0); break;
    default: CHECK(0);
    }
    return (size_t)v->next;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // An exact-size heap copy, so that ASan sees any read past the end.
    uint8_t *b = malloc(size ? size : 1);
    memcpy(b, data, size);
    const int depths[2] = {128, 3};
    for (int d = 0; d < 2; d++) {
        hooklog_json_result r;
        hooklog_json_tape(b, size, depths[d], d == 0 ? size / 8 + 16 : 1, &r);
        if (r.error == HOOKLOG_JSON_OK) {
            CHECK(r.count >= 1);
            size_t lo = 0, hi = size;
            while (lo < hi && is_space(b[lo])) lo++;
            while (hi > lo && is_space(b[hi - 1])) hi--;
            CHECK((size_t)r.tokens[0].start == lo && (size_t)r.tokens[0].end == hi);
            CHECK(walk(b, r.tokens, r.count, 0, 0, size) == r.count);
        } else {
            CHECK(r.error_offset <= size);
            CHECK(r.error > HOOKLOG_JSON_OK && r.error <= HOOKLOG_JSON_NO_MEMORY);
        }
        hooklog_json_free(r.tokens);
    }
    free(b);
    return 0;
}
