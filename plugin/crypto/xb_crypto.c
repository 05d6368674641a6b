/* xb_crypto.c - libgcrypt behind a small, error-returning interface. */
#include "crypto/xb_crypto.h"
#include "xb_msg.h"

#include <gcrypt.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Secure memory: a cipher handle takes about 2 KiB of it, so this holds
 * the handles of an encoder and a decoder (a --rekey) at the 256-thread
 * maximum, with the keys; the pool grows by as much again if a host needs
 * more. */
#define XB_SECMEM_BYTES (1u << 20)

struct xb_cipher {
    gcry_cipher_hd_t hd;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static xbcrypt_status init_status = XBCRYPT_E_CRYPTO;
static char init_detail[128];

static void init_gcrypt(void)
{
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        /* The host initialised libgcrypt: use it as it is. */
        init_status = XBCRYPT_OK;
        return;
    }
    if (!gcry_check_version("1.8.0")) {
        snprintf(init_detail, sizeof init_detail, "libgcrypt %s is older than 1.8.0",
                 gcry_check_version(NULL));
        return;
    }
    /* Library code never prints: no "using insecure memory" warnings. */
    gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
    gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
    gpg_error_t err = gcry_control(GCRYCTL_INIT_SECMEM, XB_SECMEM_BYTES, 0);
    if (err) {
        snprintf(init_detail, sizeof init_detail, "libgcrypt secure memory: %s", gcry_strerror(err));
        return;
    }
    gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, XB_SECMEM_BYTES);
    gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    init_status = XBCRYPT_OK;
}

xbcrypt_status xb_crypto_init(char *msg, size_t msg_size)
{
    pthread_once(&init_once, init_gcrypt);
    if (init_status != XBCRYPT_OK)
        xb_say(msg, msg_size, "cannot initialise libgcrypt: %s", init_detail);
    return init_status;
}

static int gcry_algo_for_key(size_t key_len)
{
    switch (key_len) {
    case 16: return GCRY_CIPHER_AES128;
    case 24: return GCRY_CIPHER_AES192;
    case 32: return GCRY_CIPHER_AES256;
    default: return 0;
    }
}

xbcrypt_status xb_cipher_open(xb_cipher **out, const uint8_t *key, size_t key_len, char *msg,
                              size_t msg_size)
{
    *out = NULL;
    int algo = gcry_algo_for_key(key_len);
    if (!algo) {
        xb_say(msg, msg_size, "an AES key must be 16, 24 or 32 bytes, not %zu", key_len);
        return XBCRYPT_E_KEY;
    }
    xb_cipher *c = gcry_calloc_secure(1, sizeof *c);
    gpg_error_t err = c ? gcry_cipher_open(&c->hd, algo, GCRY_CIPHER_MODE_CTR, GCRY_CIPHER_SECURE)
                        : gpg_error_from_syserror();
    if (!err)
        err = gcry_cipher_setkey(c->hd, key, key_len);
    if (err) {
        if (gpg_err_code(err) == GPG_ERR_ENOMEM)
            xb_say(msg, msg_size,
                   "out of secure memory for the AES key schedule (libgcrypt's locked pool); "
                   "use fewer threads");
        else
            xb_say(msg, msg_size, "cannot set up AES-CTR: %s", gcry_strerror(err));
        if (!c)
            return XBCRYPT_E_NOMEM;
        xb_cipher_close(c);
        return XBCRYPT_E_CRYPTO;
    }
    *out = c;
    return XBCRYPT_OK;
}

xbcrypt_status xb_cipher_reset(xb_cipher *c, const uint8_t ctr[16])
{
    return gcry_cipher_setctr(c->hd, ctr, 16) ? XBCRYPT_E_CRYPTO : XBCRYPT_OK;
}

xbcrypt_status xb_cipher_apply(xb_cipher *c, uint8_t *buf, size_t len)
{
    if (len == 0)
        return XBCRYPT_OK;
    return gcry_cipher_encrypt(c->hd, buf, len, NULL, 0) ? XBCRYPT_E_CRYPTO : XBCRYPT_OK;
}

void xb_cipher_close(xb_cipher *c)
{
    if (!c)
        return;
    if (c->hd)
        gcry_cipher_close(c->hd); /* libgcrypt wipes the key schedule */
    gcry_free(c);
}

void xb_sha256(uint8_t out[XB_SHA256_SIZE], const void *buf, size_t len)
{
    gcry_md_hash_buffer(GCRY_MD_SHA256, out, buf, len);
}

struct xb_digest {
    gcry_md_hd_t sha;
    gcry_md_hd_t crc;
};

xbcrypt_status xb_digest_open(xb_digest **out)
{
    *out = NULL;
    xb_digest *d = gcry_calloc(1, sizeof *d);
    if (!d)
        return XBCRYPT_E_NOMEM;
    if (gcry_md_open(&d->sha, GCRY_MD_SHA256, 0) || gcry_md_open(&d->crc, GCRY_MD_CRC32, 0)) {
        xb_digest_close(d);
        return XBCRYPT_E_CRYPTO;
    }
    *out = d;
    return XBCRYPT_OK;
}

void xb_digest_close(xb_digest *d)
{
    if (!d)
        return;
    if (d->sha)
        gcry_md_close(d->sha);
    if (d->crc)
        gcry_md_close(d->crc);
    gcry_free(d);
}

void xb_digest_reset(xb_digest *d)
{
    gcry_md_reset(d->sha);
    gcry_md_reset(d->crc);
}

void xb_digest_sha(xb_digest *d, const void *buf, size_t len)
{
    gcry_md_write(d->sha, buf, len);
}

void xb_digest_crc(xb_digest *d, const void *buf, size_t len)
{
    gcry_md_write(d->crc, buf, len);
}

void xb_digest_sha_final(xb_digest *d, uint8_t out[XB_SHA256_SIZE])
{
    memcpy(out, gcry_md_read(d->sha, GCRY_MD_SHA256), XB_SHA256_SIZE);
}

uint32_t xb_digest_crc_final(xb_digest *d)
{
    const unsigned char *v = gcry_md_read(d->crc, GCRY_MD_CRC32);
    return ((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) | ((uint32_t)v[2] << 8) | v[3];
}

uint32_t xb_crc32(const void *buf, size_t len)
{
    /* libgcrypt's CRC32 is zlib's (ISO 3309), about twice as fast here
     * (PCLMUL), and returns the value as 4 big-endian bytes. */
    uint8_t d[4];
    gcry_md_hash_buffer(GCRY_MD_CRC32, d, buf, len);
    return ((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) | ((uint32_t)d[2] << 8) | d[3];
}

void xb_nonce(void *buf, size_t len)
{
    gcry_create_nonce(buf, len);
}

void xb_random_key(void *buf, size_t len)
{
    gcry_randomize(buf, len, GCRY_VERY_STRONG_RANDOM);
}

void *xb_secure_alloc(size_t len)
{
    return gcry_malloc_secure(len ? len : 1);
}

void xb_secure_free(void *p, size_t len)
{
    if (!p)
        return;
    xb_wipe(p, len);
    gcry_free(p);
}

void xb_wipe(void *p, size_t len)
{
    if (p && len)
        explicit_bzero(p, len);
}

int xb_const_equal(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < len; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}
