/* xb_chunk.c - seal and open one XBCRYPT chunk (the workers' crypto). */
#include "pipeline/xb_chunk.h"

#include "crypto/xb_crypto.h"

#include <stdio.h>
#include <string.h>

static const uint8_t zero_ctr[16];

size_t xb_chunk_seal(xb_worker *w, const uint8_t iv[16], uint8_t *plain, size_t len, xb_header *h,
                     uint8_t **start)
{
    bool ok = true;

    /* One pass in L1-sized blocks: hash the plaintext, encrypt it in
     * place, checksum what will be stored. */
    xb_digest_reset(w->digest);
    if (w->cipher)
        ok = xb_cipher_reset(w->cipher, iv) == XBCRYPT_OK;
    for (size_t off = 0; ok && off < len; off += XB_BLOCK) {
        size_t n = len - off < XB_BLOCK ? len - off : XB_BLOCK;
        xb_digest_sha(w->digest, plain + off, n);
        if (w->cipher)
            ok = xb_cipher_apply(w->cipher, plain + off, n) == XBCRYPT_OK;
        xb_digest_crc(w->digest, plain + off, n);
    }
    uint8_t *hash = plain + len;
    xb_digest_sha_final(w->digest, hash);
    if (ok && w->cipher)
        ok = xb_cipher_apply(w->cipher, hash, XB_HASH_SIZE) == XBCRYPT_OK;
    if (!ok)
        return 0;
    xb_digest_crc(w->digest, hash, XB_HASH_SIZE);
    return xb_chunk_seal_header(w, iv, plain, len, xb_digest_crc_final(w->digest), h, start);
}

size_t xb_chunk_seal_header(const xb_worker *w, const uint8_t iv[16], uint8_t *plain, size_t len,
                            uint32_t crc, xb_header *h, uint8_t **start)
{
    const size_t payload = len + XB_HASH_SIZE;
    h->version = 3;
    h->reserved = 0;
    h->olen = payload;
    h->elen = payload;
    h->crc = crc;
    h->ivlen = w->cipher ? XBCRYPT_IV_SIZE : 0; /* NONE: no IV, as Percona writes */
    const size_t head = XB_HEADER_V23_SIZE + (size_t)h->ivlen;
    *start = plain - head;
    xb_header_encode(*start, h);
    if (w->cipher)
        memcpy(*start + XB_HEADER_V23_SIZE, iv, XBCRYPT_IV_SIZE);
    return head + payload;
}

/* xb_chunk_open, reading the stored payload from `in` (p itself, or a
 * shared input when decrypting: then the plaintext goes from in to p). */
static xbcrypt_status open_from(xb_worker *w, bool decrypt, bool hash, const xb_header *h,
                                const uint8_t iv[16], const uint8_t *in, uint8_t *p, bool *hashed,
                                xb_digest *plain_crc, char *detail, size_t detail_size)
{
    const size_t elen = (size_t)h->elen;
    const size_t plain = (size_t)xb_header_plaintext_size(h);
    const bool check = h->version == 3 && hash;
    bool ok = true;
    *hashed = false;

    /* One pass in L1-sized blocks: checksum what is stored, decrypt in
     * place, hash the plaintext (not the stored hash after it).  Version 3
     * counts from its IV; the old writers of versions 1 and 2 never loaded
     * theirs and counted from zero. */
    xb_digest_reset(w->digest);
    if (plain_crc)
        xb_digest_reset(plain_crc);
    if (decrypt)
        ok = xb_cipher_reset(w->cipher, h->version == 3 ? iv : zero_ctr) == XBCRYPT_OK;
    for (size_t off = 0; ok && off < elen; off += XB_BLOCK) {
        size_t n = elen - off < XB_BLOCK ? elen - off : XB_BLOCK;
        xb_digest_crc(w->digest, in + off, n);
        if (decrypt)
            ok = xb_cipher_apply_to(w->cipher, p + off, in + off, n) == XBCRYPT_OK;
        if (off < plain && (check || plain_crc)) {
            size_t k = plain - off < n ? plain - off : n;
            if (check)
                xb_digest_sha(w->digest, p + off, k);
            if (plain_crc)
                xb_digest_crc(plain_crc, p + off, k);
        }
    }
    if (!ok) {
        snprintf(detail, detail_size, "AES-CTR failed");
        return XBCRYPT_E_CRYPTO;
    }
    uint32_t crc = xb_digest_crc_final(w->digest);
    if (crc != h->crc) {
        snprintf(detail, detail_size, "stored 0x%08x, computed 0x%08x", (unsigned)h->crc,
                 (unsigned)crc);
        return XBCRYPT_E_CRC;
    }
    if (check) {
        uint8_t digest[XB_SHA256_SIZE];
        xb_digest_sha_final(w->digest, digest);
        int same = xb_const_equal(digest, p + plain, XB_SHA256_SIZE);
        xb_wipe(digest, sizeof digest);
        if (!same) {
            snprintf(detail, detail_size, "SHA-256 mismatch");
            return XBCRYPT_E_HASH;
        }
        *hashed = true;
    }
    return XBCRYPT_OK;
}

