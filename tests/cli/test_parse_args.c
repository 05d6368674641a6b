/*
 * test_parse_args.c - xbc_parse_args() called directly: results, values,
 * warnings and messages for the spellings the shell tests cannot see
 * (defaults, limits, argv oddities), with no process in between.
 */
#include "xbc_options.h"

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 32

static struct xbc_options opt;
static char err[512];

/* parse("a", "b", NULL): argv[0] is "xbcrypt". */
static enum xbc_args_result parse(const char *first, ...)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = (char *)"xbcrypt";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < MAX_ARGS; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return xbc_parse_args(argc, argv, &opt, err, sizeof err);
}

START_TEST(defaults)
{
    ck_assert_int_eq(parse("-a", "AES256", "-f", "k", NULL), XBC_ARGS_RUN);
    ck_assert(!opt.decrypt);
    ck_assert(!opt.verbose);
    ck_assert_ptr_null(opt.input);
    ck_assert_ptr_null(opt.output);
    ck_assert_str_eq(opt.key_file, "k");
    ck_assert_int_eq(opt.algo, XBCRYPT_ALGO_AES256);
    ck_assert_uint_eq(opt.chunk_size, 65536);
    ck_assert_uint_eq(opt.read_buffer_size, 10485760);
    ck_assert_uint_eq(opt.threads, 1);
    ck_assert_uint_eq(opt.n_warnings, 0);
}
END_TEST

