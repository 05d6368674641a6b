/*
 * test_pipeline.c - the ordered, threaded encoder and decoder (issue 3's
 * list): 1..16 threads on 0 bytes, 1 byte, one chunk, chunk-1, chunk+1 and
 * many chunks; output identical to one thread under the deterministic IVs;
 * input in random short pieces, through buffer()/commit() committing less
 * than offered, and through a real pipe; a worker failing on chunk k (CRC,
 * SHA-256 with a valid CRC); a write callback failing; API misuse; memory
 * under a forged size field and on a long stream; the chunk callback and
 * the totals.
 *
 * Suites "unit" and "pipeline"; meant to run under ThreadSanitizer too.
 */
#include "crypto/xb_crypto.h"
#include "format/xb_format.h"
#include "unit_util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#define CS 1024u                    /* chunk size of the small-chunk tests */
#define REC (44u + 16u + CS + 32u)  /* bytes of one full chunk in the stream */
#define NCH 40u                     /* "many chunks" */

static xbcrypt_key *key32, *key32_wrong;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* the pipe tests report EPIPE instead */
    key32 = fx_key("keys/key32.bin");
    key32_wrong = fx_key("keys/key32_wrong.bin");
}

static void teardown(void)
{
    xb_key_free(key32);
    xb_key_free(key32_wrong);
    key32 = key32_wrong = NULL;
}

static void settings(xbcrypt_settings *s, unsigned threads, size_t chunk, const xbcrypt_key *key)
{
    xb_settings_default(s);
    s->algo = XBCRYPT_ALGO_AES256;
    s->key = key;
    s->threads = threads;
    s->chunk_size = chunk;
    s->iv_source = det_iv;
}

/* Encrypts `p` and fails the test unless it worked. */
static void encode_ok(const xbcrypt_settings *s, const uint8_t *p, size_t n, enum feed_mode mode,
                      size_t split, uint64_t seed, sink *out)
{
    run_result r;
    run_encoder(s, p, n, mode, split, seed, out, &r);
    ck_assert_msg(r.status == XBCRYPT_OK, "encode %zu bytes, %u threads: %s", n, s->threads,
                  r.msg);
    ck_assert_uint_eq(r.stats.plaintext_bytes, n);
}

static void decode_ok(const xbcrypt_settings *s, const uint8_t *in, size_t n, enum feed_mode mode,
                      size_t split, uint64_t seed, const uint8_t *plain, size_t plen)
{
    sink out = {0};
    run_result r;
    run_decoder(s, in, n, mode, split, seed, &out, &r);
    ck_assert_msg(r.status == XBCRYPT_OK, "decode %zu bytes, %u threads, mode %d: %s", n,
                  s->threads, (int)mode, r.msg);
    assert_bytes_eq(out.data, out.len, plain, plen, "decrypted");
    sink_free(&out);
}

/* ---- round trips at every thread count ---- */

static const size_t rt_sizes[] = {0, 1, CS - 1, CS, CS + 1, NCH * CS, NCH * CS + 333};

/* _i: threads 0..16 (0 = in the calling thread). */
START_TEST(test_round_trip_threads)
{
    const unsigned n = (unsigned)_i;
    for (unsigned z = 0; z < sizeof rt_sizes / sizeof rt_sizes[0]; z++) {
        size_t len = rt_sizes[z];
        uint8_t *p = gen_plain(len);
        xbcrypt_settings s1, sn;
        settings(&s1, 1, CS, key32);
        settings(&sn, n, CS, key32);
        sink ref = {0}, out = {0};
        encode_ok(&s1, p, len, FEED_SPLIT, 0, 0, &ref);
        encode_ok(&sn, p, len, FEED_SPLIT, 0, 0, &out);
        char what[96];
        snprintf(what, sizeof what, "%zu bytes, %u threads against 1", len, n);
        assert_bytes_eq(out.data, out.len, ref.data, ref.len, what);
        size_t chunks = (len + CS - 1) / CS;
        ck_assert_uint_eq(ref.len, len + chunks * (REC - CS));
        decode_ok(&sn, out.data, out.len, FEED_SPLIT, 0, 0, p, len);
        decode_ok(&sn, out.data, out.len, FEED_RANDOM, 3000, len + n, p, len);
        sink_free(&out);

        /* Random IVs: a different stream with the same chunk boundaries. */
        sn.iv_source = NULL;
        chunk_log *la = calloc(1, sizeof *la), *lb = calloc(1, sizeof *lb);
        sn.on_chunk = chunk_log_fn;
        sn.chunk_opaque = la;
        encode_ok(&sn, p, len, FEED_SPLIT, 0, 0, &out);
        ck_assert_uint_eq(out.len, ref.len);
        ck_assert_uint_eq(la->n, chunks);
        sn.chunk_opaque = lb;
        decode_ok(&sn, out.data, out.len, FEED_SPLIT, 4096, 0, p, len);
        ck_assert_uint_eq(lb->n, chunks);
        for (unsigned c = 0; c < la->n; c++) {
            ck_assert_uint_eq(la->info[c].plaintext_size, lb->info[c].plaintext_size);
            ck_assert_uint_eq(la->info[c].offset, lb->info[c].offset);
            assert_bytes_eq(la->info[c].iv, 16, lb->info[c].iv, 16, "IV seen by both sides");
            ck_assert_uint_eq(la->info[c].plaintext_size, c + 1 < chunks ? CS : len - c * CS);
        }
        free(la);
        free(lb);
        sink_free(&out);
        sink_free(&ref);
        free(p);
    }
}
END_TEST

/* The default chunk size around its boundary, fewer thread counts. */
START_TEST(test_round_trip_default_chunk)
{
    static const size_t sizes[] = {65535, 65536, 65537, 3 * 65536 + 5};
    static const unsigned threads[] = {1, 2, 3, 8, 16};
    for (unsigned z = 0; z < 4; z++) {
        uint8_t *p = gen_plain(sizes[z]);
        xbcrypt_settings s1;
        settings(&s1, 1, 65536, key32);
        sink ref = {0};
        encode_ok(&s1, p, sizes[z], FEED_SPLIT, 0, 0, &ref);
        for (unsigned t = 0; t < 5; t++) {
            xbcrypt_settings sn;
            settings(&sn, threads[t], 65536, key32);
            sink out = {0};
            encode_ok(&sn, p, sizes[z], FEED_SPLIT, 7777, 0, &out);
            assert_bytes_eq(out.data, out.len, ref.data, ref.len, "against 1 thread");
            decode_ok(&sn, out.data, out.len, FEED_SPLIT, 7, 0, p, sizes[z]);
            sink_free(&out);
        }
        sink_free(&ref);
        free(p);
    }
}
END_TEST

/* ---- short reads ---- */

static const unsigned sr_threads[] = {0, 1, 2, 4, 16};

/* _i: index into sr_threads. */
START_TEST(test_short_pieces)
{
    const unsigned n = sr_threads[_i];
    static const size_t sizes[] = {1, CS + 1, NCH * CS + 333, 200000};
    for (unsigned z = 0; z < 4; z++) {
        size_t len = sizes[z];
        uint8_t *p = gen_plain(len);
        xbcrypt_settings s;
        settings(&s, n, CS, key32);
        sink ref = {0};
        encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &ref);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            sink a = {0}, b = {0};
            encode_ok(&s, p, len, FEED_RANDOM, 3000, seed, &a);
            assert_bytes_eq(a.data, a.len, ref.data, ref.len, "encoder, pieces of 1..3000");
            encode_ok(&s, p, len, FEED_COMMIT_SHORT, 0, seed, &b);
            assert_bytes_eq(b.data, b.len, ref.data, ref.len, "encoder, short commits");
            decode_ok(&s, ref.data, ref.len, FEED_RANDOM, 3000, seed, p, len);
            decode_ok(&s, ref.data, ref.len, FEED_COMMIT_SHORT, 0, seed, p, len);
            decode_ok(&s, ref.data, ref.len, FEED_RANDOM, 5, seed, p, len);
            sink_free(&a);
            sink_free(&b);
        }
        sink_free(&ref);
        free(p);
    }
}
END_TEST

