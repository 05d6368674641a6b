/*
 * test_abi_archive.c - the archive functions of the table (ABI 1.1), as a
 * backup tool in the same process would use them: dlopen, the table, the
 * fixtures Percona's tools made.  Output archives are read back by a small
 * parser written here (the engine does not check itself), members are
 * decrypted with the table's stream decoder, and contents are compared with
 * the manifest's SHA-256 by this file's own SHA-256.
 */
#include "abi_common.h"
#include "../unit/xbs_manifest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static abi_plugin plug;


/* ---- a minimal archive reader (P and E chunks, as the engine writes) ---- */

typedef struct amember {
    char path[512];
    abi_buf data;
    int closed;
} amember;

typedef struct atree {
    amember m[16];
    unsigned n;
    uint64_t max_payload;
} atree;

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static amember *member_of(atree *t, const char *path)
{
    for (unsigned i = 0; i < t->n; i++)
        if (strcmp(t->m[i].path, path) == 0)
            return &t->m[i];
    ck_assert_uint_lt(t->n, 16);
    amember *m = &t->m[t->n++];
    snprintf(m->path, sizeof m->path, "%s", path);
    return m;
}

static void read_archive(const uint8_t *p, size_t len, atree *t)
{
    memset(t, 0, sizeof *t);
    size_t pos = 0;
    while (pos < len) {
        ck_assert_uint_ge(len - pos, 14);
        ck_assert_int_eq(memcmp(p + pos, "XBSTCK01", 8), 0);
        const uint8_t type = p[pos + 9];
        const size_t plen = (size_t)le(p + pos + 10, 4);
        ck_assert_uint_lt(plen, 512);
        char path[512];
        memcpy(path, p + pos + 14, plen);
        path[plen] = '\0';
        amember *m = member_of(t, path);
        ck_assert(!m->closed);
        pos += 14 + plen;
        if (type == 'E') {
            m->closed = 1;
            continue;
        }
        ck_assert_int_eq(type, 'P');
        const uint64_t n = le(p + pos, 8), off = le(p + pos + 8, 8);
        pos += 20;
        ck_assert_uint_le(n, len - pos);
        ck_assert_uint_eq(off, m->data.len); /* contiguous */
        if (n > t->max_payload)
            t->max_payload = n;
        abi_buf_write(&m->data, p + pos, (size_t)n);
        pos += (size_t)n;
    }
}

static void atree_free(atree *t)
{
    for (unsigned i = 0; i < t->n; i++)
        abi_buf_free(&t->m[i].data);
}

/* Each member is NAME + suffix; decrypted with key when key is set. */
static void expect_tree(atree *t, const char *suffix, const xbcrypt_key *key)
{
    const xbcrypt_api *api = plug.api;
    ck_assert_uint_eq(t->n, XBS_NTREE);
    for (size_t i = 0; i < XBS_NTREE; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", xbs_tree[i].path, suffix);
        amember *m = member_of(t, name);
        ck_assert_msg(m->closed, "member %s missing or not closed", name);
        abi_buf plain = {0};
        const abi_buf *b = &m->data;
        if (key) {
            xbcrypt_settings s;
            api->settings_default(&s);
            s.key = key;
            char msg[256];
            ck_assert_int_eq(abi_decode(api, &s, m->data.data, m->data.len, 0, &plain, NULL, msg,
                                        sizeof msg),
                             XBCRYPT_OK);
            b = &plain;
        }
        uint8_t d[32];
        char hex[65];
        abi_sha256(b->data, b->len, d);
        abi_hex32(d, hex);
        ck_assert_uint_eq(b->len, xbs_tree[i].bytes);
        ck_assert_msg(strcmp(hex, xbs_tree[i].sha256) == 0, "member %s differs", name);
        abi_buf_free(&plain);
    }
}

static xbcrypt_status run(const xbcrypt_archive_settings *s, const uint8_t *in, size_t len,
                          size_t split, abi_buf *out, xbcrypt_archive_summary *sum, char *msg,
                          size_t msg_size)
{
    const xbcrypt_api *api = plug.api;
    xbcrypt_archive *a = NULL;
    xbcrypt_status st = api->archive_new(s, out ? abi_buf_write : NULL, out, &a, msg, msg_size);
    for (size_t pos = 0; st == XBCRYPT_OK && pos < len;) {
        size_t n = split && split < len - pos ? split : len - pos;
        st = api->archive_feed(a, in + pos, n);
        pos += n;
    }
    if (st == XBCRYPT_OK)
        st = api->archive_finish(a);
    if (a) {
        ck_assert_int_eq(api->archive_status(a), st);
        snprintf(msg, msg_size, "%s", api->archive_message(a));
        if (sum)
            api->archive_summary(a, sum);
    }
    api->archive_free(a);
    return st;
}

