/* hwlimit.c - the per-byte work of a version-3 chunk, timed in memory.
 *
 * Usage: hwlimit [-q] [-d SECONDS] [-b BLOCK | -m [-l LANES]] THREADS CHUNK_BYTES
 *
 * Starts THREADS threads at once (a barrier releases them together); each
 * repeats, over its own buffer of CHUNK_BYTES + 32 bytes, what a worker does
 * for one chunk: SHA-256 of the plaintext appended after it, a fresh
 * AES-256-CTR counter (setctr), the plaintext and the hash encrypted in
 * place, CRC-32 over the stored payload.  All three come from libgcrypt, as
 * in the engine.  After SECONDS (default 1.5) each thread reports plaintext
 * bytes per second; the sum is the most the machine can give at that thread
 * count and chunk size, with no I/O and no pipeline around the crypto.
 *
 * By default the three run as whole-buffer passes (gcry_md_hash_buffer, one
 * gcry_cipher_encrypt).  -b BLOCK runs them block by block instead, through
 * gcry_md handles, the single cache-resident pass the engine makes (its
 * XB_BLOCK is 8192); for chunks larger than the L2 cache that is faster.
 *
 * -m measures the multi-buffer limit instead, what the engine's second
 * backend can do: each thread keeps LANES chunks (default 16) hot, hashes
 * them at once through libipsec-mb's job manager (SHA-256 in AVX-512
 * lanes), then per chunk AES-256-CTR through libgcrypt and CRC-32 through
 * libipsec-mb.  It exits 3 when the build has no libipsec-mb or the CPU no
 * AVX-512 manager (bench/run.sh then uses the one-stream limit).
 *
 * Output: one line per thread and a "sum" line, MB/s = 10^6 bytes/s; with
 * -q only the sum, as a bare number, for scripts (bench/run.sh).
 *
 * hwlimit -V prints the versions of libgcrypt (and libipsec-mb) it runs with.
 *
 * Exit: 0 on success, 1 on a libgcrypt or system failure, 2 on bad usage,
 * 3 when -m has no multi-buffer kernels to run.
 */
#include <errno.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef XB_HAVE_IPSEC_MB
#define XB_HAVE_IPSEC_MB 0
#endif
#if XB_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#endif

#define SHA256_SIZE 32
#define MAX_THREADS 1024
#define MAX_CHUNK (1024u * 1024u * 1024u)

