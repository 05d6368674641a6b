/*
 * xbc_common.h - what every mode of the xbcrypt drop-in shares: messages,
 * opening the input, reading a key file, the output callback, one stream
 * object (encoder or decoder) behind one set of calls, and the read loop
 * that feeds it.
 *
 * Messages have one grammar (lower-case, no final period):
 *   xbcrypt: error: what went wrong
 *   xbcrypt: hint: what to do
 *   xbcrypt: warning: ...
 *   xbcrypt: ...            (information)
 */
#ifndef XBC_COMMON_H
#define XBC_COMMON_H

#include "xb_engine.h"
#include "xbc_mapped.h"
#include "xbc_options.h"
#include "xbc_output.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xbc_progress;

/* One line on stderr: "xbcrypt: KIND: text", or "xbcrypt: text" when kind
 * is NULL.  Clears a progress line first. */
void xbc_say(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define error(...) xbc_say("error", __VA_ARGS__)
#define warning(...) xbc_say("warning", __VA_ARGS__)
#define hint(...) xbc_say("hint", __VA_ARGS__)
#define info(...) xbc_say(NULL, __VA_ARGS__)

/* Seconds on the monotonic clock. */
double xbc_now(void);

/* Opens --input: a regular file only (a FIFO is refused, not waited on).
 * Returns the fd, or -1 after printing why. */
int xbc_open_input(const char *path);

/* Reads a key file after a look at its permissions, and checks it fits
 * `algo`.  NULL after printing why. */
xbcrypt_key *xbc_load_key(const char *path, xbcrypt_algo algo);

/* Where output goes, for xbc_sink_write. */
struct xbc_sink {
    int fd;
    uint64_t written; /* bytes the fd accepted */
    int error;        /* 0, or the errno of the write that failed */
};

/* An engine write callback over a struct xbc_sink: everything, or an errno
 * value. */
int xbc_sink_write(void *opaque, const void *buf, size_t len);

/* One stream object, encoder or decoder, behind one set of calls. */
struct xbc_stream {
    bool decrypt;
    xbcrypt_encoder *enc;
    xbcrypt_decoder *dec;
    struct xbc_map map; /* the input, when xbc_pump() mapped it; unmapped by xbc_stream_free() */
};

/* Makes the encoder, or with s->decrypt the decoder, over `set`, writing
 * through write(opaque).  XBCRYPT_OK, or the engine's status after
 * printing why. */
xbcrypt_status xbc_stream_new(struct xbc_stream *s, const xbcrypt_settings *set,
                              xbcrypt_write_fn write, void *opaque);
void xbc_stream_stats(const struct xbc_stream *s, xbcrypt_stats *st);
const char *xbc_stream_message(const struct xbc_stream *s);
int xbc_stream_write_error(const struct xbc_stream *s);
void xbc_stream_free(struct xbc_stream *s);

/* The read loop: what it is given and what it found. */
struct xbc_pump {
    int fd;                        /* in: the input */
    bool verbose;                  /* in: -v lines every 100 MiB */
    struct xbc_progress *progress; /* in: updated after every read; may be NULL */
    size_t slice;                  /* in: map a regular file and lend it to the engine in
                                    * slices of this many bytes (xbc_map_slice); 0: read() */
    double t0;                     /* out: when the loop started */
    uint64_t bytes_in;             /* out: bytes read from fd */
    int read_errno;                /* out: 0, or why a read failed */
    bool size_known;               /* out: fd is a regular file of... */
    uint64_t size;                 /* out: ...this many bytes to read */
    bool shrank;                   /* out: it ended before `size` bytes */
    bool grew;                     /* out: more than `size` bytes were read */
};

/*
 * Reads p->fd to its end straight into the stream's buffers, then finishes
 * the stream.  Returns the stream's status (XBCRYPT_OK when the whole input
 * went through); when a read fails it returns XBCRYPT_OK with
 * p->read_errno set.  A regular file must give all the bytes it had when it
 * was opened (--input) or when the loop began (stdin): when it ends sooner
 * (truncated meanwhile) the loop stops with p->shrank set and the stream
 * unfinished; bytes beyond (it grew) are read and processed, and flagged in
 * p->grew.  The progress line is finished (with its newline)
 * before it returns.
 */
xbcrypt_status xbc_pump(struct xbc_stream *s, struct xbc_pump *p);

/* What to suggest after an engine error. */
void xbc_engine_hint(xbcrypt_status st, const xbcrypt_stats *stats, xbcrypt_algo algo);

/* The first steps of every run: opens --input (when given) into *in_fd,
 * refuses an input that is also the output (same device and inode as -o or
 * stdout), and starts the engine.  Returns 0, or -1 after printing why (then
 * *in_fd is STDIN_FILENO or already closed). */
int xbc_start(const struct xbc_options *o, int *in_fd);
/* True when the run will hold a key (so locked memory matters). */
bool xbc_holds_key(const struct xbc_options *o);
/* xb_init with its reason on failure, and the one warning when keys cannot
 * be locked (only if `holds_key`); 0 or -1 (error printed). */
int xbc_engine_start(bool holds_key);

/* Checks that -o PATH may be written, before any work: 0, or -1 after
 * printing why (and a hint when there is one). */
int xbc_check_output(const char *path);

/* Settings from the options: algo, key, chunk and read-buffer sizes,
 * threads. */
void xbc_settings(const struct xbc_options *o, xbcrypt_algo algo, const xbcrypt_key *key,
                  xbcrypt_settings *set);

/*
 * After xbc_pump(): prints what went wrong, if anything (an input that
 * shrank, a read error, a write error, or the engine's message naming the chunk, and a hint).
 * Returns 0 when the whole input went through.
 */
/* The error (and hint) for an input file that ended after `got` of the
 * `size` bytes it had when reading began. */
void xbc_say_shrank(const char *in_name, uint64_t size, uint64_t got);

int xbc_report(const struct xbc_options *o, const struct xbc_stream *s, const struct xbc_pump *p,
               xbcrypt_status st, const char *out_name);

/* Gives up on an output: says what is left at out_name (nothing, or an
 * incomplete prefix when it was written directly) and removes the
 * temporary.  Also right after a failed xbc_output_commit().  `what` names
 * the bytes ("plaintext", "encrypted").  A write that failed with EFBIG
 * gets a hint naming the byte offset and the limit (ulimit -f). */
void xbc_output_fail(struct xbc_output *out, const struct xbc_sink *sink, const char *what,
                     const char *out_name);

#endif /* XBC_COMMON_H */