/* ---- shared input (feed_shared) ---- */

/*
 * _i: index into sr_threads.  Lent pieces of every size (one call, whole
 * chunks, pieces that cut chunks, headers and IVs, random) give the bytes
 * feed() gives, in both directions, and a read-buffer size that cuts
 * chunks short is honoured.  Each lent piece is poisoned and freed as soon
 * as the next feed_shared() returns, so a worker reading it late fails the
 * comparison (and ASan).
 */
START_TEST(test_shared_input)
{
    const unsigned n = sr_threads[_i];
    static const size_t sizes[] = {0, 1, CS - 1, CS, CS + 1, NCH * CS + 333, 200000};
    static const size_t splits[] = {0, CS, 7777, 61, 1};
    for (unsigned z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        const size_t len = sizes[z];
        uint8_t *p = gen_plain(len);
        xbcrypt_settings s;
        settings(&s, n, CS, key32);
        s.read_buffer_size = 5 * CS + 100;
        sink ref = {0};
        encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &ref);
        for (unsigned sp = 0; sp < sizeof splits / sizeof splits[0]; sp++) {
            if (splits[sp] == 1 && len > CS + 1)
                continue; /* a call per byte: the small sizes say it all */
            sink a = {0};
            encode_ok(&s, p, len, FEED_SHARED, splits[sp], 0, &a);
            assert_bytes_eq(a.data, a.len, ref.data, ref.len, "encoder, shared pieces");
            sink_free(&a);
            decode_ok(&s, ref.data, ref.len, FEED_SHARED, splits[sp], 0, p, len);
        }
        for (uint64_t seed = 1; seed <= 2; seed++) {
            sink a = {0};
            encode_ok(&s, p, len, FEED_SHARED_RANDOM, 3 * CS, seed, &a);
            assert_bytes_eq(a.data, a.len, ref.data, ref.len, "encoder, random shared pieces");
            sink_free(&a);
            decode_ok(&s, ref.data, ref.len, FEED_SHARED_RANDOM, 3 * CS, seed, p, len);
        }
        sink_free(&ref);
        free(p);
    }
}
END_TEST

/* Without AES (NONE) the decoder copies what it is lent instead of
 * reading it in place; the result is the same. */
START_TEST(test_shared_input_no_key)
{
    const size_t len = NCH * CS + 333;
    uint8_t *p = gen_plain(len);
    xbcrypt_settings s;
    settings(&s, 2, CS, NULL);
    s.algo = XBCRYPT_ALGO_NONE;
    sink ref = {0};
    encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &ref);
    decode_ok(&s, ref.data, ref.len, FEED_SHARED, 7777, 0, p, len);
    sink_free(&ref);
    free(p);
}
END_TEST

typedef struct pipe_writer {
    int fd;
    const uint8_t *data;
    size_t len;
    uint64_t seed;
    int err;
} pipe_writer;

/* Writes the data in pieces of 1..500 bytes, then closes the pipe. */
static void *pipe_writer_main(void *arg)
{
    pipe_writer *w = arg;
    uint64_t rng = w->seed;
    size_t pos = 0;
    while (pos < w->len) {
        size_t n = 1 + (size_t)(prng_next(&rng) % 500);
        if (n > w->len - pos)
            n = w->len - pos;
        ssize_t got = write(w->fd, w->data + pos, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            w->err = errno;
            break;
        }
        pos += (size_t)got;
        if (prng_next(&rng) % 8 == 0)
            sched_yield();
    }
    close(w->fd);
    return NULL;
}

/* Reads fd to its end with read() straight into the object's buffer. */
static xbcrypt_status read_into(int fd, bool encoder, void *obj)
{
    for (;;) {
        void *buf;
        size_t avail;
        xbcrypt_status st = encoder ? xb_encoder_buffer(obj, &buf, &avail)
                                    : xb_decoder_buffer(obj, &buf, &avail);
        if (st != XBCRYPT_OK)
            return st;
        ssize_t n = read(fd, buf, avail);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        if (n == 0)
            return encoder ? xb_encoder_finish(obj) : xb_decoder_finish(obj);
        st = encoder ? xb_encoder_commit(obj, (size_t)n) : xb_decoder_commit(obj, (size_t)n);
        if (st != XBCRYPT_OK)
            return st;
    }
}

/* _i: threads 1 or 4 (i = 0, 1). */
START_TEST(test_real_pipe)
{
    const unsigned n = _i ? 4 : 1;
    const size_t len = NCH * CS + 333;
    uint8_t *p = gen_plain(len);
    xbcrypt_settings s;
    settings(&s, n, CS, key32);
    sink ref = {0};
    encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &ref);

    for (int encoder = 0; encoder <= 1; encoder++) {
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pipe_writer w = {fds[1], encoder ? p : ref.data, encoder ? len : ref.len, 99 + n, 0};
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, pipe_writer_main, &w), 0);
        sink out = {0};
        char msg[256] = "";
        void *obj = NULL;
        xbcrypt_status st;
        if (encoder)
            st = xb_encoder_new(&s, sink_write, &out, (xbcrypt_encoder **)&obj, msg, sizeof msg);
        else
            st = xb_decoder_new(&s, sink_write, &out, (xbcrypt_decoder **)&obj, msg, sizeof msg);
        ck_assert_msg(st == XBCRYPT_OK, "%s", msg);
        st = read_into(fds[0], encoder, obj);
        ck_assert_msg(st == XBCRYPT_OK, "%s",
                      encoder ? xb_encoder_message(obj) : xb_decoder_message(obj));
        pthread_join(th, NULL);
        close(fds[0]);
        ck_assert_int_eq(w.err, 0);
        if (encoder) {
            xb_encoder_free(obj);
            assert_bytes_eq(out.data, out.len, ref.data, ref.len, "encoded from a pipe");
        } else {
            xb_decoder_free(obj);
            assert_bytes_eq(out.data, out.len, p, len, "decoded from a pipe");
        }
        sink_free(&out);
    }
    sink_free(&ref);
    free(p);
}
END_TEST

/* ---- a worker failing mid-stream ---- */

enum damage { DMG_CRC, DMG_HASH_FLIP, DMG_HASH_REKEY, DMG_COUNT };
static const unsigned fail_k[] = {0, 1, NCH / 2, NCH - 1};
static const unsigned fail_n[] = {1, 2, 8};

/* NCH chunks of CS bytes of gen_plain() encrypted with key32 (settings for
 * one thread in *s) into *good; returns the plaintext. */
static uint8_t *encode_many(xbcrypt_settings *s, sink *good)
{
    uint8_t *p = gen_plain(NCH * CS);
    settings(s, 1, CS, key32);
    encode_ok(s, p, NCH * CS, FEED_SPLIT, 0, 0, good);
    ck_assert_uint_eq(good->len, NCH * REC);
    return p;
}

