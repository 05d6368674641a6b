/*
 * fuzz_format.c - the chunk header codec (plugin/format) on arbitrary bytes.
 *
 * 1. Decode: the input, as it is, is handed to xb_header_decode() whenever
 *    it holds the bytes the codec's contract asks for (8 to learn the
 *    version, then 36 or 44).  The input buffer has exactly `size` bytes, so
 *    a read past the header is a sanitizer report.  The result must agree
 *    with the format's rules, evaluated here independently, field by field
 *    and in the codec's documented order; an accepted header must encode
 *    back to the very same bytes.
 * 2. Encode: a header made of fields taken from the input (any values, any
 *    version) must encode to 36 or 44 bytes and decode to the same fields,
 *    with the result the rules predict.
 *
 * Nothing here trusts the codec's own little-endian helpers: fields are
 * read with a separate loop.
 */
#include "format/xb_format.h"
#include "fuzz_harness.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

#define LIMIT 2147483647u /* INT_MAX, the format's bound on every size field */

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* The result the format's rules give for these fields, checked in the
 * order xb_format.h lists them. */
static xb_fmt_result expected(unsigned version, uint64_t olen, uint64_t elen, uint64_t ivlen)
{
    if (version < 1 || version > 3)
        return XB_FMT_BAD_MAGIC;
    if (olen > LIMIT)
        return XB_FMT_OLEN_LIMIT;
    if (elen > LIMIT)
        return XB_FMT_ELEN_LIMIT;
    if (ivlen > LIMIT)
        return XB_FMT_IVLEN_LIMIT;
    if (version == 3 && ivlen != 0 && ivlen != 16)
        return XB_FMT_IVLEN_V3;
    if (version == 3 && elen < 32)
        return XB_FMT_SHORT_PAYLOAD;
    return XB_FMT_OK;
}

static unsigned magic_of(const uint8_t *p)
{
    if (memcmp(p, "XBCRYP0", 7) != 0)
        return 0;
    return p[7] >= '1' && p[7] <= '3' ? (unsigned)(p[7] - '0') : 0;
}

static void check_text(xb_fmt_result r)
{
    const char *t = xb_fmt_result_text(r);
    CHECK(t != NULL && t[0] != '\0');
}

/* Part 1: the input itself as a header. */
static void decode_input(const uint8_t *data, size_t size)
{
    if (size < XB_MAGIC_SIZE)
        return;
    const unsigned v = xb_magic_version(data);
    CHECK(v == magic_of(data));
    const size_t hsz = xb_header_size(v);
    CHECK(v == 0 ? hsz == 0 : hsz == (v == 1 ? 36u : 44u));
    if (v != 0 && size < hsz)
        return; /* the codec's contract: the caller gathers the header first */

    xb_header h;
    memset(&h, 0xa5, sizeof h);
    const xb_fmt_result r = xb_header_decode(data, &h);
    check_text(r);
    if (v == 0) {
        CHECK(r == XB_FMT_BAD_MAGIC);
        return;
    }
    const uint64_t olen = le(data + 16, 8), elen = le(data + 24, 8);
    const uint64_t ivlen = v >= 2 ? le(data + 36, 8) : 0;
    CHECK(r == expected(v, olen, elen, ivlen));
    /* Fields read so far are kept even on a limit error. */
    CHECK(h.version == v);
    CHECK(h.olen == olen && h.elen == elen && h.ivlen == ivlen);
    CHECK(h.reserved == le(data + 8, 8));
    CHECK(h.crc == (uint32_t)le(data + 32, 4));
    if (r != XB_FMT_OK)
        return;

    CHECK(h.olen <= LIMIT && h.elen <= LIMIT && h.ivlen <= LIMIT);
    const uint64_t plain = xb_header_plaintext_size(&h);
    CHECK(plain <= h.elen);
    CHECK(v == 3 ? plain == h.elen - 32 : plain == h.elen);

    /* Re-encoding an accepted header gives back the same bytes. */
    uint8_t again[XB_HEADER_MAX_WRITE];
    memset(again, 0x5a, sizeof again);
    const size_t n = xb_header_encode(again, &h);
    CHECK(n == hsz);
    CHECK(memcmp(again, data, n) == 0);
    xb_header h2;
    CHECK(xb_header_decode(again, &h2) == XB_FMT_OK);
    CHECK(h2.version == h.version && h2.olen == h.olen && h2.elen == h.elen &&
          h2.ivlen == h.ivlen && h2.crc == h.crc && h2.reserved == h.reserved);
}

/* Part 2: a header built from the input's bytes, encoded then decoded. */
static void encode_fields(const uint8_t *data, size_t size)
{
    uint8_t f[45];
    memset(f, 0, sizeof f);
    memcpy(f, data, size < sizeof f ? size : sizeof f);

    xb_header h;
    memset(&h, 0, sizeof h);
    h.version = 1 + f[0] % 3;
    h.reserved = le(f + 1, 8);
    h.olen = le(f + 9, 8);
    h.elen = le(f + 17, 8);
    h.crc = (uint32_t)le(f + 25, 4);
    h.ivlen = h.version == 1 ? 0 : le(f + 29, 8);
    /* Small values matter most: fold the high bits away when asked. */
    if (f[37] & 1)
        h.olen &= 0xffffffffu;
    if (f[37] & 2)
        h.elen &= 0xffu;
    if (f[37] & 4)
        h.ivlen &= 0x1fu;

    uint8_t buf[64];
    memset(buf, 0xee, sizeof buf);
    const size_t n = xb_header_encode(buf, &h);
    CHECK(n == xb_header_size(h.version));
    CHECK(xb_magic_version(buf) == h.version);
    /* Nothing beyond the header is touched. */
    for (size_t i = n; i < sizeof buf; i++)
        CHECK(buf[i] == 0xee);

    xb_header back;
    const xb_fmt_result r = xb_header_decode(buf, &back);
    CHECK(r == expected(h.version, h.olen, h.elen, h.ivlen));
    CHECK(back.version == h.version && back.reserved == h.reserved && back.olen == h.olen &&
          back.elen == h.elen && back.crc == h.crc && back.ivlen == h.ivlen);
    if (r == XB_FMT_OK)
        CHECK(xb_header_plaintext_size(&back) <= back.elen);

    /* Versions the codec does not know have no header size. */
    const unsigned other = f[38];
    CHECK(xb_header_size(other) == (other >= 1 && other <= 3 ? (other == 1 ? 36u : 44u) : 0u));
    check_text((xb_fmt_result)(f[39] % 7));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_input(data, size);
    encode_fields(data, size);
    return 0;
}
