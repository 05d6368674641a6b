/*
 * xbs_format.h - the XBSTREAM archive chunk codec.
 *
 * Pure functions over byte buffers, the same discipline as format/: no I/O,
 * no threads, no allocation, no cryptography (the CRC-32 is computed by the
 * caller, who passes it in or compares it).  A chunk is
 *
 *   magic[8] "XBSTCK01" | flags u8 | type u8 | plen u32 | path[plen]
 *   | nmap u32                                  (type S only)
 *   | len u64 | off u64 | crc u32               (types P and S, and any
 *                                                ignorable unknown type)
 *   | map[nmap] of (skip u32, n u32)            (type S only)
 *   | payload[len]                              (types P and S)
 *
 * all integers little-endian; an E chunk stops after its path.  The CRC is
 * CRC-32 (zlib's crc32(), initial 0) over the map bytes, then the payload.
 * See ../shared/spec/xbstream-format.md.
 */
#ifndef XBS_FORMAT_H
#define XBS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XBS_MAGIC_SIZE 8u
/* Bytes every chunk starts with: magic, flags, type, plen. */
#define XBS_PREFIX_SIZE 14u
/* Readers refuse plen >= 512 (MySQL's FN_REFLEN). */
#define XBS_PATH_MAX 511u
/* len, off, crc after the path (and nmap) of a P/S chunk. */
#define XBS_PAYLOAD_FIELDS 20u
/* The largest header: prefix, longest path, nmap, len/off/crc. */
#define XBS_HEADER_MAX (XBS_PREFIX_SIZE + XBS_PATH_MAX + 4u + XBS_PAYLOAD_FIELDS)
/* Writers cut payloads at this many bytes; readers accept any length. */
#define XBS_PAYLOAD_MAX_WRITE 10485760u
/* Sparse map entries this codec accepts in one chunk (8 bytes each). */
#define XBS_SPARSE_MAP_MAX (1u << 20)

#define XBS_FLAG_IGNORABLE 0x01u

#define XBS_TYPE_PAYLOAD ((uint8_t)'P')
#define XBS_TYPE_SPARSE ((uint8_t)'S')
#define XBS_TYPE_EOF ((uint8_t)'E')

typedef enum xbs_result {
    XBS_OK = 0,
    XBS_BAD_MAGIC,        /* not "XBSTCK01" */
    XBS_PATH_TOO_LONG,    /* plen >= 512 */
    XBS_PATH_EMPTY,       /* plen 0 */
    XBS_PATH_ABSOLUTE,    /* starts with '/' */
    XBS_PATH_DOTDOT,      /* has a ".." component */
    XBS_PATH_NUL,         /* holds a NUL byte */
    XBS_UNKNOWN_TYPE,     /* a type other than P, S, E without the ignorable flag */
    XBS_MAP_TOO_LONG,     /* nmap above XBS_SPARSE_MAP_MAX */
    XBS_MAP_SUM,          /* the map's n do not add up to len */
    XBS_OFFSET_OVERFLOW,  /* off + bytes of the chunk wrap around 2^64 */
    XBS_OUT_OF_ORDER,     /* off is not the member's bytes seen so far */
    XBS_AFTER_EOF,        /* a chunk of a member that already had its EOF chunk */
    XBS_CRC,              /* the stored CRC-32 does not match */
    XBS_TRUNCATED,        /* the data ends inside a chunk */
    XBS_UNCLOSED,         /* members without their EOF chunk at the end */
    XBS_EMPTY,            /* no chunk at all */
    XBS_NOMEM,            /* out of memory (walker only) */
} xbs_result;

/* A decoded header.  `path` points into the buffer it was decoded from. */
typedef struct xbs_header {
    uint8_t flags;
    uint8_t type;         /* 'P', 'S', 'E' or an ignorable unknown type */
    uint32_t plen;
    const uint8_t *path;  /* plen bytes, not NUL-terminated */
    uint32_t nmap;        /* S only */
    uint64_t len;         /* payload bytes (P, S, ignorable) */
    uint64_t off;         /* where in the member the payload goes */
    uint32_t crc;
} xbs_header;

/* True when the 8 bytes at `p` are the chunk magic. */
bool xbs_is_magic(const uint8_t *p);

/*
 * Decodes the first XBS_PREFIX_SIZE bytes at buf (magic, flags, type, plen)
 * into *h and checks what they alone can tell: the magic, plen < 512, a
 * known type or the ignorable flag.  On XBS_OK, xbs_header_size(h) is the
 * whole header's size.
 */
xbs_result xbs_prefix_decode(const uint8_t *buf, xbs_header *h);

/* Header bytes of a chunk whose prefix decoded into *h (the map and the
 * payload not included). */
size_t xbs_header_size(const xbs_header *h);

/* True for chunks that carry len/off/crc and a payload: P, S, ignorable. */
bool xbs_has_payload(const xbs_header *h);

/*
 * Decodes the rest of the header: buf holds xbs_header_size(h) bytes, the
 * prefix of which already decoded into *h.  Checks the path (see
 * xbs_path_check) and, for S, nmap against XBS_SPARSE_MAP_MAX.
 */
xbs_result xbs_header_decode(const uint8_t *buf, xbs_header *h);

/* The path rules: not empty, below 512 bytes, relative, no ".."
 * component, no NUL byte. */
xbs_result xbs_path_check(const uint8_t *path, size_t plen);

/*
 * Writes the header of *h (type P, S or E; h->path, h->plen as given) to
 * out, which has room for xbs_header_size(h) bytes, and returns that
 * count.  The CRC is taken as given: the caller computes it.
 */
size_t xbs_header_encode(uint8_t *out, const xbs_header *h);

/*
 * CRC-32 (zlib's) of A followed by B from crc(A), crc(B) and B's length:
 * lets a worker checksum an archive payload from the parts it computed.
 * Pure arithmetic over GF(2), no table.
 */
uint32_t xbs_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* What crc(A) contributes to crc(A followed by n bytes): combining is
 * linear, xbs_crc32_combine(a, b, n) == xbs_crc32_shift(a, n) ^ b. */
uint32_t xbs_crc32_shift(uint32_t crc_a, uint64_t n);

/* Short lower-case description, e.g. "path has a '..' component". */
const char *xbs_result_text(xbs_result r);

/*
 * Writes `path` into out (out_size >= 4 bytes) for a message: printable
 * ASCII as is, other bytes as \xNN, cut with "..." when it does not fit.
 */
void xbs_path_quote(char *out, size_t out_size, const uint8_t *path, size_t plen);

/*
 * Finds "backup_type = VALUE" in the text of an xtrabackup_checkpoints
 * file and copies VALUE (NUL-terminated, at most out_size - 1 bytes) to
 * out; returns false (out = "") when there is no such line.
 */
bool xbs_checkpoints_backup_type(const uint8_t *text, size_t len, char *out, size_t out_size);

#endif /* XBS_FORMAT_H */
