/*
 * test_residue.c - no copy of a key outside locked memory.
 *
 * After ciphers are set up and used (encoder at 1 and 4 threads, decoder,
 * a decoder and an encoder with two keys at once as --rekey runs them),
 * every readable private mapping of the process is read through
 * /proc/self/mem and searched for each 16-byte half of every key.  The
 * only mappings left out are libgcrypt's secure pool, found as the mapping
 * holding a secure allocation (the test checks that it is locked, smaps
 * "Locked:"), and mappings over 1 GiB (sanitizers' shadow memory).  Thread stacks that glibc keeps for reuse after the
 * workers exit are scanned like any other page.
 *
 * The test must not find its own copy: each key exists in ordinary memory
 * only as two random halves, `mask` and `masked` (key = mask ^ masked), and
 * is assembled byte by byte into secure memory; the search compares
 * mem[i] ^ mask[j] with masked[j] without ever forming the key.
 */
#include "crypto/xb_crypto.h"
#include "key/xb_key.h"
#include "unit_util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEY_LEN 32u
#define HALF 16u
#define SCRATCH (1u << 20)
#define MAPPING_MAX ((uintptr_t)1 << 30)

typedef struct masked_key {
    uint8_t mask[KEY_LEN];
    uint8_t masked[KEY_LEN];
    xbcrypt_key *key;
} masked_key;

static void masked_key_make(masked_key *mk)
{
    xb_nonce(mk->mask, sizeof mk->mask);
    xb_nonce(mk->masked, sizeof mk->masked);
    uint8_t *raw = xb_secure_alloc(KEY_LEN);
    ck_assert_ptr_nonnull(raw);
    volatile uint8_t *plain = raw;
    for (unsigned i = 0; i < KEY_LEN; i++)
        plain[i] = mk->mask[i] ^ mk->masked[i];
    char msg[256] = "";
    ck_assert_msg(xb_key_from_bytes(raw, KEY_LEN, &mk->key, msg, sizeof msg) == XBCRYPT_OK, "%s",
                  msg);
    xb_secure_free(raw, KEY_LEN);
}

/* ---- the scan ---- */

typedef struct scan {
    const masked_key *keys;
    unsigned nkeys;
    uint8_t *scratch;
    uintptr_t pool; /* an address inside the secure pool */
    unsigned hits;
    unsigned pool_mappings;
    char report[2048];
    size_t report_len;
} scan;

