/*
 * fuzz_decoder.c - the whole decoder (plugin/pipeline) on arbitrary streams.
 *
 * Input: one control byte, then the stream.
 *
 *   bit 0     threads 2 (else 0) for the decoder that writes plaintext; the
 *             verify-only decoder takes the other count, so every input
 *             also compares the two thread modes
 *   bit 1     feed through the zero-copy buffer()/commit() path (else feed())
 *   bit 2     algo NONE, no key (else AES256 with the fixed key below)
 *   bits 3-4  both set: the write callback fails at its 1st..3rd call
 *   bits 5-7  how the stream is split into calls: all at once, 1 byte at a
 *             time, or pieces of up to 7, 64, 1000, 5000, 70000 or 2^20
 *             bytes, their sizes drawn from a generator seeded by the
 *             control byte and the length
 *
 * Two decoders see each input.  The first, with the key of
 * fixtures/keys/key32.bin (so the seeds made from fixtures/det/aes256_*
 * decrypt), writes plaintext to a counting sink.  The second has no key
 * and no write callback: it verifies structure and CRCs only.
 *
 * Invariants (abort() when one fails):
 *  - no byte is written that the stream does not back: plaintext written
 *    <= stream bytes fed, and it equals stats.plaintext_bytes;
 *  - every status is one a decoder may report for its input; once an
 *    error is reported, finish() and later calls return that same error,
 *    and the message is non-empty exactly when the status is not OK;
 *  - after a successful finish the stream is, by an independent walk over
 *    its headers, a whole sequence of well-formed chunks: the chunk count,
 *    the bytes verified and the plaintext size agree with that walk;
 *  - a stream the keyed decoder accepts, the verify-only decoder accepts
 *    with the same chunk count; a structural or CRC error (bad magic, CRC,
 *    truncation) is the same error for both, whatever their threads;
 *  - the zero-copy path never offers 0 bytes of room while the decoder is
 *    healthy, and the room it offers is really there (it is filled).
 */
#include "fuzz_harness.h"
#include "xb_engine.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

/* fixtures/keys/key32.bin */
static const uint8_t fuzz_key[32] = {
    0x63, 0x8d, 0x70, 0x1b, 0xf6, 0x0f, 0xd2, 0x57, 0x2c, 0x0b, 0xd9, 0x85, 0xfb, 0x96, 0x46, 0x20,
    0x10, 0x6c, 0xb7, 0xce, 0xfd, 0xf5, 0xce, 0xc9, 0xc3, 0x27, 0x34, 0xbb, 0x0d, 0x50, 0x85, 0x70,
};

#define WRITE_FAIL_CODE (-77)

struct sink {
    uint64_t written;  /* bytes of successful calls */
    uint64_t calls;
    uint64_t fail_at;  /* 1-based call that fails; 0 = never */
    bool failed;
    uint8_t fold;      /* every byte is read, so a sanitizer sees a bad buffer */
};

static int sink_write(void *opaque, const void *buf, size_t len)
{
    struct sink *s = opaque;
    CHECK(buf != NULL && len > 0);
    s->calls++;
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        s->fold ^= p[i];
    if (s->fail_at && s->calls == s->fail_at) {
        s->failed = true;
        return WRITE_FAIL_CODE;
    }
    s->written += len;
    return 0;
}

