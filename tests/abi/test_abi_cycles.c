/*
 * test_abi_cycles.c - 1000 create/feed/finish/free cycles of encoders,
 * decoders and keys through the shared object.  On its own it checks every
 * round trip; meson also runs it under valgrind (--leak-check=full
 * --error-exitcode=1), where a leak or a bad access in any cycle fails it.
 */
#include "abi_common.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define CYCLES 1000

START_TEST(test_cycles)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    enum { LEN = 5000 };
    uint8_t *data = abi_plaintext(LEN);
    char msg[256];
    for (unsigned i = 0; i < CYCLES; i++) {
        xbcrypt_key *key = NULL;
        uint8_t kb[32];
        memset(kb, (int)i, sizeof kb);
        ck_assert_int_eq(api->key_from_bytes(kb, 16u + 8u * (i % 3), &key, msg, sizeof msg),
                         XBCRYPT_OK);
        xbcrypt_settings s;
        api->settings_default(&s);
        s.key = key;
        s.chunk_size = 1024;
        s.threads = i % 3; /* 0, 1 and 2 workers */
        if (i % 7 == 0)
            s.algo = XBCRYPT_ALGO_NONE;
        abi_buf enc = {0}, dec = {0};
        size_t len = LEN - i % 1500; /* some streams end in a short chunk */
        ck_assert_int_eq(abi_encode(api, &s, data, len, 700, &enc, NULL, msg, sizeof msg),
                         XBCRYPT_OK);
        ck_assert_int_eq(abi_decode(api, &s, enc.data, enc.len, 333, &dec, NULL, msg, sizeof msg),
                         XBCRYPT_OK);
        ck_assert_uint_eq(dec.len, len);
        ck_assert(memcmp(dec.data, data, len) == 0);

        /* A failing stream is freed as cleanly: cut, and freed unfinished. */
        if (i % 10 == 0) {
            abi_buf cut = {0};
            ck_assert_int_eq(abi_decode(api, &s, enc.data, enc.len - 1, 0, &cut, NULL, msg,
                                        sizeof msg),
                             XBCRYPT_E_TRUNCATED);
            abi_buf_free(&cut);
            xbcrypt_encoder *e = NULL;
            ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &cut, &e, msg, sizeof msg),
                             XBCRYPT_OK);
            ck_assert_int_eq(api->encoder_feed(e, data, LEN), XBCRYPT_OK);
            api->encoder_free(e); /* no finish */
            xbcrypt_decoder *d = NULL;
            ck_assert_int_eq(api->decoder_new(&s, abi_buf_write, &cut, &d, msg, sizeof msg),
                             XBCRYPT_OK);
            ck_assert_int_eq(api->decoder_feed(d, enc.data, enc.len / 2), XBCRYPT_OK);
            api->decoder_free(d); /* no finish */
            abi_buf_free(&cut);
        }
        abi_buf_free(&enc);
        abi_buf_free(&dec);
        api->key_free(key);
    }
    free(data);
    abi_unload(&p);
}
END_TEST

int main(void)
{
    return abi_run_suite(abi_suite_of_one("abi-cycles", "cycles", 600, test_cycles), CK_FORK_GETENV);
}