static void note(scan *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(scan *sc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (sc->report_len < sizeof sc->report) {
        int n = vsnprintf(sc->report + sc->report_len, sizeof sc->report - sc->report_len, fmt, ap);
        if (n > 0)
            sc->report_len += (size_t)n;
    }
    va_end(ap);
}

/* 1 when buf[0..15] is half `h` (0 or 1) of key k. */
static int is_half(const uint8_t *buf, const masked_key *k, unsigned h)
{
    for (unsigned j = 0; j < HALF; j++)
        if ((uint8_t)(buf[j] ^ k->mask[h * HALF + j]) != k->masked[h * HALF + j])
            return 0;
    return 1;
}

static void scan_bytes(scan *sc, const uint8_t *buf, size_t len, uintptr_t at, const char *name)
{
    if (len < HALF)
        return;
    for (size_t i = 0; i + HALF <= len; i++) {
        for (unsigned k = 0; k < sc->nkeys; k++) {
            for (unsigned h = 0; h < 2; h++) {
                if ((uint8_t)(buf[i] ^ sc->keys[k].mask[h * HALF]) != sc->keys[k].masked[h * HALF])
                    continue;
                if (!is_half(buf + i, &sc->keys[k], h))
                    continue;
                sc->hits++;
                note(sc, "  key %u half %u at %#" PRIxPTR " in %s\n", k, h, at + i,
                     name[0] ? name : "[anonymous]");
            }
        }
    }
}

/* Locked kB of the smaps entry starting at `start`; -1 if not found. */
static long locked_kb(uintptr_t start)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    long kb = -1;
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        uintptr_t a, b;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &a, &b) == 2) {
            in = a == start;
            continue;
        }
        if (in && sscanf(line, "Locked: %ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

static void scan_process(scan *sc)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(maps);
    int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(mem, 0);
    /* Read all of maps first: the scan itself must not change it. */
    static char lines[1 << 18];
    size_t n = fread(lines, 1, sizeof lines - 1, maps);
    fclose(maps);
    lines[n] = '\0';
    for (char *line = strtok(lines, "\n"); line; line = strtok(NULL, "\n")) {
        uintptr_t a, b;
        char perms[8] = "", name[256] = "";
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*s %*s %*s %255[^\n]", &a, &b, perms,
                   name) < 3)
            continue;
        if (perms[0] != 'r' || perms[3] != 'p')
            continue;
        if (strcmp(name, "[vvar]") == 0 || strcmp(name, "[vsyscall]") == 0 ||
            strncmp(name, "[vvar", 5) == 0)
            continue;
        if ((uintptr_t)sc->scratch >= a && (uintptr_t)sc->scratch < b)
            continue;
        /* Sanitizer shadow and reserved allocator space: terabytes, never
         * touched by the engine.  No such mapping in a plain build. */
        if (b - a > MAPPING_MAX)
            continue;
        if (sc->pool >= a && sc->pool < b) {
            sc->pool_mappings++;
            long kb = locked_kb(a);
            if (kb * 1024 != (long)(b - a))
                note(sc, "  the secure pool %#" PRIxPTR "-%#" PRIxPTR " is not locked "
                     "(Locked: %ld kB of %lu)\n", a, b, kb, (unsigned long)((b - a) / 1024));
            continue;
        }
        for (uintptr_t p = a; p < b;) {
            size_t want = b - p < SCRATCH ? (size_t)(b - p) : SCRATCH;
            ssize_t got = pread(mem, sc->scratch, want, (off_t)p);
            if (got <= 0) {
                p += 4096; /* an unreadable page (e.g. a guard): skip it */
                continue;
            }
            /* Overlap windows by HALF-1 so that no match straddles two reads. */
            scan_bytes(sc, sc->scratch, (size_t)got, p, name);
            p += (size_t)got >= HALF ? (size_t)got - (HALF - 1) : (size_t)got;
            if ((size_t)got < HALF)
                break;
        }
    }
    close(mem);
}

/* Scans and fails with a list of every hit. */
static void assert_no_residue(const masked_key *keys, unsigned nkeys, const char *after)
{
    scan sc = {.keys = keys, .nkeys = nkeys};
    sc.scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sc.scratch, MAP_FAILED);
    void *probe = xb_secure_alloc(16);
    ck_assert_ptr_nonnull(probe);
    sc.pool = (uintptr_t)probe;
    scan_process(&sc);
    xb_secure_free(probe, 16);
    munmap(sc.scratch, SCRATCH);
    ck_assert_msg(sc.pool_mappings == 1, "after %s: the secure pool is not one mapping (%u)",
                  after, sc.pool_mappings);
    ck_assert_msg(sc.hits == 0 && sc.report_len == 0,
                  "after %s: %u key halves outside the locked pool:\n%s", after, sc.hits,
                  sc.report);
}

/* ---- the work ---- */

/* Encrypts (or decrypts) `in` under k with `threads` into *out. */
static void run(bool decrypt, const masked_key *k, unsigned threads, const uint8_t *in, size_t len,
                sink *out)
{
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.key = k->key;
    s.threads = threads;
    s.chunk_size = 4096;
    run_result r;
    (decrypt ? run_decoder : run_encoder)(&s, in, len, FEED_SPLIT, 7777, 0, out, &r);
    ck_assert_msg(r.status == XBCRYPT_OK, "%s: %s", decrypt ? "decrypt" : "encrypt", r.msg);
}

static uint8_t *encrypt(const masked_key *k, unsigned threads, const uint8_t *plain, size_t len,
                        size_t *out_len)
{
    sink out = {0};
    run(false, k, threads, plain, len, &out);
    *out_len = out.len;
    return out.data;
}