/* _i encodes (damage, k, threads). */
START_TEST(test_worker_failure)
{
    const enum damage dmg = (enum damage)(_i % DMG_COUNT);
    const unsigned k = fail_k[(_i / DMG_COUNT) % 4];
    const unsigned n = fail_n[_i / (DMG_COUNT * 4)];
    xbcrypt_settings s;
    sink good = {0};
    uint8_t *p = encode_many(&s, &good);
    uint8_t *chunk = good.data + (size_t)k * REC;
    uint8_t *payload = chunk + 60;

    switch (dmg) {
    case DMG_CRC:
        payload[100] ^= 0x10;
        break;
    case DMG_HASH_FLIP:
        /* A ciphertext bit, and a CRC that matches the damaged payload. */
        payload[CS / 2] ^= 0x01;
        xb_store_le32(chunk + 32, xb_crc32(payload, CS + 32));
        break;
    case DMG_HASH_REKEY: {
        /* Chunk k as another key makes it, same IV: a valid chunk of
         * another stream. */
        xbcrypt_settings w;
        settings(&w, 1, CS, key32_wrong);
        sink other = {0};
        encode_ok(&w, p, NCH * CS, FEED_SPLIT, 0, 0, &other);
        ck_assert_int_ne(memcmp(chunk, other.data + (size_t)k * REC, REC), 0);
        /* Same header but for the CRC, same IV. */
        ck_assert_int_eq(memcmp(chunk, other.data + (size_t)k * REC, 32), 0);
        ck_assert_int_eq(memcmp(chunk + 36, other.data + (size_t)k * REC + 36, 24), 0);
        memcpy(chunk, other.data + (size_t)k * REC, REC);
        sink_free(&other);
        break;
    }
    default:
        ck_abort();
    }
    xbcrypt_status want = dmg == DMG_CRC ? XBCRYPT_E_CRC
                          : k == 0       ? XBCRYPT_E_WRONG_KEY
                                         : XBCRYPT_E_HASH;
    char where[64];
    snprintf(where, sizeof where, "chunk %u (offset %u)", k, k * REC);

    s.threads = n;
    for (unsigned way = 0; way < 5; way++) {
        sink out = {0};
        run_result r;
        if (way == 0)
            run_decoder(&s, good.data, good.len, FEED_SPLIT, 0, 0, &out, &r);
        else if (way == 1)
            run_decoder(&s, good.data, good.len, FEED_SPLIT, 7, 0, &out, &r);
        else if (way == 2)
            run_decoder(&s, good.data, good.len, FEED_COMMIT_SHORT, 0, k + 1, &out, &r);
        else if (way == 3)
            run_decoder(&s, good.data, good.len, FEED_SHARED, 0, 0, &out, &r);
        else
            run_decoder(&s, good.data, good.len, FEED_SHARED, 7 * REC + 5, 0, &out, &r);
        ck_assert_msg(r.status == want, "damage %d k %u threads %u way %u: %s, wanted %s (%s)",
                      (int)dmg, k, n, way, xb_status_name(r.status), xb_status_name(want), r.msg);
        /* Exactly the chunks before k. */
        assert_bytes_eq(out.data, out.len, p, (size_t)k * CS, "plaintext before the bad chunk");
        ck_assert_msg(strstr(r.msg, where) != NULL, "message \"%s\" lacks \"%s\"", r.msg, where);
        ck_assert_uint_eq(r.stats.chunks, k);
        sink_free(&out);
    }
    sink_free(&good);
    free(p);
}
END_TEST

/* Two damaged chunks that a worker takes in one batch: a SHA-256 mismatch
 * at chunk 3 (the hash is checked after the batch's CRCs) and a CRC
 * mismatch at chunk 6.  The first in stream order is reported, and exactly
 * chunks 0-2 are written, whatever the backend (_i % 3: the hasher's test
 * mode) and the threads (1, 2, 8). */
START_TEST(test_two_faults_in_a_batch)
{
    static const unsigned threads[] = {1, 2, 8};
    const int mode = _i % 3;
    xbcrypt_settings s;
    sink good = {0};
    uint8_t *p = encode_many(&s, &good);
    uint8_t *c3 = good.data + 3 * REC, *c6 = good.data + 6 * REC;
    c3[60 + CS / 2] ^= 0x01;
    xb_store_le32(c3 + 32, xb_crc32(c3 + 60, CS + 32));
    c6[60 + 100] ^= 0x10;

    xb_hasher_test_mode(mode);
    s.threads = threads[_i / 3];
    sink out = {0};
    run_result r;
    run_decoder(&s, good.data, good.len, FEED_SPLIT, 0, 0, &out, &r);
    xb_hasher_test_mode(0);
    ck_assert_msg(r.status == XBCRYPT_E_HASH, "mode %d threads %u: %s (%s)", mode, s.threads,
                  xb_status_name(r.status), r.msg);
    ck_assert_msg(strstr(r.msg, "chunk 3 ") != NULL, "message \"%s\" lacks chunk 3", r.msg);
    assert_bytes_eq(out.data, out.len, p, 3 * CS, "plaintext before the first bad chunk");
    sink_free(&out);
    sink_free(&good);
    free(p);
}
END_TEST

/* After a failure every call returns the same status and writes nothing. */
START_TEST(test_failure_is_sticky)
{
    const size_t len = 4 * CS;
    uint8_t *p = gen_plain(len);
    xbcrypt_settings s;
    settings(&s, 2, CS, key32);
    sink good = {0};
    encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &good);
    good.data[REC + 70] ^= 1; /* chunk 1 */
    sink out = {0};
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, NULL, 0), XBCRYPT_OK);
    xbcrypt_status st = xb_decoder_feed(dec, good.data, good.len);
    if (st == XBCRYPT_OK)
        st = xb_decoder_finish(dec);
    ck_assert_int_eq(st, XBCRYPT_E_CRC);
    unsigned calls = out.calls;
    ck_assert_int_eq(xb_decoder_feed(dec, good.data, REC), XBCRYPT_E_CRC);
    ck_assert_int_eq(xb_decoder_finish(dec), XBCRYPT_E_CRC);
    void *b;
    size_t a;
    ck_assert_int_eq(xb_decoder_buffer(dec, &b, &a), XBCRYPT_E_CRC);
    ck_assert_ptr_null(b);
    ck_assert_uint_eq(a, 0);
    ck_assert_int_eq(xb_decoder_commit(dec, 1), XBCRYPT_E_CRC);
    ck_assert_int_eq(xb_decoder_status(dec), XBCRYPT_E_CRC);
    ck_assert_uint_eq(out.calls, calls);
    xb_decoder_free(dec);
    sink_free(&out);
    sink_free(&good);
    free(p);
}
END_TEST

/* ---- the write callback failing ---- */

