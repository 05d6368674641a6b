/*
 * test_abi_entry.c - the entry points against a careless or hostile host,
 * through dlopen(): sizes at the edge of size_t and unsigned refused with
 * XBCRYPT_E_ARG (not a SIGFPE or a wrapped allocation), calls made from
 * inside the object's own callbacks refused with XBCRYPT_E_STATE (not an
 * endless loop), and stats()/decoder_fault() writing no more than the
 * host's struct_size says it holds.
 */
#include "abi_common.h"

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sizes ---- */

/* new() of an encoder or a decoder with `s`: must be XBCRYPT_E_ARG, leave
 * *out NULL and say something containing `word`. */
static void expect_refused(const xbcrypt_api *api, int decoder, const xbcrypt_settings *s,
                           const char *word, const char *what)
{
    char msg[256] = "";
    abi_buf out = {0};
    void *obj = msg;
    xbcrypt_status st =
        decoder ? api->decoder_new(s, abi_buf_write, &out, (xbcrypt_decoder **)&obj, msg,
                                   sizeof msg)
                : api->encoder_new(s, abi_buf_write, &out, (xbcrypt_encoder **)&obj, msg,
                                   sizeof msg);
    ck_assert_msg(st == XBCRYPT_E_ARG, "%s, %s: status %d", decoder ? "decoder" : "encoder",
                  what, (int)st);
    ck_assert_ptr_null(obj);
    ck_assert_msg(strstr(msg, word) != NULL, "%s: message '%s'", what, msg);
}

START_TEST(test_extreme_sizes)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    const size_t chunk_sizes[] = {
        SIZE_MAX - 191, /* the value: job bytes + 100 wrapped to 0 */
        SIZE_MAX,       SIZE_MAX - 31, SIZE_MAX - 99, SIZE_MAX / 2,
        (size_t)XBCRYPT_CHUNK_SIZE_MAX + 1,
    };
    const unsigned threads[] = {UINT_MAX, UINT_MAX / 2, 257};
    char what[64];
    for (int decoder = 0; decoder < 2; decoder++) {
        for (size_t i = 0; i < sizeof chunk_sizes / sizeof chunk_sizes[0]; i++) {
            xbcrypt_settings s;
            api->settings_default(&s);
            s.key = key;
            s.chunk_size = chunk_sizes[i];
            snprintf(what, sizeof what, "chunk_size %zu", chunk_sizes[i]);
            expect_refused(api, decoder, &s, "chunk size", what);
        }
        for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
            xbcrypt_settings s;
            api->settings_default(&s);
            s.key = key;
            s.threads = threads[i];
            snprintf(what, sizeof what, "threads %u", threads[i]);
            expect_refused(api, decoder, &s, "threads", what);
        }
    }
    char msg[256];
    /* Any read_buffer_size is valid, the extremes included: a round trip. */
    const size_t rbs[] = {SIZE_MAX, SIZE_MAX - 99, 1};
    uint8_t *plain = abi_plaintext(5000);
    for (size_t i = 0; i < sizeof rbs / sizeof rbs[0]; i++) {
        xbcrypt_settings s;
        api->settings_default(&s);
        s.key = key;
        s.chunk_size = XBCRYPT_CHUNK_SIZE_MIN;
        s.read_buffer_size = rbs[i];
        abi_buf enc = {0}, dec = {0};
        ck_assert_int_eq(abi_encode(api, &s, plain, 5000, 0, &enc, NULL, msg, sizeof msg),
                         XBCRYPT_OK);
        ck_assert_int_eq(abi_decode(api, &s, enc.data, enc.len, 0, &dec, NULL, msg, sizeof msg),
                         XBCRYPT_OK);
        ck_assert_uint_eq(dec.len, 5000);
        ck_assert_int_eq(memcmp(dec.data, plain, 5000), 0);
        abi_buf_free(&enc);
        abi_buf_free(&dec);
    }
    free(plain);
    api->key_free(key);
    abi_unload(&p);
}
END_TEST

/* ---- re-entrancy ---- */

/* What a callback tried on its own object, and what it got. */
typedef struct reenter {
    const xbcrypt_api *api;
    xbcrypt_encoder *enc;
    xbcrypt_decoder *dec;
    abi_buf out;
    unsigned tries;
    unsigned refused; /* answered XBCRYPT_E_STATE */
    unsigned other;   /* answered anything else */
} reenter;

static void tally(reenter *r, xbcrypt_status st)
{
    r->tries++;
    if (st == XBCRYPT_E_STATE)
        r->refused++;
    else
        r->other++;
}