static void decrypt(const masked_key *k, unsigned threads, const uint8_t *enc, size_t len,
                    const uint8_t *plain, size_t plain_len)
{
    sink out = {0};
    run(true, k, threads, enc, len, &out);
    assert_bytes_eq(out.data, out.len, plain, plain_len, "round trip");
    sink_free(&out);
}

#define PLAIN_LEN (256u * 1024u)

START_TEST(test_encrypt_and_decrypt)
{
    masked_key k;
    masked_key_make(&k);
    uint8_t *plain = gen_plain(PLAIN_LEN);
    size_t len;
    uint8_t *enc = encrypt(&k, 1, plain, PLAIN_LEN, &len);
    assert_no_residue(&k, 1, "encrypting with 1 thread");
    decrypt(&k, 1, enc, len, plain, PLAIN_LEN);
    decrypt(&k, 0, enc, len, plain, PLAIN_LEN);
    assert_no_residue(&k, 1, "decrypting with 1 thread and in the caller's thread");
    free(enc);
    free(plain);
    xb_key_free(k.key);
}
END_TEST

/* --rekey: a decoder under key 0 feeds an encoder under key 1. */
typedef struct rekey {
    xbcrypt_encoder *enc;
    sink out;
} rekey;

static int to_encoder(void *opaque, const void *buf, size_t len)
{
    rekey *rk = opaque;
    return xb_encoder_feed(rk->enc, buf, len) == XBCRYPT_OK ? 0 : -1;
}

START_TEST(test_rekey_threads)
{
    masked_key k[2];
    masked_key_make(&k[0]);
    masked_key_make(&k[1]);
    uint8_t *plain = gen_plain(PLAIN_LEN);
    size_t len;
    uint8_t *enc = encrypt(&k[0], 4, plain, PLAIN_LEN, &len);

    rekey rk = {0};
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.key = k[1].key;
    s.threads = 4;
    char msg[256] = "";
    ck_assert_msg(xb_encoder_new(&s, sink_write, &rk.out, &rk.enc, msg, sizeof msg) == XBCRYPT_OK,
                  "%s", msg);
    s.key = k[0].key;
    xbcrypt_decoder *dec = NULL;
    ck_assert_msg(xb_decoder_new(&s, to_encoder, &rk, &dec, msg, sizeof msg) == XBCRYPT_OK, "%s",
                  msg);
    ck_assert_int_eq(xb_decoder_feed(dec, enc, len), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_finish(dec), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_finish(rk.enc), XBCRYPT_OK);
    xb_decoder_free(dec);
    xb_encoder_free(rk.enc);
    decrypt(&k[1], 4, rk.out.data, rk.out.len, plain, PLAIN_LEN);
    assert_no_residue(k, 2, "a rekey and decrypting at 4 threads");
    sink_free(&rk.out);
    free(enc);
    free(plain);
    xb_key_free(k[0].key);
    xb_key_free(k[1].key);
}
END_TEST

/* Ciphers set up on several host threads at once. */
static void *thread_round_trip(void *arg)
{
    const masked_key *k = arg;
    uint8_t *plain = gen_plain(PLAIN_LEN / 4);
    size_t len;
    uint8_t *enc = encrypt(k, 2, plain, PLAIN_LEN / 4, &len);
    decrypt(k, 2, enc, len, plain, PLAIN_LEN / 4);
    free(enc);
    free(plain);
    return NULL;
}

START_TEST(test_host_threads)
{
    masked_key k;
    masked_key_make(&k);
    pthread_t t[3];
    for (unsigned i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, thread_round_trip, &k), 0);
    for (unsigned i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    assert_no_residue(&k, 1, "three host threads each encrypting and decrypting");
    xb_key_free(k.key);
}
END_TEST

/* A signal handled right after a key was set up: the kernel saves the
 * vector registers in the signal frame on this thread's stack, so nothing
 * of the key may be left in them (a copy of the key, libgcrypt's setkey or
 * its AES-NI code all pass key bytes through them). */