static uint32_t next_rand(uint32_t *x)
{
    /* xorshift32 */
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static const size_t piece_max[8] = {0, 1, 7, 64, 1000, 5000, 70000, (size_t)1 << 20};

/* The result of one decoder over the stream. */
struct run {
    xbcrypt_status fed;      /* first error a feed/commit returned, or OK */
    xbcrypt_status finished; /* what finish() returned */
    xbcrypt_stats stats;
    uint64_t committed;      /* stream bytes handed over before the first error */
};

static bool decode_time_status(xbcrypt_status st)
{
    switch (st) {
    case XBCRYPT_OK:
    case XBCRYPT_E_MAGIC:
    case XBCRYPT_E_LIMIT:
    case XBCRYPT_E_CRC:
    case XBCRYPT_E_HASH:
    case XBCRYPT_E_WRONG_KEY:
    case XBCRYPT_E_TRUNCATED:
    case XBCRYPT_E_WRITE:
        return true;
    default:
        return false;
    }
}

static void check_message(const xbcrypt_decoder *dec, xbcrypt_status st)
{
    CHECK(xb_decoder_status(dec) == st);
    const char *m = xb_decoder_message(dec);
    CHECK(m != NULL);
    CHECK(st == XBCRYPT_OK ? m[0] == '\0' : m[0] != '\0');
    CHECK(strlen(m) < 1024);
}

static void run_decoder(xbcrypt_decoder *dec, const uint8_t *p, size_t n, uint8_t ctl, bool zero_copy,
                        struct run *out)
{
    uint32_t rng = 0x9e3779b9u ^ (uint32_t)ctl << 24 ^ (uint32_t)n;
    const size_t maxp = piece_max[ctl >> 5];
    size_t off = 0;
    out->fed = XBCRYPT_OK;
    out->committed = 0;
    while (off < n) {
        size_t piece = maxp ? 1 + next_rand(&rng) % maxp : n - off;
        if (piece > n - off)
            piece = n - off;
        xbcrypt_status st;
        if (!zero_copy) {
            st = xb_decoder_feed(dec, p + off, piece);
            if (st == XBCRYPT_OK)
                out->committed += piece;
        } else {
            void *room = NULL;
            size_t avail = 0;
            st = xb_decoder_buffer(dec, &room, &avail);
            if (st == XBCRYPT_OK) {
                CHECK(room != NULL && avail > 0);
                memset(room, 0xa5, avail);
                if (piece > avail)
                    piece = avail;
                memcpy(room, p + off, piece);
                st = xb_decoder_commit(dec, piece);
                if (st == XBCRYPT_OK)
                    out->committed += piece;
            } else {
                CHECK(room == NULL && avail == 0);
            }
        }
        if (st != XBCRYPT_OK) {
            CHECK(decode_time_status(st));
            check_message(dec, st);
            out->fed = st;
            break;
        }
        off += piece;
    }
    out->finished = xb_decoder_finish(dec);
    CHECK(decode_time_status(out->finished));
    check_message(dec, out->finished);
    /* The first error stays the error. */
    if (out->fed != XBCRYPT_OK)
        CHECK(out->finished == out->fed);
    /* After finish nothing more is taken. */
    const uint8_t one = 0;
    const xbcrypt_status again = xb_decoder_feed(dec, &one, 1);
    CHECK(again == (out->finished == XBCRYPT_OK ? XBCRYPT_E_STATE : out->finished));
    if (out->finished == XBCRYPT_OK)
        CHECK(xb_decoder_finish(dec) == XBCRYPT_E_STATE);
    memset(&out->stats, 0, sizeof out->stats);
    out->stats.struct_size = sizeof out->stats;
    xb_decoder_stats(dec, &out->stats);
    CHECK(out->stats.bytes_in <= n);
    CHECK(out->stats.encrypted_bytes <= out->stats.bytes_in);
    CHECK(out->stats.plaintext_bytes <= out->stats.encrypted_bytes);
    CHECK(out->stats.hashed_chunks <= out->stats.chunks);
}

/* What an independent walk over the headers says a whole stream holds. */
struct walk {
    bool whole;          /* well-formed chunks, ending exactly at the end */
    uint64_t chunks;
    uint64_t plaintext;
};

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static struct walk walk_stream(const uint8_t *p, size_t n, bool aes)
{
    struct walk w = {false, 0, 0};
    size_t pos = 0;
    while (pos < n) {
        if (n - pos < 8 || memcmp(p + pos, "XBCRYP0", 7) != 0)
            return w;
        const unsigned v = p[pos + 7] >= '1' && p[pos + 7] <= '3' ? (unsigned)(p[pos + 7] - '0') : 0;
        const size_t hsz = v == 1 ? 36 : 44;
        if (!v || n - pos < hsz)
            return w;
        const uint64_t olen = le(p + pos + 16, 8), elen = le(p + pos + 24, 8);
        const uint64_t ivlen = v == 1 ? 0 : le(p + pos + 36, 8);
        if (olen > 2147483647u || elen > 2147483647u || ivlen > 2147483647u)
            return w;
        if (v == 3 && (elen < 32 || (ivlen != 0 && ivlen != 16) || (aes && ivlen != 16)))
            return w;
        if (n - pos - hsz < ivlen + elen)
            return w;
        pos += hsz + (size_t)ivlen + (size_t)elen;
        w.chunks++;
        w.plaintext += v == 3 ? elen - 32 : elen;
    }
    w.whole = true;
    return w;
}

static xbcrypt_settings settings(xbcrypt_algo algo, const xbcrypt_key *key, unsigned threads)
{
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.algo = algo;
    s.key = key;
    s.threads = threads;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t ctl = data[0];
    const uint8_t *stream = data + 1;
    const size_t n = size - 1;
    const unsigned threads = ctl & 1 ? 2 : 0;
    const bool zero_copy = ctl & 2;
    const bool none = ctl & 4;
    const bool write_fails = (ctl & 0x18) == 0x18;

    xbcrypt_key *key = NULL;
    char msg[256];
    if (!none)
        CHECK(xb_key_from_bytes(fuzz_key, sizeof fuzz_key, &key, msg, sizeof msg) == XBCRYPT_OK);

    /* 1. The decoder that writes plaintext. */
    struct sink sink = {0, 0, 0, false, 0};
    if (write_fails)
        sink.fail_at = 1 + (n + ctl) % 3;
    xbcrypt_settings s = settings(none ? XBCRYPT_ALGO_NONE : XBCRYPT_ALGO_AES256, key, threads);
    xbcrypt_decoder *dec = NULL;
    CHECK(xb_decoder_new(&s, sink_write, &sink, &dec, msg, sizeof msg) == XBCRYPT_OK);
    CHECK(dec != NULL);
    struct run a;
    run_decoder(dec, stream, n, ctl, zero_copy, &a);
    xb_decoder_free(dec);

    CHECK(sink.written <= n);
    CHECK(sink.written == a.stats.plaintext_bytes);
    CHECK((a.finished == XBCRYPT_E_WRITE) == sink.failed);
    if (none)
        CHECK(a.stats.hashed_chunks <= a.stats.chunks);
    const struct walk w = walk_stream(stream, n, !none);
    if (a.finished == XBCRYPT_OK) {
        CHECK(w.whole);
        CHECK(a.committed == n && a.stats.bytes_in == n);
        CHECK(a.stats.encrypted_bytes == n);
        CHECK(a.stats.chunks == w.chunks);
        CHECK(a.stats.plaintext_bytes == w.plaintext);
    }

    /* 2. Verify only: no key, no output, the other thread count. */
    xbcrypt_settings sv = settings(XBCRYPT_ALGO_AES256, NULL, threads ? 0 : 2);
    xbcrypt_decoder *ver = NULL;
    CHECK(xb_decoder_new(&sv, NULL, NULL, &ver, msg, sizeof msg) == XBCRYPT_OK);
    struct run b;
    run_decoder(ver, stream, n, ctl, zero_copy, &b);
    xb_decoder_free(ver);
    CHECK(b.finished != XBCRYPT_E_WRITE && b.finished != XBCRYPT_E_HASH &&
          b.finished != XBCRYPT_E_WRONG_KEY);
    CHECK(b.stats.hashed_chunks == 0);
    CHECK(b.stats.plaintext_bytes <= n);
    if (b.finished == XBCRYPT_OK) {
        const struct walk wv = walk_stream(stream, n, false);
        CHECK(wv.whole && b.stats.chunks == wv.chunks && b.stats.encrypted_bytes == n);
    }
    if (a.finished == XBCRYPT_OK) {
        CHECK(b.finished == XBCRYPT_OK);
        CHECK(b.stats.chunks == a.stats.chunks);
    }
    if (!write_fails && (a.finished == XBCRYPT_E_MAGIC || a.finished == XBCRYPT_E_CRC ||
                         a.finished == XBCRYPT_E_TRUNCATED))
        CHECK(b.finished == a.finished && b.stats.chunks == a.stats.chunks);

    xb_key_free(key);
    return 0;
}