/* _i encodes (k, threads, encoder?). */
START_TEST(test_write_failure)
{
    const unsigned k = fail_k[_i % 4];
    const unsigned n = fail_n[(_i / 4) % 3];
    const bool encoder = _i / 12;
    const size_t len = NCH * CS;
    uint8_t *p = gen_plain(len);
    xbcrypt_settings s;
    settings(&s, n, CS, key32);
    sink good = {0};
    encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &good);

    sink out = {0};
    out.fail_call = k + 1; /* one write per chunk: refuse chunk k's */
    out.fail_value = -7;
    char msg[256] = "";
    xbcrypt_status st;
    int werr;
    const char *m;
    char mcopy[512];
    if (encoder) {
        xbcrypt_encoder *enc = NULL;
        ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_OK);
        st = xb_encoder_feed(enc, p, len);
        if (st == XBCRYPT_OK)
            st = xb_encoder_finish(enc);
        ck_assert_int_eq(xb_encoder_feed(enc, p, 1), XBCRYPT_E_WRITE);
        werr = xb_encoder_write_error(enc);
        m = xb_encoder_message(enc);
        snprintf(mcopy, sizeof mcopy, "%s", m);
        xb_encoder_free(enc);
    } else {
        xbcrypt_decoder *dec = NULL;
        ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_OK);
        st = xb_decoder_feed(dec, good.data, good.len);
        if (st == XBCRYPT_OK)
            st = xb_decoder_finish(dec);
        ck_assert_int_eq(xb_decoder_feed(dec, good.data, 1), XBCRYPT_E_WRITE);
        werr = xb_decoder_write_error(dec);
        m = xb_decoder_message(dec);
        snprintf(mcopy, sizeof mcopy, "%s", m);
        xb_decoder_free(dec);
    }
    ck_assert_msg(st == XBCRYPT_E_WRITE, "%s: %s", xb_status_name(st), mcopy);
    ck_assert_int_eq(werr, -7);
    ck_assert_uint_eq(out.calls_after_fail, 0);
    ck_assert_uint_eq(out.calls, k + 1);
    if (encoder)
        assert_bytes_eq(out.data, out.len, good.data, (size_t)k * REC, "stream before chunk k");
    else
        assert_bytes_eq(out.data, out.len, p, (size_t)k * CS, "plaintext before chunk k");
    char where[48];
    snprintf(where, sizeof where, "chunk %u (offset %u)", k, k * REC);
    ck_assert_msg(strstr(mcopy, where) != NULL, "message \"%s\" lacks \"%s\"", mcopy, where);
    ck_assert_msg(strstr(mcopy, "-7") != NULL, "message \"%s\" lacks the callback's value", mcopy);
    sink_free(&out);
    sink_free(&good);
    free(p);
}
END_TEST

/* The IV source failing on chunk k: the encoder fails naming chunk k, and
 * what it wrote is a whole-chunk prefix of the stream. */
static int failing_iv(void *opaque, uint64_t n, uint8_t iv[16])
{
    det_iv_bytes(n, iv);
    return n == *(const unsigned *)opaque ? -1 : 0;
}

START_TEST(test_iv_source_failure)
{
    const size_t len = NCH * CS;
    uint8_t *p = gen_plain(len);
    for (unsigned t = 0; t < 3; t++) {
        for (unsigned i = 0; i < 4; i++) {
            unsigned k = fail_k[i];
            xbcrypt_settings s;
            settings(&s, fail_n[t], CS, key32);
            sink good = {0};
            encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &good);
            s.iv_source = failing_iv;
            s.iv_opaque = &k;
            sink out = {0};
            run_result r;
            run_encoder(&s, p, len, FEED_SPLIT, 0, 0, &out, &r);
            ck_assert_int_eq(r.status, XBCRYPT_E_CRYPTO);
            char where[32];
            snprintf(where, sizeof where, "chunk %u", k);
            ck_assert_msg(strstr(r.msg, where) != NULL, "\"%s\" lacks \"%s\"", r.msg, where);
            /* Exactly the chunks before k, whatever the thread timing. */
            ck_assert_uint_eq(out.len, (size_t)k * REC);
            assert_bytes_eq(out.data, out.len, good.data, out.len, "prefix");
            sink_free(&out);
            sink_free(&good);
        }
    }
    free(p);
}
END_TEST

/* ---- API misuse ---- */

