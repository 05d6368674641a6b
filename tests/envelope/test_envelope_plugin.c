/*
 * test_envelope_plugin.c - the "xbcrypt.envelope.v1" extension as a host
 * sees it: dlopen(), the table, api->extension().  Run by run_with_homes.sh,
 * which makes the GnuPG homes and exports (see gpg_homes.sh):
 *   HOME_A HOME_B HOME_C HOME_HOST  FPR_A FPR_B FPR_C FPR_S FPR_R
 *   WRAPPED_LITERAL  an OpenPGP literal-data message of 32 bytes (not encrypted)
 *   WRAPPED_SHORT    a message encrypted to A holding 16 bytes
 *   WRAPPED_LONG     a message encrypted to A holding 100 bytes
 * Each test picks the home it plays in by setting GNUPGHOME: gpg, started by
 * GPGME for every call, reads it then.
 */
#include "abi_common.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v != NULL && *v, "%s is not set (run through run_with_homes.sh)", name);
    return v;
}

static void play_in(const char *home_var)
{
    ck_assert_int_eq(setenv("GNUPGHOME", env(home_var), 1), 0);
}

static const xbcrypt_envelope_v1 *envelope(const abi_plugin *p)
{
    const xbcrypt_envelope_v1 *e = p->api->extension(XBCRYPT_ENVELOPE_V1);
    ck_assert_ptr_nonnull(e);
    ck_assert(XBCRYPT_ENVELOPE_HAS(e, wrapped_free));
    return e;
}

/* Encrypts `plain` with `key` through the plugin into *out. */
static void encode(const abi_plugin *p, const xbcrypt_key *key, const uint8_t *plain, size_t len,
                   abi_buf *out)
{
    xbcrypt_settings s;
    p->api->settings_default(&s);
    s.key = key;
    s.chunk_size = 4096;
    char msg[256] = "";
    ck_assert_int_eq(abi_encode(p->api, &s, plain, len, 1000, out, NULL, msg, sizeof msg),
                     XBCRYPT_OK);
}

/* Decrypts `stream` with `key`: the status, and the plaintext in *out. */
static xbcrypt_status decode(const abi_plugin *p, const xbcrypt_key *key, const abi_buf *stream,
                             abi_buf *out)
{
    xbcrypt_settings s;
    p->api->settings_default(&s);
    s.key = key;
    char msg[256] = "";
    return abi_decode(p->api, &s, stream->data, stream->len, 0, out, NULL, msg, sizeof msg);
}

START_TEST(test_table)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_envelope_v1 *e = envelope(&p);
    ck_assert_uint_eq(e->struct_size, sizeof(xbcrypt_envelope_v1));
    ck_assert(e->check_recipients && e->wrap && e->unwrap && e->rewrap && e->wrapped_free);
    /* The same static table every time. */
    ck_assert_ptr_eq(p.api->extension("xbcrypt.envelope.v1"), e);
    ck_assert_ptr_null(p.api->extension("xbcrypt.envelope.v2"));
    ck_assert_ptr_null(p.api->extension(NULL));
    e->wrapped_free(NULL);
    abi_unload(&p);
}
END_TEST

/* Wrapped on the host (public keys only) to A and B: each of A and B can
 * unwrap alone and decrypt; C, and the host itself, cannot. */
