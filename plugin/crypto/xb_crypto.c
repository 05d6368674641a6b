/* xb_crypto.c - libgcrypt behind a small, error-returning interface. */
#include "crypto/xb_crypto.h"
#include "xb_msg.h"

#include <gcrypt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* Secure memory: a cipher handle takes about 2 KiB of it, so this holds
 * the handles of an encoder and a decoder (a --rekey) at the 256-thread
 * maximum, with the keys; the pool grows by as much again if a host needs
 * more. */
#define XB_SECMEM_BYTES (1u << 20)
/* libgcrypt's smallest pool; below it nothing can be locked. */
#define XB_SECMEM_MIN (16u << 10)

struct xb_cipher {
    gcry_cipher_hd_t hd;
};

#if defined(__x86_64__) && defined(__GNUC__)
static void detect_cpu(void);
#endif

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static xbcrypt_status init_status = XBCRYPT_E_CRYPTO;
static char init_detail[128];
/* Set once by init_gcrypt, read-only after (pthread_once orders it). */
static size_t secmem_size;      /* the locked pool, bytes; 0 = host's libgcrypt or none locked */
static bool secmem_limited;     /* the pool is smaller than XB_SECMEM_BYTES: RLIMIT_MEMLOCK */
static char unlocked_reason[320]; /* non-empty: keys live in unlocked memory */
static char secmem_limit[32];   /* RLIMIT_MEMLOCK as text, for messages */

static void say_limit(char *buf, size_t size, rlim_t limit)
{
    if (limit == RLIM_INFINITY)
        snprintf(buf, size, "unlimited");
    else if (limit % 1024 == 0)
        snprintf(buf, size, "%llu KiB", (unsigned long long)(limit / 1024));
    else
        snprintf(buf, size, "%llu bytes", (unsigned long long)limit);
}

/* Bytes this process has locked already (VmLck), 0 if unknown. */
static size_t locked_now(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return 0;
    char line[128];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmLck: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (size_t)kb * 1024;
}

/* Whether `len` bytes can be locked now: RLIMIT_MEMLOCK, or CAP_IPC_LOCK,
 * which lifts it; tried on a scratch mapping, as nothing else tells. */
static bool can_lock(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    bool ok = mlock(p, len) == 0;
    if (ok)
        munlock(p, len);
    munmap(p, len);
    return ok;
}

/*
 * The size of the secure pool: XB_SECMEM_BYTES when it can be locked, else
 * what RLIMIT_MEMLOCK leaves (before Linux 5.16 the default is 64 KiB,
 * enough for a key and the handles of a few threads).  0 when not even
 * libgcrypt's smallest pool fits: then the pool is made unlocked.
 */
static size_t pool_size(struct rlimit *rl)
{
    if (getrlimit(RLIMIT_MEMLOCK, rl) != 0)
        rl->rlim_cur = RLIM_INFINITY;
    if (rl->rlim_cur == RLIM_INFINITY || rl->rlim_cur >= XB_SECMEM_BYTES + locked_now() ||
        can_lock(XB_SECMEM_BYTES))
        return XB_SECMEM_BYTES;
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    size_t used = locked_now();
    size_t left = (size_t)rl->rlim_cur > used ? (size_t)rl->rlim_cur - used : 0;
    left -= left % pg;
    return left >= XB_SECMEM_MIN ? left : 0;
}

static void init_gcrypt(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    detect_cpu();
#endif
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
    struct rlimit rl;
    size_t want = pool_size(&rl);
    char limit[32];
    say_limit(limit, sizeof limit, rl.rlim_cur);
    /* GCRYCTL_INIT_SECMEM returns an error only when the pool could not be
     * locked; the pool is made all the same, and works, unlocked. */
    gpg_error_t err = gcry_control(GCRYCTL_INIT_SECMEM, want ? want : XB_SECMEM_BYTES, 0);
    if (err || want == 0) {
        snprintf(unlocked_reason, sizeof unlocked_reason,
                 "keys are held in memory that may be swapped to disk: the locked-memory limit "
                 "(RLIMIT_MEMLOCK, %s) is too small for libgcrypt's secure pool; raise it to at "
                 "least 1 MiB (ulimit -l 1024, or LimitMEMLOCK=1M in a systemd unit)",
                 limit);
        gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, XB_SECMEM_BYTES);
    } else {
        secmem_size = want;
        secmem_limited = want < XB_SECMEM_BYTES;
        /* A pool cut to the limit does not grow into unlocked memory: a
         * handle that does not fit fails with a message instead. */
        if (!secmem_limited)
            gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, XB_SECMEM_BYTES);
    }
    snprintf(secmem_limit, sizeof secmem_limit, "%s", limit);
    gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    init_status = XBCRYPT_OK;
}