START_TEST(test_null_args)
{
    xbcrypt_settings s;
    settings(&s, 1, CS, key32);
    sink out = {0};
    char msg[256];
    xbcrypt_encoder *enc = (xbcrypt_encoder *)(uintptr_t)1;
    xbcrypt_decoder *dec = (xbcrypt_decoder *)(uintptr_t)1;

    ck_assert_int_eq(xb_encoder_new(NULL, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(enc);
    ck_assert_int_eq(xb_encoder_new(&s, NULL, &out, &enc, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(enc);
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, NULL, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_new(NULL, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(dec);
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, NULL, msg, sizeof msg), XBCRYPT_E_ARG);

    void *b;
    size_t a;
    ck_assert_int_eq(xb_encoder_feed(NULL, "x", 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_buffer(NULL, &b, &a), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_commit(NULL, 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_finish(NULL), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_status(NULL), XBCRYPT_E_ARG);
    ck_assert_ptr_nonnull(xb_encoder_message(NULL));
    ck_assert_int_eq(xb_encoder_write_error(NULL), 0);
    xb_encoder_stats(NULL, NULL);
    xb_encoder_free(NULL);
    ck_assert_int_eq(xb_decoder_feed(NULL, "x", 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_buffer(NULL, &b, &a), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_commit(NULL, 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_finish(NULL), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_status(NULL), XBCRYPT_E_ARG);
    ck_assert_ptr_nonnull(xb_decoder_message(NULL));
    ck_assert_int_eq(xb_decoder_write_error(NULL), 0);
    xb_decoder_stats(NULL, NULL);
    xb_decoder_free(NULL);

    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_feed(enc, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_feed(dec, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_buffer(enc, NULL, &a), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_buffer(enc, &b, NULL), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_buffer(dec, NULL, &a), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_buffer(dec, &b, NULL), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_status(enc), XBCRYPT_OK); /* argument errors do not poison */
    ck_assert_int_eq(xb_decoder_status(dec), XBCRYPT_OK);
    ck_assert_str_eq(xb_encoder_message(enc), "");
    ck_assert_int_eq(xb_encoder_feed(enc, NULL, 5), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_feed(dec, NULL, 5), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_commit(enc, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_commit(dec, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_finish(enc), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_finish(dec), XBCRYPT_OK);
    ck_assert_uint_eq(out.calls, 0);
    xb_encoder_free(enc);
    xb_decoder_free(dec);
}
END_TEST

START_TEST(test_calls_after_finish)
{
    xbcrypt_settings s;
    settings(&s, 2, CS, key32);
    sink out = {0};
    xbcrypt_encoder *enc = NULL;
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_feed(enc, "abc", 3), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_finish(enc), XBCRYPT_OK);
    size_t written = out.len;
    ck_assert_uint_eq(written, 44 + 16 + 3 + 32);
    void *b;
    size_t a;
    ck_assert_int_eq(xb_encoder_feed(enc, "abc", 3), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_encoder_buffer(enc, &b, &a), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_encoder_commit(enc, 1), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_encoder_finish(enc), XBCRYPT_E_STATE);
    ck_assert_uint_eq(out.len, written);
    xbcrypt_stats st = {.struct_size = sizeof st};
    xb_encoder_stats(enc, &st); /* still allowed */
    ck_assert_uint_eq(st.chunks, 1);
    xb_encoder_free(enc);

    sink plain = {0};
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &plain, &dec, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_feed(dec, out.data, out.len), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_finish(dec), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_feed(dec, out.data, out.len), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_decoder_buffer(dec, &b, &a), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_decoder_commit(dec, 1), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_decoder_finish(dec), XBCRYPT_E_STATE);
    ck_assert_uint_eq(plain.len, 3);
    ck_assert_int_eq(memcmp(plain.data, "abc", 3), 0);
    xb_decoder_free(dec);
    sink_free(&out);
    sink_free(&plain);
}
END_TEST

START_TEST(test_commit_more_than_offered)
{
    xbcrypt_settings s;
    settings(&s, 0, CS, key32);
    void *b;
    size_t a;

    /* Encoder. */
    sink out = {0};
    xbcrypt_encoder *enc = NULL;
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_commit(enc, 1), XBCRYPT_E_ARG); /* no buffer() yet */
    xb_encoder_free(enc);
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_buffer(enc, &b, &a), XBCRYPT_OK);
    ck_assert_uint_eq(a, CS);
    ck_assert_int_eq(xb_encoder_commit(enc, 10), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_buffer(enc, &b, &a), XBCRYPT_OK);
    ck_assert_uint_eq(a, CS - 10);
    ck_assert_int_eq(xb_encoder_commit(enc, a + 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_encoder_feed(enc, "x", 1), XBCRYPT_E_ARG); /* sticky */
    ck_assert_uint_eq(out.calls, 0);
    xb_encoder_free(enc);

    /* Decoder, while reading a header. */
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_buffer(dec, &b, &a), XBCRYPT_OK);
    ck_assert_uint_gt(a, 0);
    ck_assert_int_eq(xb_decoder_commit(dec, a + 1), XBCRYPT_E_ARG);
    xb_decoder_free(dec);
    sink_free(&out);
}
END_TEST

/* Decoder, while reading a payload into a slot that an earlier, bigger
 * chunk left large: the bound is what buffer() offered, not the slot's
 * capacity.  Chunks 0..2 of 65,536 bytes fill the 3 slots of a 0-thread
 * decoder; chunk 3 (5 bytes) reuses slot 0. */
START_TEST(test_commit_more_than_offered_payload)
{
    const size_t len = 3 * 65536 + 5;
    uint8_t *p = gen_plain(len);
    xbcrypt_settings s;
    settings(&s, 0, 65536, key32);
    sink enc = {0};
    encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &enc);
    const size_t head3 = 3 * (60 + 65536 + 32) + 60; /* through chunk 3's IV */
    ck_assert_uint_eq(enc.len, head3 + 5 + 32);

    sink out = {0};
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_feed(dec, enc.data, head3), XBCRYPT_OK);
    void *b;
    size_t a;
    ck_assert_int_eq(xb_decoder_buffer(dec, &b, &a), XBCRYPT_OK);
    ck_assert_uint_gt(a, 0);
    ck_assert_uint_le(a, 37 + 64);
    /* The caller claims one byte more than it was given. */
    xbcrypt_status st = xb_decoder_commit(dec, a + 1);
    ck_assert_msg(st == XBCRYPT_E_ARG, "commit(avail + 1) while reading a payload gave %s (%s)",
                  xb_status_name(st), xb_decoder_message(dec));
    xb_decoder_free(dec);

    /* Far more than offered: bytes past the payload must never be taken
     * into the 64-byte staging area. */
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_feed(dec, enc.data, head3), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_buffer(dec, &b, &a), XBCRYPT_OK);
    st = xb_decoder_commit(dec, a + 1000);
    ck_assert_msg(st == XBCRYPT_E_ARG, "commit(avail + 1000) gave %s", xb_status_name(st));
    xb_decoder_free(dec);
    sink_free(&out);
    sink_free(&enc);
    free(p);
}
END_TEST

START_TEST(test_settings_refused)
{
    xbcrypt_settings s;
    sink out = {0};
    char msg[512];
    xbcrypt_encoder *enc = (xbcrypt_encoder *)(uintptr_t)1;
    static const size_t bad_chunks[] = {0, 1, 1023, (size_t)XBCRYPT_CHUNK_SIZE_MAX + 1,
                                        (size_t)INT_MAX, (size_t)UINT32_MAX, SIZE_MAX};
    for (unsigned i = 0; i < sizeof bad_chunks / sizeof bad_chunks[0]; i++) {
        settings(&s, 1, bad_chunks[i], key32);
        msg[0] = '\0';
        ck_assert_msg(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg) == XBCRYPT_E_ARG,
                      "chunk size %zu accepted", bad_chunks[i]);
        ck_assert_ptr_null(enc);
        ck_assert_msg(strstr(msg, "chunk size") != NULL, "message: %s", msg);
    }
    ck_assert_uint_eq(XBCRYPT_CHUNK_SIZE_MAX + 32u, (unsigned)INT_MAX);
    settings(&s, 1, 1024, key32);
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_OK);
    xb_encoder_free(enc);

    /* Unknown algorithm, missing key, too many threads, unfilled settings. */
    xbcrypt_decoder *dec = NULL;
    settings(&s, 1, CS, key32);
    s.algo = (xbcrypt_algo)9;
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_E_ARG);
    settings(&s, 1, CS, NULL);
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_E_KEY);
    /* Verify-only decoders need no key. */
    ck_assert_int_eq(xb_decoder_new(&s, NULL, NULL, &dec, msg, sizeof msg), XBCRYPT_OK);
    xb_decoder_free(dec);
    settings(&s, 100000, CS, key32);
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_E_ARG);
    settings(&s, 1, CS, key32);
    s.struct_size = 8;
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(enc);
    ck_assert_ptr_null(dec);
    /* NONE: no key at all. */
    settings(&s, 1, CS, NULL);
    s.algo = XBCRYPT_ALGO_NONE;
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_OK);
    xb_encoder_free(enc);
    xb_decoder_free(dec);
    ck_assert_uint_eq(out.calls, 0);
}
END_TEST

START_TEST(test_status_names)
{
    for (int st = XBCRYPT_OK; st <= XBCRYPT_E_UNSUPPORTED; st++) {
        const char *n = xb_status_name((xbcrypt_status)st);
        ck_assert_ptr_nonnull(n);
        ck_assert_uint_gt(strlen(n), 3);
        for (int q = XBCRYPT_OK; q < st; q++)
            ck_assert_str_ne(n, xb_status_name((xbcrypt_status)q));
    }
    ck_assert_ptr_nonnull(xb_status_name((xbcrypt_status)99));
}
END_TEST

/* ---- forged and odd headers ---- */

