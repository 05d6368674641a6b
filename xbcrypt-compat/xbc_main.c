/*
 * xbc_main.c - the xbcrypt drop-in: encrypt or decrypt one stream.  The
 * modes --verify, --rekey and --info are in xbc_modes.c; what all share is
 * in xbc_common.c.
 *
 * Only this directory prints and exits.  Every message has one grammar:
 *   xbcrypt: error: what went wrong
 *   xbcrypt: hint: what to do
 *   xbcrypt: warning: ...
 * lower-case, no final period.  Exit status 0 means the whole output was
 * written; anything else is 1.
 */
#include "xbc_archive.h"
#include "xbc_common.h"
#include "xbc_envelope.h"
#include "xbc_modes.h"
#include "xbc_options.h"
#include "xbc_output.h"
#include "xbc_progress.h"
#include "xb_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
    printf(
        "Usage: xbcrypt --encrypt-algo=ALGO [--decrypt] [OPTION]...\n"
        "       xbcrypt --verify | --rekey | --info [OPTION]...\n"
        "       xbcrypt --xbstream [-d | --verify | --rekey | --info] [OPTION]...\n"
        "Encrypt standard input (or --input) to standard output (or --output) in Percona\n"
        "XtraBackup's XBCRYPT format, or decrypt it with --decrypt.\n"
        "\n"
        "  -?, --help                   print this help and exit\n"
        "  -V, --version                print the version and exit\n"
        "  -d, --decrypt                decrypt instead of encrypt\n"
        "  -i, --input=FILE             read FILE (a regular file) instead of standard input;\n"
        "                               a FILE that shrinks while read is an error, and\n"
        "                               FILE may not be the output too\n"
        "  -o, --output=FILE            write FILE instead of standard output; an existing\n"
        "                               file or symlink is never replaced, a named pipe is\n"
        "                               written only if it is yours; a new file appears\n"
        "                               only once it is complete, and a killed run leaves\n"
        "                               nothing\n"
        "  -a, --encrypt-algo=ALGO      NONE, AES128, AES192 or AES256 (any case); required\n"
        "  -f, --encrypt-key-file=FILE  the key: the whole content of FILE (a file, a FIFO\n"
        "                               or /dev/fd/N); 16, 24 or 32 bytes select AES-128,\n"
        "                               AES-192 or AES-256\n"
        "  -k, --encrypt-key=KEY        refused: a key on the command line is visible to\n"
        "                               every user; use --encrypt-key-file\n"
        "  -s, --encrypt-chunk-size=N   plaintext bytes per chunk (default 64K, minimum 1K)\n"
        "  -t, --encrypt-threads=N      worker threads (default 1, at most %u)\n"
        "  -r, --read-buffer-size=N     chunking restarts every N input bytes (default 10M)\n"
        "  -v, --verbose                progress lines on standard error\n"
        "      --progress               one updating progress line on standard error\n"
        "                               (the default when it is a terminal)\n"
        "      --no-progress            no progress line, even on a terminal\n"
        "\n",
        XBC_THREADS_MAX);
    /* ISO C caps one string literal at 4095 bytes: the rest in parts. */
    fputs("Modes (at most one):\n"
          "      --verify                 decrypt and check every chunk, write nothing; a\n"
          "                               summary on standard error (implies -d; without -f:\n"
          "                               structure and CRC-32 only); exit 0 if all pass, 1\n"
          "                               on damage, an empty input or a legacy chunk after\n"
          "                               a version-3 one, 2 if a chunk's olen != elen\n"
          "                               (other readers refuse it)\n"
          "      --rekey                  re-encrypt the stream read under -f/-a under the key\n"
          "                               of --new-encrypt-key-file, in one streaming pass\n"
          "      --new-encrypt-key-file=FILE  the new key of --rekey (must differ from -f)\n"
          "      --new-encrypt-algo=ALGO  the new algorithm of --rekey (default: -a's)\n"
          "      --info                   list the chunks (no key) on standard output, one\n"
          "                               line each, and flag repeated IVs, sizes over\n"
          "                               INT_MAX, olen != elen, legacy chunks after version\n"
          "                               3 and trailing bytes (where the listing stops);\n"
          "                               with -v the IVs too; exit 0, 2 when something is\n"
          "                               flagged, 1 on damage\n"
          "\n",
          stdout);
    fputs("Archives (a streamed backup is an XBSTREAM archive of files):\n"
          "      --xbstream               work member by member: encrypting makes every NAME\n"
          "                               a NAME.xbcrypt member (what xtrabackup --encrypt\n"
          "                               --stream=xbstream writes), -d turns NAME.xbcrypt\n"
          "                               back into NAME, --rekey re-encrypts every\n"
          "                               NAME.xbcrypt, --verify checks every member, --info\n"
          "                               lists them; -s and -t apply inside members; a\n"
          "                               damaged, unsafe or unclosed member is an error\n"
          "  Without --xbstream, -d and --verify also follow the archive inside a whole\n"
          "  stream (when it starts with XBSTCK01) and fail, exit 1, when it is cut short.\n"
          "\n",
          stdout);
    fputs("Public-key envelope (the backup host holds no key that can decrypt):\n"
          "      --recipient=FINGERPRINT  encrypt under a fresh random data key, wrapped to\n"
          "                               this OpenPGP key (full fingerprint; repeat for more)\n"
          "                               and to it only: a subkey's fingerprint means that\n"
          "                               subkey, and gpg.conf groups do not apply\n"
          "      --wrapped-key-file=FILE  instead of -f: where the wrapped data key is written\n"
          "                               (created, never replaced) or, with -d, --verify or\n"
          "                               --rekey, read from (gpg decrypts it)\n"
          "      --rewrap                 wrap the data key of --wrapped-key-file to the\n"
          "                               --recipient keys instead; touches no data\n"
          "      --new-wrapped-key-file=FILE  what --rewrap writes (created, never replaced)\n"
          "\n",
          stdout);
    fputs("Numbers take a K, M or G suffix (powers of 1024).  Long names may use '_' for\n"
          "'-', and --loose-NAME is accepted for any option.  The key is never read from\n"
          "the command line or the environment (XBCRYPT_ENCRYPTION_KEY is refused).\n"
          "Make a key file with: (umask 077; openssl rand -out KEYFILE 32)\n"
          "\n"
          "Examples:\n"
          "  xbcrypt -a AES256 -f backup.key < backup.xbstream > backup.xbstream.xbcrypt\n"
          "  set -o pipefail   # in scripts: a pipeline fails when any part of it does\n"
          "  xbcrypt -d -a AES256 -f backup.key < backup.xbstream.xbcrypt | xbstream -x\n"
          "  xbcrypt --verify -a AES256 -f backup.key -t 4 -i backup.xbstream.xbcrypt\n"
          "  xbcrypt --rekey -a AES256 -f old.key --new-encrypt-key-file=new.key \\\n"
          "          -i backup.xbstream.xbcrypt -o backup.rekeyed.xbcrypt\n"
          "  xbcrypt --info -i backup.xbstream.xbcrypt\n"
          "  xbcrypt --xbstream -a AES256 -f backup.key < backup.xbstream > backup.enc.xbstream\n"
          "  xbcrypt --xbstream -d -a AES256 -f backup.key < backup.enc.xbstream | mbstream -x\n"
          "  xbcrypt --xbstream --rekey -a AES256 -f old.key --new-encrypt-key-file=new.key \\\n"
          "          -i backup.enc.xbstream -o backup.rekeyed.xbstream\n"
          "  xbcrypt -a AES256 --recipient=FPR --wrapped-key-file=backup.key.asc \\\n"
          "          < backup.xbstream > backup.xbstream.xbcrypt\n"
          "  xbcrypt -d -a AES256 --wrapped-key-file=backup.key.asc < backup.xbstream.xbcrypt\n",
          stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

static int version(void)
{
    printf("xbcrypt Ver %s (xbcrypt-compat, a drop-in for Percona XtraBackup's xbcrypt)\n",
           xb_version_string());
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

static void on_fatal_signal(int sig)
{
    /* Leave no half-written temporary, and no wrapped-key file of a backup
     * that will not exist, behind; then die of the signal. */
    xbc_output_unlink_from_signal();
    xbc_envelope_unlink_from_signal();
    raise(sig); /* SA_RESETHAND | SA_NODEFER: the default action now */
}

/* Before any key is read: no core dump may hold it, no debugger of the same
 * user may attach; a closed pipe or a file size limit (ulimit -f) is a
 * write error with a message, not a silent death; an interrupt removes the
 * temporary output.  A signal ignored at start (nohup, a script's
 * background job) stays ignored. */
static void harden(void)
{
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit none = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &none);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    xbc_map_guard_install();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = (int)(SA_RESETHAND | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    static const int fatal[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction old;
        if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(fatal[i], &sa, NULL);
    }
}

static int run(const struct xbc_options *o)
{
    const char *in_name = o->input ? o->input : "standard input";
    const char *out_name = o->output ? o->output : "standard output";
    char err[1024];
    int rc = 1;
    int in_fd = STDIN_FILENO;
    xbcrypt_key *key = NULL;
    struct xbc_envelope env = {.created = NULL};
    bool partial = false; /* encrypted bytes went where they cannot be taken back */
    struct xbc_stream s = {.decrypt = o->decrypt};
    struct xbc_sink sink = {.fd = -1, .written = 0};
    struct xbc_inner inner = {.check = NULL}; /* -d: the archive inside, if it is one */
    struct xbc_output out;
    struct xbc_progress pg;
    xbcrypt_settings set;
    xbcrypt_stats stats;
    xbcrypt_status st;

    if (xbc_start(o, &in_fd) != 0)
        goto out;
    if (o->output && xbc_check_output(o->output) != 0)
        goto out;
    if (o->wrapped_key_file) {
        /* Encrypting, this creates the wrapped-key file: the last check
         * before it must be the last that can fail without it. */
        if (!(key = xbc_envelope_key(o, &env)))
            goto out;
    } else if (o->algo != XBCRYPT_ALGO_NONE && !(key = xbc_load_key(o->key_file, o->algo)))
        goto out;

    xbc_settings(o, o->algo, key, &set);
    xbc_inner_init(&inner, xbc_sink_write, &sink, false);
    if (xbc_stream_new(&s, &set, o->decrypt ? xbc_inner_write : xbc_sink_write,
                       o->decrypt ? (void *)&inner : (void *)&sink) != XBCRYPT_OK)
        goto out;

    /* Last of all, so that nothing appears when an earlier step fails. */
    if (xbc_output_open(&out, o->output, o->decrypt ? 0600 : 0666, err, sizeof err) != 0) {
        error("%s", err);
        goto out;
    }
    sink.fd = out.fd;

    if (o->verbose) {
        if (o->decrypt)
            info("decrypting %s to %s, %s, %u thread%s", in_name, out_name,
                 xbc_algo_name(o->algo), o->threads, o->threads == 1 ? "" : "s");
        else
            info("encrypting %s to %s, %s, %u thread%s, chunk size %" PRIu64
                 ", read buffer size %" PRIu64,
                 in_name, out_name, xbc_algo_name(o->algo), o->threads,
                 o->threads == 1 ? "" : "s", o->chunk_size, o->read_buffer_size);
    }
    xbc_progress_start(&pg, o->progress, in_fd, !o->output);
    struct xbc_pump pump = {.fd = in_fd, .verbose = o->verbose, .progress = &pg,
                            .slice = xbc_map_slice(o->threads, o->chunk_size)};
    st = xbc_pump(&s, &pump);
    xbc_stream_stats(&s, &stats);
    if (xbc_report(o, &s, &pump, st, out_name) != 0) {
        /* reported */
    } else if (o->decrypt && xbc_inner_end(&inner) != 0) {
        /* the archive inside is cut short: reported */
    } else if (xbc_output_commit(&out, err, sizeof err) != 0) {
        error("%s", err);
    } else {
        rc = 0;
    }

    if (rc == 0)
        xbc_crypt_done(o, &stats);
    if (rc != 0) {
        partial = out.direct && sink.written > 0;
        xbc_output_fail(&out, &sink, o->decrypt ? "plaintext" : "encrypted", out_name);
    } else if (o->verbose) {
        double dt = xbc_now() - pump.t0;
        info("%s %" PRIu64 " bytes %s %" PRIu64 " bytes in %" PRIu64 " chunks, %.3f s, "
             "%.1f MB/s",
             o->decrypt ? "decrypted" : "encrypted",
             o->decrypt ? stats.encrypted_bytes : stats.plaintext_bytes,
             o->decrypt ? "to" : "into",
             o->decrypt ? stats.plaintext_bytes : stats.encrypted_bytes, stats.chunks, dt,
             dt > 0 ? (double)stats.plaintext_bytes / 1e6 / dt : 0.0);
    }

out:
    xbc_envelope_end(&env, rc == 0 || partial);
    xbc_stream_free(&s);
    xbc_inner_free(&inner);
    xb_key_free(key);
    if (in_fd != STDIN_FILENO)
        close(in_fd);
    return rc;
}

/* Occupies fds 0..2 when the caller closed them, so that no file opened
 * later lands there and receives what was meant for stdout or stderr.
 * Returns a bit mask of the ones that were closed. */
static unsigned reserve_std_fds(void)
{
    unsigned closed = 0;
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        closed |= 1u << fd;
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd >= 0 && nfd != fd) {
            /* A lower fd was closed too and got it; loop on. */
            dup2(nfd, fd);
            if (nfd > 2)
                close(nfd);
        }
    }
    return closed;
}

