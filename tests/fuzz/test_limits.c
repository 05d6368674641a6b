/*
 * test_limits.c - the format's limits are named errors, not assertions
 * (issue 5, "truthful limits"), and memory follows what arrived.
 *
 * Each case feeds the decoder a stream made here byte by byte: a header
 * that breaks one rule, alone (chunk 0, offset 0) and after one valid chunk
 * (fixtures/det/aes256_p1.xbcrypt: chunk 1, offset 93).  It asserts the
 * status (XBCRYPT_E_LIMIT), the reason and the place in the message, that
 * no plaintext byte of the bad chunk is written (the valid chunk before it
 * is), and that the decoder with a key, the verify-only decoder and the
 * NONE decoder agree.  The same streams, with a leading control byte 0x00,
 * are seeds fixtures/fuzz/decoder/limit-* (tests/fuzz/make_seeds.py).
 *
 * The memory cases declare a payload of INT_MAX bytes and send a little of
 * it: the decoder must answer "truncated", not fail to allocate or hold
 * INT_MAX bytes; mallinfo2() measures what the heap holds while the decoder
 * is alive (a sanitizer's allocator reports zeros: the check is then moot,
 * and the fuzzers' -malloc_limit_mb covers it).
 */
#include "xb_engine.h"

#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#ifndef XB_FIXTURES_DIR
#error "XB_FIXTURES_DIR must name the fixtures directory"
#endif

static uint8_t *read_fixture(const char *rel, size_t *len)
{
    const char *dir = getenv("XB_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : XB_FIXTURES_DIR, rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t *buf = malloc(1 << 16);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* A header of `version` (no IV, no payload); returns its size. */
static size_t header(uint8_t *out, unsigned version, uint64_t olen, uint64_t elen, uint64_t ivlen)
{
    memcpy(out, "XBCRYP0", 7);
    out[7] = (uint8_t)('0' + version);
    put_le(out + 8, 0, 8);
    put_le(out + 16, olen, 8);
    put_le(out + 24, elen, 8);
    put_le(out + 32, 0, 4);
    if (version == 1)
        return 36;
    put_le(out + 36, ivlen, 8);
    return 44;
}

struct count {
    uint64_t bytes;
};

static int count_write(void *opaque, const void *buf, size_t len)
{
    (void)buf;
    ((struct count *)opaque)->bytes += len;
    return 0;
}

enum mode { KEYED, VERIFY, NONE };

struct result {
    xbcrypt_status status;
    char msg[512];
    uint64_t written;
    uint64_t chunks;
};

static struct result decode(enum mode mode, const uint8_t *p, size_t n, unsigned threads)
{
    static const char key_rel[] = "keys/key32.bin";
    size_t klen = 0;
    uint8_t *kbytes = read_fixture(key_rel, &klen);
    xbcrypt_key *key = NULL;
    char msg[256];
    ck_assert_int_eq(xb_key_from_bytes(kbytes, klen, &key, msg, sizeof msg), XBCRYPT_OK);
    free(kbytes);

    xbcrypt_settings s;
    xb_settings_default(&s);
    s.algo = mode == NONE ? XBCRYPT_ALGO_NONE : XBCRYPT_ALGO_AES256;
    s.key = mode == KEYED ? key : NULL;
    s.threads = threads;
    struct count c = {0};
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, mode == VERIFY ? NULL : count_write, &c, &dec, msg,
                                    sizeof msg),
                     XBCRYPT_OK);
    struct result r;
    xbcrypt_status st = xb_decoder_feed(dec, p, n);
    xbcrypt_status fin = xb_decoder_finish(dec);
    if (st != XBCRYPT_OK)
        ck_assert_int_eq(fin, st);
    r.status = fin;
    snprintf(r.msg, sizeof r.msg, "%s", xb_decoder_message(dec));
    r.written = c.bytes;
    xbcrypt_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    xb_decoder_stats(dec, &stats);
    r.chunks = stats.chunks;
    xb_decoder_free(dec);
    xb_key_free(key);
    return r;
}

/*
 * Feeds `bad` (a header and whatever follows) alone and after one valid
 * chunk, with each decoder, and checks the named error.  `keyed_only`:
 * the rule is one of decryption (the verify-only and NONE decoders accept
 * the header).
 */
static void expect_limit(const uint8_t *bad, size_t bad_len, const char *reason, bool keyed_only)
{
    size_t vlen = 0;
    uint8_t *valid = read_fixture("det/aes256_p1.xbcrypt", &vlen);
    ck_assert_uint_eq(vlen, 93);
    uint8_t *both = malloc(vlen + bad_len);
    ck_assert_ptr_nonnull(both);
    memcpy(both, valid, vlen);
    memcpy(both + vlen, bad, bad_len);

    for (int m = KEYED; m <= NONE; m++) {
        if (keyed_only && m != KEYED)
            continue;
        for (unsigned threads = 0; threads <= 2; threads += 2) {
            struct result r = decode((enum mode)m, bad, bad_len, threads);
            ck_assert_msg(r.status == XBCRYPT_E_LIMIT, "mode %d: status %d (%s), want E_LIMIT",
                          m, (int)r.status, r.msg);
            ck_assert_msg(strstr(r.msg, reason) != NULL, "message '%s' lacks '%s'", r.msg, reason);
            ck_assert_msg(strstr(r.msg, "chunk 0 (offset 0)") != NULL, "message '%s'", r.msg);
            ck_assert_uint_eq(r.written, 0);
            ck_assert_uint_eq(r.chunks, 0);

            if (m == NONE)
                continue; /* the valid chunk is AES: NONE calls it a wrong key */
            r = decode((enum mode)m, both, vlen + bad_len, threads);
            ck_assert_msg(r.status == XBCRYPT_E_LIMIT, "mode %d after a chunk: status %d (%s)",
                          m, (int)r.status, r.msg);
            ck_assert_msg(strstr(r.msg, reason) != NULL, "message '%s' lacks '%s'", r.msg, reason);
            ck_assert_msg(strstr(r.msg, "chunk 1 (offset 93)") != NULL, "message '%s'", r.msg);
            ck_assert_uint_eq(r.written, m == KEYED ? 1 : 0); /* the valid chunk only */
            ck_assert_uint_eq(r.chunks, 1);
        }
    }
    free(both);
    free(valid);
}

