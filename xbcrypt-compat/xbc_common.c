/* xbc_common.c - what every mode of the xbcrypt drop-in shares; see xbc_common.h. */
#include "xbc_common.h"
#include "xbc_mapped.h"
#include "xbc_progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_STEP ((uint64_t)100 << 20) /* -v: a line per 100 MiB read */

void xbc_say(const char *kind, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    xbc_progress_clear();
    /* One fprintf, so that a line is one write on unbuffered stderr. */
    if (kind)
        fprintf(stderr, "xbcrypt: %s: %s\n", kind, line);
    else
        fprintf(stderr, "xbcrypt: %s\n", line);
}

/* The --input file as it was when opened: xbc_pump() checks that all of it
 * was read (a file that shrank meanwhile ends short but looks whole). */
static struct {
    bool set;
    dev_t dev;
    ino_t ino;
    off_t size;
} input_at_open;

double xbc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int xbc_open_input(const char *path)
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
    input_at_open.set = true;
    input_at_open.dev = st.st_dev;
    input_at_open.ino = st.st_ino;
    input_at_open.size = st.st_size;
    return fd;
}

xbcrypt_key *xbc_load_key(const char *path, xbcrypt_algo algo)
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

int xbc_sink_write(void *opaque, const void *buf, size_t len)
{
    struct xbc_sink *s = opaque;
    if (xbc_map_faulted()) {
        /* Made from pages of a file that shrank under its mapping. */
        s->error = EIO;
        return s->error;
    }
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(s->fd, p, len > (size_t)1 << 30 ? (size_t)1 << 30 : len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s->error = errno ? errno : EIO;
            return s->error;
        }
        if (n == 0) {
            s->error = EIO;
            return EIO;
        }
        p += n;
        len -= (size_t)n;
        s->written += (uint64_t)n;
    }
    return 0;
}

static xbcrypt_status stream_buffer(struct xbc_stream *s, void **p, size_t *avail)
{
    return s->decrypt ? xb_decoder_buffer(s->dec, p, avail) : xb_encoder_buffer(s->enc, p, avail);
}

static xbcrypt_status stream_commit(struct xbc_stream *s, size_t n)
{
    return s->decrypt ? xb_decoder_commit(s->dec, n) : xb_encoder_commit(s->enc, n);
}

static xbcrypt_status stream_finish(struct xbc_stream *s)
{
    return s->decrypt ? xb_decoder_finish(s->dec) : xb_encoder_finish(s->enc);
}

xbcrypt_status xbc_stream_new(struct xbc_stream *s, const xbcrypt_settings *set,
                              xbcrypt_write_fn write, void *opaque)
{
    char msg[512] = "";
    xbcrypt_status st =
        s->decrypt ? xb_decoder_new(set, write, opaque, &s->dec, msg, sizeof msg)
                   : xb_encoder_new(set, write, opaque, &s->enc, msg, sizeof msg);
    if (st != XBCRYPT_OK)
        error("%s", msg[0] ? msg : xb_status_name(st));
    return st;
}

void xbc_stream_stats(const struct xbc_stream *s, xbcrypt_stats *st)
{
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
    if (s->decrypt)
        xb_decoder_stats(s->dec, st);
    else
        xb_encoder_stats(s->enc, st);
}

const char *xbc_stream_message(const struct xbc_stream *s)
{
    return s->decrypt ? xb_decoder_message(s->dec) : xb_encoder_message(s->enc);
}

int xbc_stream_write_error(const struct xbc_stream *s)
{
    return s->decrypt ? xb_decoder_write_error(s->dec) : xb_encoder_write_error(s->enc);
}

void xbc_stream_free(struct xbc_stream *s)
{
    xb_decoder_free(s->dec);
    xb_encoder_free(s->enc);
    s->dec = NULL;
    s->enc = NULL;
    /* Only now: until the engine is freed its workers may read it. */
    xbc_map_close(&s->map);
}

static void pump_progress(struct xbc_stream *s, struct xbc_pump *p, uint64_t *next_report)
{
    if (p->progress)
        xbc_progress_update(p->progress, p->bytes_in);
    if (p->verbose && p->bytes_in >= *next_report) {
        xbcrypt_stats stats;
        xbc_stream_stats(s, &stats);
        info("%" PRIu64 " MiB read, %" PRIu64 " chunks done, %.1f s", p->bytes_in >> 20,
             stats.chunks, xbc_now() - p->t0);
        while (*next_report <= p->bytes_in)
            *next_report += PROGRESS_STEP;
    }
}

struct lend_ctx {
    struct xbc_stream *s;
    struct xbc_pump *p;
    uint64_t *next_report;
};