/* Calls every entry point of its own object, then frees it (ignored). */
static void call_back_in(reenter *r)
{
    const xbcrypt_api *api = r->api;
    void *buf = &r->out;
    size_t avail = 99;
    if (r->dec) {
        tally(r, api->decoder_feed(r->dec, "XBCRYPT", 7));
        tally(r, api->decoder_buffer(r->dec, &buf, &avail));
        ck_assert_ptr_null(buf);
        ck_assert_uint_eq(avail, 0);
        tally(r, api->decoder_commit(r->dec, 1));
        tally(r, api->decoder_finish(r->dec));
        api->decoder_free(r->dec);
    } else {
        tally(r, api->encoder_feed(r->enc, "abc", 3));
        tally(r, api->encoder_buffer(r->enc, &buf, &avail));
        ck_assert_ptr_null(buf);
        ck_assert_uint_eq(avail, 0);
        tally(r, api->encoder_commit(r->enc, 1));
        tally(r, api->encoder_finish(r->enc));
        api->encoder_free(r->enc);
    }
}

static int reenter_write(void *opaque, const void *buf, size_t len)
{
    reenter *r = opaque;
    call_back_in(r);
    return abi_buf_write(&r->out, buf, len);
}

static void reenter_chunk(void *opaque, const xbcrypt_chunk_info *info)
{
    (void)info;
    call_back_in(opaque);
}

static int reenter_iv(void *opaque, uint64_t index, uint8_t iv[16])
{
    call_back_in(opaque);
    return abi_det_iv(NULL, index, iv);
}

/* _i: 0 write callback, 1 chunk callback, 2 IV source (encoder only). */
START_TEST(test_reentrant_calls)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    const size_t len = 3 * XBCRYPT_CHUNK_SIZE_MIN + 17;
    uint8_t *plain = abi_plaintext(len);
    char msg[256];
    abi_buf stream = {0};

    for (unsigned threads = 0; threads <= 2; threads += 2) {
        /* Encoder. */
        reenter r = {.api = api};
        xbcrypt_settings s;
        api->settings_default(&s);
        s.key = key;
        s.threads = threads;
        s.chunk_size = XBCRYPT_CHUNK_SIZE_MIN;
        s.iv_source = _i == 2 ? reenter_iv : abi_det_iv;
        s.iv_opaque = &r;
        s.on_chunk = _i == 1 ? reenter_chunk : NULL;
        s.chunk_opaque = &r;
        ck_assert_int_eq(api->encoder_new(&s, _i == 0 ? reenter_write : abi_buf_write,
                                          _i == 0 ? (void *)&r : (void *)&r.out, &r.enc, msg,
                                          sizeof msg),
                         XBCRYPT_OK);
        ck_assert_int_eq(api->encoder_feed(r.enc, plain, len), XBCRYPT_OK);
        ck_assert_int_eq(api->encoder_finish(r.enc), XBCRYPT_OK);
        ck_assert_msg(r.tries >= 4 && r.refused == r.tries,
                      "encoder, callback %d: %u calls back in, %u refused, %u answered otherwise",
                      _i, r.tries, r.refused, r.other);
        api->encoder_free(r.enc);
        /* The stream is whole: the refused calls changed nothing. */
        abi_buf_free(&stream);
        stream = r.out;

        if (_i == 2)
            continue;
        /* Decoder of that stream. */
        reenter d = {.api = api};
        s.iv_source = NULL;
        s.on_chunk = _i == 1 ? reenter_chunk : NULL;
        s.chunk_opaque = &d;
        ck_assert_int_eq(api->decoder_new(&s, _i == 0 ? reenter_write : abi_buf_write,
                                          _i == 0 ? (void *)&d : (void *)&d.out, &d.dec, msg,
                                          sizeof msg),
                         XBCRYPT_OK);
        ck_assert_int_eq(api->decoder_feed(d.dec, stream.data, stream.len), XBCRYPT_OK);
        ck_assert_int_eq(api->decoder_finish(d.dec), XBCRYPT_OK);
        ck_assert_msg(d.tries >= 4 && d.refused == d.tries,
                      "decoder, callback %d: %u calls back in, %u refused, %u answered otherwise",
                      _i, d.tries, d.refused, d.other);
        ck_assert_uint_eq(d.out.len, len);
        ck_assert_int_eq(memcmp(d.out.data, plain, len), 0);
        api->decoder_free(d.dec);
        abi_buf_free(&d.out);
    }
    abi_buf_free(&stream);
    free(plain);
    api->key_free(key);
    abi_unload(&p);
}
END_TEST

/* ---- struct_size ---- */

#define CANARY 0xa5

/* A host struct followed by bytes the engine must not touch. */
typedef struct {
    xbcrypt_stats stats;
    uint8_t tail[64];
} stats_box;

typedef struct {
    xbcrypt_chunk_info info;
    uint8_t tail[64];
} info_box;

