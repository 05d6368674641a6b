/*
 * xbc_main.c - the xbcrypt drop-in: encrypt or decrypt one stream.
 *
 * Only this directory prints and exits.  Every message has one grammar:
 *   xbcrypt: error: what went wrong
 *   xbcrypt: hint: what to do
 *   xbcrypt: warning: ...
 * lower-case, no final period.  Exit status 0 means the whole output was
 * written; anything else is 1.
 */
#include "xbc_options.h"
#include "xbc_output.h"
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

#define PROGRESS_STEP ((uint64_t)100 << 20) /* -v: a line per 100 MiB read */

__attribute__((format(printf, 2, 3))) static void say(const char *kind, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf, so that a line is one write on unbuffered stderr. */
    if (kind)
        fprintf(stderr, "xbcrypt: %s: %s\n", kind, line);
    else
        fprintf(stderr, "xbcrypt: %s\n", line);
}

#define error(...) say("error", __VA_ARGS__)
#define warning(...) say("warning", __VA_ARGS__)
#define hint(...) say("hint", __VA_ARGS__)
#define info(...) say(NULL, __VA_ARGS__)

static int usage(void)
{
    printf(
        "Usage: xbcrypt --encrypt-algo=ALGO [--decrypt] [OPTION]...\n"
        "Encrypt standard input (or --input) to standard output (or --output) in Percona\n"
        "XtraBackup's XBCRYPT format, or decrypt it with --decrypt.\n"
        "\n"
        "  -?, --help                   print this help and exit\n"
        "  -V, --version                print the version and exit\n"
        "  -d, --decrypt                decrypt instead of encrypt\n"
        "  -i, --input=FILE             read FILE (a regular file) instead of standard input\n"
        "  -o, --output=FILE            write FILE instead of standard output; an existing\n"
        "                               file or symlink is never replaced; the file appears\n"
        "                               only once it is complete\n"
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
        "\n"
        "Numbers take a K, M or G suffix (powers of 1024).  Long names may use '_' for\n"
        "'-', and --loose-NAME is accepted for any option.  The key is never read from\n"
        "the command line or the environment (XBCRYPT_ENCRYPTION_KEY is refused).\n"
        "Make a key file with: (umask 077; openssl rand -out KEYFILE 32)\n"
        "\n"
        "Examples:\n"
        "  xbcrypt -a AES256 -f backup.key < backup.xbstream > backup.xbstream.xbcrypt\n"
        "  xbcrypt -d -a AES256 -f backup.key < backup.xbstream.xbcrypt | xbstream -x\n",
        XBC_THREADS_MAX);
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
    /* Leave no half-written temporary behind; then die of the signal. */
    xbc_output_unlink_from_signal();
    raise(sig); /* SA_RESETHAND | SA_NODEFER: the default action now */
}

/* Before any key is read: no core dump may hold it, no debugger of the same
 * user may attach; a closed pipe is an error, not a silent death; an
 * interrupt removes the temporary output. */
static void harden(void)
{
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit none = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &none);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = (int)(SA_RESETHAND | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Where the output goes, for the write callback. */
struct sink {
    int fd;
    uint64_t written; /* bytes the fd accepted */
};

/* The engine's write callback: everything, or an errno value. */
static int sink_write(void *opaque, const void *buf, size_t len)
{
    struct sink *s = opaque;
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(s->fd, p, len > (size_t)1 << 30 ? (size_t)1 << 30 : len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
        s->written += (uint64_t)n;
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens --input: a regular file only.  O_NONBLOCK so that a FIFO given by
 * mistake is refused instead of waited on. */
static int open_input(const char *path)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        error("cannot read %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        error("cannot read %s: %s", path,
              S_ISDIR(st.st_mode) ? "it is a directory" : "--input takes a regular file");
        if (!S_ISDIR(st.st_mode))
            hint("give anything else on standard input: xbcrypt ... < %s", path);
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return fd;
}

/* Reads the key file, after a look at its permissions. */
static xbcrypt_key *load_key(const char *path, xbcrypt_algo algo)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH))) {
        warning("key file %s can be read by %s (mode %04o)", path,
                (st.st_mode & S_IROTH) ? "every user" : "its group",
                (unsigned)(st.st_mode & 07777));
        hint("chmod 600 %s", path);
    }
    char msg[512];
    xbcrypt_key *key = NULL;
    xbcrypt_status st_ = xb_key_from_file(path, &key, msg, sizeof msg);
    if (st_ != XBCRYPT_OK) {
        error("%s", msg[0] ? msg : xb_status_name(st_));
        return NULL;
    }
    st_ = xb_key_check(key, algo, msg, sizeof msg);
    if (st_ != XBCRYPT_OK) {
        error("key file %s: %s", path, msg[0] ? msg : xb_status_name(st_));
        xb_key_free(key);
        return NULL;
    }
    return key;
}