xbcrypt_status xb_chunk_open(xb_worker *w, bool decrypt, bool hash, const xb_header *h,
                             const uint8_t iv[16], uint8_t *p, bool *hashed, xb_digest *plain_crc,
                             char *detail, size_t detail_size)
{
    return open_from(w, decrypt, hash, h, iv, p, p, hashed, plain_crc, detail, detail_size);
}

/* Where an item's stored payload is read from.  A shared input is read in
 * place only when decrypting (from it into p: what is released is checked
 * in private memory); otherwise it is copied into p first, so that what is
 * checked is what is released. */
static const uint8_t *open_input(const xb_chunk_item *it, bool decrypt)
{
    if (!it->src)
        return it->p;
    if (decrypt)
        return it->src;
    if (it->h->elen)
        memcpy(it->p, it->src, (size_t)it->h->elen);
    return it->p;
}

static void item_fail(xb_chunk_item *it, xbcrypt_status code, const char *what)
{
    it->status = code;
    snprintf(it->detail, it->detail_size, "%s", what);
}

static bool one_at_a_time(const xb_worker *w, unsigned n)
{
    return xb_hasher_lanes(w->hasher) < 2 || n < xb_hasher_min_batch(w->hasher);
}

void xb_chunk_seal_many(xb_worker *w, xb_chunk_item *items, unsigned n)
{
    /* A shared input is copied into the chunk first: the plaintext hashed
     * must be the plaintext encrypted, even if the input changes meanwhile.
     * The copy is the worker's, in parallel, where a read() would have been
     * the reading thread's.  A CRC-32 wanted of the plaintext is taken
     * right after, while the chunk is in cache. */
    for (unsigned i = 0; i < n; i++) {
        if (items[i].src && items[i].len)
            memcpy(items[i].p, items[i].src, items[i].len);
        if (items[i].want_plain_crc)
            items[i].plain_crc = xb_hasher_crc32(w->hasher, items[i].p, items[i].len);
    }
    if (one_at_a_time(w, n)) {
        for (unsigned i = 0; i < n; i++) {
            xb_chunk_item *it = &items[i];
            it->size = xb_chunk_seal(w, it->iv, it->p, it->len, it->h, &it->start);
            it->status = XBCRYPT_OK;
            if (!it->size)
                item_fail(it, XBCRYPT_E_CRYPTO, "AES-CTR failed");
        }
        return;
    }
    /* The SHA-256 of every plaintext at once into the bytes after it, then
     * per chunk AES-CTR over plaintext and hash, and the CRC-32 of what is
     * stored: two passes over each chunk instead of one, which the lanes
     * win by far (README, Benchmark). */
    xb_hash_item hi[XB_CHUNK_BATCH_MAX];
    for (unsigned i = 0; i < n; i++)
        hi[i] = (xb_hash_item){.buf = items[i].p, .len = items[i].len,
                               .out = items[i].p + items[i].len};
    xb_hasher_sha256(w->hasher, hi, n);
    for (unsigned i = 0; i < n; i++) {
        xb_chunk_item *it = &items[i];
        const size_t payload = it->len + XB_HASH_SIZE;
        it->size = 0;
        it->status = hi[i].status;
        if (it->status != XBCRYPT_OK) {
            snprintf(it->detail, it->detail_size, "%s", hi[i].why);
            continue;
        }
        if (w->cipher && (xb_cipher_reset(w->cipher, it->iv) != XBCRYPT_OK ||
                          xb_cipher_apply(w->cipher, it->p, payload) != XBCRYPT_OK)) {
            item_fail(it, XBCRYPT_E_CRYPTO, "AES-CTR failed");
            continue;
        }
        it->size = xb_chunk_seal_header(w, it->iv, it->p, it->len,
                                        xb_hasher_crc32(w->hasher, it->p, payload), it->h,
                                        &it->start);
    }
}

