/*
 * test_entry.c - the entry checks of the encoder and decoder, linked in
 * (tests/abi/test_abi_entry.c does the same through dlopen, more widely):
 * sizes that would wrap are refused before any arithmetic, a call made
 * from the object's own write callback is refused with XBCRYPT_E_STATE,
 * and a host's struct is written no further than its struct_size.
 */
#include "pipeline/xb_stream.h"
#include "unit_util.h"

#include <limits.h>

START_TEST(test_wrapping_sizes_refused)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    /* job bytes = chunk_size + 92, + 100 per job: each wraps somewhere. */
    const size_t sizes[] = {SIZE_MAX - 191, SIZE_MAX - 91, SIZE_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        xbcrypt_settings s;
        xb_settings_default(&s);
        s.key = key;
        s.chunk_size = sizes[i];
        char msg[256] = "";
        xbcrypt_decoder *dec = (xbcrypt_decoder *)msg;
        ck_assert_int_eq(xb_decoder_new(&s, NULL, NULL, &dec, msg, sizeof msg), XBCRYPT_E_ARG);
        ck_assert_ptr_null(dec);
        ck_assert_ptr_nonnull(strstr(msg, "chunk size"));
        xbcrypt_encoder *enc = (xbcrypt_encoder *)msg;
        ck_assert_int_eq(xb_encoder_new(&s, sink_write, NULL, &enc, msg, sizeof msg),
                         XBCRYPT_E_ARG);
        ck_assert_ptr_null(enc);
    }
    xb_key_free(key);
}
END_TEST

/* A write callback that feeds its own object. */
typedef struct self_feed {
    xbcrypt_encoder *enc;
    xbcrypt_decoder *dec;
    sink out;
    xbcrypt_status got;
    unsigned calls;
} self_feed;

static int feed_self(void *opaque, const void *buf, size_t len)
{
    self_feed *f = opaque;
    f->calls++;
    f->got = f->dec ? xb_decoder_feed(f->dec, buf, len) : xb_encoder_feed(f->enc, buf, len);
    return sink_write(&f->out, buf, len);
}

START_TEST(test_feed_from_own_callback)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.key = key;
    s.threads = 0;
    s.chunk_size = XBCRYPT_CHUNK_SIZE_MIN;
    uint8_t *plain = gen_plain(4000);
    char msg[256];

    self_feed e = {.got = XBCRYPT_OK};
    ck_assert_int_eq(xb_encoder_new(&s, feed_self, &e, &e.enc, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_feed(e.enc, plain, 4000), XBCRYPT_OK);
    ck_assert_int_eq(xb_encoder_finish(e.enc), XBCRYPT_OK);
    ck_assert_uint_eq(e.calls, 4);
    ck_assert_int_eq(e.got, XBCRYPT_E_STATE);
    xb_encoder_free(e.enc);

    self_feed d = {.got = XBCRYPT_OK};
    ck_assert_int_eq(xb_decoder_new(&s, feed_self, &d, &d.dec, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_feed(d.dec, e.out.data, e.out.len), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_finish(d.dec), XBCRYPT_OK);
    ck_assert_uint_eq(d.calls, 4);
    ck_assert_int_eq(d.got, XBCRYPT_E_STATE);
    assert_bytes_eq(d.out.data, d.out.len, plain, 4000, "decoded");
    xb_decoder_free(d.dec);

    sink_free(&e.out);
    sink_free(&d.out);
    free(plain);
    xb_key_free(key);
}
END_TEST

/* struct_size 0 means the ABI 1.0 layout, whatever the engine's struct
 * has grown to; more than the engine's is cut to the engine's. */
START_TEST(test_struct_size_rules)
{
    xb_stream st;
    memset(&st, 0, sizeof st);
    memset(&st.stats, 0x11, sizeof st.stats);
    struct {
        xbcrypt_stats s;
        uint8_t tail[32];
    } box;
    memset(&box, 0xa5, sizeof box);
    box.s.struct_size = 0;
    xb_stream_stats(&st, &box.s);
    const size_t v1 = offsetof(xbcrypt_stats, size_mismatches) + sizeof(uint64_t);
    ck_assert_uint_eq(box.s.struct_size, v1);
    for (size_t i = v1; i < sizeof box; i++)
        ck_assert_msg(((uint8_t *)&box)[i] == 0xa5, "byte %zu written", i);

    memset(&box, 0xa5, sizeof box);
    box.s.struct_size = sizeof box;
    xb_stream_stats(&st, &box.s);
    ck_assert_uint_eq(box.s.struct_size, sizeof(xbcrypt_stats));
    for (size_t i = sizeof(xbcrypt_stats); i < sizeof box; i++)
        ck_assert_msg(((uint8_t *)&box)[i] == 0xa5, "byte %zu written", i);

    xbcrypt_chunk_info in, out;
    memset(&in, 0x22, sizeof in);
    memset(&out, 0xa5, sizeof out);
    out.struct_size = 3; /* cannot even hold struct_size: nothing written */
    xb_chunk_info_copy(&out, &in);
    ck_assert_uint_eq(out.struct_size, 3);
    for (size_t i = sizeof(size_t); i < sizeof out; i++)
        ck_assert_msg(((uint8_t *)&out)[i] == 0xa5, "byte %zu written", i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("entry");
    TCase *tc = tcase_create("entry");
    tcase_set_timeout(tc, 20); /* a re-entrant feed used to spin forever */
    tcase_add_test(tc, test_wrapping_sizes_refused);
    tcase_add_test(tc, test_feed_from_own_callback);
    tcase_add_test(tc, test_struct_size_rules);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
