/*
 * xb_crypto.h - the engine's only window on libgcrypt.
 *
 * Nothing outside plugin/crypto/ includes <gcrypt.h>.  Everything here is
 * thread-safe once xb_crypto_init() has returned XBCRYPT_OK; a cipher
 * handle belongs to one thread at a time.
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

#endif /* XB_CRYPTO_H */