/* Offset of the first byte at or after `from` that is not CANARY, or -1. */
static long first_written(const void *box, size_t from, size_t size)
{
    const uint8_t *b = box;
    for (size_t i = from; i < size; i++)
        if (b[i] != CANARY)
            return (long)i;
    return -1;
}

START_TEST(test_struct_size_respected)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    char msg[256];
    xbcrypt_settings s;
    api->settings_default(&s);
    s.key = key;
    s.chunk_size = XBCRYPT_CHUNK_SIZE_MIN;
    uint8_t *plain = abi_plaintext(3000);
    abi_buf enc = {0};
    ck_assert_int_eq(abi_encode(api, &s, plain, 3000, 0, &enc, NULL, msg, sizeof msg), XBCRYPT_OK);
    xbcrypt_encoder *e = NULL;
    abi_buf sink = {0};
    ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &sink, &e, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(api->encoder_feed(e, plain, 3000), XBCRYPT_OK);
    ck_assert_int_eq(api->encoder_finish(e), XBCRYPT_OK);
    /* A decoder that failed on a chunk: the last one's (index 2) CRC is
     * broken. */
    enc.data[enc.len - 10] ^= 1;
    xbcrypt_decoder *d = NULL;
    ck_assert_int_eq(api->decoder_new(&s, NULL, NULL, &d, msg, sizeof msg), XBCRYPT_OK);
    api->decoder_feed(d, enc.data, enc.len);
    ck_assert_int_ne(api->decoder_finish(d), XBCRYPT_OK);

    /* The layout of ABI 1.0: what a host that leaves struct_size 0 has. */
    const size_t stats_v1 = offsetof(xbcrypt_stats, size_mismatches) + sizeof(uint64_t);
    const size_t info_v1 = offsetof(xbcrypt_chunk_info, hash_checked) + sizeof(int);
    const size_t sizes[] = {0, 1, 4, sizeof(size_t), offsetof(xbcrypt_stats, bytes_in) + 3,
                            offsetof(xbcrypt_stats, plaintext_bytes), sizeof(xbcrypt_stats),
                            sizeof(stats_box)};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t want = sizes[i] == 0                ? stats_v1
                      : sizes[i] < sizeof(size_t)  ? 0
                      : sizes[i] < sizeof(xbcrypt_stats) ? sizes[i]
                                                         : sizeof(xbcrypt_stats);
        for (int which = 0; which < 2; which++) {
            stats_box box;
            memset(&box, CANARY, sizeof box);
            box.stats.struct_size = sizes[i];
            if (which)
                api->decoder_stats(d, &box.stats);
            else
                api->encoder_stats(e, &box.stats);
            size_t from = want ? want : sizeof(size_t);
            long at = first_written(&box, from, sizeof box);
            ck_assert_msg(at < 0, "%s_stats with struct_size %zu wrote byte %ld (allowed: %zu)",
                          which ? "decoder" : "encoder", sizes[i], at, want);
            if (want) {
                ck_assert_uint_eq(box.stats.struct_size, want);
                if (want >= offsetof(xbcrypt_stats, bytes_in))
                    ck_assert_uint_eq(box.stats.chunks, which ? 2 : 3);
            } else {
                ck_assert_uint_eq(box.stats.struct_size, sizes[i]); /* untouched */
            }
        }

        size_t want_info = sizes[i] == 0               ? info_v1
                           : sizes[i] < sizeof(size_t) ? 0
                           : sizes[i] < sizeof(xbcrypt_chunk_info) ? sizes[i]
                                                                   : sizeof(xbcrypt_chunk_info);
        info_box ib;
        memset(&ib, CANARY, sizeof ib);
        ib.info.struct_size = sizes[i];
        ck_assert_int_eq(api->decoder_fault(d, &ib.info), 1);
        long at = first_written(&ib, want_info ? want_info : sizeof(size_t), sizeof ib);
        ck_assert_msg(at < 0, "decoder_fault with struct_size %zu wrote byte %ld (allowed: %zu)",
                      sizes[i], at, want_info);
        if (want_info >= offsetof(xbcrypt_chunk_info, offset))
            ck_assert_uint_eq(ib.info.index, 2);
    }
    api->decoder_free(d);
    api->encoder_free(e);
    abi_buf_free(&sink);
    abi_buf_free(&enc);
    free(plain);
    api->key_free(key);
    abi_unload(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("abi-entry");
    TCase *tc = tcase_create("entry");
    /* The old engine spun forever on a re-entrant feed: a timeout fails. */
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_extreme_sizes);
    tcase_add_loop_test(tc, test_reentrant_calls, 0, 3);
    tcase_add_test(tc, test_struct_size_respected);
    suite_add_tcase(s, tc);
    return abi_run_suite(s, CK_FORK);
}
