/*
 * xb_stream.h - what the encoder and decoder share: settings, the job
 * ring, one cipher handle per worker, the first error and its message,
 * the output callback and the totals.
 *
 * Every field is owned by the producer thread (the caller of the public
 * functions), except the per-thread crypto state: workers[w] is used only
 * by the thread that runs as worker w (the producer is worker `threads`).
 */
#ifndef XB_STREAM_H
#define XB_STREAM_H

#include "crypto/xb_crypto.h"
#include "pipeline/xb_pipeline.h"

#include <xbcrypt/xbcrypt.h>

#include <stdbool.h>
#include <stddef.h>

#define XB_MSG_SIZE 320
#define XB_THREADS_MAX 256u
/* Bytes counted per job besides its buffer (the "+ 100"). */
#define XB_JOB_OVERHEAD 100u
/* Look-ahead beyond the (2N+1)B+2 slots, taken from the read buffer's budget:
 * enough to make producer wake-ups rare, small enough to stay in cache. */
#define XB_LOOKAHEAD_BYTES (1u << 20)
/* Most bytes of chunks one batch holds: 16 lanes at chunks up to 256 KiB,
 * fewer beyond; under the hasher's minimum batch, one job at a time. */
#define XB_BATCH_BYTES (4u << 20)
/* What one thread needs to process a chunk. */
typedef struct xb_worker {
    xb_cipher *cipher;       /* NULL without a key */
    xb_digest *digest;
    xb_hasher *hasher;       /* SHA-256 of a batch at once, and CRC-32 */
} xb_worker;

/* Bytes processed per pass while the block is in L1 cache. */
#define XB_BLOCK 8192u

typedef struct xb_stream {
    xbcrypt_settings s;      /* copy of the caller's settings */
    xbcrypt_write_fn write;
    void *opaque;
    xb_worker *workers;      /* threads + 1 */
    unsigned nworkers;
    bool cipher;             /* workers[].cipher are open */
    xb_pool pool;
    unsigned base_slots;     /* (2N+1)B+2: what keeps N workers busy on batches of B */
    bool batched;            /* workers take batches sized to the hasher's lanes */
    size_t job_bytes;        /* largest job buffer needed so far */
    xbcrypt_status status;   /* first error; XBCRYPT_OK while healthy */
    char msg[XB_MSG_SIZE];
    int write_err;           /* what the write callback returned when it failed */
    bool finished;
    bool busy;               /* a public call (feed/buffer/commit/finish) is running */
    xbcrypt_stats stats;
} xb_stream;

/*
 * Validates and copies the settings, opens the ciphers (when `need_cipher`),
 * starts the pool, sized for jobs of `job_bytes` (see xb_stream_fit).  With
 * `batched`, workers take batches that fill the hasher's lanes and the ring
 * is sized for them; without, one job at a time and 2N+3 slots (the archive
 * transform, which seals and opens members' chunks one by one).  On failure
 * the message is in msg and nothing needs freeing but the struct.
 */
xbcrypt_status xb_stream_init(xb_stream *st, const xbcrypt_settings *s, xbcrypt_write_fn write,
                              void *opaque, bool need_cipher, size_t job_bytes,
                              xb_process_fn process, bool batched, void *ctx, char *msg,
                              size_t msg_size);

/*
 * Memory: the ring may hold (2N+1)B+2 jobs of the largest size seen (2N+3
 * when a worker takes one job at a time, B = 1), plus as
 * many more as fit in min(read_buffer_size, XB_LOOKAHEAD_BYTES): memory
 * Percona's reader spends on its read buffer, spent here on look-ahead so
 * that the producer sleeps once per many chunks instead of once per chunk.
 * Call when a job needs `job_bytes`; it shrinks the slot limit when jobs
 * grow, and the batch B: min(lanes, XB_BATCH_BYTES / job), or 1 when that
 * is under the hashers' minimum batch.
 */
void xb_stream_fit(xb_stream *st, size_t job_bytes);

/* Takes the slot to fill next, retiring (through `retire`) while the ring
 * is full; NULL if the stream failed meanwhile.  Its buffer holds at least
 * `reserve` bytes. */
xb_job *xb_stream_acquire(xb_stream *st, size_t reserve, bool (*retire)(void *owner, bool wait),
                          void *owner);

