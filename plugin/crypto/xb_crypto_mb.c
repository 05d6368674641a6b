/*
 * xb_crypto_mb.c - SHA-256 of many chunks at once, and CRC-32, through
 * libipsec-mb's job manager when the build has it, else libgcrypt.
 *
 * One SHA-256 stream is bound by the latency of the SHA-NI round
 * instruction (about 2 cycles per byte).  XBCRYPT chunks are independent,
 * so libipsec-mb can hash 16 of them at once in the 16 lanes of AVX-512
 * registers: measured on the development machine (AMD EPYC Zen 5, one
 * core, 64 KiB buffers), 6.4-6.6 GB/s against 2.1 for one stream, but only
 * 0.43 / 0.85 / 1.7 / 3.3 GB/s with 1 / 2 / 4 / 8 jobs in flight.  Hence
 * xb_hasher_min_batch(): below 5 buffers, one stream (libgcrypt) is faster.
 *
 * What libipsec-mb 1.3 does that its documentation does not say (measured
 * here):
 *   - the checked IMB_SUBMIT_JOB refuses SHA-256 jobs longer than 65,534
 *     bytes (IMB_ERR_JOB_AUTH_LEN), so a full 64 KiB chunk is rejected;
 *     IMB_SUBMIT_JOB_NOCHECK hashes correctly up to MB_MAX_LEN (tested in
 *     tests/unit/test_crypto_mb.c), so this file validates the jobs itself
 *     and submits them unchecked;
 *   - a manager is not thread-safe: one per hasher, one hasher per worker,
 *     placed 64-byte aligned;
 *   - errors are read from the job's status or the manager's own imb_errno:
 *     imb_get_errno() falls back to a process-wide variable another thread
 *     can set;
 *   - after the jobs complete the manager still holds the digests of the
 *     last ones (digests of plaintext): it is wiped with imb_clear_mem when
 *     the hasher closes, at the end of the stream;
 *   - its CRC32_ETHERNET_FCS is ISO 3309's CRC-32, zlib's crc32(), at about
 *     4 times libgcrypt's speed.
 * AES-CTR, keys, nonces and secure memory stay libgcrypt's (xb_crypto.c):
 * the manager's CTR mode carries only in the low 32 bits of the counter.
 */
#include "crypto/xb_crypto.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#ifndef XB_HAVE_IPSEC_MB
#define XB_HAVE_IPSEC_MB 0
#endif

#if XB_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#include <stdio.h>
#endif

/* Below this many buffers at once, one stream is faster (see above). */
#define MB_MIN_BATCH 5u
/* The longest buffer handed to the unchecked submit: what the tests cover
 * (the manager counts lengths in 64-byte blocks; this stays far inside a
 * 16-bit count).  Longer buffers are hashed by libgcrypt. */
#define MB_MAX_LEN (2u << 20)

static atomic_int test_mode;

void xb_hasher_test_mode(int mode)
{
    atomic_store(&test_mode, mode);
}

struct xb_hasher {
    unsigned lanes;    /* 1: one stream, libgcrypt */
    unsigned min_batch;
#if XB_HAVE_IPSEC_MB
    IMB_MGR *mgr;      /* NULL: libgcrypt */
    size_t mgr_size;
    char name[64];
#endif
};

/* One-stream SHA-256 of every item, libgcrypt's. */
static void sha256_one_stream(xb_hash_item *it)
{
    xb_sha256(it->out, it->len ? it->buf : "", it->len);
    it->status = XBCRYPT_OK;
    it->why = NULL;
}

#if XB_HAVE_IPSEC_MB

static void close_mgr(xb_hasher *h)
{
    if (!h->mgr)
        return;
    imb_clear_mem(h->mgr, h->mgr_size); /* digests of the last jobs */
    free(h->mgr);
    h->mgr = NULL;
}

/* Sets up a manager where the CPU lets it run its AVX-512 code; anywhere
 * else (measured here: AVX2's 8 lanes give 0.9 GB/s, under one SHA-NI
 * stream) the hasher stays on libgcrypt. */
static void open_mgr(xb_hasher *h)
{
    size_t size = imb_get_mb_mgr_size(); /* a multiple of 64 */
    size = (size + 63) & ~(size_t)63;
    void *mem = aligned_alloc(64, size);
    if (!mem)
        return; /* libgcrypt does the work: slower, not wrong */
    IMB_MGR *mgr = imb_set_pointers_mb_mgr(mem, 0, 1);
    IMB_ARCH arch = IMB_ARCH_NONE;
    if (mgr)
        init_mb_mgr_auto(mgr, &arch);
    h->mgr = mgr ? mgr : mem;
    h->mgr_size = size;
    if (!mgr || mgr->imb_errno != 0 || arch != IMB_ARCH_AVX512) {
        close_mgr(h);
        return;
    }
    h->lanes = 16;
    snprintf(h->name, sizeof h->name, "libipsec-mb %s AVX-512, %u lanes", imb_get_version_str(),
             h->lanes);
}