static xbcrypt_status lend_to_stream(void *obj, const void *buf, size_t len)
{
    struct xbc_stream *s = obj;
    return s->decrypt ? xb_decoder_feed_shared(s->dec, buf, len)
                      : xb_encoder_feed_shared(s->enc, buf, len);
}

static void lent_progress(void *opaque, uint64_t bytes)
{
    struct lend_ctx *c = opaque;
    c->p->bytes_in = bytes;
    pump_progress(c->s, c->p, c->next_report);
}

xbcrypt_status xbc_pump(struct xbc_stream *s, struct xbc_pump *p)
{
    xbcrypt_status st;
    uint64_t next_report = PROGRESS_STEP;
    p->t0 = xbc_now();
    p->bytes_in = 0;
    p->read_errno = 0;
    p->size_known = false;
    p->shrank = false;
    p->grew = false;
    struct stat fst;
    off_t start = -1; /* where a regular file is read from */
    if (fstat(p->fd, &fst) == 0 && S_ISREG(fst.st_mode)) {
        /* A regular file: all of it is to be read, from where the fd
         * stands (stdin may be a file read partly already).  For --input,
         * the size it had when it was opened. */
        off_t size = fst.st_size;
        if (input_at_open.set && fst.st_dev == input_at_open.dev &&
            fst.st_ino == input_at_open.ino)
            size = input_at_open.size;
        start = lseek(p->fd, 0, SEEK_CUR);
        if (start >= 0) {
            p->size_known = true;
            p->size = size > start ? (uint64_t)(size - start) : 0;
        }
    }
    if (start >= 0 && p->size > 0 && p->slice > 0 &&
        xbc_map_open(&s->map, p->fd, (uint64_t)start, p->size) == 0) {
        struct lend_ctx c = {s, p, &next_report};
        st = xbc_map_lend(&s->map, p->fd, (uint64_t)start, p->slice, lend_to_stream, s,
                          lent_progress, &c, &p->bytes_in, &p->shrank);
        if (st != XBCRYPT_OK || p->shrank)
            goto out;
        /* The rest, if it grew meanwhile, is read as from a pipe. */
        if (lseek(p->fd, (off_t)p->size, SEEK_CUR) < 0) {
            p->read_errno = errno;
            goto out;
        }
    }
    for (;;) {
        void *buf;
        size_t avail;
        if ((st = stream_buffer(s, &buf, &avail)) != XBCRYPT_OK)
            break;
        ssize_t n;
        do
            n = read(p->fd, buf, avail);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            p->read_errno = errno;
            break;
        }
        if (n == 0) {
            if (p->size_known && p->bytes_in < p->size) {
                /* Cut short while being read: the end of what was read may
                 * even be a chunk boundary, so finish() would pass it. */
                p->shrank = true;
                break;
            }
            p->grew = p->size_known && p->bytes_in > p->size;
            st = stream_finish(s);
            break;
        }
        p->bytes_in += (uint64_t)n;
        if ((st = stream_commit(s, (size_t)n)) != XBCRYPT_OK)
            break;
        pump_progress(s, p, &next_report);
    }
out:
    if (p->progress)
        xbc_progress_finish(p->progress);
    return st;
}

void xbc_engine_hint(xbcrypt_status st, const xbcrypt_stats *stats, xbcrypt_algo algo)
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

/* Refuses an input that is also the output (-i F -o F, or -i F >> F):
 * reading what is being appended never ends, and replacing it loses it. */
static int check_not_output(const struct xbc_options *o, int in_fd)
{
    struct stat in, out;
    if (o->mode == XBC_MODE_VERIFY || fstat(in_fd, &in) != 0 || !S_ISREG(in.st_mode))
        return 0;
    const char *out_name = o->output ? o->output : "standard output";
    if (o->output ? stat(o->output, &out) != 0 : fstat(STDOUT_FILENO, &out) != 0)
        return 0;
    if (in.st_dev != out.st_dev || in.st_ino != out.st_ino)
        return 0;
    error("%s is both the input and the output (%s)", o->input ? o->input : "standard input",
          out_name);
    hint("write to another file: xbcrypt never reads and writes one file at once");
    return -1;
}

/* The input of a run (--input, else stdin), checked not to be the output.
 * The fd, or -1 after printing why. */
static int open_run_input(const struct xbc_options *o)
{
    int fd = STDIN_FILENO;
    if (o->input && (fd = xbc_open_input(o->input)) < 0)
        return -1;
    if (check_not_output(o, fd) != 0) {
        if (fd != STDIN_FILENO)
            close(fd);
        return -1;
    }
    return fd;
}

