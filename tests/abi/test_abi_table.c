/*
 * test_abi_table.c - the entry point and the table, as a host sees them
 * through dlopen(): ABI major, struct sizes, every pointer set, version,
 * status names, extensions, and API misuse answered with an error.
 */
#include "abi_common.h"

#include <check.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_unknown_major_is_null)
{
    abi_plugin p;
    abi_load(&p);
    ck_assert_ptr_null(p.entry(0));
    ck_assert_ptr_null(p.entry(XBCRYPT_ABI_MAJOR + 1));
    ck_assert_ptr_null(p.entry(UINT_MAX));
    /* The known major gives the same static table every time. */
    ck_assert_ptr_eq(p.entry(XBCRYPT_ABI_MAJOR), p.api);
    abi_unload(&p);
}
END_TEST

START_TEST(test_table_header)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    ck_assert_uint_eq(api->abi_major, XBCRYPT_ABI_MAJOR);
    /* An engine built from this header has exactly this table. */
    ck_assert_uint_eq(api->struct_size, sizeof(xbcrypt_api));
    ck_assert(XBCRYPT_API_HAS(api, version_number));
    ck_assert(XBCRYPT_API_HAS(api, extension));

    /* Every function pointer in the table is set.  The table is a prefix
     * of abi_major, struct_size and then function pointers only. */
    size_t first = offsetof(xbcrypt_api, version_number);
    size_t count = (api->struct_size - first) / sizeof(void (*)(void));
    ck_assert_uint_ge(count, 26);
    for (size_t i = 0; i < count; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)api + first + i * sizeof fn, sizeof fn);
        ck_assert_msg(fn != NULL, "table slot %zu is NULL", i);
    }
    abi_unload(&p);
}
END_TEST

/* A host built against a shorter (older) table must be told what it may
 * read: XBCRYPT_API_HAS() compares against the engine's struct_size. */
START_TEST(test_api_has_respects_size)
{
    xbcrypt_api fake;
    memset(&fake, 0, sizeof fake);
    fake.struct_size = offsetof(xbcrypt_api, key_from_file);
    ck_assert(XBCRYPT_API_HAS(&fake, settings_default));
    ck_assert(!XBCRYPT_API_HAS(&fake, key_from_file));
    ck_assert(!XBCRYPT_API_HAS(&fake, extension));
    fake.struct_size = sizeof fake;
    ck_assert(XBCRYPT_API_HAS(&fake, extension));
}
END_TEST

START_TEST(test_version)
{
    abi_plugin p;
    abi_load(&p);
    ck_assert_uint_eq(p.api->version_number(),
                      XBCRYPT_VERSION_NUMBER(XBCRYPT_VERSION_MAJOR, XBCRYPT_VERSION_MINOR,
                                             XBCRYPT_VERSION_PATCH));
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", XBCRYPT_VERSION_MAJOR, XBCRYPT_VERSION_MINOR,
             XBCRYPT_VERSION_PATCH);
    ck_assert_ptr_nonnull(p.api->version_string());
    ck_assert_str_eq(p.api->version_string(), want);
    abi_unload(&p);
}
END_TEST

START_TEST(test_init_idempotent)
{
    abi_plugin p;
    abi_load(&p); /* init() once */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(p.api->init(), XBCRYPT_OK);
    abi_unload(&p);
    /* A second load after cleanup() and dlclose() works as the first. */
    abi_load(&p);
    abi_unload(&p);
}
END_TEST

START_TEST(test_status_names)
{
    abi_plugin p;
    abi_load(&p);
    for (int s = XBCRYPT_OK; s <= XBCRYPT_E_UNSUPPORTED; s++) {
        const char *name = p.api->status_name((xbcrypt_status)s);
        ck_assert_msg(name != NULL && *name, "status %d has no name", s);
        for (int t = XBCRYPT_OK; t < s; t++)
            ck_assert_msg(strcmp(name, p.api->status_name((xbcrypt_status)t)) != 0,
                          "statuses %d and %d share the name \"%s\"", t, s, name);
    }
    /* Never NULL, even for a code this engine does not know. */
    ck_assert_ptr_nonnull(p.api->status_name((xbcrypt_status)999));
    ck_assert_ptr_nonnull(p.api->status_name((xbcrypt_status)-1));
    abi_unload(&p);
}
END_TEST

START_TEST(test_extensions_absent)
{
    abi_plugin p;
    abi_load(&p);
    /* "xbcrypt.envelope.v1" exists (tests/envelope); the next version does not. */
    ck_assert_ptr_null(p.api->extension("xbcrypt.envelope.v2"));
    ck_assert_ptr_null(p.api->extension("XBCRYPT.ENVELOPE.V1"));
    ck_assert_ptr_null(p.api->extension(""));
    ck_assert_ptr_null(p.api->extension("no.such.feature"));
    ck_assert_ptr_null(p.api->extension(NULL));
    abi_unload(&p);
}
END_TEST