/* One stream object, encoder or decoder, behind one set of calls. */
struct stream {
    bool decrypt;
    xbcrypt_encoder *enc;
    xbcrypt_decoder *dec;
};

static xbcrypt_status stream_buffer(struct stream *s, void **p, size_t *avail)
{
    return s->decrypt ? xb_decoder_buffer(s->dec, p, avail) : xb_encoder_buffer(s->enc, p, avail);
}

static xbcrypt_status stream_commit(struct stream *s, size_t n)
{
    return s->decrypt ? xb_decoder_commit(s->dec, n) : xb_encoder_commit(s->enc, n);
}

static xbcrypt_status stream_finish(struct stream *s)
{
    return s->decrypt ? xb_decoder_finish(s->dec) : xb_encoder_finish(s->enc);
}

static void stream_stats(const struct stream *s, xbcrypt_stats *st)
{
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
    if (s->decrypt)
        xb_decoder_stats(s->dec, st);
    else
        xb_encoder_stats(s->enc, st);
}

static const char *stream_message(const struct stream *s)
{
    return s->decrypt ? xb_decoder_message(s->dec) : xb_encoder_message(s->enc);
}

static int stream_write_error(const struct stream *s)
{
    return s->decrypt ? xb_decoder_write_error(s->dec) : xb_encoder_write_error(s->enc);
}

static void stream_free(struct stream *s)
{
    xb_decoder_free(s->dec);
    xb_encoder_free(s->enc);
    s->dec = NULL;
    s->enc = NULL;
}

/* What to suggest after an engine error. */
static void engine_hint(xbcrypt_status st, const xbcrypt_stats *stats, xbcrypt_algo algo)
{
    switch (st) {
    case XBCRYPT_E_WRONG_KEY:
        if (algo == XBCRYPT_ALGO_NONE)
            hint("the data looks encrypted: pass the --encrypt-algo and --encrypt-key-file it "
                 "was made with");
        else
            hint("check that --encrypt-key-file holds the key the data was encrypted with; if "
                 "it does, that chunk is damaged");
        break;
    case XBCRYPT_E_MAGIC:
        if (stats->chunks == 0) {
            hint("the input is not an xbcrypt stream: not encrypted, or already decrypted?");
            break;
        }
        /* fall through */
    case XBCRYPT_E_CRC:
    case XBCRYPT_E_HASH:
    case XBCRYPT_E_LIMIT:
        if (stats->chunks == 0)
            hint("the input is damaged there");
        else
            hint("the input is damaged there; the %" PRIu64 " chunk%s before it verified",
                 stats->chunks, stats->chunks == 1 ? "" : "s");
        break;
    case XBCRYPT_E_TRUNCATED:
        hint("the input is incomplete: was a copy or the backup interrupted?");
        break;
    default:
        break;
    }
}