void xb_chunk_open_many(xb_worker *w, bool decrypt, bool hash, xb_digest *scratch,
                        xb_chunk_item *items, unsigned n)
{
    if (one_at_a_time(w, n)) {
        for (unsigned i = 0; i < n; i++) {
            xb_chunk_item *it = &items[i];
            xb_digest *pc = it->want_plain_crc ? scratch : NULL;
            it->status = open_from(w, decrypt, hash, it->h, it->iv, open_input(it, decrypt), it->p,
                                   &it->hashed, pc, it->detail, it->detail_size);
            if (it->status == XBCRYPT_OK && pc)
                it->plain_crc = xb_digest_crc_final(pc);
        }
        return;
    }
    /* Per chunk the CRC-32 of what is stored, then AES-CTR in place; then
     * the SHA-256 of every version-3 plaintext at once, each compared with
     * the stored one.  A chunk that fails its CRC is neither decrypted nor
     * hashed. */
    xb_hash_item hi[XB_CHUNK_BATCH_MAX];
    uint8_t digests[XB_CHUNK_BATCH_MAX][XB_SHA256_SIZE];
    xb_chunk_item *hashing[XB_CHUNK_BATCH_MAX];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        xb_chunk_item *it = &items[i];
        const size_t elen = (size_t)it->h->elen;
        const size_t plain = (size_t)xb_header_plaintext_size(it->h);
        const uint8_t *in = open_input(it, decrypt);
        it->hashed = false;
        uint32_t crc = elen ? xb_hasher_crc32(w->hasher, in, elen) : 0;
        if (crc != it->h->crc) {
            it->status = XBCRYPT_E_CRC;
            snprintf(it->detail, it->detail_size, "stored 0x%08x, computed 0x%08x",
                     (unsigned)it->h->crc, (unsigned)crc);
            continue;
        }
        if (decrypt && (xb_cipher_reset(w->cipher, it->h->version == 3 ? it->iv : zero_ctr) !=
                            XBCRYPT_OK ||
                        xb_cipher_apply_to(w->cipher, it->p, in, elen) != XBCRYPT_OK)) {
            item_fail(it, XBCRYPT_E_CRYPTO, "AES-CTR failed");
            continue;
        }
        it->status = XBCRYPT_OK;
        if (it->want_plain_crc)
            it->plain_crc = plain ? xb_hasher_crc32(w->hasher, it->p, plain) : 0;
        if (it->h->version == 3 && hash) {
            hi[k] = (xb_hash_item){.buf = it->p, .len = plain, .out = digests[k]};
            hashing[k++] = it;
        }
    }
    xb_hasher_sha256(w->hasher, hi, k);
    for (unsigned i = 0; i < k; i++) {
        xb_chunk_item *it = hashing[i];
        const size_t plain = (size_t)xb_header_plaintext_size(it->h);
        if (hi[i].status != XBCRYPT_OK) {
            it->status = hi[i].status;
            snprintf(it->detail, it->detail_size, "%s", hi[i].why);
        } else if (!xb_const_equal(digests[i], it->p + plain, XB_SHA256_SIZE)) {
            item_fail(it, XBCRYPT_E_HASH, "SHA-256 mismatch");
        } else {
            it->hashed = true;
        }
    }
    xb_wipe(digests, sizeof digests);
}
