/*
 * test_key.c - key material (plugin/key): from a file (whole content, a
 * newline included), a descriptor and bytes; the size limits; directories;
 * xb_key_check for every length and algorithm, with the newline hint;
 * xb_key_equal.
 */
#include "key/xb_key.h"
#include "unit_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char fx_path[4096];

static const char *fx(const char *rel)
{
    snprintf(fx_path, sizeof fx_path, "%s/%s", fx_dir(), rel);
    return fx_path;
}

static xbcrypt_key *from_bytes(const void *b, size_t n)
{
    xbcrypt_key *k = NULL;
    char msg[256] = "";
    ck_assert_msg(xb_key_from_bytes(b, n, &k, msg, sizeof msg) == XBCRYPT_OK, "%s", msg);
    ck_assert_ptr_nonnull(k);
    return k;
}

START_TEST(test_from_file_whole_content)
{
    static const struct {
        const char *file;
        size_t size;
    } keys[] = {{"keys/key16.bin", 16}, {"keys/key24.bin", 24}, {"keys/key32.bin", 32},
                {"keys/key32_wrong.bin", 32}, {"keys/key32_newline.bin", 33}};
    for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t len;
        uint8_t *raw = fx_read(keys[i].file, &len);
        ck_assert_uint_eq(len, keys[i].size);
        xbcrypt_key *k = NULL;
        char msg[256] = "";
        ck_assert_msg(xb_key_from_file(fx(keys[i].file), &k, msg, sizeof msg) == XBCRYPT_OK,
                      "%s", msg);
        ck_assert_uint_eq(xb_key_size(k), keys[i].size);
        assert_bytes_eq(k->bytes, k->len, raw, len, keys[i].file);
        xbcrypt_key *b = from_bytes(raw, len);
        ck_assert(xb_key_equal(k, b));
        xb_key_free(b);
        xb_key_free(k);
        free(raw);
    }
    /* The newline is part of the key: key32_newline is key32 plus '\n'. */
    xbcrypt_key *nl = fx_key("keys/key32_newline.bin"), *k32 = fx_key("keys/key32.bin");
    ck_assert_uint_eq(nl->bytes[32], '\n');
    ck_assert_int_eq(memcmp(nl->bytes, k32->bytes, 32), 0);
    ck_assert(!xb_key_equal(nl, k32));
    xb_key_free(nl);
    xb_key_free(k32);
}
END_TEST

