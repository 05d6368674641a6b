/*
 * xb_chunk.h - the crypto of one XBCRYPT chunk, as a worker does it: seal
 * plaintext into a version-3 chunk, or check and open a stored chunk of any
 * version.  Shared by the stream encoder and decoder and by the member-level
 * archive transform, so that there is one implementation of each.
 *
 * Runs on whichever thread owns `w` (one thread per xb_worker at a time).
 */
#ifndef XB_CHUNK_H
#define XB_CHUNK_H

#include "format/xb_format.h"
#include "pipeline/xb_stream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Seals plain[0 .. len) in place into a version-3 chunk: the SHA-256 of
 * the plaintext goes into the XB_HASH_SIZE bytes after it, plaintext and
 * hash are encrypted (when w->cipher is open, counter from `iv`), and the
 * header (and IV) into the XB_HEADER_MAX_WRITE bytes before `plain`, so the
 * chunk ends up contiguous.  Fills *h; *start is where the chunk begins.
 * Returns the chunk's size, or 0 when AES-CTR failed.
 */
size_t xb_chunk_seal(xb_worker *w, const uint8_t iv[16], uint8_t *plain, size_t len, xb_header *h,
                     uint8_t **start);

/*
 * The last step of sealing, for a chunk whose payload (plaintext, its
 * SHA-256, both encrypted) is already at plain[0 .. len + XB_HASH_SIZE) and
 * whose stored CRC-32 is `crc`: writes header and IV just before `plain`.
 * Fills *h and *start as xb_chunk_seal does and returns the chunk's size.
 * (The encoder's batches hash many chunks at once, then finish each here.)
 */
size_t xb_chunk_seal_header(const xb_worker *w, const uint8_t iv[16], uint8_t *plain, size_t len,
                            uint32_t crc, xb_header *h, uint8_t **start);

/*
 * Checks and opens the stored payload p[0 .. h->elen) of a chunk with
 * header *h and IV `iv` (version 3; versions 1 and 2 count from zero):
 * CRC-32 of what is stored, then, with `decrypt`, AES-CTR in place, and with
 * `hash` (version 3 only) the SHA-256 of the plaintext against the stored
 * one, in constant time.  On XBCRYPT_OK the plaintext is
 * p[0 .. xb_header_plaintext_size(h)) and *hashed says whether a SHA-256
 * was checked.  Otherwise returns XBCRYPT_E_CRC, E_HASH or E_CRYPTO with a
 * short explanation in detail.  When `plain_crc` is not NULL it is reset
 * and fed the plaintext, in the same pass (its CRC-32 is then the
 * plaintext's).
 */
xbcrypt_status xb_chunk_open(xb_worker *w, bool decrypt, bool hash, const xb_header *h,
                             const uint8_t iv[16], uint8_t *p, bool *hashed, xb_digest *plain_crc,
                             char *detail, size_t detail_size);

/*
 * Batches: many chunks at once, the SHA-256 of all of them through the
 * worker's hasher (the lanes of libipsec-mb where the CPU has them), AES-CTR
 * and CRC-32 per chunk.  A batch smaller than the hasher's minimum, or a
 * hasher without lanes, takes the one-pass single-chunk code above for each
 * item instead.  Every item succeeds or fails on its own; the outputs are
 * those of xb_chunk_seal / xb_chunk_open.
 */
typedef struct xb_chunk_item {
    /* In. */
    const uint8_t *iv;       /* seal: the counter; open: the chunk's IV */
    uint8_t *p;              /* seal: the plaintext, with room around it as for
                              * xb_chunk_seal; open: the stored payload */
    const uint8_t *src;      /* NULL, or where the bytes p should hold are (a
                              * shared input): seal copies them into p first;
                              * open decrypts them into p (room for elen) */
    size_t len;              /* seal: plaintext bytes */
    xb_header *h;            /* seal: filled; open: the chunk's parsed header */
    bool want_plain_crc;     /* also the CRC-32 of the plaintext (seal: as copied
                              * from src, before it is sealed) */
    char *detail;            /* where a failure is explained */
    size_t detail_size;
    /* Out. */
    xbcrypt_status status;
    uint8_t *start;          /* seal: where the chunk begins ... */
    size_t size;             /* ... and its size */
    bool hashed;             /* open: a SHA-256 was checked */
    uint32_t plain_crc;      /* with want_plain_crc */
} xb_chunk_item;

#define XB_CHUNK_BATCH_MAX XB_BATCH_MAX

/* Seals items[0 .. n), n <= XB_CHUNK_BATCH_MAX, as xb_chunk_seal does. */
void xb_chunk_seal_many(xb_worker *w, xb_chunk_item *items, unsigned n);

/* Checks and opens items[0 .. n) as xb_chunk_open does (CRC-32 first, then
 * AES-CTR with `decrypt`, then the SHA-256 of version-3 chunks with
 * `hash`); `scratch` (needed only when an item wants its plaintext CRC) is
 * a digest the single-chunk path may use. */
void xb_chunk_open_many(xb_worker *w, bool decrypt, bool hash, xb_digest *scratch,
                        xb_chunk_item *items, unsigned n);

#endif /* XB_CHUNK_H */
