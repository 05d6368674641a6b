/* xbs_format.c - XBSTREAM chunk headers: decode, validate, encode; paths. */
#include "xbstream/xbs_format.h"

#include "format/xb_format.h" /* the little-endian loads and stores */

#include <stdio.h>
#include <string.h>

static const uint8_t xbs_magic[XBS_MAGIC_SIZE] = {'X', 'B', 'S', 'T', 'C', 'K', '0', '1'};

bool xbs_is_magic(const uint8_t *p)
{
    return memcmp(p, xbs_magic, XBS_MAGIC_SIZE) == 0;
}

static bool known_type(uint8_t type)
{
    return type == XBS_TYPE_PAYLOAD || type == XBS_TYPE_SPARSE || type == XBS_TYPE_EOF;
}

xbs_result xbs_prefix_decode(const uint8_t *buf, xbs_header *h)
{
    memset(h, 0, sizeof *h);
    if (!xbs_is_magic(buf))
        return XBS_BAD_MAGIC;
    h->flags = buf[8];
    h->type = buf[9];
    h->plen = xb_load_le32(buf + 10);
    if (h->plen > XBS_PATH_MAX)
        return XBS_PATH_TOO_LONG;
    if (!known_type(h->type) && !(h->flags & XBS_FLAG_IGNORABLE))
        return XBS_UNKNOWN_TYPE;
    return XBS_OK;
}

bool xbs_has_payload(const xbs_header *h)
{
    return h->type != XBS_TYPE_EOF;
}

size_t xbs_header_size(const xbs_header *h)
{
    size_t n = XBS_PREFIX_SIZE + h->plen;
    if (h->type == XBS_TYPE_SPARSE)
        n += 4;
    if (xbs_has_payload(h))
        n += XBS_PAYLOAD_FIELDS;
    return n;
}

xbs_result xbs_path_check(const uint8_t *path, size_t plen)
{
    if (plen == 0)
        return XBS_PATH_EMPTY;
    if (plen > XBS_PATH_MAX)
        return XBS_PATH_TOO_LONG;
    if (memchr(path, '\0', plen))
        return XBS_PATH_NUL;
    if (path[0] == '/')
        return XBS_PATH_ABSOLUTE;
    for (size_t start = 0; start <= plen;) {
        const uint8_t *slash = memchr(path + start, '/', plen - start);
        size_t end = slash ? (size_t)(slash - path) : plen;
        if (end - start == 2 && path[start] == '.' && path[start + 1] == '.')
            return XBS_PATH_DOTDOT;
        start = end + 1;
    }
    return XBS_OK;
}

xbs_result xbs_header_decode(const uint8_t *buf, xbs_header *h)
{
    xbs_result r = xbs_prefix_decode(buf, h);
    if (r != XBS_OK)
        return r;
    h->path = buf + XBS_PREFIX_SIZE;
    r = xbs_path_check(h->path, h->plen);
    if (r != XBS_OK)
        return r;
    const uint8_t *p = h->path + h->plen;
    if (h->type == XBS_TYPE_SPARSE) {
        h->nmap = xb_load_le32(p);
        p += 4;
    }
    if (xbs_has_payload(h)) {
        h->len = xb_load_le64(p);
        h->off = xb_load_le64(p + 8);
        h->crc = xb_load_le32(p + 16);
    }
    if (h->nmap > XBS_SPARSE_MAP_MAX)
        return XBS_MAP_TOO_LONG;
    /* A payload of len bytes placed at off: its end must be a 64-bit
     * offset (a sparse chunk's holes are checked as its map arrives). */
    if (h->len > UINT64_MAX - h->off)
        return XBS_OFFSET_OVERFLOW;
    return XBS_OK;
}

size_t xbs_header_encode(uint8_t *out, const xbs_header *h)
{
    memcpy(out, xbs_magic, XBS_MAGIC_SIZE);
    out[8] = h->flags;
    out[9] = h->type;
    xb_store_le32(out + 10, h->plen);
    if (h->plen)
        memcpy(out + XBS_PREFIX_SIZE, h->path, h->plen);
    uint8_t *p = out + XBS_PREFIX_SIZE + h->plen;
    if (h->type == XBS_TYPE_SPARSE) {
        xb_store_le32(p, h->nmap);
        p += 4;
    }
    if (xbs_has_payload(h)) {
        xb_store_le64(p, h->len);
        xb_store_le64(p + 8, h->off);
        xb_store_le32(p + 16, h->crc);
        p += XBS_PAYLOAD_FIELDS;
    }
    return (size_t)(p - out);
}

/* CRC-32 polynomials in the reflected order of the checksum: bit 31 holds
 * x^0, bit 0 holds x^31. */
#define CRC_POLY 0xedb88320u
#define CRC_ONE 0x80000000u

/* a * b mod P. */
static uint32_t gf2_mul(uint32_t a, uint32_t b)
{
    uint32_t product = 0;
    for (int i = 0; i < 32; i++) {
        if (a & (CRC_ONE >> i))
            product ^= b;
        b = (b & 1u) ? (b >> 1) ^ CRC_POLY : b >> 1; /* b *= x */
    }
    return product;
}

/* x^(8 * 2^k) mod P for k = 0 .. 63: the squarings the combine below would
 * otherwise redo on every call (tests/unit/test_xbstream.c recomputes
 * them). */