struct runner {
    /* Written by main before the threads start, read-only afterwards. */
    unsigned id;
    size_t chunk;
    size_t block;
    unsigned lanes;     /* -m: chunks hashed at once; 0 without -m */
    double seconds;
    pthread_barrier_t *start;
    /* Written by the runner thread only; main reads them after join. */
    uint64_t chunks;
    double elapsed;
    int failed;
    char detail[128];
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A thread's tools: the cipher, and for -b the two hash contexts. */
struct work {
    gcry_cipher_hd_t hd;
    gcry_md_hd_t sha, crc; /* NULL without -b */
    size_t block;          /* 0: three whole-buffer passes */
};

/* One chunk's worth of per-byte work, as the encoder does it: SHA-256 of
 * the plaintext stored after it, then plaintext and hash encrypted in place
 * under a fresh counter, then CRC-32 of the result.  With a block size the
 * three run block by block, one cache-resident pass as the engine does. */
static gcry_error_t one_chunk(struct work *w, uint8_t *buf, size_t chunk, uint64_t index,
                              const uint8_t base_iv[16], uint8_t crc_out[4])
{
    uint8_t ctr[16];
    memcpy(ctr, base_iv, sizeof ctr);
    for (unsigned i = 0; i < 8; i++) /* fresh counter per chunk */
        ctr[15 - i] ^= (uint8_t)(index >> (8 * i));

    gcry_error_t err = gcry_cipher_setctr(w->hd, ctr, sizeof ctr);
    if (err)
        return err;
    if (!w->block) {
        gcry_md_hash_buffer(GCRY_MD_SHA256, buf + chunk, buf, chunk);
        err = gcry_cipher_encrypt(w->hd, buf, chunk + SHA256_SIZE, NULL, 0);
        if (!err)
            gcry_md_hash_buffer(GCRY_MD_CRC32, crc_out, buf, chunk + SHA256_SIZE);
        return err;
    }
    gcry_md_reset(w->sha);
    gcry_md_reset(w->crc);
    for (size_t off = 0; !err && off < chunk; off += w->block) {
        size_t n = chunk - off < w->block ? chunk - off : w->block;
        gcry_md_write(w->sha, buf + off, n);
        err = gcry_cipher_encrypt(w->hd, buf + off, n, NULL, 0);
        gcry_md_write(w->crc, buf + off, n);
    }
    if (err)
        return err;
    memcpy(buf + chunk, gcry_md_read(w->sha, GCRY_MD_SHA256), SHA256_SIZE);
    err = gcry_cipher_encrypt(w->hd, buf + chunk, SHA256_SIZE, NULL, 0);
    gcry_md_write(w->crc, buf + chunk, SHA256_SIZE);
    memcpy(crc_out, gcry_md_read(w->crc, GCRY_MD_CRC32), 4);
    return err;
}

/* One timed step of a runner: processes some chunks from number `next` on
 * and says how many in *done. */
typedef gcry_error_t (*step_fn)(void *state, uint64_t next, uint64_t *done);

/* Waits at the barrier with every thread (failed or not, so that none is
 * left behind), then, unless `err`, repeats `step` for r->seconds and
 * records the chunks and the time, or the error, in r. */
static void timed_run(struct runner *r, gcry_error_t err, step_fn step, void *state)
{
    pthread_barrier_wait(r->start);
    if (!err) {
        const double t0 = now_seconds();
        double t = t0;
        uint64_t n = 0, done = 0;
        do {
            err = step(state, n + 1, &done);
            n += done;
            t = now_seconds();
        } while (!err && t - t0 < r->seconds);
        r->chunks = n;
        r->elapsed = t - t0;
    }
    if (err) {
        r->failed = 1;
        snprintf(r->detail, sizeof r->detail, "%s", gcry_strerror(err));
    }
}

#if XB_HAVE_IPSEC_MB
/* An AVX-512 manager, or NULL (the CPU has none: exit 3). */
static IMB_MGR *open_mgr(void)
{
    size_t size = imb_get_mb_mgr_size();
    void *mem = aligned_alloc(64, (size + 63) & ~(size_t)63);
    IMB_MGR *m = mem ? imb_set_pointers_mb_mgr(mem, 0, 1) : NULL;
    IMB_ARCH arch = IMB_ARCH_NONE;
    if (m)
        init_mb_mgr_auto(m, &arch);
    if (!m || m->imb_errno || arch != IMB_ARCH_AVX512) {
        free(mem);
        return NULL;
    }
    return m;
}

/* One batch as the engine's encoder does it: the SHA-256 of every chunk
 * at once (unchecked submit: the checked one refuses 64 KiB), then per
 * chunk a fresh counter, AES-CTR over plaintext and hash, CRC-32. */
static gcry_error_t mb_batch(IMB_MGR *m, gcry_cipher_hd_t hd, uint8_t **bufs, unsigned lanes,
                             size_t chunk, uint64_t index, const uint8_t base_iv[16],
                             uint32_t *crc)
{
    IMB_JOB *job;
    int bad = 0;
    for (unsigned i = 0; i < lanes; i++) {
        job = IMB_GET_NEXT_JOB(m);
        job->cipher_mode = IMB_CIPHER_NULL;
        job->cipher_direction = IMB_DIR_ENCRYPT;
        job->chain_order = IMB_ORDER_HASH_CIPHER;
        job->msg_len_to_cipher_in_bytes = 0;
        job->cipher_start_src_offset_in_bytes = 0;
        job->hash_alg = IMB_AUTH_SHA_256;
        job->src = bufs[i];
        job->hash_start_src_offset_in_bytes = 0;
        job->msg_len_to_hash_in_bytes = chunk;
        job->auth_tag_output = bufs[i] + chunk;
        job->auth_tag_output_len_in_bytes = SHA256_SIZE;
        for (job = IMB_SUBMIT_JOB_NOCHECK(m); job; job = IMB_GET_COMPLETED_JOB(m))
            bad |= job->status != IMB_STATUS_COMPLETED;
    }
    while ((job = IMB_FLUSH_JOB(m)) != NULL)
        bad |= job->status != IMB_STATUS_COMPLETED;
    if (bad)
        return gcry_error(GPG_ERR_INTERNAL);
    for (unsigned i = 0; i < lanes; i++) {
        uint8_t ctr[16];
        memcpy(ctr, base_iv, sizeof ctr);
        for (unsigned b = 0; b < 8; b++)
            ctr[15 - b] ^= (uint8_t)((index + i) >> (8 * b));
        gcry_error_t err = gcry_cipher_setctr(hd, ctr, sizeof ctr);
        if (!err)
            err = gcry_cipher_encrypt(hd, bufs[i], chunk + SHA256_SIZE, NULL, 0);
        if (err)
            return err;
        *crc ^= IMB_CRC32_ETHERNET_FCS(m, bufs[i], chunk + SHA256_SIZE);
    }
    return 0;
}

struct mb_state {
    IMB_MGR *m;
    gcry_cipher_hd_t hd;
    uint8_t **bufs;
    unsigned lanes;
    size_t chunk;
    const uint8_t *base_iv;
    uint32_t *crc;
};

static gcry_error_t mb_step(void *state, uint64_t next, uint64_t *done)
{
    struct mb_state *st = state;
    *done = st->lanes;
    return mb_batch(st->m, st->hd, st->bufs, st->lanes, st->chunk, next, st->base_iv, st->crc);
}

static void *run_mb(void *arg)
{
    struct runner *r = arg;
    uint8_t key[32], base_iv[16];
    uint8_t *bufs[16] = {0};
    gcry_cipher_hd_t hd = NULL;
    uint32_t crc = 0;
    IMB_MGR *m = open_mgr();
    gcry_error_t err = m ? 0 : gcry_error(GPG_ERR_NOT_SUPPORTED);

    gcry_create_nonce(key, sizeof key);
    gcry_create_nonce(base_iv, sizeof base_iv);
    for (unsigned i = 0; !err && i < r->lanes; i++) {
        bufs[i] = malloc(r->chunk + SHA256_SIZE);
        if (!bufs[i])
            err = gcry_error(GPG_ERR_ENOMEM);
        else
            gcry_randomize(bufs[i], r->chunk, GCRY_WEAK_RANDOM);
    }
    if (!err)
        err = gcry_cipher_open(&hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CTR, 0);
    if (!err)
        err = gcry_cipher_setkey(hd, key, sizeof key);
    if (!err) /* warm the buffers, the key schedule and the code */
        err = mb_batch(m, hd, bufs, r->lanes, r->chunk, 0, base_iv, &crc);
    struct mb_state st = {m, hd, bufs, r->lanes, r->chunk, base_iv, &crc};
    timed_run(r, err, mb_step, &st);
    volatile uint32_t sink = crc;
    (void)sink;
    if (hd)
        gcry_cipher_close(hd);
    for (unsigned i = 0; i < 16; i++)
        free(bufs[i]);
    free(m);
    return NULL;
}
#endif

/* Whether -m can run here: libipsec-mb built in, an AVX-512 manager. */
static int have_mb(void)
{
#if XB_HAVE_IPSEC_MB
    IMB_MGR *m = open_mgr();
    free(m);
    return m != NULL;
#else
    return 0;
#endif
}

struct one_state {
    struct work *w;
    uint8_t *buf;
    size_t chunk;
    const uint8_t *base_iv;
    uint8_t *crc;
    volatile uint8_t *sink;
};

static gcry_error_t one_step(void *state, uint64_t next, uint64_t *done)
{
    struct one_state *st = state;
    gcry_error_t err = one_chunk(st->w, st->buf, st->chunk, next, st->base_iv, st->crc);
    *st->sink ^= st->crc[0];
    *done = 1;
    return err;
}

static void *run(void *arg)
{
    struct runner *r = arg;
    struct work w = {.block = r->block};
    uint8_t key[32], base_iv[16], crc[4];
    uint8_t *buf = malloc(r->chunk + SHA256_SIZE);
    volatile uint8_t sink = 0;

    gcry_create_nonce(key, sizeof key);
    gcry_create_nonce(base_iv, sizeof base_iv);
    gcry_error_t err = buf ? 0 : gcry_error(GPG_ERR_ENOMEM);
    if (!err) {
        gcry_randomize(buf, r->chunk, GCRY_WEAK_RANDOM);
        err = gcry_cipher_open(&w.hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CTR, 0);
    }
    if (!err)
        err = gcry_cipher_setkey(w.hd, key, sizeof key);
    if (!err && w.block)
        err = gcry_md_open(&w.sha, GCRY_MD_SHA256, 0);
    if (!err && w.block)
        err = gcry_md_open(&w.crc, GCRY_MD_CRC32, 0);
    if (!err) /* warm the buffer, the key schedule and the code */
        err = one_chunk(&w, buf, r->chunk, 0, base_iv, crc);
    struct one_state st = {&w, buf, r->chunk, base_iv, crc, &sink};
    timed_run(r, err, one_step, &st);
    (void)sink;
    if (w.hd)
        gcry_cipher_close(w.hd);
    if (w.sha)
        gcry_md_close(w.sha);
    if (w.crc)
        gcry_md_close(w.crc);
    free(buf);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hwlimit [-q] [-d SECONDS] [-b BLOCK | -m [-l LANES]] THREADS CHUNK_BYTES\n"
               "       hwlimit -V\n"
               "  times libgcrypt AES-256-CTR + SHA-256 + CRC-32 per chunk in THREADS threads\n"
               "  at once and prints per-thread and summed MB/s (10^6 bytes/s)\n"
               "  -q          print only the sum, as a number\n"
               "  -d SECONDS  how long each thread runs (default 1.5)\n"
               "  -b BLOCK    one pass in BLOCK-byte pieces instead of three whole passes\n"
               "              (0: whole passes, the default)\n"
               "  -m          multi-buffer: SHA-256 of LANES chunks at once (libipsec-mb),\n"
               "              AES-CTR (libgcrypt) and CRC-32 (libipsec-mb) per chunk\n"
               "  -l LANES    chunks per batch with -m, 1 to 16 (default 16)\n");
}