void xb_stream_destroy(xb_stream *st);

/* Records the first error (later ones are dropped); returns st->status. */
xbcrypt_status xb_stream_fail(xb_stream *st, xbcrypt_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Entry check of every public call: the stored error, or E_STATE after
 * finish. */
xbcrypt_status xb_stream_usable(xb_stream *st);

/* Hands `len` bytes to the write callback; E_WRITE on refusal, with a
 * message naming chunk `index` and stream `offset`. */
xbcrypt_status xb_stream_emit(xb_stream *st, const void *buf, size_t len, uint64_t index,
                              uint64_t offset);

/*
 * The public feed(), buffer(), commit() and finish() of an encoder or
 * decoder `obj` whose stream is `st`, under a re-entrancy guard: each runs
 * callbacks, and returns XBCRYPT_E_STATE without doing anything (the
 * object's status unchanged; buffer's *buf and *avail NULL and 0) while
 * another of them runs on the same object, i.e. when a write, chunk or IV
 * callback calls back in.  feed() is buffer(), a copy, commit(), until
 * `len` bytes are in.
 */
typedef xbcrypt_status (*xb_buffer_fn)(void *obj, void **buf, size_t *avail);
typedef xbcrypt_status (*xb_commit_fn)(void *obj, size_t n);
typedef xbcrypt_status (*xb_finish_fn)(void *obj);
xbcrypt_status xb_stream_feed(xb_stream *st, void *obj, xb_buffer_fn buffer, xb_commit_fn commit,
                              const void *buf, size_t len);
xbcrypt_status xb_stream_buffer(xb_stream *st, void *obj, xb_buffer_fn fn, void **buf,
                                size_t *avail);
xbcrypt_status xb_stream_commit(xb_stream *st, void *obj, xb_commit_fn fn, size_t n);
xbcrypt_status xb_stream_finish(xb_stream *st, void *obj, xb_finish_fn fn);

/*
 * Shared input: a buffer the caller lends, which workers read in place
 * (job->src) instead of a copy.  The caller keeps it readable and
 * unchanged until the next shared feed or finish() on the object returns
 * XBCRYPT_OK, or until the object is freed.  xb_stream_feed_shared runs
 * `fn` (which takes chunks out of buf, setting job->src where a whole one
 * is there) in a new generation under the re-entrancy guard, then retires
 * (through `retire`) every job taken in earlier generations, so that the
 * buffer before is no longer read.  The caller's buffers should be larger
 * than the ring (megabytes) or that last step waits for the workers.
 */
typedef xbcrypt_status (*xb_shared_fn)(void *obj, const uint8_t *buf, size_t len);
/* feed() without the re-entrancy guard, for an xb_shared_fn: buffer(), a
 * copy, commit(), until all is in; when `lend` is not NULL it is asked
 * first, after each buffer(), whether the object takes the n bytes at p in
 * place (then nothing is copied). */
typedef bool (*xb_lend_fn)(void *obj, const uint8_t *p, size_t n);
xbcrypt_status xb_stream_feed_all(xb_stream *st, void *obj, xb_buffer_fn buffer,
                                  xb_commit_fn commit, xb_lend_fn lend, const void *buf,
                                  size_t len);
xbcrypt_status xb_stream_feed_shared(xb_stream *st, void *obj, xb_shared_fn fn,
                                     bool (*retire)(void *owner, bool wait), const void *buf,
                                     size_t len);

/* Fills the public info for a retired job. */
void xb_stream_chunk_info(const xb_job *job, xbcrypt_chunk_info *info);

/*
 * Copies min(out->struct_size, sizeof *out) bytes of the totals, then sets
 * out->struct_size to what was written.  struct_size 0 (a host that left it
 * unset) is taken as the first ABI-1 layout, which every host has; 1 to
 * sizeof(size_t)-1 cannot hold even struct_size: nothing is written.
 */
void xb_stream_stats(const xb_stream *st, xbcrypt_stats *out);
/* The same rule for a chunk info the host passes in (decoder_fault). */
void xb_chunk_info_copy(xbcrypt_chunk_info *out, const xbcrypt_chunk_info *in);

#endif /* XB_STREAM_H */