static long maxrss_kib(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

/* A header claiming INT_MAX payload bytes, then only a few: the decoder
 * must not allocate what the data does not back.  Runs in its own process
 * (Check forks), so ru_maxrss is this test's. */
START_TEST(test_forged_elen)
{
    static const unsigned versions[] = {1, 2, 3};
    static const unsigned threads[] = {0, 1, 4};
    for (unsigned v = 0; v < 3; v++) {
        for (unsigned t = 0; t < 3; t++) {
            uint8_t stream[44 + 16 + 100];
            memset(stream, 0x5a, sizeof stream);
            xb_header h = {.version = versions[v], .olen = INT_MAX, .elen = INT_MAX,
                           .crc = 0, .ivlen = versions[v] == 1 ? 0 : 16};
            size_t hl = xb_header_encode(stream, &h);
            size_t total = hl + (size_t)h.ivlen + 100;
            xbcrypt_settings s;
            settings(&s, threads[t], CS, key32);
            long before = maxrss_kib();
            double t0 = now_seconds();
            sink out = {0};
            run_result r;
            run_decoder(&s, stream, total, FEED_SPLIT, 0, 0, &out, &r);
            double dt = now_seconds() - t0;
            long grown = maxrss_kib() - before;
            ck_assert_int_eq(r.feed_st, XBCRYPT_OK);
            ck_assert_msg(r.finish_st == XBCRYPT_E_TRUNCATED, "v%u: %s (%s)", versions[v],
                          xb_status_name(r.finish_st), r.msg);
            ck_assert_msg(strstr(r.msg, "chunk 0 (offset 0)") != NULL, "message: %s", r.msg);
            ck_assert_uint_eq(out.len, 0);
            ck_assert_msg(dt < 2.0, "v%u threads %u took %.3f s", versions[v], threads[t], dt);
            ck_assert_msg(grown < 8 * 1024, "v%u threads %u: max RSS grew by %ld KiB",
                          versions[v], threads[t], grown);
        }
    }
    /* A version-2 IV size of INT_MAX is streamed past, not allocated. */
    uint8_t stream[44 + 200];
    memset(stream, 0, sizeof stream);
    xb_header h = {.version = 2, .olen = 10, .elen = 10, .ivlen = INT_MAX};
    xb_header_encode(stream, &h);
    xbcrypt_settings s;
    settings(&s, 2, CS, key32);
    long before = maxrss_kib();
    sink out = {0};
    run_result r;
    run_decoder(&s, stream, sizeof stream, FEED_SPLIT, 0, 0, &out, &r);
    ck_assert_int_eq(r.finish_st, XBCRYPT_E_TRUNCATED);
    ck_assert_msg(strstr(r.msg, "IV") != NULL, "message: %s", r.msg);
    ck_assert_int_lt(maxrss_kib() - before, 8 * 1024);
}
END_TEST

/* ---- memory stays bounded on a long stream ---- */

typedef struct chain {
    xbcrypt_decoder *dec;
    xbcrypt_status dec_st;
    uint64_t plain_bytes;
    uint32_t plain_crc_ok; /* every output byte matched the (i*7) mod 251 rule */
} chain;

/* Plaintext out of the decoder: checked against the rule, then dropped. */
static int check_plain(void *opaque, const void *buf, size_t len)
{
    chain *c = opaque;
    const uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        if (b[i] != (uint8_t)(((c->plain_bytes + i) * 7) % 251))
            c->plain_crc_ok = 0;
    c->plain_bytes += len;
    return 0;
}

/* Stream out of the encoder: straight into the decoder. */
static int into_decoder(void *opaque, const void *buf, size_t len)
{
    chain *c = opaque;
    c->dec_st = xb_decoder_feed(c->dec, buf, len);
    return c->dec_st == XBCRYPT_OK ? 0 : -1;
}

/* 64 MiB through an encoder chained to a decoder, nothing kept: peak RSS
 * grows by the rings ((2N+1)B+2 jobs of chunk + 100 bytes, plus the 1 MiB
 * look-ahead) of both and a few MiB, never with the stream's size.
 * _i: threads 1 or 4. */
START_TEST(test_memory_bounded)
{
    const unsigned n = _i ? 4 : 1;
    const size_t total = 64u << 20, piece = (1u << 20) + 7;
    /* The piece buffer is made before the first measurement. */
    uint8_t *buf = malloc(piece);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0, piece);
    long before = maxrss_kib();

    xbcrypt_settings s;
    settings(&s, n, 65536, key32);
    s.iv_source = NULL;
    chain c = {NULL, XBCRYPT_OK, 0, 1};
    ck_assert_int_eq(xb_decoder_new(&s, check_plain, &c, &c.dec, NULL, 0), XBCRYPT_OK);
    xbcrypt_encoder *enc = NULL;
    ck_assert_int_eq(xb_encoder_new(&s, into_decoder, &c, &enc, NULL, 0), XBCRYPT_OK);
    for (size_t pos = 0; pos < total;) {
        size_t len = piece < total - pos ? piece : total - pos;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(((pos + i) * 7) % 251);
        ck_assert_msg(xb_encoder_feed(enc, buf, len) == XBCRYPT_OK, "%s (decoder: %s)",
                      xb_encoder_message(enc), xb_decoder_message(c.dec));
        pos += len;
    }
    ck_assert_int_eq(xb_encoder_finish(enc), XBCRYPT_OK);
    ck_assert_msg(xb_decoder_finish(c.dec) == XBCRYPT_OK, "%s", xb_decoder_message(c.dec));
    ck_assert_uint_eq(c.plain_bytes, total);
    ck_assert(c.plain_crc_ok);
    long grown = maxrss_kib() - before;
    if (getenv("XB_UNIT_DEBUG"))
        fprintf(stderr, "threads %u: max RSS grew by %ld KiB\n", n, grown);
    xb_encoder_free(enc);
    xb_decoder_free(c.dec);
    free(buf);

    /* Workers take batches of B chunks ((2N+1)B+2 slots, xb_stream.h): B
     * is the hasher's lanes at 64 KiB, or 1 (then 2N+3). */
    xb_hasher *h = NULL;
    ck_assert_int_eq(xb_hasher_open(&h), XBCRYPT_OK);
    const unsigned lanes = xb_hasher_lanes(h);
    const unsigned batch = lanes >= xb_hasher_min_batch(h) ? lanes : 1;
    xb_hasher_close(h);
    const long ring_kib =
        (long)(((2 * n + 1) * batch + 2) * (65536 + 100) + (1u << 20)) / 1024;
    const long bound = 2 * ring_kib + 8 * 1024;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /* Shadow memory and quarantine make RSS meaningless here. */
    (void)grown;
    (void)bound;
#else
    ck_assert_msg(grown < bound, "threads %u: max RSS grew by %ld KiB over 64 MiB (bound %ld KiB)",
                  n, grown, bound);
#endif
}
END_TEST

/* Over-limit size fields are refused as such, before anything else. */
START_TEST(test_over_limit_header)
{
    uint8_t stream[64];
    memset(stream, 0, sizeof stream);
    xb_header h = {.version = 3, .olen = 100, .elen = (uint64_t)INT_MAX + 1, .ivlen = 16};
    xb_header_encode(stream, &h);
    xbcrypt_settings s;
    settings(&s, 2, CS, key32);
    sink out = {0};
    run_result r;
    run_decoder(&s, stream, sizeof stream, FEED_SPLIT, 0, 0, &out, &r);
    ck_assert_int_eq(r.status, XBCRYPT_E_LIMIT);
    ck_assert_msg(strstr(r.msg, "chunk 0 (offset 0)") != NULL, "message: %s", r.msg);
    ck_assert_uint_eq(out.calls, 0);
}
END_TEST

/* A version-3 chunk with no IV (as NONE writes) under AES, after a good
 * chunk: that chunk is written, then E_LIMIT naming chunk 1. */
START_TEST(test_v3_no_iv_under_aes)
{
    uint8_t *p = gen_plain(CS);
    xbcrypt_settings s;
    settings(&s, 2, CS, key32);
    sink good = {0};
    encode_ok(&s, p, CS, FEED_SPLIT, 0, 0, &good);
    size_t nlen;
    uint8_t *none = fx_read("det/none_p1023.xbcrypt", &nlen);
    uint8_t *stream = malloc(good.len + nlen);
    memcpy(stream, good.data, good.len);
    memcpy(stream + good.len, none, nlen);
    for (unsigned t = 0; t < 3; t++) {
        s.threads = t * 2;
        sink out = {0};
        run_result r;
        run_decoder(&s, stream, good.len + nlen, FEED_SPLIT, 0, 0, &out, &r);
        ck_assert_msg(r.status == XBCRYPT_E_LIMIT, "%s (%s)", xb_status_name(r.status), r.msg);
        assert_bytes_eq(out.data, out.len, p, CS, "chunk 0");
        char where[48];
        snprintf(where, sizeof where, "chunk 1 (offset %zu)", good.len);
        ck_assert_msg(strstr(r.msg, where) != NULL, "message \"%s\" lacks \"%s\"", r.msg, where);
        sink_free(&out);
    }
    free(stream);
    free(none);
    sink_free(&good);
    free(p);
}
END_TEST

/* Chunks of zero plaintext bytes (v1 elen 0, v3 elen 32) are valid; olen
 * disagreeing with elen is counted, not refused. */