static const uint32_t crc_byte_powers[64] = {
    0x00800000u, 0x00008000u, 0xedb88320u, 0xb1e6b092u,
    0xa06a2517u, 0xed627daeu, 0x88d14467u, 0xd7bbfe6au,
    0xec447f11u, 0x8e7ea170u, 0x6427800eu, 0x4d47bae0u,
    0x09fe548fu, 0x83852d0fu, 0x30362f1au, 0x7b5a9cc3u,
    0x31fec169u, 0x9fec022au, 0x6c8dedc4u, 0x15d6874du,
    0x5fde7a4eu, 0xbad90e37u, 0x2e4e5eefu, 0x4eaba214u,
    0xa8a472c0u, 0x429a969eu, 0x148d302au, 0xc40ba6d0u,
    0xc4e22c3cu, 0x40000000u, 0x20000000u, 0x08000000u,
    0x00800000u, 0x00008000u, 0xedb88320u, 0xb1e6b092u,
    0xa06a2517u, 0xed627daeu, 0x88d14467u, 0xd7bbfe6au,
    0xec447f11u, 0x8e7ea170u, 0x6427800eu, 0x4d47bae0u,
    0x09fe548fu, 0x83852d0fu, 0x30362f1au, 0x7b5a9cc3u,
    0x31fec169u, 0x9fec022au, 0x6c8dedc4u, 0x15d6874du,
    0x5fde7a4eu, 0xbad90e37u, 0x2e4e5eefu, 0x4eaba214u,
    0xa8a472c0u, 0x429a969eu, 0x148d302au, 0xc40ba6d0u,
    0xc4e22c3cu, 0x40000000u, 0x20000000u, 0x08000000u,
};

uint32_t xbs_crc32_shift(uint32_t crc_a, uint64_t n)
{
    /* Appending n bytes multiplies A's remainder by x^(8n): one product
     * per set bit of n. */
    uint32_t shift = CRC_ONE; /* x^0 */
    for (unsigned k = 0; n; k++, n >>= 1)
        if (n & 1u)
            shift = gf2_mul(shift, crc_byte_powers[k]);
    return gf2_mul(shift, crc_a);
}

uint32_t xbs_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return xbs_crc32_shift(crc_a, len_b) ^ crc_b;
}

const char *xbs_result_text(xbs_result r)
{
    switch (r) {
    case XBS_OK: return "valid";
    case XBS_BAD_MAGIC: return "not an xbstream chunk (bad magic)";
    case XBS_PATH_TOO_LONG: return "path length of 512 bytes or more";
    case XBS_PATH_EMPTY: return "empty path";
    case XBS_PATH_ABSOLUTE: return "absolute path";
    case XBS_PATH_DOTDOT: return "path has a '..' component";
    case XBS_PATH_NUL: return "path holds a NUL byte";
    case XBS_UNKNOWN_TYPE: return "unknown chunk type, not marked ignorable";
    case XBS_MAP_TOO_LONG: return "sparse map has too many entries";
    case XBS_MAP_SUM: return "sparse map does not add up to the payload length";
    case XBS_OFFSET_OVERFLOW: return "payload offset beyond 2^64";
    case XBS_OUT_OF_ORDER: return "out-of-order chunk";
    case XBS_AFTER_EOF: return "chunk after the member's end-of-file chunk";
    case XBS_CRC: return "CRC-32 mismatch";
    case XBS_TRUNCATED: return "archive ends inside a chunk";
    case XBS_UNCLOSED: return "member never closed by its end-of-file chunk";
    case XBS_EMPTY: return "empty archive";
    case XBS_NOMEM: return "out of memory";
    }
    return "unknown archive error";
}

void xbs_path_quote(char *out, size_t out_size, const uint8_t *path, size_t plen)
{
    size_t o = 0;
    for (size_t i = 0; i < plen; i++) {
        char tmp[5];
        uint8_t c = path[i];
        size_t n;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            tmp[0] = (char)c;
            n = 1;
        } else {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            n = 4;
        }
        if (o + n + 4 > out_size && i + 1 < plen) { /* keep room for "..." and NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (o + n + 1 > out_size)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
}

bool xbs_checkpoints_backup_type(const uint8_t *text, size_t len, char *out, size_t out_size)
{
    static const char key[] = "backup_type";
    out[0] = '\0';
    for (size_t i = 0; i < len;) {
        const uint8_t *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t p = i;
        while (p < end && (text[p] == ' ' || text[p] == '\t'))
            p++;
        if (end - p > sizeof key - 1 && memcmp(text + p, key, sizeof key - 1) == 0) {
            p += sizeof key - 1;
            while (p < end && (text[p] == ' ' || text[p] == '\t'))
                p++;
            if (p < end && text[p] == '=') {
                p++;
                while (p < end && (text[p] == ' ' || text[p] == '\t'))
                    p++;
                size_t e = end;
                while (e > p && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
                    e--;
                size_t n = 0;
                for (size_t k = p; k < e && n + 1 < out_size; k++)
                    if (text[k] >= 0x20 && text[k] < 0x7f)
                        out[n++] = (char)text[k];
                out[n] = '\0';
                return n > 0;
            }
        }
        i = end + 1;
    }
    return false;
}