static void mb_complete(IMB_MGR *mgr, IMB_JOB *job)
{
    xb_hash_item *it = job->user_data;
    if (job->status == IMB_STATUS_COMPLETED) {
        it->status = XBCRYPT_OK;
        it->why = NULL;
    } else {
        it->status = XBCRYPT_E_CRYPTO;
        it->why = mgr->imb_errno ? imb_get_strerror(mgr->imb_errno)
                                 : "libipsec-mb did not complete the SHA-256 job";
    }
}

static void sha256_mb(xb_hasher *h, xb_hash_item *items, unsigned n)
{
    static const uint8_t empty[1];
    IMB_MGR *mgr = h->mgr;
    IMB_JOB *job;
    for (unsigned i = 0; i < n; i++) {
        xb_hash_item *it = &items[i];
        /* The checks IMB_SUBMIT_JOB would make (buffers were checked by
         * the caller), with our own length limit instead of its 65,534. */
        if (it->status != XBCRYPT_E_CRYPTO)
            continue;
        if (it->len > MB_MAX_LEN) {
            sha256_one_stream(it);
            continue;
        }
        job = IMB_GET_NEXT_JOB(mgr);
        job->cipher_mode = IMB_CIPHER_NULL;
        job->cipher_direction = IMB_DIR_ENCRYPT;
        job->chain_order = IMB_ORDER_HASH_CIPHER;
        job->enc_keys = NULL;
        job->dec_keys = NULL;
        job->key_len_in_bytes = 0;
        job->iv = NULL;
        job->iv_len_in_bytes = 0;
        job->cipher_start_src_offset_in_bytes = 0;
        job->msg_len_to_cipher_in_bytes = 0;
        job->hash_alg = IMB_AUTH_SHA_256;
        job->src = it->len ? it->buf : empty;
        job->dst = NULL;
        job->hash_start_src_offset_in_bytes = 0;
        job->msg_len_to_hash_in_bytes = it->len;
        job->auth_tag_output = it->out;
        job->auth_tag_output_len_in_bytes = XB_SHA256_SIZE;
        job->user_data = it;
        job = IMB_SUBMIT_JOB_NOCHECK(mgr);
        while (job) {
            mb_complete(mgr, job);
            job = IMB_GET_COMPLETED_JOB(mgr);
        }
    }
    while ((job = IMB_FLUSH_JOB(mgr)) != NULL)
        mb_complete(mgr, job);
}

#endif /* XB_HAVE_IPSEC_MB */

xbcrypt_status xb_hasher_open(xb_hasher **out)
{
    *out = NULL;
    xb_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return XBCRYPT_E_NOMEM;
    h->lanes = 1;
    const int mode = atomic_load(&test_mode);
    h->min_batch = mode == 2 ? 1 : MB_MIN_BATCH;
#if XB_HAVE_IPSEC_MB
    if (mode != 1)
        open_mgr(h);
#endif
    *out = h;
    return XBCRYPT_OK;
}

void xb_hasher_close(xb_hasher *h)
{
    if (!h)
        return;
#if XB_HAVE_IPSEC_MB
    close_mgr(h);
#endif
    free(h);
}

unsigned xb_hasher_lanes(const xb_hasher *h)
{
    return h->lanes;
}

unsigned xb_hasher_min_batch(const xb_hasher *h)
{
    return h->lanes > 1 ? h->min_batch : 1;
}

const char *xb_hasher_backend(const xb_hasher *h)
{
#if XB_HAVE_IPSEC_MB
    if (h->mgr)
        return h->name;
#else
    (void)h;
#endif
    return "libgcrypt";
}

xbcrypt_status xb_hasher_sha256(xb_hasher *h, xb_hash_item *items, unsigned n)
{
    /* E_CRYPTO marks the items still to hash: whatever the backend does
     * not complete stays failed. */
    for (unsigned i = 0; i < n; i++) {
        bool bad = !items[i].out || (!items[i].buf && items[i].len);
        items[i].status = bad ? XBCRYPT_E_ARG : XBCRYPT_E_CRYPTO;
        items[i].why = bad ? "SHA-256 of a NULL buffer" : "the SHA-256 was not completed";
    }
#if XB_HAVE_IPSEC_MB
    if (h->mgr && n >= h->min_batch) {
        sha256_mb(h, items, n);
    } else
#else
    (void)h;
#endif
    {
        for (unsigned i = 0; i < n; i++)
            if (items[i].status == XBCRYPT_E_CRYPTO)
                sha256_one_stream(&items[i]);
    }
    for (unsigned i = 0; i < n; i++)
        if (items[i].status != XBCRYPT_OK)
            return items[i].status;
    return XBCRYPT_OK;
}

uint32_t xb_hasher_crc32(xb_hasher *h, const void *buf, size_t len)
{
#if XB_HAVE_IPSEC_MB
    if (h->mgr)
        return len ? IMB_CRC32_ETHERNET_FCS(h->mgr, buf, len) : 0;
#else
    (void)h;
#endif
    return xb_crc32(buf, len);
}
