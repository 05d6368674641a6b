/* unit_util.c - shared helpers of the unit tests; see unit_util.h. */
#include "unit_util.h"

#include "crypto/xb_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef XB_FIXTURES_DIR
#define XB_FIXTURES_DIR "fixtures"
#endif

const char *fx_dir(void)
{
    const char *d = getenv("XB_FIXTURES");
    return d && *d ? d : XB_FIXTURES_DIR;
}

static uint8_t *read_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    ck_assert_msg(!ferror(f), "cannot read %s", path);
    fclose(f);
    *len = n;
    return buf;
}

uint8_t *fx_read(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fx_dir(), rel);
    return read_path(path, len);
}

xbcrypt_key *fx_key(const char *rel)
{
    char path[4096], msg[256] = "";
    snprintf(path, sizeof path, "%s/%s", fx_dir(), rel);
    xbcrypt_key *key = NULL;
    xbcrypt_status st = xb_key_from_file(path, &key, msg, sizeof msg);
    ck_assert_msg(st == XBCRYPT_OK, "key %s: %s (%s)", path, xb_status_name(st), msg);
    return key;
}

char *write_temp(const void *buf, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(4096);
    ck_assert_ptr_nonnull(path);
    snprintf(path, 4096, "%s/xb-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        ck_assert_msg(n > 0, "write %s: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return path;
}

uint8_t *gen_plain(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 7) % 251);
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* The engine's own SHA-256 (tested against FIPS 180-2 in test_crypto). */
void sha256_hex(const void *buf, size_t len, char out[65])
{
    uint8_t d[XB_SHA256_SIZE];
    xb_sha256(d, buf, len);
    for (unsigned i = 0; i < sizeof d; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

uint64_t prng_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1du;
}

void det_iv_bytes(uint64_t n, uint8_t iv[16])
{
    for (unsigned i = 0; i < 16; i++)
        iv[i] = (uint8_t)((16 * n + i) & 0xff);
}

int det_iv(void *opaque, uint64_t n, uint8_t iv[16])
{
    (void)opaque;
    det_iv_bytes(n, iv);
    return 0;
}

int sink_write(void *opaque, const void *buf, size_t len)
{
    sink *s = opaque;
    s->calls++;
    if (s->fail_call && s->calls > s->fail_call) {
        s->calls_after_fail++;
        return s->fail_value;
    }
    if (s->fail_call && s->calls == s->fail_call)
        return s->fail_value;
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *nd = realloc(s->data, cap);
        if (!nd)
            return -12;
        s->data = nd;
        s->cap = cap;
    }
    memcpy(s->data + s->len, buf, len);
    s->len += len;
    return 0;
}

