/*
 * test_abi_interop.c - the plugin's output and the CLI's are
 * interchangeable: what one encrypts the other decrypts, for every
 * algorithm, with several chunk sizes and worker counts.
 *
 * Environment (besides abi_common.h's): XBCRYPT_CLI, the built xbcrypt.
 */
#include "abi_common.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/xbcrypt-interop.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Runs the CLI; paths here never contain a quote. */
static int run_cli(const char *args)
{
    const char *cli = getenv("XBCRYPT_CLI");
    ck_assert_msg(cli != NULL && *cli, "XBCRYPT_CLI is not set");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s", cli, args);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static const struct {
    xbcrypt_algo algo;
    const char *name;
    const char *key;
    size_t chunk;
    unsigned threads;
} cases[] = {
    {XBCRYPT_ALGO_AES128, "AES128", "keys/key16.bin", 65536, 1},
    {XBCRYPT_ALGO_AES192, "AES192", "keys/key24.bin", 4096, 3},
    {XBCRYPT_ALGO_AES256, "AES256", "keys/key32.bin", 1024, 4},
    {XBCRYPT_ALGO_NONE, "NONE", "keys/key32.bin", 65536, 2},
};

START_TEST(test_interop)
{
    abi_plugin p;
    abi_load(&p);
    make_tmpdir();
    const size_t len = 300001;
    uint8_t *plain = abi_plaintext(len);
    char plain_path[512], enc_path[512], out_path[512], args[2048];
    snprintf(plain_path, sizeof plain_path, "%s/plain.bin", tmpdir);
    write_file(plain_path, plain, len);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char keypath[512];
        snprintf(keypath, sizeof keypath, "%s", abi_fixture_path(cases[i].key));
        char msg[256];
        xbcrypt_key *key = NULL;
        ck_assert_int_eq(p.api->key_from_file(keypath, &key, msg, sizeof msg), XBCRYPT_OK);
        xbcrypt_settings s;
        p.api->settings_default(&s);
        s.algo = cases[i].algo;
        s.key = cases[i].algo == XBCRYPT_ALGO_NONE ? NULL : key;
        s.chunk_size = cases[i].chunk;
        s.threads = cases[i].threads;

        /* plugin -> CLI */
        abi_buf enc = {0};
        ck_assert_int_eq(abi_encode(p.api, &s, plain, len, 10000, &enc, NULL, msg, sizeof msg),
                         XBCRYPT_OK);
        snprintf(enc_path, sizeof enc_path, "%s/plugin-%zu.xbcrypt", tmpdir, i);
        snprintf(out_path, sizeof out_path, "%s/plugin-%zu.out", tmpdir, i);
        write_file(enc_path, enc.data, enc.len);
        snprintf(args, sizeof args, "-d -a %s -f '%s' -t %u -i '%s' -o '%s'", cases[i].name,
                 keypath, cases[i].threads, enc_path, out_path);
        ck_assert_msg(run_cli(args) == 0, "CLI cannot decrypt the plugin's %s output",
                      cases[i].name);
        size_t got_len;
        uint8_t *got = abi_read_file(out_path, &got_len);
        ck_assert_uint_eq(got_len, len);
        ck_assert(memcmp(got, plain, len) == 0);
        free(got);
        abi_buf_free(&enc);

        /* CLI -> plugin */
        snprintf(enc_path, sizeof enc_path, "%s/cli-%zu.xbcrypt", tmpdir, i);
        snprintf(args, sizeof args, "-a %s -f '%s' -s %zu -t %u -i '%s' -o '%s'", cases[i].name,
                 keypath, cases[i].chunk, cases[i].threads, plain_path, enc_path);
        ck_assert_msg(run_cli(args) == 0, "CLI cannot encrypt with %s", cases[i].name);
        size_t elen;
        uint8_t *edata = abi_read_file(enc_path, &elen);
        abi_buf dec = {0};
        xbcrypt_stats stats;
        xbcrypt_status st = abi_decode(p.api, &s, edata, elen, 7777, &dec, &stats, msg, sizeof msg);
        ck_assert_msg(st == XBCRYPT_OK, "plugin cannot decrypt the CLI's %s output: %s",
                      cases[i].name, msg);
        ck_assert_uint_eq(dec.len, len);
        ck_assert(memcmp(dec.data, plain, len) == 0);
        ck_assert_uint_eq(stats.chunks, (len + cases[i].chunk - 1) / cases[i].chunk);
        abi_buf_free(&dec);
        free(edata);
        p.api->key_free(key);
    }
    free(plain);
    remove_tmpdir();
    abi_unload(&p);
}
END_TEST

int main(void)
{
    return abi_run_suite(abi_suite_of_one("abi-interop", "interop", 120, test_interop), CK_FORK_GETENV);
}