static int parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    int quiet = 0;
    double seconds = 1.5;
    unsigned long long block = 0, lanes = 0;
    int mb = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0.0 && seconds <= 3600.0)) {
                fprintf(stderr, "hwlimit: error: -d wants seconds in (0, 3600], not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-b") && i + 1 < argc) {
            ++i; /* 0: whole-buffer passes, the default */
            if (strcmp(argv[i], "0") && parse_count(argv[i], MAX_CHUNK, &block)) {
                fprintf(stderr, "hwlimit: error: -b wants a block size in bytes, not '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-m")) {
            mb = 1;
        } else if (!strcmp(argv[i], "-l") && i + 1 < argc) {
            if (parse_count(argv[++i], 16, &lanes)) {
                fprintf(stderr, "hwlimit: error: -l wants 1 to 16 lanes, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-V")) {
#if XB_HAVE_IPSEC_MB
            printf("libgcrypt %s, libipsec-mb %s (%s)\n", gcry_check_version(NULL),
                   imb_get_version_str(), have_mb() ? "AVX-512 manager" : "no AVX-512 manager");
#else
            printf("libgcrypt %s\n", gcry_check_version(NULL));
#endif
            return 0;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    unsigned long long threads, chunk;
    if (argc - i != 2 || parse_count(argv[i], MAX_THREADS, &threads) ||
        parse_count(argv[i + 1], MAX_CHUNK, &chunk)) {
        usage(stderr);
        return 2;
    }

    if (!gcry_check_version(GCRYPT_VERSION)) {
        fprintf(stderr, "hwlimit: error: libgcrypt %s is older than the headers (%s)\n",
                gcry_check_version(NULL), GCRYPT_VERSION);
        return 1;
    }
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0); /* no secrets here: a random key */
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    if (mb && block) {
        fprintf(stderr, "hwlimit: error: -m and -b do not go together\n");
        return 2;
    }
    if (mb && !have_mb()) {
        fprintf(stderr, "hwlimit: error: no multi-buffer kernels here (built without "
                        "libipsec-mb, or no AVX-512 manager on this CPU)\n");
        return 3;
    }
    if (!lanes)
        lanes = 16;

    struct runner *r = calloc((size_t)threads, sizeof *r);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    pthread_barrier_t start;
    if (!r || !tid || pthread_barrier_init(&start, NULL, (unsigned)threads)) {
        fprintf(stderr, "hwlimit: error: out of memory\n");
        return 1;
    }
    for (unsigned t = 0; t < threads; t++) {
        r[t] = (struct runner){.id = t, .chunk = (size_t)chunk, .block = (size_t)block,
                               .lanes = mb ? (unsigned)lanes : 0, .seconds = seconds,
                               .start = &start};
#if XB_HAVE_IPSEC_MB
        int e = pthread_create(&tid[t], NULL, mb ? run_mb : run, &r[t]);
#else
        int e = pthread_create(&tid[t], NULL, run, &r[t]);
#endif
        if (e) {
            /* The barrier counts on every thread: give up before any wait. */
            fprintf(stderr, "hwlimit: error: cannot start thread %u: %s\n", t, strerror(e));
            exit(1);
        }
    }
    int failed = 0;
    double sum = 0.0;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        if (r[t].failed) {
            fprintf(stderr, "hwlimit: error: thread %u: %s\n", t, r[t].detail);
            failed = 1;
            continue;
        }
        double mbps = (double)r[t].chunks * (double)chunk / r[t].elapsed / 1e6;
        sum += mbps;
        if (!quiet)
            printf("thread %3u: %10.1f MB/s  (%llu chunks in %.3f s)\n", t, mbps,
                   (unsigned long long)r[t].chunks, r[t].elapsed);
    }
    pthread_barrier_destroy(&start);
    free(r);
    free(tid);
    if (failed)
        return 1;
    if (quiet)
        printf("%.1f\n", sum);
    else
        printf("sum:        %10.1f MB/s  (libgcrypt %s, AES-256-CTR + SHA-256 + CRC-32, "
               "%llu-byte chunks%s, %llu threads)\n",
               sum, gcry_check_version(NULL), chunk,
               mb ? ", SHA-256 and CRC-32 multi-buffer" : block ? " in blocks" : "", threads);
    return 0;
}