static void on_usr1(int sig)
{
    (void)sig;
}

/* A signal to this thread, taken `levels` x 8 KiB deeper than the caller's
 * frame, so that neither the calls that follow (the scan among them) nor
 * another such signal at another depth overwrite its signal frame; tgkill
 * directly, as raise()'s signal-set handling would overwrite the vector
 * registers first. */
static __attribute__((noinline)) void signal_deep(unsigned levels)
{
    volatile char pad[8192];
    pad[0] = 0;
    if (levels > 1)
        signal_deep(levels - 1);
    else
        syscall(SYS_tgkill, (pid_t)getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
    pad[sizeof pad - 1] = 0;
}

static void catch_usr1(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

START_TEST(test_signal_after_key)
{
    catch_usr1();
    masked_key k;
    masked_key_make(&k);
    signal_deep(4);
    xb_cipher *c = NULL;
    char msg[256] = "";
    /* No check between a call and its signal: the assertions' own code
     * would overwrite the registers. */
    xbcrypt_status opened = xb_cipher_open(&c, k.key->bytes, k.key->len, msg, sizeof msg);
    signal_deep(6);
    ck_assert_msg(opened == XBCRYPT_OK, "%s", msg);
    static uint8_t buf[65536];
    const uint8_t ctr[16] = {0};
    xbcrypt_status reset = xb_cipher_reset(c, ctr);
    signal_deep(8);
    xbcrypt_status applied = xb_cipher_apply(c, buf, sizeof buf);
    signal_deep(10);
    ck_assert_int_eq(reset, XBCRYPT_OK);
    ck_assert_int_eq(applied, XBCRYPT_OK);
    xb_cipher_close(c);
    assert_no_residue(&k, 1, "signals handled after key setup and encryption");
    xb_key_free(k.key);
}
END_TEST

/* A thread inherits its creator's registers: one started right after a key
 * was read must not find the key in them (here it takes a signal, which
 * writes them to its stack; glibc keeps the stack after the thread ends). */
static void *take_signal(void *arg)
{
    (void)arg;
    signal_deep(4);
    return NULL;
}

START_TEST(test_thread_after_key)
{
    catch_usr1();
    masked_key k;
    masked_key_make(&k);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, take_signal, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    assert_no_residue(&k, 1, "a thread started after a key was read");
    xb_key_free(k.key);
}
END_TEST

/* The scan can fail: a key half in an ordinary heap buffer is found. */
START_TEST(test_scan_finds_a_copy)
{
    masked_key k;
    masked_key_make(&k);
    uint8_t *copy = malloc(64);
    ck_assert_ptr_nonnull(copy);
    for (unsigned j = 0; j < HALF; j++)
        copy[7 + j] = k.mask[HALF + j] ^ k.masked[HALF + j];
    scan sc = {.keys = &k, .nkeys = 1};
    sc.scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sc.scratch, MAP_FAILED);
    void *probe = xb_secure_alloc(16);
    sc.pool = (uintptr_t)probe;
    scan_process(&sc);
    xb_secure_free(probe, 16);
    munmap(sc.scratch, SCRATCH);
    ck_assert_uint_ge(sc.hits, 1);
    ck_assert_ptr_nonnull(strstr(sc.report, "half 1"));
    xb_wipe(copy, 64);
    free(copy);
    xb_key_free(k.key);
}
END_TEST

static void setup(void)
{
    char msg[256] = "";
    ck_assert_msg(xb_crypto_init(msg, sizeof msg) == XBCRYPT_OK, "init: %s", msg);
}

int main(void)
{
    Suite *s = suite_create("residue");
    TCase *tc = tcase_create("scan");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_scan_finds_a_copy);
    tcase_add_test(tc, test_encrypt_and_decrypt);
    tcase_add_test(tc, test_rekey_threads);
    tcase_add_test(tc, test_host_threads);
    tcase_add_test(tc, test_signal_after_key);
    tcase_add_test(tc, test_thread_after_key);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