START_TEST(sizes)
{
    uint64_t v = 0;
    ck_assert_int_eq(xbc_parse_size("0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(xbc_parse_size("1k", &v), 0);
    ck_assert_uint_eq(v, 1024);
    ck_assert_int_eq(xbc_parse_size("3M", &v), 0);
    ck_assert_uint_eq(v, 3u << 20);
    ck_assert_int_eq(xbc_parse_size("2g", &v), 0);
    ck_assert_uint_eq(v, (uint64_t)2 << 30);
    ck_assert_int_eq(xbc_parse_size("18446744073709551615", &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(xbc_parse_size("18446744073709551616", &v), -2);
    ck_assert_int_eq(xbc_parse_size("17179869184G", &v), -2);
    const char *bad[] = {"", "k", "-1", "+1", " 1", "1 ", "1kk", "1KB", "1T", "0x10", "1.0", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(xbc_parse_size(bad[i], &v) == -1, "'%s' accepted", bad[i]);
    ck_assert_int_eq(xbc_parse_size(NULL, &v), -1);
}
END_TEST

START_TEST(limits)
{
    ck_assert_int_eq(parse("-a", "NONE", "-s", "1023", "-t", "0", "-r", "0", NULL), XBC_ARGS_RUN);
    ck_assert_uint_eq(opt.chunk_size, 1024);
    ck_assert_uint_eq(opt.threads, 1);
    ck_assert_uint_eq(opt.read_buffer_size, 1);
    ck_assert_uint_eq(opt.n_warnings, 3);
    ck_assert_ptr_nonnull(strstr(opt.warnings[0], "minimum"));

    ck_assert_int_eq(parse("-a", "NONE", "-s", "2147483615", "-t", "256", NULL), XBC_ARGS_RUN);
    ck_assert_uint_eq(opt.chunk_size, 2147483615u);
    ck_assert_uint_eq(opt.threads, 256);
    ck_assert_int_eq(parse("-a", "NONE", "-s", "2147483616", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "too large"));
    ck_assert_int_eq(parse("-a", "NONE", "-t", "257", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "256"));
    ck_assert_int_eq(parse("-a", "NONE", "-r", "1025G", NULL), XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("-a", "NONE", "-r", "1024G", NULL), XBC_ARGS_RUN);
}
END_TEST

START_TEST(spellings)
{
    ck_assert_int_eq(parse("--encrypt_algo=aes128", "--encrypt_key_file", "k", "-dv",
                           "--loose-input=in", "-oout", "--encrypt-threads", "4",
                           "--read_buffer_size=2k", "--loose_encrypt_chunk_size", "4K", NULL),
                     XBC_ARGS_RUN);
    ck_assert_int_eq(opt.algo, XBCRYPT_ALGO_AES128);
    ck_assert_str_eq(opt.key_file, "k");
    ck_assert(opt.decrypt && opt.verbose);
    ck_assert_str_eq(opt.input, "in");
    ck_assert_str_eq(opt.output, "out");
    ck_assert_uint_eq(opt.threads, 4);
    ck_assert_uint_eq(opt.read_buffer_size, 2048);
    ck_assert_uint_eq(opt.chunk_size, 4096);

    ck_assert_int_eq(parse("-daNONE", "-t4", NULL), XBC_ARGS_RUN);
    ck_assert(opt.decrypt);
    ck_assert_int_eq(opt.algo, XBCRYPT_ALGO_NONE);
    ck_assert_uint_eq(opt.threads, 4);

    /* A value may start with '-' when it is separated. */
    ck_assert_int_eq(parse("-a", "NONE", "-o", "-d", NULL), XBC_ARGS_RUN);
    ck_assert_str_eq(opt.output, "-d");
    ck_assert(!opt.decrypt);
}
END_TEST

START_TEST(results)
{
    ck_assert_int_eq(parse(NULL), XBC_ARGS_NO_ALGO);
    ck_assert_ptr_nonnull(opt.hint);
    ck_assert_int_eq(parse("-?", NULL), XBC_ARGS_HELP);
    ck_assert_int_eq(parse("-V", NULL), XBC_ARGS_VERSION);
    ck_assert_int_eq(parse("--loose-version", NULL), XBC_ARGS_VERSION);
    ck_assert_int_eq(parse("-a", "AES256", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "encrypt-key-file"));
    ck_assert_int_eq(parse("-a", "NONE", "--", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(parse("-a", "NONE", "-", NULL), XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("-a", "NONE", "--loose-nope", NULL), XBC_ARGS_RUN);
    ck_assert_uint_eq(opt.n_warnings, 1);
    ck_assert_str_eq(opt.warnings[0], "ignoring unknown option '--loose-nope'");
    ck_assert_int_eq(parse("-a", "NONE", "--nope", NULL), XBC_ARGS_ERROR);
    ck_assert_str_eq(err, "unknown option '--nope'");
    ck_assert_int_eq(parse("-a", "NONE", "--decrypt=yes", NULL), XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("-a", NULL), XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("-a", "NONE", "-f", NULL), XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("-a", "NONE", "-i", "", NULL), XBC_ARGS_ERROR);
}
END_TEST

START_TEST(key_refused)
{
    const char *secret = "TopSecretValue";
    ck_assert_int_eq(parse("-ddk", secret, NULL), XBC_ARGS_KEY_REFUSED);
    ck_assert_ptr_null(strstr(err, secret));
    ck_assert_ptr_nonnull(strstr(opt.hint, "--encrypt-key-file"));
    ck_assert_ptr_nonnull(strstr(opt.hint, "openssl rand -out KEYFILE 32"));
    ck_assert_int_eq(parse("--nope", "-s", "x", "--loose_encrypt_key", secret, NULL),
                     XBC_ARGS_KEY_REFUSED);
    ck_assert_ptr_null(strstr(err, secret));
    ck_assert_int_eq(parse("-k", NULL), XBC_ARGS_KEY_REFUSED);
    ck_assert_int_eq(parse("--encrypt-key", NULL), XBC_ARGS_KEY_REFUSED);
    /* Not a key option: -k as the value of another one. */
    ck_assert_int_eq(parse("-a", "NONE", "-i", "-k", NULL), XBC_ARGS_RUN);
    ck_assert_str_eq(opt.input, "-k");
}
END_TEST

START_TEST(no_value_echoed)
{
    const char *secret = "TopSecretValue";
    ck_assert_int_eq(parse("-a", secret, NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_null(strstr(err, secret));
    ck_assert_int_eq(parse("-a", "NONE", "-s", secret, NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_null(strstr(err, secret));
    ck_assert_int_eq(parse("-a", "NONE", "--encrypt-kee=TopSecretValue", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_null(strstr(err, secret));
    ck_assert_int_eq(parse("-a", "NONE", secret, NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_null(strstr(err, secret));
    ck_assert_int_eq(parse("-a", "NONE", "--decrypt=TopSecretValue", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_null(strstr(err, secret));
    /* A very long option name is cut, and its value never shown. */
    ck_assert_int_eq(parse("-a", "NONE",
                           "--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa="
                           "TopSecretValue",
                           NULL),
                     XBC_ARGS_ERROR);
    ck_assert_ptr_null(strstr(err, secret));
}
END_TEST

START_TEST(warnings_bounded)
{
    char *argv[40];
    int argc = 0;
    argv[argc++] = (char *)"xbcrypt";
    argv[argc++] = (char *)"-aNONE";
    while (argc < 39)
        argv[argc++] = (char *)"--loose-unknown";
    argv[argc] = NULL;
    ck_assert_int_eq(xbc_parse_args(argc, argv, &opt, err, sizeof err), XBC_ARGS_RUN);
    ck_assert_uint_eq(opt.n_warnings, XBC_WARNINGS_MAX);
}
END_TEST

START_TEST(odd_argv)
{
    /* argc larger than the NULL-terminated array: stops at NULL. */
    char *argv[] = {(char *)"xbcrypt", (char *)"-aNONE", (char *)"-o", NULL};
    ck_assert_int_eq(xbc_parse_args(5, argv, &opt, err, sizeof err), XBC_ARGS_ERROR);
    ck_assert_int_eq(xbc_parse_args(0, argv, &opt, NULL, 0), XBC_ARGS_NO_ALGO);
    ck_assert_int_eq(xbc_parse_args(2, argv, &opt, NULL, 0), XBC_ARGS_RUN);
    ck_assert_str_eq(xbc_algo_name(XBCRYPT_ALGO_AES192), "AES192");
    ck_assert_str_eq(xbc_algo_name((xbcrypt_algo)9), "?");
}
END_TEST

/* Issue 6: --verify, --rekey, --info, --progress / --no-progress. */
START_TEST(modes)
{
    ck_assert_int_eq(parse("-a", "AES256", "-f", "k", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.mode, XBC_MODE_CRYPT);
    ck_assert_int_eq(opt.progress, XBC_PROGRESS_AUTO);

    /* --verify implies -d and needs neither -a nor -f. */
    ck_assert_int_eq(parse("--verify", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.mode, XBC_MODE_VERIFY);
    ck_assert(opt.decrypt);
    ck_assert(!opt.algo_given);
    ck_assert_ptr_null(opt.key_file);
    ck_assert_int_eq(parse("--verify", "-f", "k", "-t", "4", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.algo, XBCRYPT_ALGO_AES256);
    ck_assert_uint_eq(opt.threads, 4);
    ck_assert_int_eq(parse("--loose-verify", "-aNONE", "-d", "--verify", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.algo, XBCRYPT_ALGO_NONE);
    ck_assert_int_eq(parse("--verify", "-o", "out", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--output"));

    /* --info: no key, no -o. */
    ck_assert_int_eq(parse("--info", "-v", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.mode, XBC_MODE_INFO);
    ck_assert(opt.verbose);
    ck_assert_int_eq(parse("--info", "-a", "AES256", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(parse("--info", "-f", "k", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--encrypt-key-file"));
    ck_assert_int_eq(parse("--info", "-o", "x", NULL), XBC_ARGS_ERROR);

    /* One mode at most, with an error naming both. */
    ck_assert_int_eq(parse("--verify", "--info", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--verify and --info cannot be combined"));
    ck_assert_int_eq(parse("--rekey", "-aNONE", "--verify", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--rekey and --verify"));
    ck_assert_int_eq(parse("--info", "--info", NULL), XBC_ARGS_RUN);
    /* --help still wins over a complete line, and a mode error over --help. */
    ck_assert_int_eq(parse("--verify", "--help", NULL), XBC_ARGS_HELP);
    ck_assert_int_eq(parse("--verify", "--rekey", "--help", NULL), XBC_ARGS_ERROR);
}
END_TEST

START_TEST(rekey)
{
    ck_assert_int_eq(parse("--rekey", "-a", "AES256", "-f", "old", "--new-encrypt-key-file",
                           "new", "-t", "4", "-o", "out", NULL),
                     XBC_ARGS_RUN);
    ck_assert_int_eq(opt.mode, XBC_MODE_REKEY);
    ck_assert_str_eq(opt.key_file, "old");
    ck_assert_str_eq(opt.new_key_file, "new");
    ck_assert(!opt.new_algo_given);
    ck_assert_int_eq(opt.new_algo, XBCRYPT_ALGO_AES256); /* the old one */
    ck_assert_str_eq(opt.output, "out");
    ck_assert_int_eq(parse("--rekey", "-aAES256", "-fold", "--new_encrypt_key_file=new",
                           "--new-encrypt-algo=aes128", NULL),
                     XBC_ARGS_RUN);
    ck_assert(opt.new_algo_given);
    ck_assert_int_eq(opt.new_algo, XBCRYPT_ALGO_AES128);
    /* From NONE: the new algorithm must be given, and NONE is refused. */
    ck_assert_int_eq(parse("--rekey", "-aNONE", "--new-encrypt-key-file=n",
                           "--new-encrypt-algo=AES256", NULL),
                     XBC_ARGS_RUN);
    ck_assert_int_eq(parse("--rekey", "-aNONE", "--new-encrypt-key-file=n", NULL),
                     XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "unencrypted"));
    ck_assert_int_eq(parse("--rekey", "-aAES256", "-fk", "--new-encrypt-key-file=n",
                           "--new-encrypt-algo=none", NULL),
                     XBC_ARGS_ERROR);
    /* What it needs. */
    ck_assert_int_eq(parse("--rekey", "-f", "k", "--new-encrypt-key-file=n", NULL),
                     XBC_ARGS_NO_ALGO);
    ck_assert_int_eq(parse("--rekey", "-a", "AES256", "--new-encrypt-key-file=n", NULL),
                     XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--encrypt-key-file is missing"));
    ck_assert_int_eq(parse("--rekey", "-a", "AES256", "-f", "k", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--new-encrypt-key-file is missing"));
    ck_assert_ptr_nonnull(opt.hint);
    ck_assert_int_eq(parse("--rekey", "-aAES256", "-fk", "--new-encrypt-key-file=", NULL),
                     XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("--rekey", "-aAES256", "-fk", "--new-encrypt-key-file=n",
                           "--new-encrypt-algo=AES512", NULL),
                     XBC_ARGS_ERROR);
    ck_assert_str_eq(err, "unknown --new-encrypt-algo: use NONE, AES128, AES192 or AES256");
    /* The new key belongs to --rekey only. */
    ck_assert_int_eq(parse("-aAES256", "-fk", "--new-encrypt-key-file=n", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "only used with --rekey"));
    ck_assert_int_eq(parse("--verify", "--new-encrypt-algo=AES256", NULL), XBC_ARGS_ERROR);
    /* A refused key still wins over everything. */
    ck_assert_int_eq(parse("--rekey", "--info", "-k", "secret", NULL), XBC_ARGS_KEY_REFUSED);
}
END_TEST

START_TEST(progress)
{
    ck_assert_int_eq(parse("-aNONE", "--progress", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.progress, XBC_PROGRESS_ON);
    ck_assert_int_eq(parse("-aNONE", "--progress", "--no-progress", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.progress, XBC_PROGRESS_OFF);
    ck_assert_int_eq(parse("-aNONE", "--no_progress", "--loose-progress", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.progress, XBC_PROGRESS_ON);
    ck_assert_int_eq(parse("-aNONE", "--progress=yes", NULL), XBC_ARGS_ERROR);
    /* -v keeps its meaning and is independent of the progress line. */
    ck_assert_int_eq(parse("-aNONE", "-v", NULL), XBC_ARGS_RUN);
    ck_assert(opt.verbose);
    ck_assert_int_eq(opt.progress, XBC_PROGRESS_AUTO);
    /* No new short letter: Percona may take any of them. */
    ck_assert_int_eq(parse("-aNONE", "-p", NULL), XBC_ARGS_ERROR);
}
END_TEST

/* Issue 11: --xbstream, its spellings and what it goes with. */
START_TEST(xbstream)
{
    ck_assert_int_eq(parse("-a", "AES256", "-f", "k", NULL), XBC_ARGS_RUN);
    ck_assert(!opt.xbstream);
    static const char *const names[] = {"--xbstream", "--loose-xbstream", "--loose_xbstream",
                                            "--xbstream", NULL};
    for (size_t i = 0; names[i]; i++) {
        ck_assert_int_eq(parse(names[i], "-aAES256", "-fk", NULL), XBC_ARGS_RUN);
        ck_assert(opt.xbstream);
        ck_assert_int_eq(opt.mode, XBC_MODE_CRYPT);
        ck_assert(!opt.decrypt);
    }
    /* Position does not matter; repeating it is fine. */
    ck_assert_int_eq(parse("-aAES256", "-fk", "-t", "4", "--xbstream", "--xbstream", NULL),
                     XBC_ARGS_RUN);
    ck_assert(opt.xbstream);
    ck_assert_uint_eq(opt.threads, 4);
    /* No value, and no short letter (Percona may take any). */
    ck_assert_int_eq(parse("--xbstream=1", "-aAES256", "-fk", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--xbstream takes no value"));
    ck_assert_int_eq(parse("--xbstreams", "-aAES256", "-fk", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "unknown option '--xbstreams'"));
    ck_assert_int_eq(parse("-x", "-aAES256", "-fk", NULL), XBC_ARGS_ERROR);

    /* Each mode, member by member. */
    ck_assert_int_eq(parse("--xbstream", "-d", "-aAES256", "-fk", "-o", "out", NULL),
                     XBC_ARGS_RUN);
    ck_assert(opt.xbstream && opt.decrypt && opt.mode == XBC_MODE_CRYPT);
    ck_assert_int_eq(parse("--xbstream", "--decrypt", "-aNONE", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(parse("--xbstream", "--verify", NULL), XBC_ARGS_RUN);
    ck_assert(opt.xbstream && opt.decrypt && opt.mode == XBC_MODE_VERIFY);
    ck_assert_int_eq(parse("--verify", "-fk", "--xbstream", "-t2", NULL), XBC_ARGS_RUN);
    ck_assert_int_eq(opt.algo, XBCRYPT_ALGO_AES256);
    ck_assert_int_eq(parse("--xbstream", "--info", "-v", NULL), XBC_ARGS_RUN);
    ck_assert(opt.xbstream && opt.mode == XBC_MODE_INFO);
    ck_assert_int_eq(parse("--xbstream", "--rekey", "-aAES256", "-fk",
                           "--new-encrypt-key-file=n", NULL),
                     XBC_ARGS_RUN);
    ck_assert(opt.xbstream && opt.mode == XBC_MODE_REKEY);
    ck_assert_str_eq(opt.new_key_file, "n");

    /* What the modes refuse anyway still holds with --xbstream. */
    ck_assert_int_eq(parse("--xbstream", "-aAES256", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--encrypt-key-file is missing"));
    ck_assert_int_eq(parse("--xbstream", "-fk", NULL), XBC_ARGS_NO_ALGO);
    ck_assert_int_eq(parse("--xbstream", "-d", "-fk", NULL), XBC_ARGS_NO_ALGO);
    ck_assert_int_eq(parse("--xbstream", "--verify", "-o", "x", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--output"));
    ck_assert_int_eq(parse("--xbstream", "--info", "-fk", NULL), XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("--xbstream", "--info", "-o", "x", NULL), XBC_ARGS_ERROR);
    ck_assert_int_eq(parse("--xbstream", "--rekey", "-aAES256", "-fk", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--new-encrypt-key-file is missing"));
    ck_assert_int_eq(parse("--xbstream", "--verify", "--info", NULL), XBC_ARGS_ERROR);

    /* Nonsense combinations. */
    ck_assert_int_eq(parse("--xbstream", "-aNONE", NULL), XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--xbstream with --encrypt-algo=NONE"));
    ck_assert_ptr_nonnull(opt.hint);
    ck_assert_int_eq(parse("--xbstream", "--rewrap", "--wrapped-key-file=w",
                           "--new-wrapped-key-file=n", "--recipient=F", NULL),
                     XBC_ARGS_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--xbstream is not used with it"));
    /* Without --xbstream, NONE still works as before. */
    ck_assert_int_eq(parse("-aNONE", NULL), XBC_ARGS_RUN);
    /* A refused key wins here too, and --help over a complete line. */
    ck_assert_int_eq(parse("--xbstream", "-k", "secret", NULL), XBC_ARGS_KEY_REFUSED);
    ck_assert_int_eq(parse("--xbstream", "--help", NULL), XBC_ARGS_HELP);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli_parse_args");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, spellings);
    tcase_add_test(tc, results);
    tcase_add_test(tc, key_refused);
    tcase_add_test(tc, no_value_echoed);
    tcase_add_test(tc, warnings_bounded);
    tcase_add_test(tc, odd_argv);
    tcase_add_test(tc, modes);
    tcase_add_test(tc, rekey);
    tcase_add_test(tc, progress);
    tcase_add_test(tc, xbstream);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