START_TEST(test_empty_chunks_and_olen)
{
    uint8_t stream[200];
    size_t n = 0;
    xb_header h = {.version = 1, .olen = 0, .elen = 0, .crc = 0};
    n += xb_header_encode(stream + n, &h);
    /* A v3 NONE chunk of empty plaintext: payload = SHA-256(""). */
    uint8_t digest[32];
    xb_sha256(digest, "", 0);
    h = (xb_header){.version = 3, .olen = 32, .elen = 32, .crc = xb_crc32(digest, 32), .ivlen = 0};
    n += xb_header_encode(stream + n, &h);
    memcpy(stream + n, digest, 32);
    n += 32;
    /* A v1 chunk "abc" whose olen says 7. */
    h = (xb_header){.version = 1, .olen = 7, .elen = 3, .crc = xb_crc32("abc", 3)};
    n += xb_header_encode(stream + n, &h);
    memcpy(stream + n, "abc", 3);
    n += 3;

    xbcrypt_settings s;
    xb_settings_default(&s);
    s.algo = XBCRYPT_ALGO_NONE;
    for (unsigned t = 0; t < 3; t++) {
        s.threads = t;
        sink out = {0};
        run_result r;
        run_decoder(&s, stream, n, FEED_SPLIT, 1, 0, &out, &r);
        ck_assert_msg(r.status == XBCRYPT_OK, "%s", r.msg);
        ck_assert_uint_eq(out.len, 3);
        ck_assert_int_eq(memcmp(out.data, "abc", 3), 0);
        ck_assert_uint_eq(r.stats.chunks, 3);
        ck_assert_uint_eq(r.stats.hashed_chunks, 1);
        ck_assert_uint_eq(r.stats.size_mismatches, 1);
        ck_assert_uint_eq(r.stats.versions_seen, (1u << 1) | (1u << 3));
        /* The v1 chunk after the v3 one is a downgrade, counted. */
        ck_assert_uint_eq(r.stats.downgrades, 1);
        ck_assert_uint_eq(r.stats.first_downgrade_index, 2);
        ck_assert_uint_eq(r.stats.first_downgrade_offset, 36 + 44 + 32);
        sink_free(&out);
    }
}
END_TEST

/* Appends a NONE chunk of `p` of format version `v` to stream[*n]. */
static void put_none_chunk(uint8_t *stream, size_t *n, unsigned v, const char *p)
{
    size_t len = strlen(p);
    uint8_t payload[64];
    memcpy(payload, p, len);
    if (v == 3) {
        xb_sha256(payload + len, p, len);
        len += 32;
    }
    xb_header h = {.version = v, .olen = len, .elen = len, .crc = xb_crc32(payload, len)};
    *n += xb_header_encode(stream + *n, &h);
    memcpy(stream + *n, payload, len);
    *n += len;
}

/* Versions 1, 2, 3 in the order writers moved is no downgrade; a legacy
 * chunk after a version-3 one is, counted with the first index and offset,
 * and still released. */
START_TEST(test_legacy_downgrade)
{
    static const struct {
        const char *versions; /* of the chunks, in stream order */
        uint64_t downgrades, first;
    } cases[] = {
        {"123", 0, 0}, {"1123", 0, 0}, {"21", 0, 0}, {"31", 1, 1},
        {"3323", 1, 2}, {"3312", 2, 2}, {"1233", 0, 0}, {"3", 0, 0},
    };
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.algo = XBCRYPT_ALGO_NONE;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t stream[512];
        size_t n = 0, offsets[8];
        const char *vs = cases[c].versions;
        for (size_t i = 0; vs[i]; i++) {
            offsets[i] = n;
            put_none_chunk(stream, &n, (unsigned)(vs[i] - '0'), "abc");
        }
        for (unsigned t = 1; t <= 3; t += 2) {
            s.threads = t;
            sink out = {0};
            run_result r;
            run_decoder(&s, stream, n, FEED_SPLIT, 1, 0, &out, &r);
            ck_assert_msg(r.status == XBCRYPT_OK, "%s: %s", vs, r.msg);
            ck_assert_uint_eq(out.len, 3 * strlen(vs));
            ck_assert_uint_eq(r.stats.chunks, strlen(vs));
            ck_assert_msg(r.stats.downgrades == cases[c].downgrades, "%s: %llu downgrades", vs,
                          (unsigned long long)r.stats.downgrades);
            if (cases[c].downgrades) {
                ck_assert_uint_eq(r.stats.first_downgrade_index, cases[c].first);
                ck_assert_uint_eq(r.stats.first_downgrade_offset, offsets[cases[c].first]);
            }
            sink_free(&out);
        }
    }
}
END_TEST

/* ---- the chunk callback and the totals ---- */

static void check_log(const chunk_log *log, const sink *stream, const size_t *sizes, unsigned n,
                      bool hashed)
{
    ck_assert_uint_eq(log->n, n);
    uint64_t off = 0;
    for (unsigned c = 0; c < n; c++) {
        const xbcrypt_chunk_info *ci = &log->info[c];
        ck_assert_uint_ge(ci->struct_size, sizeof *ci);
        ck_assert_uint_eq(ci->index, c);
        ck_assert_uint_eq(ci->offset, off);
        ck_assert_uint_eq(ci->version, 3);
        ck_assert_uint_eq(ci->plaintext_size, sizes[c]);
        ck_assert_uint_eq(ci->original_size, sizes[c] + 32);
        ck_assert_uint_eq(ci->encrypted_size, sizes[c] + 32);
        ck_assert_uint_eq(ci->iv_size, 16);
        uint8_t iv[16];
        det_iv_bytes(c, iv);
        assert_bytes_eq(ci->iv, 16, iv, 16, "IV");
        ck_assert_uint_eq(ci->crc, xb_load_le32(stream->data + off + 32));
        assert_bytes_eq(ci->iv, 16, stream->data + off + 44, 16, "IV in the stream");
        ck_assert_int_eq(ci->hash_checked, hashed);
        off += 60 + sizes[c] + 32;
    }
    ck_assert_uint_eq(off, stream->len);
}

