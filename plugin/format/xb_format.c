/* xb_format.c - XBCRYPT chunk headers: decode, validate, encode. */
#include "format/xb_format.h"

#include <string.h>

static const char magic_stem[7] = {'X', 'B', 'C', 'R', 'Y', 'P', '0'};

unsigned xb_magic_version(const uint8_t magic[XB_MAGIC_SIZE])
{
    if (memcmp(magic, magic_stem, sizeof magic_stem) != 0)
        return 0;
    switch (magic[7]) {
    case '1': return 1;
    case '2': return 2;
    case '3': return 3;
    default: return 0;
    }
}

size_t xb_header_size(unsigned version)
{
    switch (version) {
    case 1: return XB_HEADER_V1_SIZE;
    case 2:
    case 3: return XB_HEADER_V23_SIZE;
    default: return 0;
    }
}

xb_fmt_result xb_header_decode(const uint8_t *buf, xb_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = xb_magic_version(buf);
    if (!h->version)
        return XB_FMT_BAD_MAGIC;
    h->reserved = xb_load_le64(buf + 8);
    h->olen = xb_load_le64(buf + 16);
    h->elen = xb_load_le64(buf + 24);
    h->crc = xb_load_le32(buf + 32);
    if (h->version >= 2)
        h->ivlen = xb_load_le64(buf + 36);

    if (h->olen > XB_FIELD_MAX)
        return XB_FMT_OLEN_LIMIT;
    if (h->elen > XB_FIELD_MAX)
        return XB_FMT_ELEN_LIMIT;
    if (h->ivlen > XB_FIELD_MAX)
        return XB_FMT_IVLEN_LIMIT;
    if (h->version == 3) {
        if (h->ivlen != 0 && h->ivlen != 16)
            return XB_FMT_IVLEN_V3;
        if (h->elen < XB_HASH_SIZE)
            return XB_FMT_SHORT_PAYLOAD;
    }
    return XB_FMT_OK;
}

size_t xb_header_encode(uint8_t *out, const xb_header *h)
{
    memcpy(out, magic_stem, sizeof magic_stem);
    out[7] = (uint8_t)('0' + h->version);
    xb_store_le64(out + 8, h->reserved);
    xb_store_le64(out + 16, h->olen);
    xb_store_le64(out + 24, h->elen);
    xb_store_le32(out + 32, h->crc);
    if (h->version == 1)
        return XB_HEADER_V1_SIZE;
    xb_store_le64(out + 36, h->ivlen);
    return XB_HEADER_V23_SIZE;
}

uint64_t xb_header_plaintext_size(const xb_header *h)
{
    return h->version == 3 ? h->elen - XB_HASH_SIZE : h->elen;
}

const char *xb_fmt_result_text(xb_fmt_result r)
{
    switch (r) {
    case XB_FMT_OK: return "valid header";
    case XB_FMT_BAD_MAGIC: return "not an XBCRYPT chunk (bad magic)";
    case XB_FMT_OLEN_LIMIT: return "original size above INT_MAX";
    case XB_FMT_ELEN_LIMIT: return "encrypted size above INT_MAX";
    case XB_FMT_IVLEN_LIMIT: return "IV size above INT_MAX";
    case XB_FMT_IVLEN_V3: return "version-3 IV size is neither 0 nor 16";
    case XB_FMT_SHORT_PAYLOAD: return "version-3 payload shorter than its 32-byte SHA-256";
    }
    return "unknown header error";
}