int xbc_start(const struct xbc_options *o, int *in_fd)
{
    *in_fd = STDIN_FILENO;
    if ((*in_fd = open_run_input(o)) < 0) {
        *in_fd = STDIN_FILENO;
        return -1;
    }
    return xbc_engine_start(xbc_holds_key(o));
}

bool xbc_holds_key(const struct xbc_options *o)
{
    if (o->mode == XBC_MODE_INFO)
        return false;
    if (o->algo_given && o->algo == XBCRYPT_ALGO_NONE && o->mode != XBC_MODE_REKEY)
        return false;
    return o->key_file || o->wrapped_key_file || o->n_recipients || o->new_key_file;
}

int xbc_engine_start(bool holds_key)
{
    char msg[256] = "";
    xbcrypt_status st = xb_init_msg(msg, sizeof msg);
    if (st != XBCRYPT_OK) {
        error("cannot start the engine: %s", msg[0] ? msg : xb_status_name(st));
        return -1;
    }
    /* Once per process, and only where a key will be in memory. */
    static bool warned;
    const char *unlocked = xb_secure_memory_warning();
    if (holds_key && unlocked && !warned) {
        warned = true;
        warning("%s", unlocked);
    }
    return 0;
}

int xbc_check_output(const char *path)
{
    char err[1024];
    const char *hint_text;
    if (xbc_output_check(path, err, sizeof err, &hint_text) == 0)
        return 0;
    error("%s", err);
    if (hint_text)
        hint("%s", hint_text);
    return -1;
}

void xbc_settings(const struct xbc_options *o, xbcrypt_algo algo, const xbcrypt_key *key,
                  xbcrypt_settings *set)
{
    xb_settings_default(set);
    set->algo = algo;
    set->key = key;
    set->chunk_size = (size_t)o->chunk_size;
    set->read_buffer_size = (size_t)o->read_buffer_size;
    set->threads = o->threads;
}

void xbc_say_shrank(const char *in_name, uint64_t size, uint64_t got)
{
    error("%s shrank while it was read: it had %" PRIu64 " bytes to read when reading began, "
          "and it ended after %" PRIu64 "; the output is incomplete",
          in_name, size, got);
    hint("something truncated or rewrote the file during the run; run again when nothing "
         "writes to it");
}

int xbc_report(const struct xbc_options *o, const struct xbc_stream *s, const struct xbc_pump *p,
               xbcrypt_status st, const char *out_name)
{
    xbcrypt_stats stats;
    xbc_stream_stats(s, &stats);
    const char *in_name = o->input ? o->input : "standard input";
    if (p->shrank) {
        xbc_say_shrank(in_name, p->size, p->bytes_in);
        return -1;
    }
    if (p->grew && st == XBCRYPT_OK)
        warning("%s grew while it was read: %" PRIu64 " bytes when reading began, %" PRIu64
                " read to its end, all of them processed",
                in_name, p->size, p->bytes_in);
    if (p->read_errno) {
        error("reading %s at byte %" PRIu64 ": %s", o->input ? o->input : "standard input",
              p->bytes_in, strerror(p->read_errno));
        return -1;
    }
    if (st == XBCRYPT_OK)
        return 0;
    /* The chunk being written is the first one not counted; the encrypted
     * stream's offset of it is what was counted before. */
    int werr = xbc_stream_write_error(s);
    if (st == XBCRYPT_E_WRITE)
        error("writing %s: %s (chunk %" PRIu64 ", byte %" PRIu64 " of the encrypted stream)",
              out_name, werr > 0 ? strerror(werr) : "the write failed", stats.chunks,
              stats.encrypted_bytes);
    else if (o->input)
        error("%s: %s", o->input, xbc_stream_message(s));
    else
        error("%s", xbc_stream_message(s));
    xbc_engine_hint(st, &stats, o->algo);
    return -1;
}

void xbc_output_fail(struct xbc_output *out, const struct xbc_sink *sink, const char *what,
                     const char *out_name)
{
    if (!out->direct || sink->written == 0)
        info("nothing was written to %s", out_name);
    else
        info("%" PRIu64 " %s bytes were written to %s before the error; that output is "
             "incomplete",
             sink->written, what, out_name);
    if (sink->error == EFBIG) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            sink->written >= (uint64_t)rl.rlim_cur)
            hint("the write stopped at byte %" PRIu64 " of %s: the file size limit of this "
                 "process (ulimit -f) is %" PRIu64 " bytes; raise it or lift it (ulimit -f "
                 "unlimited)",
                 sink->written, out_name, (uint64_t)rl.rlim_cur);
        else
            hint("the write stopped at byte %" PRIu64 " of %s: the file system takes no larger "
                 "file; write to another one",
                 sink->written, out_name);
    }
    xbc_output_abort(out);
}
