/*
 * xb_crypto.h - the engine's only window on libgcrypt (and libipsec-mb).
 *
 * Nothing outside plugin/crypto/ includes <gcrypt.h> or <intel-ipsec-mb.h>.
 * Everything here is thread-safe once xb_crypto_init() has returned
 * XBCRYPT_OK; a cipher handle (or a hasher) belongs to one thread at a
 * time.
 */
#ifndef XB_CRYPTO_H
#define XB_CRYPTO_H

#include <xbcrypt/xbcrypt.h>

#include <stddef.h>
#include <stdint.h>

#define XB_SHA256_SIZE 32u

/*
 * Initialise libgcrypt once per process, unless the host already did
 * (then its settings are left alone).  Sets up secure memory, silences
 * libgcrypt's own warnings (library code must not print).  Thread-safe and
 * idempotent.
 */
xbcrypt_status xb_crypto_init(char *msg, size_t msg_size);
/*
 * The secure pool is locked when the memlock limit allows 1 MiB; under a
 * smaller RLIMIT_MEMLOCK (64 KiB before Linux 5.16) it is cut to what the
 * limit leaves, and holds the key and the AES handles of fewer threads
 * (a handle that does not fit fails with XBCRYPT_E_CRYPTO and says so).
 * Under libgcrypt's 16 KiB minimum nothing can be locked: the engine still
 * works, with the pool unlocked, and this returns a sentence saying so and
 * how to raise the limit.  NULL while keys are locked (or libgcrypt was
 * set up by the host), and before xb_crypto_init().
 */
const char *xb_crypto_unlocked(void);

/* AES-CTR with a key of 16, 24 or 32 bytes (the length picks AES-128,
 * -192 or -256).  The handle lives in secure memory. */
typedef struct xb_cipher xb_cipher;
xbcrypt_status xb_cipher_open(xb_cipher **out, const uint8_t *key, size_t key_len, char *msg,
                              size_t msg_size);
/* Starts a fresh counter: `ctr` is the 16-byte big-endian initial block. */
xbcrypt_status xb_cipher_reset(xb_cipher *c, const uint8_t ctr[16]);
/* Continues the keystream from where the last call stopped, in place. */
xbcrypt_status xb_cipher_apply(xb_cipher *c, uint8_t *buf, size_t len);
/* The same from in[0 .. len) into out[0 .. len): either the same buffer
 * (then in place, as xb_cipher_apply) or two that do not overlap. */
xbcrypt_status xb_cipher_apply_to(xb_cipher *c, uint8_t *out, const uint8_t *in, size_t len);
void xb_cipher_close(xb_cipher *c);

void xb_sha256(uint8_t out[XB_SHA256_SIZE], const void *buf, size_t len);

/* Incremental SHA-256 and CRC-32 over two independent byte streams, so a
 * chunk can be hashed, ciphered and checksummed block by block while each
 * block is in L1 cache.  One handle per thread. */
typedef struct xb_digest xb_digest;
xbcrypt_status xb_digest_open(xb_digest **out);
void xb_digest_close(xb_digest *d);
/* Starts both sums afresh. */
void xb_digest_reset(xb_digest *d);
void xb_digest_sha(xb_digest *d, const void *buf, size_t len);
void xb_digest_crc(xb_digest *d, const void *buf, size_t len);
/* Results of everything written since the last reset. */
void xb_digest_sha_final(xb_digest *d, uint8_t out[XB_SHA256_SIZE]);
uint32_t xb_digest_crc_final(xb_digest *d);
/* CRC-32 of ISO 3309, initial value 0: equal to zlib's crc32(0, buf, len). */
uint32_t xb_crc32(const void *buf, size_t len);

/* Unpredictable bytes for IVs (libgcrypt's nonce generator). */
void xb_nonce(void *buf, size_t len);
/* Key material from libgcrypt's strongest source. */
void xb_random_key(void *buf, size_t len);

/* Secure (locked, never swapped when the system allows) memory; NULL on
 * failure.  xb_secure_free wipes `len` bytes first; NULL is a no-op. */
void *xb_secure_alloc(size_t len);
void xb_secure_free(void *p, size_t len);

/* After key bytes passed through this thread (a copy, a setkey): clears
 * the vector registers and burns the stack below the caller, so that no
 * copy is left in unlocked memory (xb_cipher_open does it itself). */
void xb_scrub_after_key(void);

/* The one wipe for secrets: not optimised away. */
void xb_wipe(void *p, size_t len);
/* 1 when equal; time depends on len only. */
int xb_const_equal(const void *a, const void *b, size_t len);

/*
 * Many chunks hashed at once (crypto/xb_crypto_mb.c).  One interface
 * whatever the backend: with libipsec-mb (built with -Dipsec_mb) and a CPU
 * its manager runs in AVX-512, SHA-256 of up to 16 independent buffers runs
 * in the 16 lanes of the vector registers, and CRC-32 through its PCLMUL
 * code; otherwise both are libgcrypt's, one buffer after another.  A
 * hasher belongs to one thread at a time (a libipsec-mb manager is not
 * thread-safe); it holds the digests of the last buffers it hashed, so
 * close wipes it.
 */
typedef struct xb_hasher xb_hasher;

/* One buffer of a batch: `out` receives SHA-256(buf, len).  `status` and
 * `why` (static text when status != OK) are set by xb_hasher_sha256. */
typedef struct xb_hash_item {
    const void *buf;
    size_t len;
    uint8_t *out;
    xbcrypt_status status;
    const char *why;
} xb_hash_item;

xbcrypt_status xb_hasher_open(xb_hasher **out);
void xb_hasher_close(xb_hasher *h);
/* Buffers worth handing over at once: 16 in AVX-512 lanes, 1 for one
 * stream (then batching gains nothing). */
unsigned xb_hasher_lanes(const xb_hasher *h);
/* Fewer buffers than this at once are hashed one stream at a time
 * (libgcrypt's SHA-NI is faster than a manager running 4 of 16 lanes). */
unsigned xb_hasher_min_batch(const xb_hasher *h);
/* What runs: "libipsec-mb 1.3.0 AVX-512, 16 lanes" or "libgcrypt". */
const char *xb_hasher_backend(const xb_hasher *h);
/* Hashes items[0..n) in any order; each item gets its own status.  Returns
 * XBCRYPT_OK when every item succeeded, else the first item's error. */
xbcrypt_status xb_hasher_sha256(xb_hasher *h, xb_hash_item *items, unsigned n);
/* Equal to xb_crc32(buf, len). */
uint32_t xb_hasher_crc32(xb_hasher *h, const void *buf, size_t len);

/* Tests only: which backend hashers opened from now on use.  0 (default):
 * the best available, batches of fewer than xb_hasher_min_batch() buffers
 * one stream at a time; 1: libgcrypt only; 2: the multi-buffer manager
 * for batches of any size, down to one buffer (where it is available). */
void xb_hasher_test_mode(int mode);

#endif /* XB_CRYPTO_H */