void sink_free(sink *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

void chunk_log_fn(void *opaque, const xbcrypt_chunk_info *info)
{
    chunk_log *log = opaque;
    if (log->n < sizeof log->info / sizeof log->info[0])
        log->info[log->n++] = *info;
    else
        log->overflow++;
}

/* The encoder or the decoder of one run (the other is NULL): the two have
 * the same shape, so one set of calls drives either. */
typedef struct stream {
    xbcrypt_encoder *enc;
    xbcrypt_decoder *dec;
    /* FEED_SHARED: the buffers the object may still read (the last one
     * lent, and the one before it after a failure), copies of pieces. */
    uint8_t *lent[2];
    size_t lent_len[2];
} stream;

/* Poisons and frees a lent buffer: an engine that reads it afterwards
 * gets other bytes (and ASan reports the use after free). */
static void lent_free(uint8_t *b, size_t n)
{
    if (b)
        memset(b, 0x5a, n);
    free(b);
}

static xbcrypt_status stream_buffer(stream *t, void **buf, size_t *avail)
{
    return t->dec ? xb_decoder_buffer(t->dec, buf, avail) : xb_encoder_buffer(t->enc, buf, avail);
}

static xbcrypt_status stream_commit(stream *t, size_t n)
{
    return t->dec ? xb_decoder_commit(t->dec, n) : xb_encoder_commit(t->enc, n);
}

static xbcrypt_status stream_feed(stream *t, const void *buf, size_t len)
{
    return t->dec ? xb_decoder_feed(t->dec, buf, len) : xb_encoder_feed(t->enc, buf, len);
}

/* feed_shared() of a copy of in[0 .. n); once it returns OK, the buffer
 * lent before it may no longer be read: it is poisoned and freed. */
static xbcrypt_status stream_feed_shared(stream *t, const uint8_t *in, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(b);
    if (n)
        memcpy(b, in, n);
    xbcrypt_status st = t->dec ? xb_decoder_feed_shared(t->dec, b, n)
                               : xb_encoder_feed_shared(t->enc, b, n);
    if (st == XBCRYPT_OK) {
        lent_free(t->lent[1], t->lent_len[1]);
    } else {
        /* Until the object is freed both stay lent (feed_all stops here). */
        ck_assert_ptr_null(t->lent[0]);
        t->lent[0] = t->lent[1];
        t->lent_len[0] = t->lent_len[1];
    }
    t->lent[1] = b;
    t->lent_len[1] = n;
    return st;
}

static xbcrypt_status feed_all(stream *t, const uint8_t *in, size_t len, enum feed_mode mode,
                               size_t split, uint64_t seed)
{
    uint64_t rng = seed;
    size_t pos = 0;
    if (mode == FEED_SPLIT && split == 0)
        return stream_feed(t, in, len);
    if (mode == FEED_SHARED && split == 0)
        return stream_feed_shared(t, in, len);
    while (pos < len) {
        size_t n;
        if (mode == FEED_COMMIT_SHORT) {
            void *dst = NULL;
            size_t avail = 0;
            xbcrypt_status st = stream_buffer(t, &dst, &avail);
            if (st != XBCRYPT_OK)
                return st;
            ck_assert_msg(dst != NULL && avail > 0, "buffer() gave no room");
            n = 1 + (size_t)(prng_next(&rng) % avail);
            if (n > len - pos)
                n = len - pos;
            memcpy(dst, in + pos, n);
            st = stream_commit(t, n);
            if (st != XBCRYPT_OK)
                return st;
        } else {
            bool shared = mode == FEED_SHARED || mode == FEED_SHARED_RANDOM;
            n = mode == FEED_RANDOM || mode == FEED_SHARED_RANDOM
                    ? 1 + (size_t)(prng_next(&rng) % split)
                    : split;
            if (n > len - pos)
                n = len - pos;
            xbcrypt_status st = shared ? stream_feed_shared(t, in + pos, n)
                                       : stream_feed(t, in + pos, n);
            if (st != XBCRYPT_OK)
                return st;
        }
        pos += n;
    }
    return XBCRYPT_OK;
}

static void run_stream(bool decrypt, const xbcrypt_settings *s, const uint8_t *in, size_t len,
                       enum feed_mode mode, size_t split, uint64_t seed, sink *out,
                       run_result *r)
{
    memset(r, 0, sizeof *r);
    stream t = {0};
    xbcrypt_status st =
        decrypt ? xb_decoder_new(s, sink_write, out, &t.dec, r->msg, sizeof r->msg)
                : xb_encoder_new(s, sink_write, out, &t.enc, r->msg, sizeof r->msg);
    if (st != XBCRYPT_OK) {
        ck_assert_ptr_null(decrypt ? (void *)t.dec : (void *)t.enc);
        r->status = r->feed_st = st;
        return;
    }
    r->created = true;
    r->feed_st = feed_all(&t, in, len, mode, split, seed);
    if (r->feed_st == XBCRYPT_OK)
        r->finish_st = decrypt ? xb_decoder_finish(t.dec) : xb_encoder_finish(t.enc);
    r->status = decrypt ? xb_decoder_status(t.dec) : xb_encoder_status(t.enc);
    snprintf(r->msg, sizeof r->msg, "%s",
             decrypt ? xb_decoder_message(t.dec) : xb_encoder_message(t.enc));
    r->stats.struct_size = sizeof r->stats;
    if (decrypt)
        xb_decoder_stats(t.dec, &r->stats);
    else
        xb_encoder_stats(t.enc, &r->stats);
    xb_decoder_free(t.dec);
    xb_encoder_free(t.enc);
    lent_free(t.lent[0], t.lent_len[0]);
    lent_free(t.lent[1], t.lent_len[1]);
}

void run_encoder(const xbcrypt_settings *s, const uint8_t *in, size_t len, enum feed_mode mode,
                 size_t split, uint64_t seed, sink *out, run_result *r)
{
    run_stream(false, s, in, len, mode, split, seed, out, r);
}

void run_decoder(const xbcrypt_settings *s, const uint8_t *in, size_t len, enum feed_mode mode,
                 size_t split, uint64_t seed, sink *out, run_result *r)
{
    run_stream(true, s, in, len, mode, split, seed, out, r);
}

void assert_bytes_eq_at(const char *file, int line, const void *a, size_t alen, const void *b,
                        size_t blen, const char *what)
{
    const uint8_t *x = a, *y = b;
    size_t n = alen < blen ? alen : blen, i = 0;
    while (i < n && x[i] == y[i])
        i++;
    if (i == n && alen == blen)
        return;
    if (i < n)
        ck_assert_msg(0, "%s:%d: %s: lengths %zu and %zu, first difference at byte %zu "
                      "(0x%02x vs 0x%02x)", file, line, what, alen, blen, i, x[i], y[i]);
    else
        ck_assert_msg(0, "%s:%d: %s: lengths %zu and %zu differ (equal up to the shorter)", file,
                      line, what, alen, blen);
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