static void setup(void)
{
    abi_load(&plug);
}

static void teardown(void)
{
    abi_unload(&plug);
}

START_TEST(test_table_has_archive)
{
    const xbcrypt_api *api = plug.api;
    ck_assert(XBCRYPT_API_HAS(api, archive_settings_default));
    ck_assert(XBCRYPT_API_HAS(api, archive_check_free));
    ck_assert_uint_ge(api->version_number(), XBCRYPT_VERSION_NUMBER(1, 1, 0));
    const void *const fns[] = {
        (const void *)&api->archive_settings_default, (const void *)&api->archive_new,
        (const void *)&api->archive_feed, (const void *)&api->archive_finish,
        (const void *)&api->archive_free, (const void *)&api->archive_status,
        (const void *)&api->archive_message, (const void *)&api->archive_summary,
        (const void *)&api->archive_stats, (const void *)&api->archive_write_error,
        (const void *)&api->archive_check_new, (const void *)&api->archive_check_feed,
        (const void *)&api->archive_check_finish, (const void *)&api->archive_check_status,
        (const void *)&api->archive_check_message, (const void *)&api->archive_check_summary,
        (const void *)&api->archive_check_free};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        void *f;
        memcpy(&f, fns[i], sizeof f);
        ck_assert_msg(f != NULL, "archive function %zu is NULL", i);
    }
    /* The new statuses have names. */
    for (int st = XBCRYPT_E_ARCHIVE; st <= XBCRYPT_E_ENCRYPTED; st++)
        ck_assert_str_ne(api->status_name((xbcrypt_status)st), "unknown status");
    /* A host built against 1.0 sees a table it can use (the old fields
     * where they were). */
    ck_assert_uint_eq(offsetof(xbcrypt_api, decoder_fault) + sizeof api->decoder_fault,
                      offsetof(xbcrypt_api, archive_settings_default));
    xbcrypt_archive_settings s;
    memset(&s, 0xee, sizeof s);
    api->archive_settings_default(&s);
    ck_assert_uint_eq(s.struct_size, sizeof s);
    ck_assert_int_eq(s.mode, XBCRYPT_ARCHIVE_VERIFY);
    ck_assert_uint_eq(s.chunk_size, XBCRYPT_CHUNK_SIZE_DEFAULT);
    ck_assert_ptr_null(s.key);
}
END_TEST

START_TEST(test_decrypt_members_backup)
{
    const xbcrypt_api *api = plug.api;
    size_t len;
    uint8_t *in = abi_read_file(abi_fixture_path("xbstream/percona_members_aes256.xbstream"), &len);
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    xbcrypt_archive_settings s;
    api->archive_settings_default(&s);
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    s.key = key;
    s.threads = 3;
    abi_buf out = {0};
    xbcrypt_archive_summary sum = {.struct_size = sizeof sum};
    char msg[512];
    ck_assert_msg(run(&s, in, len, 100000, &out, &sum, msg, sizeof msg) == XBCRYPT_OK, "%s", msg);
    atree t;
    read_archive(out.data, out.len, &t);
    expect_tree(&t, "", NULL);
    ck_assert_uint_le(t.max_payload, 10485760);
    ck_assert_uint_eq(sum.members, 8);
    ck_assert_uint_eq(sum.verified, 8);
    ck_assert_str_eq(sum.backup_type, "full-backuped");
    atree_free(&t);
    abi_buf_free(&out);
    api->key_free(key);
    free(in);
}
END_TEST