START_TEST(test_wrap_unwrap_two_recipients)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_envelope_v1 *e = envelope(&p);
    char msg[512];
    const char *to[] = {env("FPR_A"), env("FPR_B")};

    play_in("HOME_HOST");
    void *w = (void *)1;
    size_t wlen = 7;
    xbcrypt_key *key = (xbcrypt_key *)1;
    ck_assert_int_eq(e->wrap(to, 2, &w, &wlen, &key, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(key);
    ck_assert_uint_eq(p.api->key_size(key), XBCRYPT_ENVELOPE_KEY_SIZE);
    static const char armour[] = "-----BEGIN PGP MESSAGE-----";
    ck_assert_uint_gt(wlen, sizeof armour);
    ck_assert(memcmp(w, armour, sizeof armour - 1) == 0);

    size_t len = 100000;
    uint8_t *plain = abi_plaintext(len);
    abi_buf stream = {0};
    encode(&p, key, plain, len, &stream);
    p.api->key_free(key);

    /* Two wraps never share a data key: a second stream differs in its
     * key, so the first's ciphertext does not decrypt with it. */
    void *w2;
    size_t w2len;
    xbcrypt_key *other;
    ck_assert_int_eq(e->wrap(to, 1, &w2, &w2len, &other, msg, sizeof msg), XBCRYPT_OK);
    abi_buf junk = {0};
    ck_assert_int_eq(decode(&p, other, &stream, &junk), XBCRYPT_E_WRONG_KEY);
    ck_assert_uint_eq(junk.len, 0);
    abi_buf_free(&junk);
    p.api->key_free(other);
    e->wrapped_free(w2);

    const char *homes[] = {"HOME_A", "HOME_B"};
    for (size_t i = 0; i < 2; i++) {
        play_in(homes[i]);
        xbcrypt_key *k = NULL;
        ck_assert_msg(e->unwrap(w, wlen, &k, msg, sizeof msg) == XBCRYPT_OK, "%s: %s", homes[i],
                      msg);
        abi_buf out = {0};
        ck_assert_int_eq(decode(&p, k, &stream, &out), XBCRYPT_OK);
        ck_assert_uint_eq(out.len, len);
        ck_assert(memcmp(out.data, plain, len) == 0);
        abi_buf_free(&out);
        p.api->key_free(k);
    }

    const char *strangers[] = {"HOME_C", "HOME_HOST"};
    for (size_t i = 0; i < 2; i++) {
        play_in(strangers[i]);
        xbcrypt_key *k = (xbcrypt_key *)1;
        msg[0] = '\0';
        ck_assert_int_eq(e->unwrap(w, wlen, &k, msg, sizeof msg), XBCRYPT_E_KEY);
        ck_assert_ptr_null(k);
        ck_assert_msg(strstr(msg, "no secret key") != NULL, "%s: %s", strangers[i], msg);
    }

    free(plain);
    abi_buf_free(&stream);
    e->wrapped_free(w);
    abi_unload(&p);
}
END_TEST

/* A rewraps to C: C can unwrap the new message and read the old stream,
 * A no longer can; the key inside is the same. */
START_TEST(test_rewrap)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_envelope_v1 *e = envelope(&p);
    char msg[512];
    const char *to_a[] = {env("FPR_A")};
    const char *to_c[] = {env("FPR_C")};

    play_in("HOME_HOST");
    void *w;
    size_t wlen;
    xbcrypt_key *key;
    ck_assert_int_eq(e->wrap(to_a, 1, &w, &wlen, &key, msg, sizeof msg), XBCRYPT_OK);
    uint8_t *plain = abi_plaintext(5000);
    abi_buf stream = {0};
    encode(&p, key, plain, 5000, &stream);
    p.api->key_free(key);

    /* The host holds no secret key: it cannot rewrap. */
    void *nw = (void *)1;
    size_t nwlen = 3;
    ck_assert_int_eq(e->rewrap(w, wlen, to_c, 1, &nw, &nwlen, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(nw);
    ck_assert_uint_eq(nwlen, 0);

    play_in("HOME_A");
    ck_assert_msg(e->rewrap(w, wlen, to_c, 1, &nw, &nwlen, msg, sizeof msg) == XBCRYPT_OK, "%s",
                  msg);
    xbcrypt_key *k = (xbcrypt_key *)1;
    ck_assert_int_eq(e->unwrap(nw, nwlen, &k, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(k);

    play_in("HOME_C");
    ck_assert_int_eq(e->unwrap(nw, nwlen, &k, msg, sizeof msg), XBCRYPT_OK);
    abi_buf out = {0};
    ck_assert_int_eq(decode(&p, k, &stream, &out), XBCRYPT_OK);
    ck_assert_uint_eq(out.len, 5000);
    ck_assert(memcmp(out.data, plain, 5000) == 0);
    p.api->key_free(k);

    /* A rewrap to a key that is not usable fails before the secret key is
     * used, and gives nothing. */
    const char *to_r[] = {env("FPR_R")};
    play_in("HOME_A");
    void *bad = (void *)1;
    ck_assert_int_eq(e->rewrap(w, wlen, to_r, 1, &bad, &nwlen, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(strstr(msg, env("FPR_R")));

    abi_buf_free(&out);
    abi_buf_free(&stream);
    free(plain);
    e->wrapped_free(nw);
    e->wrapped_free(w);
    abi_unload(&p);
}
END_TEST

/* Expects wrap() and check_recipients() to refuse `to` with `want`, naming
 * `needle` in the message, and to give nothing back. */
static void refused(const xbcrypt_envelope_v1 *e, const char *const *to, size_t n,
                    xbcrypt_status want, const char *needle)
{
    char msg[512] = "";
    void *w = (void *)1;
    size_t wlen = 9;
    xbcrypt_key *key = (xbcrypt_key *)1;
    ck_assert_int_eq(e->wrap(to, n, &w, &wlen, &key, msg, sizeof msg), want);
    ck_assert_ptr_null(w);
    ck_assert_uint_eq(wlen, 0);
    ck_assert_ptr_null(key);
    ck_assert_msg(strstr(msg, needle) != NULL, "message \"%s\" lacks \"%s\"", msg, needle);
    msg[0] = '\0';
    ck_assert_int_eq(e->check_recipients(to, n, msg, sizeof msg), want);
    ck_assert_msg(strstr(msg, needle) != NULL, "message \"%s\" lacks \"%s\"", msg, needle);
}

START_TEST(test_bad_recipients)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_envelope_v1 *e = envelope(&p);
    play_in("HOME_HOST");
    const char *unknown = "0123456789ABCDEF0123456789ABCDEF01234567";
    const char *a = env("FPR_A");

    const char *t1[] = {unknown};
    refused(e, t1, 1, XBCRYPT_E_KEY, unknown);
    /* One bad recipient among good ones fails the whole call. */
    const char *t2[] = {a, unknown};
    refused(e, t2, 2, XBCRYPT_E_KEY, "no such public key");
    const char *t3[] = {env("FPR_S")};
    refused(e, t3, 1, XBCRYPT_E_KEY, "encryption subkey");
    const char *t4[] = {env("FPR_R")};
    refused(e, t4, 1, XBCRYPT_E_KEY, "revoked");
    /* Names, addresses and key IDs are not fingerprints. */
    const char *t5[] = {"alice@test.invalid"};
    refused(e, t5, 1, XBCRYPT_E_ARG, "full fingerprint");
    char keyid[17];
    memcpy(keyid, a + 24, 16);
    keyid[16] = '\0';
    const char *t6[] = {keyid};
    refused(e, t6, 1, XBCRYPT_E_ARG, "full fingerprint");
    const char *t7[] = {NULL};
    refused(e, t7, 1, XBCRYPT_E_ARG, "full fingerprint");
    refused(e, t1, 0, XBCRYPT_E_ARG, "at least one recipient");
    refused(e, NULL, 1, XBCRYPT_E_ARG, "at least one recipient");

    /* Lower case and a 0x prefix name the same key. */
    char lower[43] = "0x";
    for (size_t i = 0; i < 40; i++)
        lower[2 + i] = (char)(a[i] >= 'A' && a[i] <= 'F' ? a[i] - 'A' + 'a' : a[i]);
    lower[42] = '\0';
    const char *t8[] = {lower};
    char msg[512];
    ck_assert_msg(e->check_recipients(t8, 1, msg, sizeof msg) == XBCRYPT_OK, "%s", msg);

    /* NULL outputs are misuse, not a crash. */
    void *w;
    size_t wlen;
    xbcrypt_key *key;
    const char *ok[] = {a};
    ck_assert_int_eq(e->wrap(ok, 1, NULL, &wlen, &key, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(e->wrap(ok, 1, &w, NULL, &key, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(e->wrap(ok, 1, &w, &wlen, NULL, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(e->unwrap("x", 1, NULL, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(e->unwrap(NULL, 0, &key, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(e->rewrap("x", 1, ok, 1, NULL, &wlen, msg, sizeof msg), XBCRYPT_E_ARG);
    /* No message buffer is fine too. */
    ck_assert_int_eq(e->wrap(t1, 1, &w, &wlen, &key, NULL, 0), XBCRYPT_E_KEY);
    abi_unload(&p);
}
END_TEST

static void unwrap_refused(const xbcrypt_envelope_v1 *e, const void *data, size_t len,
                           const char *needle)
{
    char msg[512] = "";
    xbcrypt_key *key = (xbcrypt_key *)1;
    ck_assert_int_eq(e->unwrap(data, len, &key, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(key);
    ck_assert_msg(strstr(msg, needle) != NULL, "message \"%s\" lacks \"%s\"", msg, needle);
}

START_TEST(test_unwrap_refuses_what_is_not_a_data_key)
{
    abi_plugin p;
    abi_load(&p);
    const xbcrypt_envelope_v1 *e = envelope(&p);
    play_in("HOME_A");
    static const char text[] = "this is not an OpenPGP message\n";
    unwrap_refused(e, text, sizeof text - 1, "not an encrypted OpenPGP message");
    unwrap_refused(e, "", 0, "empty");

    size_t len;
    uint8_t *m = abi_read_file(env("WRAPPED_LITERAL"), &len);
    unwrap_refused(e, m, len, "not an encrypted");
    free(m);
    m = abi_read_file(env("WRAPPED_SHORT"), &len);
    unwrap_refused(e, m, len, "16 bytes");
    free(m);
    m = abi_read_file(env("WRAPPED_LONG"), &len);
    unwrap_refused(e, m, len, "more than 32 bytes");
    free(m);

    /* A damaged wrapped key: one byte of the armoured body changed. */
    const char *to[] = {env("FPR_A")};
    char msg[512];
    void *w;
    size_t wlen;
    xbcrypt_key *key;
    ck_assert_int_eq(e->wrap(to, 1, &w, &wlen, &key, msg, sizeof msg), XBCRYPT_OK);
    p.api->key_free(key);
    char *copy = malloc(wlen);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, w, wlen);
    size_t at = 80; /* past the header line, inside the base64 body */
    copy[at] = copy[at] == 'A' ? 'B' : 'A';
    key = (xbcrypt_key *)1;
    ck_assert_int_ne(e->unwrap(copy, wlen, &key, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_ptr_null(key);
    free(copy);
    /* Cut short (the recipient packets whole), where A's secret key is:
     * not blamed on a missing key. */
    unwrap_refused(e, w, wlen - 40, "damaged or incomplete");
    e->wrapped_free(w);
    abi_unload(&p);
}
END_TEST

/* Calls from several threads at once, each with its own GPGME context. */
struct worker {
    const xbcrypt_envelope_v1 *e;
    const xbcrypt_api *api;
    const char *fpr;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    const char *to[] = {w->fpr};
    char msg[512];
    w->ok = 1;
    for (int i = 0; i < 3 && w->ok; i++) {
        void *wrapped;
        size_t len;
        xbcrypt_key *key = NULL, *back = NULL;
        if (w->e->wrap(to, 1, &wrapped, &len, &key, msg, sizeof msg) != XBCRYPT_OK) {
            w->ok = 0;
            break;
        }
        if (w->e->unwrap(wrapped, len, &back, msg, sizeof msg) != XBCRYPT_OK ||
            w->api->key_size(back) != XBCRYPT_ENVELOPE_KEY_SIZE)
            w->ok = 0;
        w->api->key_free(key);
        w->api->key_free(back);
        w->e->wrapped_free(wrapped);
    }
    return NULL;
}

START_TEST(test_threads)
{
    abi_plugin p;
    abi_load(&p);
    play_in("HOME_A"); /* A's own public and secret key */
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.e = envelope(&p), .api = p.api, .fpr = env("FPR_A"), .ok = 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_msg(w[i].ok, "thread %d failed", i);
    }
    abi_unload(&p);
}
END_TEST

static Suite *envelope_suite(void)
{
    Suite *s = suite_create("envelope-plugin");
    TCase *tc = tcase_create("envelope");
    /* Every call runs gpg: seconds, not milliseconds, under sanitizers. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_wrap_unwrap_two_recipients);
    tcase_add_test(tc, test_rewrap);
    tcase_add_test(tc, test_bad_recipients);
    tcase_add_test(tc, test_unwrap_refuses_what_is_not_a_data_key);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return abi_run_suite(envelope_suite(), CK_FORK_GETENV);
}