const char *xb_crypto_unlocked(void)
{
    return unlocked_reason[0] ? unlocked_reason : NULL;
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

/*
 * Key residue.  A key must not outlive its use anywhere but in secure
 * memory, yet libgcrypt's key expansion and AES-NI/VAES code leave copies
 * in two places it does not clean:
 *  - the stack below the caller, where setkey's frames were (the stack is
 *    ordinary, unlocked memory; a thread's stays mapped after it exits);
 *  - the vector registers, which still hold round keys when setkey and the
 *    CTR bulk code return.  Anything that later saves all registers to
 *    memory copies them out: a signal frame the kernel pushes on the stack,
 *    or the dynamic linker's lazy-binding resolver (the engine is therefore
 *    linked with -z now, see plugin/meson.build).
 * So setkey runs in a frame of its own, the stack it used is burned, and
 * every call that had key material in registers ends by clearing them.
 */
#define XB_BURN_BYTES 16384u

#if defined(__GNUC__)
#define XB_NOINLINE __attribute__((noinline))
#else
#define XB_NOINLINE
#endif

/* Overwrites XB_BURN_BYTES of stack below the caller's frame: called from
 * the frame that called setkey, its array covers the frames setkey used. */
static XB_NOINLINE void burn_stack(void)
{
    unsigned char pad[XB_BURN_BYTES];
    explicit_bzero(pad, sizeof pad);
#if defined(__GNUC__)
    __asm__ volatile("" : : "r"(pad) : "memory");
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
static int cpu_avx = -1;    /* ymm registers (VEX); vzeroall clears ymm0-15 */
static int cpu_avx512 = -1; /* zmm16-31 too */

static void detect_cpu(void)
{
    __builtin_cpu_init();
    cpu_avx = __builtin_cpu_supports("avx") ? 1 : 0;
    cpu_avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
}
#endif

/* Zeroes the vector registers libgcrypt's AES code may leave round keys in
 * (on x86-64; elsewhere nothing is known to leak and nothing is done). */
static XB_NOINLINE void clear_vector_registers(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (cpu_avx > 0) {
        __asm__ volatile("vzeroall"
                         :
                         :
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                           "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
        /* The engine is not built for AVX-512, so the compiler never keeps
         * anything in zmm16-31: no clobbers needed. */
        if (cpu_avx512 > 0)
            __asm__ volatile(
                "vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31" ::
                    : "memory");
    } else if (cpu_avx == 0) {
        __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                         "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                         "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
                         "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\t"
                         "pxor %%xmm11, %%xmm11\n\tpxor %%xmm12, %%xmm12\n\t"
                         "pxor %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\t"
                         "pxor %%xmm15, %%xmm15"
                         :
                         :
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                           "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
    }
#endif
}

static XB_NOINLINE gpg_error_t set_key(gcry_cipher_hd_t hd, const uint8_t *key, size_t key_len)
{
    gpg_error_t err = gcry_cipher_setkey(hd, key, key_len);
    clear_vector_registers();
    return err;
}

void xb_scrub_after_key(void)
{
    clear_vector_registers();
    burn_stack();
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
    if (!err) {
        err = set_key(c->hd, key, key_len);
        burn_stack();
    }
    if (err) {
        if (gpg_err_code(err) == GPG_ERR_ENOMEM && secmem_limited)
            xb_say(msg, msg_size,
                   "out of locked memory for the AES key schedules: libgcrypt's secure pool is "
                   "%zu KiB, all that the locked-memory limit (RLIMIT_MEMLOCK, %s) allows; use "
                   "fewer threads, or raise the limit (ulimit -l 1024, or LimitMEMLOCK=1M in a "
                   "systemd unit)",
                   secmem_size / 1024, secmem_limit);
        else if (gpg_err_code(err) == GPG_ERR_ENOMEM)
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
    gpg_error_t err = gcry_cipher_encrypt(c->hd, buf, len, NULL, 0);
    clear_vector_registers();
    return err ? XBCRYPT_E_CRYPTO : XBCRYPT_OK;
}

xbcrypt_status xb_cipher_apply_to(xb_cipher *c, uint8_t *out, const uint8_t *in, size_t len)
{
    if (len == 0)
        return XBCRYPT_OK;
    /* in == out is libgcrypt's in-place call (in NULL), as xb_cipher_apply. */
    gpg_error_t err = in == out ? gcry_cipher_encrypt(c->hd, out, len, NULL, 0)
                                : gcry_cipher_encrypt(c->hd, out, len, in, len);
    clear_vector_registers();
    return err ? XBCRYPT_E_CRYPTO : XBCRYPT_OK;
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
    xb_scrub_after_key(); /* the new key passed through registers and stack */
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