static int run(const struct xbc_options *o)
{
    const char *in_name = o->input ? o->input : "standard input";
    const char *out_name = o->output ? o->output : "standard output";
    char err[1024];
    char msg[512] = "";
    const char *hint_text;
    int rc = 1;
    int in_fd = STDIN_FILENO;
    xbcrypt_key *key = NULL;
    struct stream s = {.decrypt = o->decrypt};
    struct sink sink = {.fd = -1, .written = 0};
    struct xbc_output out;
    xbcrypt_settings set;
    xbcrypt_stats stats;
    xbcrypt_status st;

    if (o->input && (in_fd = open_input(o->input)) < 0)
        return 1;
    if (o->output && xbc_output_check(o->output, err, sizeof err, &hint_text) != 0) {
        error("%s", err);
        if (hint_text)
            hint("%s", hint_text);
        goto out;
    }
    if ((st = xb_init()) != XBCRYPT_OK) {
        error("cannot start the engine: %s", xb_status_name(st));
        goto out;
    }
    if (o->algo != XBCRYPT_ALGO_NONE && !(key = load_key(o->key_file, o->algo)))
        goto out;

    xb_settings_default(&set);
    set.algo = o->algo;
    set.key = key;
    set.chunk_size = (size_t)o->chunk_size;
    set.read_buffer_size = (size_t)o->read_buffer_size;
    set.threads = o->threads;
    if (o->decrypt)
        st = xb_decoder_new(&set, sink_write, &sink, &s.dec, msg, sizeof msg);
    else
        st = xb_encoder_new(&set, sink_write, &sink, &s.enc, msg, sizeof msg);
    if (st != XBCRYPT_OK) {
        error("%s", msg[0] ? msg : xb_status_name(st));
        goto out;
    }

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
    double t0 = now();
    uint64_t total_in = 0, next_report = PROGRESS_STEP;
    int read_errno = 0;
    for (;;) {
        void *p;
        size_t avail;
        if ((st = stream_buffer(&s, &p, &avail)) != XBCRYPT_OK)
            break;
        ssize_t n;
        do
            n = read(in_fd, p, avail);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            read_errno = errno;
            break;
        }
        if (n == 0) {
            st = stream_finish(&s);
            break;
        }
        if ((st = stream_commit(&s, (size_t)n)) != XBCRYPT_OK)
            break;
        total_in += (uint64_t)n;
        if (o->verbose && total_in >= next_report) {
            stream_stats(&s, &stats);
            info("%" PRIu64 " MiB read, %" PRIu64 " chunks done, %.1f s", total_in >> 20,
                 stats.chunks, now() - t0);
            while (next_report <= total_in)
                next_report += PROGRESS_STEP;
        }
    }

    stream_stats(&s, &stats);
    bool to_temp = out.tmp_path != NULL;
    if (read_errno) {
        error("reading %s: %s", in_name, strerror(read_errno));
    } else if (st != XBCRYPT_OK) {
        int werr = stream_write_error(&s);
        if (st == XBCRYPT_E_WRITE && werr > 0)
            error("writing %s: %s", out_name, strerror(werr));
        else if (st == XBCRYPT_E_WRITE)
            error("writing %s failed", out_name);
        else if (o->input)
            error("%s: %s", o->input, stream_message(&s));
        else
            error("%s", stream_message(&s));
        engine_hint(st, &stats, o->algo);
    } else if (xbc_output_commit(&out, err, sizeof err) != 0) {
        error("%s", err);
    } else {
        rc = 0;
    }

    if (rc != 0) {
        if (to_temp)
            info("nothing was written to %s", out_name);
        else if (sink.written == 0)
            info("nothing was written to %s", out_name);
        else
            info("%" PRIu64 " %s bytes were written to %s before the error; that output is "
                 "incomplete",
                 sink.written, o->decrypt ? "plaintext" : "encrypted", out_name);
        xbc_output_abort(&out);
    } else if (o->verbose) {
        double dt = now() - t0;
        info("%s %" PRIu64 " bytes %s %" PRIu64 " bytes in %" PRIu64 " chunks, %.3f s, "
             "%.1f MB/s",
             o->decrypt ? "decrypted" : "encrypted",
             o->decrypt ? stats.encrypted_bytes : stats.plaintext_bytes,
             o->decrypt ? "to" : "into",
             o->decrypt ? stats.plaintext_bytes : stats.encrypted_bytes, stats.chunks, dt,
             dt > 0 ? (double)stats.plaintext_bytes / 1e6 / dt : 0.0);
    }

out:
    stream_free(&s);
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
    if (!o.output && (closed_fds & 2u)) {
        error("standard output is closed; give the output on it or with --output");
        return 1;
    }

    harden();
    return run(&o);
}