START_TEST(test_settings_default)
{
    abi_plugin p;
    abi_load(&p);
    xbcrypt_settings s;
    memset(&s, 0xa5, sizeof s);
    p.api->settings_default(&s);
    ck_assert_uint_eq(s.struct_size, sizeof(xbcrypt_settings));
    ck_assert_int_eq(s.algo, XBCRYPT_ALGO_AES256);
    ck_assert_ptr_null(s.key);
    ck_assert_uint_eq(s.chunk_size, XBCRYPT_CHUNK_SIZE_DEFAULT);
    ck_assert_uint_eq(s.read_buffer_size, XBCRYPT_READ_BUFFER_DEFAULT);
    ck_assert_uint_eq(s.threads, 1);
    ck_assert(s.iv_source == NULL);
    ck_assert_ptr_null(s.iv_opaque);
    ck_assert(s.on_chunk == NULL);
    ck_assert_ptr_null(s.chunk_opaque);
    abi_unload(&p);
}
END_TEST

START_TEST(test_keys)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    char msg[256];
    xbcrypt_key *key = (xbcrypt_key *)&msg; /* must be reset to NULL on failure */

    ck_assert_int_ne(api->key_from_bytes("", 0, &key, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_ptr_null(key);
    ck_assert(msg[0] != '\0');

    uint8_t big[4097];
    memset(big, 'k', sizeof big);
    key = (xbcrypt_key *)&msg;
    ck_assert_int_ne(api->key_from_bytes(big, sizeof big, &key, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_ptr_null(key);
    ck_assert_int_eq(api->key_from_bytes(big, 4096, &key, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_uint_eq(api->key_size(key), 4096);
    api->key_free(key);

    key = (xbcrypt_key *)&msg;
    ck_assert_int_ne(api->key_from_file(abi_fixture_path("no/such/key"), &key, msg, sizeof msg),
                     XBCRYPT_OK);
    ck_assert_ptr_null(key);
    ck_assert(msg[0] != '\0');

    static const struct {
        const char *file;
        size_t len;
    } files[] = {{"keys/key16.bin", 16},
                 {"keys/key24.bin", 24},
                 {"keys/key32.bin", 32},
                 {"keys/key32_newline.bin", 33}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ck_assert_int_eq(api->key_from_file(abi_fixture_path(files[i].file), &key, msg, sizeof msg),
                         XBCRYPT_OK);
        ck_assert_uint_eq(api->key_size(key), files[i].len);
        api->key_free(key);
    }

    /* From a descriptor, read to its end and left open. */
    FILE *f = fopen(abi_fixture_path("keys/key24.bin"), "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(api->key_from_fd(fileno(f), &key, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_uint_eq(api->key_size(key), 24);
    api->key_free(key);
    ck_assert_int_eq(fgetc(f), EOF); /* still open: reading it is not EBADF */
    ck_assert(!ferror(f));
    fclose(f);
    key = (xbcrypt_key *)&msg;
    ck_assert_int_ne(api->key_from_fd(-1, &key, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_ptr_null(key);

    api->key_free(NULL);
    abi_unload(&p);
}
END_TEST

/* Misuse gives an error code, never a crash; output parameters are reset. */
START_TEST(test_misuse)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    char msg[256];
    abi_buf out = {0};
    xbcrypt_key *key32 = NULL, *key33 = NULL;
    ck_assert_int_eq(api->key_from_file(abi_fixture_path("keys/key32.bin"), &key32, msg, sizeof msg),
                     XBCRYPT_OK);
    ck_assert_int_eq(
        api->key_from_file(abi_fixture_path("keys/key32_newline.bin"), &key33, msg, sizeof msg),
        XBCRYPT_OK);
    xbcrypt_settings s;
    api->settings_default(&s);
    s.key = key32;

    xbcrypt_encoder *enc = (xbcrypt_encoder *)&msg;
    xbcrypt_decoder *dec = (xbcrypt_decoder *)&msg;

    /* No write callback for an encoder. */
    ck_assert_int_eq(api->encoder_new(&s, NULL, &out, &enc, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(enc);
    /* No settings. */
    enc = (xbcrypt_encoder *)&msg;
    ck_assert_int_eq(api->encoder_new(NULL, abi_buf_write, &out, &enc, msg, sizeof msg),
                     XBCRYPT_E_ARG);
    ck_assert_ptr_null(enc);
    dec = (xbcrypt_decoder *)&msg;
    ck_assert_int_eq(api->decoder_new(NULL, abi_buf_write, &out, &dec, msg, sizeof msg),
                     XBCRYPT_E_ARG);
    ck_assert_ptr_null(dec);
    /* Chunk size under the format's minimum. */
    s.chunk_size = XBCRYPT_CHUNK_SIZE_MIN - 1;
    enc = (xbcrypt_encoder *)&msg;
    ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &out, &enc, msg, sizeof msg),
                     XBCRYPT_E_ARG);
    ck_assert_ptr_null(enc);
    ck_assert(msg[0] != '\0');
    s.chunk_size = XBCRYPT_CHUNK_SIZE_DEFAULT;
    /* No key for AES. */
    s.key = NULL;
    enc = (xbcrypt_encoder *)&msg;
    ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &out, &enc, msg, sizeof msg),
                     XBCRYPT_E_KEY);
    ck_assert_ptr_null(enc);
    /* A 33-byte key (32 and a newline) is refused up front by both. */
    s.key = key33;
    enc = (xbcrypt_encoder *)&msg;
    ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &out, &enc, msg, sizeof msg),
                     XBCRYPT_E_KEY);
    ck_assert_ptr_null(enc);
    ck_assert(msg[0] != '\0');
    dec = (xbcrypt_decoder *)&msg;
    ck_assert_int_eq(api->decoder_new(&s, abi_buf_write, &out, &dec, msg, sizeof msg),
                     XBCRYPT_E_KEY);
    ck_assert_ptr_null(dec);
    ck_assert(msg[0] != '\0');
    /* An unknown algorithm. */
    s.key = key32;
    s.algo = (xbcrypt_algo)77;
    enc = (xbcrypt_encoder *)&msg;
    ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &out, &enc, msg, sizeof msg),
                     XBCRYPT_E_ARG);
    ck_assert_ptr_null(enc);
    s.algo = XBCRYPT_ALGO_AES256;

    /* Feeding after finish() is refused with E_STATE. */
    ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &out, &enc, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_str_eq(api->encoder_message(enc), "");
    ck_assert_int_eq(api->encoder_feed(enc, "abc", 3), XBCRYPT_OK);
    ck_assert_int_eq(api->encoder_finish(enc), XBCRYPT_OK);
    ck_assert_int_eq(api->encoder_feed(enc, "abc", 3), XBCRYPT_E_STATE);
    api->encoder_free(enc);

    ck_assert_int_eq(api->decoder_new(&s, abi_buf_write, &out, &dec, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_str_eq(api->decoder_message(dec), "");
    ck_assert_int_eq(api->decoder_finish(dec), XBCRYPT_OK);
    ck_assert_int_eq(api->decoder_feed(dec, "abc", 3), XBCRYPT_E_STATE);
    api->decoder_free(dec);

    /* NULL objects. */
    api->encoder_free(NULL);
    api->decoder_free(NULL);
    ck_assert_int_eq(api->encoder_feed(NULL, "a", 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(api->decoder_feed(NULL, "a", 1), XBCRYPT_E_ARG);

    api->key_free(key32);
    api->key_free(key33);
    abi_buf_free(&out);
    abi_unload(&p);
}
END_TEST

/* A failing write callback stops the stream with E_WRITE, and the object
 * then answers every call with that same status. */
static int fail_write(void *opaque, const void *buf, size_t len)
{
    (void)buf;
    (void)len;
    int *calls = opaque;
    ++*calls;
    return -7;
}

START_TEST(test_write_failure_sticks)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    char msg[256];
    xbcrypt_key *key = abi_load_key(api, "keys/key16.bin");
    xbcrypt_settings s;
    api->settings_default(&s);
    s.key = key;
    s.chunk_size = 1024;
    int calls = 0;
    xbcrypt_encoder *enc = NULL;
    ck_assert_int_eq(api->encoder_new(&s, fail_write, &calls, &enc, msg, sizeof msg), XBCRYPT_OK);
    uint8_t *data = abi_plaintext(100000);
    xbcrypt_status st = XBCRYPT_OK;
    for (size_t off = 0; st == XBCRYPT_OK && off < 100000; off += 1000)
        st = api->encoder_feed(enc, data + off, 1000);
    if (st == XBCRYPT_OK)
        st = api->encoder_finish(enc);
    ck_assert_int_eq(st, XBCRYPT_E_WRITE);
    ck_assert_int_eq(api->encoder_status(enc), XBCRYPT_E_WRITE);
    ck_assert_int_eq(api->encoder_feed(enc, data, 10), XBCRYPT_E_WRITE);
    ck_assert_int_eq(api->encoder_finish(enc), XBCRYPT_E_WRITE);
    ck_assert(api->encoder_message(enc)[0] != '\0');
    ck_assert_int_ge(calls, 1);
    api->encoder_free(enc);
    free(data);
    api->key_free(key);
    abi_unload(&p);
}
END_TEST

/* The fields appended after `extension`: the write callback's error, the
 * zero-copy input path, and where a decoder failed. */
START_TEST(test_appended_fields)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_api *api = p.api;
    ck_assert(XBCRYPT_API_HAS(api, decoder_fault));
    char msg[256];
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    xbcrypt_settings s;
    api->settings_default(&s);
    s.key = key;
    s.chunk_size = 1024;
    s.iv_source = abi_det_iv;

    /* Encrypt through buffer/commit, a few bytes at a time; it must equal
     * what feed() makes. */
    const size_t len = 5000;
    uint8_t *data = abi_plaintext(len);
    abi_buf zc = {0}, fed = {0};
    xbcrypt_encoder *enc = NULL;
    ck_assert_int_eq(api->encoder_new(&s, abi_buf_write, &zc, &enc, msg, sizeof msg), XBCRYPT_OK);
    for (size_t off = 0; off < len;) {
        void *dst;
        size_t avail;
        ck_assert_int_eq(api->encoder_buffer(enc, &dst, &avail), XBCRYPT_OK);
        ck_assert_uint_gt(avail, 0);
        size_t n = len - off < 300 ? len - off : 300;
        n = n < avail ? n : avail;
        memcpy(dst, data + off, n);
        ck_assert_int_eq(api->encoder_commit(enc, n), XBCRYPT_OK);
        off += n;
    }
    ck_assert_int_eq(api->encoder_finish(enc), XBCRYPT_OK);
    ck_assert_int_eq(api->encoder_write_error(enc), 0);
    api->encoder_free(enc);
    ck_assert_int_eq(abi_encode(api, &s, data, len, 0, &fed, NULL, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_uint_eq(zc.len, fed.len);
    ck_assert(memcmp(zc.data, fed.data, zc.len) == 0);

    /* Decrypt it through buffer/commit with chunk 2's payload damaged:
     * decoder_fault names chunk 2 and its header; chunks 0-1 came out. */
    const size_t rec = 44 + 16 + 1024 + 32;
    zc.data[2 * rec + 44 + 16 + 10] ^= 1;
    abi_buf out = {0};
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(api->decoder_new(&s, abi_buf_write, &out, &dec, msg, sizeof msg), XBCRYPT_OK);
    xbcrypt_chunk_info f = {.struct_size = sizeof f};
    ck_assert_int_eq(api->decoder_fault(dec, &f), 0);
    xbcrypt_status st = XBCRYPT_OK;
    for (size_t off = 0; st == XBCRYPT_OK && off < zc.len;) {
        void *dst;
        size_t avail;
        st = api->decoder_buffer(dec, &dst, &avail);
        if (st != XBCRYPT_OK)
            break;
        size_t n = zc.len - off < avail ? zc.len - off : avail;
        memcpy(dst, zc.data + off, n);
        st = api->decoder_commit(dec, n);
        off += n;
    }
    if (st == XBCRYPT_OK)
        st = api->decoder_finish(dec);
    ck_assert_int_eq(st, XBCRYPT_E_CRC);
    ck_assert_int_eq(api->decoder_fault(dec, &f), 1);
    ck_assert_uint_eq(f.index, 2);
    ck_assert_uint_eq(f.offset, 2 * rec);
    ck_assert_uint_eq(f.version, 3);
    ck_assert_uint_eq(f.encrypted_size, 1024 + 32);
    ck_assert_uint_eq(f.iv_size, 16);
    ck_assert_uint_eq(out.len, 2 * 1024);
    ck_assert(memcmp(out.data, data, out.len) == 0);
    api->decoder_free(dec);

    /* A write callback's own error value is kept. */
    int calls = 0;
    ck_assert_int_eq(api->encoder_new(&s, fail_write, &calls, &enc, msg, sizeof msg), XBCRYPT_OK);
    st = api->encoder_feed(enc, data, len);
    if (st == XBCRYPT_OK)
        st = api->encoder_finish(enc); /* chunks are written as they finish */
    ck_assert_int_eq(st, XBCRYPT_E_WRITE);
    ck_assert_int_eq(api->encoder_write_error(enc), -7);
    api->encoder_free(enc);

    abi_buf_free(&zc);
    abi_buf_free(&fed);
    abi_buf_free(&out);
    free(data);
    api->key_free(key);
    abi_unload(&p);
}
END_TEST

static Suite *table_suite(void)
{
    Suite *s = suite_create("abi-table");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_unknown_major_is_null);
    tcase_add_test(tc, test_table_header);
    tcase_add_test(tc, test_api_has_respects_size);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_init_idempotent);
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_extensions_absent);
    tcase_add_test(tc, test_settings_default);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_misuse);
    tcase_add_test(tc, test_write_failure_sticks);
    tcase_add_test(tc, test_appended_fields);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return abi_run_suite(table_suite(), CK_FORK_GETENV);
}