START_TEST(test_encrypt_verify_rekey)
{
    const xbcrypt_api *api = plug.api;
    size_t len;
    uint8_t *in = abi_read_file(abi_fixture_path("xbstream/plain_interleaved.xbstream"), &len);
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    xbcrypt_key *nkey = abi_load_key(api, "keys/key16.bin");
    xbcrypt_archive_settings s;
    api->archive_settings_default(&s);
    s.mode = XBCRYPT_ARCHIVE_ENCRYPT;
    s.key = key;
    s.threads = 2;
    abi_buf enc = {0};
    char msg[512];
    ck_assert_msg(run(&s, in, len, 0, &enc, NULL, msg, sizeof msg) == XBCRYPT_OK, "%s", msg);
    atree t;
    read_archive(enc.data, enc.len, &t);
    expect_tree(&t, ".xbcrypt", key); /* each member as its own XBCRYPT file */
    atree_free(&t);

    s.mode = XBCRYPT_ARCHIVE_VERIFY;
    xbcrypt_archive_summary sum = {.struct_size = sizeof sum};
    ck_assert_msg(run(&s, enc.data, enc.len, 4096, NULL, &sum, msg, sizeof msg) == XBCRYPT_OK,
                  "%s", msg);
    ck_assert_uint_eq(sum.encrypted, 8);
    ck_assert_uint_eq(sum.verified, 8);

    /* Rekey to AES-128 (the key's length picks it), then only that key. */
    s.mode = XBCRYPT_ARCHIVE_REKEY;
    s.new_key = nkey;
    abi_buf rk = {0};
    ck_assert_msg(run(&s, enc.data, enc.len, 0, &rk, NULL, msg, sizeof msg) == XBCRYPT_OK, "%s",
                  msg);
    read_archive(rk.data, rk.len, &t);
    expect_tree(&t, ".xbcrypt", nkey);
    atree_free(&t);
    s.mode = XBCRYPT_ARCHIVE_VERIFY;
    s.new_key = NULL;
    ck_assert_int_eq(run(&s, rk.data, rk.len, 0, NULL, NULL, msg, sizeof msg),
                     XBCRYPT_E_WRONG_KEY);
    ck_assert_ptr_nonnull(strstr(msg, "member '"));

    /* A 1.0-sized summary: the engine fills no byte past it. */
    struct {
        xbcrypt_archive_summary s;
    } small;
    memset(&small, 0x5a, sizeof small);
    small.s.struct_size = offsetof(xbcrypt_archive_summary, encrypted);
    s.key = nkey;
    ck_assert_int_eq(run(&s, rk.data, rk.len, 0, NULL, &small.s, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_uint_eq(small.s.struct_size, offsetof(xbcrypt_archive_summary, encrypted));
    ck_assert_uint_eq(small.s.members, 8);
    ck_assert_uint_eq(((const uint8_t *)&small.s)[offsetof(xbcrypt_archive_summary, encrypted)],
                      0x5a);
    abi_buf_free(&rk);
    abi_buf_free(&enc);
    api->key_free(key);
    api->key_free(nkey);
    free(in);
}
END_TEST

/* The inner check: a whole-stream backup cut at an XBCRYPT chunk boundary
 * decrypts cleanly, and the archive inside says it is cut short. */
static int check_put(void *opaque, const void *buf, size_t len)
{
    return plug.api->archive_check_feed(opaque, buf, len) == XBCRYPT_OK ? 0 : 1;
}

START_TEST(test_inner_check)
{
    const xbcrypt_api *api = plug.api;
    size_t len;
    uint8_t *in = abi_read_file(abi_fixture_path("xbstream/whole_aes256.xbstream.xbcrypt"), &len);
    xbcrypt_key *key = abi_load_key(api, "keys/key32.bin");
    const size_t cuts[] = {len, 50 * (44 + 16 + 65536 + 32)};
    for (int i = 0; i < 2; i++) {
        xbcrypt_archive_check *c = NULL;
        char msg[256];
        ck_assert_int_eq(api->archive_check_new(0, &c, msg, sizeof msg), XBCRYPT_OK);
        xbcrypt_settings s;
        api->settings_default(&s);
        s.key = key;
        s.threads = 2;
        xbcrypt_decoder *dec = NULL;
        ck_assert_int_eq(api->decoder_new(&s, check_put, c, &dec, msg, sizeof msg), XBCRYPT_OK);
        ck_assert_int_eq(api->decoder_feed(dec, in, cuts[i]), XBCRYPT_OK);
        ck_assert_int_eq(api->decoder_finish(dec), XBCRYPT_OK);
        xbcrypt_status st = api->archive_check_finish(c);
        xbcrypt_archive_summary sum = {.struct_size = sizeof sum};
        api->archive_check_summary(c, &sum);
        if (i == 0) {
            ck_assert_msg(st == XBCRYPT_OK, "%s", api->archive_check_message(c));
            ck_assert_uint_eq(sum.members, 8);
            ck_assert_int_eq(sum.checkpoints, 1);
        } else {
            /* 3.2 MB of plaintext: inside ibdata1's 10 MiB payload chunk. */
            ck_assert_int_eq(st, XBCRYPT_E_TRUNCATED);
            ck_assert_ptr_nonnull(strstr(api->archive_check_message(c),
                                         "inside the payload of archive chunk 4"));
            ck_assert_ptr_nonnull(strstr(api->archive_check_message(c), "member 'ibdata1'"));
            ck_assert_int_eq(api->archive_check_status(c), st);
        }
        api->decoder_free(dec);
        api->archive_check_free(c);
    }
    api->key_free(key);
    free(in);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("abi-archive");
    TCase *tc = tcase_create("archive");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table_has_archive);
    tcase_add_test(tc, test_decrypt_members_backup);
    tcase_add_test(tc, test_encrypt_verify_rekey);
    tcase_add_test(tc, test_inner_check);
    suite_add_tcase(s, tc);
    return abi_run_suite(s, CK_FORK_GETENV);
}
