/*
 * xbs_build.h - building small XBSTREAM archives in the unit tests: a
 * growable buffer and P/E chunks with their CRC (through plugin/crypto).
 */
#ifndef XBS_BUILD_H
#define XBS_BUILD_H

#include "crypto/xb_crypto.h"
#include "xbstream/xbs_format.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct abuf {
    uint8_t *p;
    size_t len, cap;
} abuf;

static inline void ab_put(abuf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

/* A chunk of `type` ('P', 'E', or any other with the P layout) for path,
 * its payload's CRC computed here. */
static inline void ab_chunk(abuf *b, uint8_t type, uint8_t flags, const char *path, uint64_t off,
                            const void *payload, size_t len)
{
    xbs_header h = {.flags = flags, .type = type, .plen = (uint32_t)strlen(path),
                    .path = (const uint8_t *)path, .len = len, .off = off,
                    .crc = len ? xb_crc32(payload, len) : 0};
    uint8_t hb[XBS_HEADER_MAX];
    size_t n = xbs_header_encode(hb, &h);
    ck_assert_uint_eq(n, xbs_header_size(&h));
    ab_put(b, hb, n);
    if (type != XBS_TYPE_EOF)
        ab_put(b, payload, len);
}

#endif /* XBS_BUILD_H */