int main(int argc, char **argv)
{
    unsigned closed_fds = reserve_std_fds();
    struct xbc_options o;
    char err[512];
    enum xbc_args_result r = xbc_parse_args(argc, argv, &o, err, sizeof err);
    for (unsigned i = 0; i < o.n_warnings; i++)
        warning("%s", o.warnings[i]);

    /* Refused even when the command line has other faults: the user must
     * learn that this key source will never work. */
    if (getenv("XBCRYPT_ENCRYPTION_KEY") && r != XBC_ARGS_HELP && r != XBC_ARGS_VERSION &&
        r != XBC_ARGS_KEY_REFUSED) {
        error("the environment sets XBCRYPT_ENCRYPTION_KEY, and it is refused: a key in the "
              "environment can be read by other processes, so xbcrypt takes keys from "
              "--encrypt-key-file only");
        hint("unset XBCRYPT_ENCRYPTION_KEY, put the key in a file only you can read and pass "
             "--encrypt-key-file=KEYFILE; make a new key with: (umask 077; openssl rand -out "
             "KEYFILE 32), or store an existing one without a trailing newline with: (umask "
             "077; printf %%s 'KEY' > KEYFILE)");
        return 1;
    }

    switch (r) {
    case XBC_ARGS_RUN:
        break;
    case XBC_ARGS_HELP:
        return usage();
    case XBC_ARGS_VERSION:
        return version();
    case XBC_ARGS_ERROR:
    case XBC_ARGS_KEY_REFUSED:
    case XBC_ARGS_NO_ALGO:
        error("%s", err);
        if (o.hint)
            hint("%s", o.hint);
        return 1;
    }

    /* /dev/null stands in for them now: reading or writing it would lie. */
    if (!o.input && (closed_fds & 1u)) {
        error("standard input is closed; give the input on it or with --input");
        return 1;
    }
    if (!o.output && o.mode != XBC_MODE_VERIFY && (closed_fds & 2u)) {
        error("standard output is closed; give the output on it or with --output");
        return 1;
    }

    harden();
    if (o.xbstream)
        return xbc_run_archive(&o);
    switch (o.mode) {
    case XBC_MODE_VERIFY:
        return xbc_run_verify(&o);
    case XBC_MODE_REKEY:
        return xbc_run_rekey(&o);
    case XBC_MODE_INFO:
        return xbc_run_info(&o);
    case XBC_MODE_REWRAP:
        return xbc_run_rewrap(&o);
    case XBC_MODE_CRYPT:
        break;
    }
    return run(&o);
}