START_TEST(test_chunk_size_above_int_max)
{
    uint8_t h[64];
    const uint64_t big[] = {(uint64_t)INT_MAX + 1, UINT32_MAX, (uint64_t)1 << 40, UINT64_MAX};
    for (unsigned i = 0; i < sizeof big / sizeof big[0]; i++) {
        /* The encrypted (payload) size, each version. */
        for (unsigned v = 1; v <= 3; v++) {
            size_t n = header(h, v, 1024, big[i], v == 1 ? 0 : 16);
            expect_limit(h, n, "encrypted size above INT_MAX", false);
        }
        /* The original size. */
        size_t n = header(h, 3, big[i], 1056, 16);
        expect_limit(h, n, "original size above INT_MAX", false);
        /* The IV size of version 2. */
        n = header(h, 2, 1024, 1024, big[i]);
        expect_limit(h, n, "IV size above INT_MAX", false);
    }
}
END_TEST

START_TEST(test_v3_iv_size)
{
    uint8_t h[64];
    const uint64_t bad[] = {1, 8, 15, 17, 32, 4096, INT_MAX};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = header(h, 3, 33, 33, bad[i]);
        expect_limit(h, n, "version-3 IV size is neither 0 nor 16", false);
    }
    /* 0 is the NONE writers' size: fine to verify, no IV to decrypt with. */
    size_t n = header(h, 3, 33, 33, 0);
    expect_limit(h, n, "version-3 chunk without an IV cannot be decrypted", true);
}
END_TEST

START_TEST(test_payload_shorter_than_hash)
{
    uint8_t h[64];
    for (uint64_t elen = 1; elen < 32; elen += 5) {
        size_t n = header(h, 3, elen, elen, 16);
        expect_limit(h, n, "version-3 payload shorter than its 32-byte SHA-256", false);
    }
}
END_TEST

START_TEST(test_zero_length_v3_chunk)
{
    uint8_t h[64];
    size_t n = header(h, 3, 0, 0, 16);
    expect_limit(h, n, "version-3 payload shorter than its 32-byte SHA-256", false);
    n = header(h, 3, 0, 0, 0);
    expect_limit(h, n, "version-3 payload shorter than its 32-byte SHA-256", false);
}
END_TEST

#ifdef HAVE_MALLINFO2
static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#endif

/* Declares INT_MAX payload bytes and sends `sent` of them. */
static void bounded_by_arrival(unsigned version, size_t sent)
{
    const size_t hsz = version == 1 ? 36 : 44, ivlen = version == 1 ? 0 : 16;
    const size_t n = hsz + ivlen + sent;
    uint8_t *p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    header(p, version, INT_MAX, INT_MAX, ivlen);

    size_t klen = 0;
    uint8_t *kbytes = read_fixture("keys/key32.bin", &klen);
    xbcrypt_key *key = NULL;
    char msg[256];
    ck_assert_int_eq(xb_key_from_bytes(kbytes, klen, &key, msg, sizeof msg), XBCRYPT_OK);
    free(kbytes);
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.key = key;
    s.threads = 0;
    struct count c = {0};
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, count_write, &c, &dec, msg, sizeof msg), XBCRYPT_OK);
#ifdef HAVE_MALLINFO2
    const size_t before = heap_bytes();
#endif
    /* In pieces, as a pipe would bring them. */
    for (size_t off = 0; off < n; off += 65536) {
        size_t piece = n - off < 65536 ? n - off : 65536;
        ck_assert_int_eq(xb_decoder_feed(dec, p + off, piece), XBCRYPT_OK);
    }
#ifdef HAVE_MALLINFO2
    const size_t after = heap_bytes();
    /* At most twice what arrived, plus the first step and slack. */
    const size_t allowed = 2 * sent + ((size_t)4 << 20);
    ck_assert_msg(after < before || after - before <= allowed,
                  "decoder holds %zu bytes for %zu bytes of payload", after - before, sent);
#endif
    ck_assert_int_eq(xb_decoder_finish(dec), XBCRYPT_E_TRUNCATED);
    ck_assert_msg(strstr(xb_decoder_message(dec), "the stream ends inside a chunk's payload") !=
                      NULL,
                  "message '%s'", xb_decoder_message(dec));
    ck_assert_uint_eq(c.bytes, 0);
    xb_decoder_free(dec);
    xb_key_free(key);
    free(p);
}

START_TEST(test_memory_follows_arrival)
{
    bounded_by_arrival(3, 100);
    bounded_by_arrival(3, (size_t)3 << 20);
    bounded_by_arrival(1, (size_t)5 << 20);
    bounded_by_arrival(2, 4096);
}
END_TEST

static Suite *limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_chunk_size_above_int_max);
    tcase_add_test(tc, test_v3_iv_size);
    tcase_add_test(tc, test_payload_shorter_than_hash);
    tcase_add_test(tc, test_zero_length_v3_chunk);
    tcase_add_test(tc, test_memory_follows_arrival);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(limits_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