START_TEST(test_chunk_callback_and_stats)
{
    /* read_buffer_size 3000 with chunk 1024: 1024, 1024, 952, repeated. */
    const size_t len = 4 * 3000 + 100;
    size_t sizes[16];
    unsigned n = 0;
    for (size_t pos = 0; pos < len;) {
        size_t in_piece = 3000 - pos % 3000, c = in_piece < CS ? in_piece : CS;
        if (c > len - pos)
            c = len - pos;
        sizes[n++] = c;
        pos += c;
    }
    ck_assert_uint_eq(n, 13);
    ck_assert_uint_eq(sizes[2], 952);
    uint8_t *p = gen_plain(len);
    for (unsigned t = 0; t < 3; t++) {
        xbcrypt_settings s;
        settings(&s, t * 4, CS, key32);
        s.read_buffer_size = 3000;
        chunk_log *log = calloc(1, sizeof *log);
        s.on_chunk = chunk_log_fn;
        s.chunk_opaque = log;
        sink enc = {0};
        run_result r;
        run_encoder(&s, p, len, FEED_RANDOM, 500, t, &enc, &r);
        ck_assert_msg(r.status == XBCRYPT_OK, "%s", r.msg);
        check_log(log, &enc, sizes, n, true);
        ck_assert_uint_eq(r.stats.chunks, n);
        ck_assert_uint_eq(r.stats.bytes_in, len);
        ck_assert_uint_eq(r.stats.plaintext_bytes, len);
        ck_assert_uint_eq(r.stats.encrypted_bytes, enc.len);
        ck_assert_uint_eq(r.stats.versions_seen, 1u << 3);
        ck_assert_uint_eq(r.stats.hashed_chunks, n);
        ck_assert_uint_eq(r.stats.size_mismatches, 0);

        memset(log, 0, sizeof *log);
        sink dec = {0};
        run_decoder(&s, enc.data, enc.len, FEED_RANDOM, 500, t, &dec, &r);
        ck_assert_msg(r.status == XBCRYPT_OK, "%s", r.msg);
        assert_bytes_eq(dec.data, dec.len, p, len, "decrypted");
        check_log(log, &enc, sizes, n, true);
        ck_assert_uint_eq(r.stats.chunks, n);
        ck_assert_uint_eq(r.stats.bytes_in, enc.len);
        ck_assert_uint_eq(r.stats.plaintext_bytes, len);
        ck_assert_uint_eq(r.stats.encrypted_bytes, enc.len);
        ck_assert_uint_eq(r.stats.versions_seen, 1u << 3);
        ck_assert_uint_eq(r.stats.hashed_chunks, n);

        /* Verify-only without a key: CRCs only, nothing hashed. */
        memset(log, 0, sizeof *log);
        s.key = NULL;
        xbcrypt_decoder *v = NULL;
        ck_assert_int_eq(xb_decoder_new(&s, NULL, NULL, &v, NULL, 0), XBCRYPT_OK);
        ck_assert_int_eq(xb_decoder_feed(v, enc.data, enc.len), XBCRYPT_OK);
        ck_assert_int_eq(xb_decoder_finish(v), XBCRYPT_OK);
        xbcrypt_stats st = {.struct_size = sizeof st};
        xb_decoder_stats(v, &st);
        ck_assert_uint_eq(st.chunks, n);
        ck_assert_uint_eq(st.hashed_chunks, 0);
        check_log(log, &enc, sizes, n, false);
        xb_decoder_free(v);

        /* A short stats struct gets only its own fields. */
        xbcrypt_stats small;
        memset(&small, 0xee, sizeof small);
        small.struct_size = offsetof(xbcrypt_stats, bytes_in);
        ck_assert_int_eq(xb_decoder_new(&s, NULL, NULL, &v, NULL, 0), XBCRYPT_OK);
        xb_decoder_stats(v, &small);
        ck_assert_uint_eq(small.struct_size, offsetof(xbcrypt_stats, bytes_in));
        ck_assert_uint_eq(small.chunks, 0);
        ck_assert_uint_eq(small.bytes_in, 0xeeeeeeeeeeeeeeeeu);
        xb_decoder_free(v);

        free(log);
        sink_free(&enc);
        sink_free(&dec);
    }
    free(p);
}
END_TEST

/* Freeing mid-stream, with jobs in flight, leaks and hangs nothing. */
START_TEST(test_free_mid_stream)
{
    const size_t len = NCH * CS;
    uint8_t *p = gen_plain(len);
    for (unsigned t = 0; t <= 8; t += 4) {
        xbcrypt_settings s;
        settings(&s, t, CS, key32);
        sink out = {0};
        xbcrypt_encoder *enc = NULL;
        ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, NULL, 0), XBCRYPT_OK);
        ck_assert_int_eq(xb_encoder_feed(enc, p, len - 100), XBCRYPT_OK);
        xb_encoder_free(enc);
        ck_assert_uint_eq(out.len % REC, 0); /* only whole chunks went out */
        if (t == 0)
            ck_assert_uint_eq(out.len, (NCH - 1) * REC); /* no threads: written as made */
        if (out.len == 0) {
            sink_free(&out);
            continue;
        }

        sink plain = {0};
        xbcrypt_decoder *dec = NULL;
        ck_assert_int_eq(xb_decoder_new(&s, sink_write, &plain, &dec, NULL, 0), XBCRYPT_OK);
        ck_assert_int_eq(xb_decoder_feed(dec, out.data, out.len / 2 + 3), XBCRYPT_OK);
        xb_decoder_free(dec);
        ck_assert_uint_eq(plain.len % CS, 0);
        assert_bytes_eq(plain.data, plain.len, p, plain.len, "prefix");
        sink_free(&out);
        sink_free(&plain);
    }
    free(p);
}
END_TEST

/* Several encoders and decoders on different threads at once, sharing one
 * key read-only. */
typedef struct concurrent_job {
    const uint8_t *plain;
    size_t len;
    const uint8_t *ref;
    size_t ref_len;
    unsigned threads;
    int ok;
} concurrent_job;

static void *concurrent_main(void *arg)
{
    concurrent_job *j = arg;
    xbcrypt_settings s;
    settings(&s, j->threads, CS, key32);
    sink enc = {0}, dec = {0};
    xbcrypt_encoder *e = NULL;
    xbcrypt_decoder *d = NULL;
    j->ok = xb_encoder_new(&s, sink_write, &enc, &e, NULL, 0) == XBCRYPT_OK &&
            xb_encoder_feed(e, j->plain, j->len) == XBCRYPT_OK &&
            xb_encoder_finish(e) == XBCRYPT_OK && enc.len == j->ref_len &&
            memcmp(enc.data, j->ref, enc.len) == 0 &&
            xb_decoder_new(&s, sink_write, &dec, &d, NULL, 0) == XBCRYPT_OK &&
            xb_decoder_feed(d, enc.data, enc.len) == XBCRYPT_OK &&
            xb_decoder_finish(d) == XBCRYPT_OK && dec.len == j->len &&
            memcmp(dec.data, j->plain, j->len) == 0;
    xb_encoder_free(e);
    xb_decoder_free(d);
    sink_free(&enc);
    sink_free(&dec);
    return NULL;
}

START_TEST(test_concurrent_objects)
{
    const size_t len = NCH * CS + 77;
    uint8_t *p = gen_plain(len);
    xbcrypt_settings s;
    settings(&s, 1, CS, key32);
    sink ref = {0};
    encode_ok(&s, p, len, FEED_SPLIT, 0, 0, &ref);
    concurrent_job jobs[4];
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++) {
        jobs[i] = (concurrent_job){p, len, ref.data, ref.len, i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, concurrent_main, &jobs[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(jobs[i].ok, "object set %u (threads %u) failed", i, jobs[i].threads);
    }
    sink_free(&ref);
    free(p);
}
END_TEST

static Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("round_trip");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_round_trip_threads, 0, 17);
    tcase_add_test(tc, test_round_trip_default_chunk);
    tcase_add_test(tc, test_concurrent_objects);
    suite_add_tcase(s, tc);

    tc = tcase_create("short_reads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_short_pieces, 0, (int)(sizeof sr_threads / sizeof sr_threads[0]));
    tcase_add_loop_test(tc, test_real_pipe, 0, 2);
    tcase_add_loop_test(tc, test_shared_input, 0, (int)(sizeof sr_threads / sizeof sr_threads[0]));
    tcase_add_test(tc, test_shared_input_no_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_worker_failure, 0, DMG_COUNT * 4 * 3);
    tcase_add_loop_test(tc, test_two_faults_in_a_batch, 0, 9);
    tcase_add_test(tc, test_failure_is_sticky);
    tcase_add_loop_test(tc, test_write_failure, 0, 24);
    tcase_add_test(tc, test_iv_source_failure);
    tcase_add_test(tc, test_free_mid_stream);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_null_args);
    tcase_add_test(tc, test_calls_after_finish);
    tcase_add_test(tc, test_commit_more_than_offered);
    tcase_add_test(tc, test_commit_more_than_offered_payload);
    tcase_add_test(tc, test_settings_refused);
    tcase_add_test(tc, test_status_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_forged_elen);
    tcase_add_test(tc, test_over_limit_header);
    tcase_add_test(tc, test_v3_no_iv_under_aes);
    tcase_add_test(tc, test_empty_chunks_and_olen);
    tcase_add_test(tc, test_legacy_downgrade);
    tcase_add_test(tc, test_chunk_callback_and_stats);
    suite_add_tcase(s, tc);

    tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_memory_bounded, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(pipeline_suite());
}
