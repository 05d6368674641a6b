/*
 * test_abi_gcrypt_host.c - the plugin in a host that uses libgcrypt itself.
 *
 * init() must initialise libgcrypt only when the host has not: a host that
 * set libgcrypt up first keeps its setup, and a host that starts using
 * libgcrypt after the plugin finds it ready.  Each test needs a fresh
 * process (Check's default fork mode; not meaningful with CK_FORK=no).
 */
#include "abi_common.h"

#include <check.h>
#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>

static void round_trip(const xbcrypt_api *api)
{
    size_t len;
    uint8_t *want = abi_read_file(abi_fixture_path("det/aes256_p65537.xbcrypt"), &len);
    char msg[256];
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    xbcrypt_settings s;
    api->settings_default(&s);
    s.key = key;
    s.iv_source = abi_det_iv;
    s.threads = 2;
    uint8_t *plain = abi_plaintext(65537);
    abi_buf enc = {0}, dec = {0};
    ck_assert_int_eq(abi_encode(api, &s, plain, 65537, 0, &enc, NULL, msg, sizeof msg),
                     XBCRYPT_OK);
    ck_assert_uint_eq(enc.len, len);
    ck_assert(memcmp(enc.data, want, len) == 0);
    ck_assert_int_eq(abi_decode(api, &s, enc.data, enc.len, 0, &dec, NULL, msg, sizeof msg),
                     XBCRYPT_OK);
    ck_assert_uint_eq(dec.len, 65537);
    ck_assert(memcmp(dec.data, plain, 65537) == 0);
    abi_buf_free(&enc);
    abi_buf_free(&dec);
    free(plain);
    free(want);
    api->key_free(key);
}

/* The host initialises libgcrypt first, its own way (no secure memory). */
START_TEST(test_host_initialised_first)
{
    ck_assert_ptr_nonnull(gcry_check_version(GCRYPT_VERSION));
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    abi_plugin p;
    abi_load(&p); /* calls init() */
    ck_assert(gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P));
    round_trip(p.api);
    /* The host's libgcrypt still works as it set it up. */
    unsigned char digest[32];
    gcry_md_hash_buffer(GCRY_MD_SHA256, digest, "abc", 3);
    ck_assert_uint_eq(digest[0], 0xba);
    abi_unload(&p);
}
END_TEST

/* The plugin initialises libgcrypt; the host uses it afterwards. */
START_TEST(test_plugin_initialises)
{
    ck_assert(!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P));
    abi_plugin p;
    abi_load(&p);
    ck_assert(gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P));
    round_trip(p.api);
    ck_assert_ptr_nonnull(gcry_check_version(GCRYPT_VERSION));
    unsigned char digest[32];
    gcry_md_hash_buffer(GCRY_MD_SHA256, digest, "abc", 3);
    ck_assert_uint_eq(digest[0], 0xba);
    abi_unload(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("abi-gcrypt-host");
    TCase *tc = tcase_create("gcrypt-host");
    tcase_add_test(tc, test_host_initialised_first);
    tcase_add_test(tc, test_plugin_initialises);
    suite_add_tcase(s, tc);
    return abi_run_suite(s, CK_FORK); /* each test needs a fresh process */
}
