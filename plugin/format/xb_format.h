/*
 * xb_format.h - the XBCRYPT chunk header codec.
 *
 * Pure functions over byte buffers: no I/O, no allocation, no threads, no
 * cryptography.  A chunk is
 *
 *   magic[8] "XBCRYP0v" | reserved u64 | olen u64 | elen u64 | crc u32
 *   | ivlen u64 | iv[ivlen]          (ivlen and iv: versions 2 and 3 only)
 *   | payload[elen]
 *
 * all integers little-endian.  See the format spec for what each version
 * puts in the payload.
 */
#ifndef XB_FORMAT_H
#define XB_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define XB_MAGIC_SIZE 8u
/* Bytes every version starts with: magic .. crc. */
#define XB_PREFIX_SIZE 36u
#define XB_HEADER_V1_SIZE 36u
/* Versions 2 and 3: the prefix and the IV size field, without the IV. */
#define XB_HEADER_V23_SIZE 44u
/* A version-3 header with its 16-byte IV, as this engine writes it. */
#define XB_HEADER_MAX_WRITE (XB_HEADER_V23_SIZE + 16u)
/* Readers refuse size fields above INT_MAX. */
#define XB_FIELD_MAX 2147483647u
#define XB_HASH_SIZE 32u

typedef struct xb_header {
    unsigned version;  /* 1, 2 or 3 */
    uint64_t reserved; /* ignored on read, 0 on write */
    uint64_t olen;     /* original size */
    uint64_t elen;     /* payload bytes that follow the header and IV */
    uint32_t crc;      /* CRC-32 of the payload as stored */
    uint64_t ivlen;    /* IV bytes after the header (0 for version 1) */
} xb_header;

typedef enum xb_fmt_result {
    XB_FMT_OK = 0,
    XB_FMT_BAD_MAGIC,     /* not "XBCRYP01".."XBCRYP03" */
    XB_FMT_OLEN_LIMIT,    /* olen above INT_MAX */
    XB_FMT_ELEN_LIMIT,    /* elen above INT_MAX */
    XB_FMT_IVLEN_LIMIT,   /* ivlen above INT_MAX */
    XB_FMT_IVLEN_V3,      /* version 3 with an IV size other than 0 or 16 */
    XB_FMT_SHORT_PAYLOAD, /* version 3 payload shorter than its SHA-256 */
} xb_fmt_result;

/* Version named by the 8 magic bytes at `magic`, or 0 if they are not an
 * XBCRYPT magic. */
unsigned xb_magic_version(const uint8_t magic[XB_MAGIC_SIZE]);

/* Header bytes (without IV) of a chunk of `version`: 36 or 44; 0 if the
 * version is unknown. */
size_t xb_header_size(unsigned version);

/*
 * Decodes the header at buf, which must hold at least
 * xb_header_size(xb_magic_version(buf)) bytes (at least 8 to find out), and
 * checks every field against the format's limits.  On XB_FMT_OK *h is
 * complete; on a limit error *h holds the fields read so far.
 */
xb_fmt_result xb_header_decode(const uint8_t *buf, xb_header *h);

/* Writes h as a header of h->version (1, 2 or 3) and returns the byte count
 * (36 or 44), the IV not included.  Fields are taken as they are. */
size_t xb_header_encode(uint8_t *out, const xb_header *h);

/* Plaintext bytes the chunk carries: elen, less the hash for version 3.
 * Only meaningful for a header that decoded with XB_FMT_OK. */
uint64_t xb_header_plaintext_size(const xb_header *h);

/* Short description of a result, e.g. "encrypted size above INT_MAX". */
const char *xb_fmt_result_text(xb_fmt_result r);

static inline uint64_t xb_load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint32_t xb_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void xb_store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline void xb_store_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

#endif /* XB_FORMAT_H */