START_TEST(test_from_fd)
{
    int fd = open(fx("keys/key24.bin"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    xbcrypt_key *k = NULL;
    char msg[256] = "";
    ck_assert_msg(xb_key_from_fd(fd, &k, msg, sizeof msg) == XBCRYPT_OK, "%s", msg);
    ck_assert_uint_eq(xb_key_size(k), 24);
    ck_assert_int_ne(fcntl(fd, F_GETFD), -1); /* not closed */
    close(fd);
    xbcrypt_key *f = fx_key("keys/key24.bin");
    ck_assert(xb_key_equal(k, f));
    xb_key_free(f);
    xb_key_free(k);

    /* From a pipe, written in pieces and then closed. */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "0123456789", 10), 10);
    ck_assert_int_eq(write(p[1], "abcdef", 6), 6);
    close(p[1]);
    ck_assert_int_eq(xb_key_from_fd(p[0], &k, msg, sizeof msg), XBCRYPT_OK);
    close(p[0]);
    ck_assert_uint_eq(xb_key_size(k), 16);
    ck_assert_int_eq(memcmp(k->bytes, "0123456789abcdef", 16), 0);
    xb_key_free(k);

    ck_assert_int_eq(xb_key_from_fd(-1, &k, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(k);
    ck_assert_int_eq(xb_key_from_fd(0, NULL, msg, sizeof msg), XBCRYPT_E_ARG);
}
END_TEST

START_TEST(test_from_bytes)
{
    xbcrypt_key *k = from_bytes("0123456789abcdef0123456789abcdef", 32);
    ck_assert_uint_eq(xb_key_size(k), 32);
    xb_key_free(k);
    k = (xbcrypt_key *)(uintptr_t)1;
    char msg[256] = "";
    ck_assert_int_eq(xb_key_from_bytes("x", 0, &k, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(k);
    ck_assert_int_eq(xb_key_from_bytes(NULL, 16, &k, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(k);
    ck_assert_int_eq(xb_key_from_bytes("x", 1, NULL, msg, sizeof msg), XBCRYPT_E_ARG);
    uint8_t big[4097];
    memset(big, 'k', sizeof big);
    ck_assert_int_eq(xb_key_from_bytes(big, 4097, &k, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(k);
    k = from_bytes(big, 4096);
    ck_assert_uint_eq(xb_key_size(k), 4096);
    xb_key_free(k);
    xb_key_free(NULL);
    ck_assert_uint_eq(xb_key_size(NULL), 0);
}
END_TEST

START_TEST(test_empty_file_refused)
{
    char *path = write_temp("", 0);
    xbcrypt_key *k = (xbcrypt_key *)(uintptr_t)1;
    char msg[256] = "";
    ck_assert_int_eq(xb_key_from_file(path, &k, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(msg, "empty") != NULL, "message: %s", msg);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_size_limit)
{
    uint8_t big[4097];
    memset(big, 'k', sizeof big);
    char *path = write_temp(big, 4097);
    xbcrypt_key *k = (xbcrypt_key *)(uintptr_t)1;
    char msg[256] = "";
    ck_assert_int_eq(xb_key_from_file(path, &k, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(msg, "4096") != NULL, "message: %s", msg);
    unlink(path);
    free(path);

    path = write_temp(big, 4096);
    ck_assert_int_eq(xb_key_from_file(path, &k, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_uint_eq(xb_key_size(k), 4096);
    xb_key_free(k);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_directory_refused)
{
    xbcrypt_key *k = (xbcrypt_key *)(uintptr_t)1;
    char msg[256] = "";
    xbcrypt_status st = xb_key_from_file(fx("keys"), &k, msg, sizeof msg);
    ck_assert_int_ne(st, XBCRYPT_OK);
    ck_assert_int_eq(st, XBCRYPT_E_IO);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(msg, "directory") != NULL, "message: %s", msg);

    int fd = open(fx("keys"), O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(xb_key_from_fd(fd, &k, msg, sizeof msg), XBCRYPT_E_IO);
    ck_assert_msg(strstr(msg, "directory") != NULL, "message: %s", msg);
    close(fd);
}
END_TEST

START_TEST(test_missing_file)
{
    xbcrypt_key *k = (xbcrypt_key *)(uintptr_t)1;
    char msg[256] = "";
    ck_assert_int_eq(xb_key_from_file("/nonexistent/xb-unit-key", &k, msg, sizeof msg),
                     XBCRYPT_E_IO);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(msg, "/nonexistent/xb-unit-key") != NULL, "message: %s", msg);
    ck_assert_int_eq(xb_key_from_file(NULL, &k, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_key_from_file(fx("keys/key16.bin"), NULL, msg, sizeof msg), XBCRYPT_E_ARG);
}
END_TEST

START_TEST(test_check_aes_sizes)
{
    static const xbcrypt_algo aes[] = {XBCRYPT_ALGO_AES128, XBCRYPT_ALGO_AES192,
                                       XBCRYPT_ALGO_AES256};
    uint8_t raw[64];
    for (unsigned i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)('A' + i % 26);
    for (size_t len = 1; len <= 64; len++) {
        xbcrypt_key *k = from_bytes(raw, len);
        bool ok = len == 16 || len == 24 || len == 32;
        /* libgcrypt semantics: the length picks the AES size, whatever the name. */
        for (unsigned a = 0; a < 3; a++) {
            char msg[512] = "";
            xbcrypt_status st = xb_key_check(k, aes[a], msg, sizeof msg);
            ck_assert_msg(st == (ok ? XBCRYPT_OK : XBCRYPT_E_KEY), "len %zu algo %d: %s", len,
                          (int)aes[a], xb_status_name(st));
            if (!ok) {
                ck_assert_msg(strstr(msg, "16, 24 or 32") != NULL, "message: %s", msg);
                ck_assert_msg(strstr(msg, "newline") == NULL, "no newline here: %s", msg);
                /* The message never shows the key bytes. */
                if (len >= 8) {
                    char shown[65];
                    memcpy(shown, raw, len);
                    shown[len] = '\0';
                    ck_assert_msg(strstr(msg, shown) == NULL, "key bytes in message: %s", msg);
                }
            }
        }
        ck_assert_int_eq(xb_key_check(k, XBCRYPT_ALGO_NONE, NULL, 0), XBCRYPT_OK);
        xb_key_free(k);
    }
}
END_TEST

START_TEST(test_check_newline_hint)
{
    xbcrypt_key *k = fx_key("keys/key32_newline.bin");
    char msg[512] = "";
    ck_assert_int_eq(xb_key_check(k, XBCRYPT_ALGO_AES256, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_msg(strstr(msg, "newline") != NULL, "message: %s", msg);
    ck_assert_msg(strstr(msg, "printf") != NULL, "message: %s", msg);
    ck_assert_msg(strstr(msg, "33") != NULL, "message: %s", msg);
    xb_key_free(k);

    /* 16 and 24 bytes plus a newline get the hint too. */
    for (size_t len = 17; len <= 25; len += 8) {
        uint8_t raw[25];
        memset(raw, 'q', sizeof raw);
        raw[len - 1] = '\n';
        k = from_bytes(raw, len);
        msg[0] = '\0';
        ck_assert_int_eq(xb_key_check(k, XBCRYPT_ALGO_AES128, msg, sizeof msg), XBCRYPT_E_KEY);
        ck_assert_msg(strstr(msg, "newline") && strstr(msg, "printf"), "message: %s", msg);
        xb_key_free(k);
    }
    /* 33 bytes not ending in a newline: refused, no hint. */
    uint8_t raw[33];
    memset(raw, 'z', sizeof raw);
    k = from_bytes(raw, 33);
    ck_assert_int_eq(xb_key_check(k, XBCRYPT_ALGO_AES256, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_msg(strstr(msg, "newline") == NULL, "message: %s", msg);
    xb_key_free(k);
    /* A newline that does not make a usable length: no hint either. */
    raw[19] = '\n';
    k = from_bytes(raw, 20);
    ck_assert_int_eq(xb_key_check(k, XBCRYPT_ALGO_AES256, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_msg(strstr(msg, "printf") == NULL, "message: %s", msg);
    xb_key_free(k);
}
END_TEST

START_TEST(test_check_none_and_null)
{
    char msg[256] = "";
    ck_assert_int_eq(xb_key_check(NULL, XBCRYPT_ALGO_NONE, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_key_check(NULL, XBCRYPT_ALGO_AES256, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_msg(strlen(msg) > 0, "no message");
    ck_assert_int_eq(xb_key_check(NULL, (xbcrypt_algo)7, msg, sizeof msg), XBCRYPT_E_ARG);
}
END_TEST

START_TEST(test_key_equal)
{
    xbcrypt_key *a = fx_key("keys/key32.bin"), *b = fx_key("keys/key32.bin"),
                *w = fx_key("keys/key32_wrong.bin"), *s = fx_key("keys/key16.bin");
    ck_assert(xb_key_equal(a, b));
    ck_assert(xb_key_equal(a, a));
    ck_assert(!xb_key_equal(a, w));
    ck_assert(!xb_key_equal(a, s));
    ck_assert(!xb_key_equal(s, a));
    ck_assert(!xb_key_equal(a, NULL));
    ck_assert(!xb_key_equal(NULL, a));
    ck_assert(xb_key_equal(NULL, NULL));
    /* Same prefix, last byte differs. */
    uint8_t raw[32];
    memcpy(raw, a->bytes, 32);
    raw[31] ^= 1;
    xbcrypt_key *c = from_bytes(raw, 32);
    ck_assert(!xb_key_equal(a, c));
    xb_key_free(a);
    xb_key_free(b);
    xb_key_free(w);
    xb_key_free(s);
    xb_key_free(c);
}
END_TEST

static Suite *key_suite(void)
{
    Suite *s = suite_create("key");
    TCase *tc = tcase_create("sources");
    tcase_add_test(tc, test_from_file_whole_content);
    tcase_add_test(tc, test_from_fd);
    tcase_add_test(tc, test_from_bytes);
    tcase_add_test(tc, test_empty_file_refused);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_directory_refused);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("check");
    tcase_add_test(tc, test_check_aes_sizes);
    tcase_add_test(tc, test_check_newline_hint);
    tcase_add_test(tc, test_check_none_and_null);
    tcase_add_test(tc, test_key_equal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(key_suite());
}
