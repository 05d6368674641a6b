/*
 * xb_pipeline.h - an ordered pool of jobs processed by worker threads.
 *
 * One producer thread (the caller of feed/commit/finish) fills job slots in
 * sequence and submits them; N workers process submitted jobs in any
 * order; the same producer thread retires them strictly in sequence (that
 * is where output is written).  A fixed ring of slots bounds memory: a new
 * slot can only be filled once the oldest one has been retired, so the
 * producer blocks, as pigz's reader does, while the ring is full.
 *
 * The ring has `nslots` slots, of which the owner may allow fewer at a time
 * (`limit`).  Buffers are not tied to slots: a retired job's buffer goes on
 * a free stack and the next slot filled takes the most recently freed one
 * (still in cache), so no more buffers exist than jobs were ever pending at
 * once.  Every buffer is counted in `held`; past `budget`, retired buffers
 * are freed instead of kept.
 *
 * Workers take jobs in batches of up to `batch` consecutive ones (the lanes
 * of a multi-buffer hasher, crypto/xb_crypto_mb.c): a worker waits until a
 * whole batch is queued, unless the producer itself is waiting for a job
 * (`draining`: then no more will come until one is done, and a worker takes
 * what there is).  With batch 1 a worker takes each job as it comes.
 *
 * With 0 threads, submit() processes the job in the calling thread.  When
 * `threads` is at least the number of CPUs, the pool starts threads - 1
 * workers and the producer processes queued jobs itself instead of sleeping
 * (as worker number `nthreads`), so that `threads` threads do the work.
 *
 * Thread ownership of fields: see the comments on struct xb_job.  Counters
 * in xb_pool are protected by `mu`.
 */
#ifndef XB_PIPELINE_H
#define XB_PIPELINE_H

#include "format/xb_format.h"

#include <xbcrypt/xbcrypt.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XB_JOB_DETAIL 160
/* Most jobs a worker takes at once: the 16 lanes of AVX-512. */
#define XB_BATCH_MAX 16u

typedef struct xb_job {
    /* Producer-owned while filling; read-only for the worker after submit. */
    uint64_t index;          /* chunk number in the stream */
    uint64_t offset;         /* stream offset of the chunk's first byte */
    uint8_t *buf;            /* owned, reused from chunk to chunk */
    const uint8_t *src;      /* NULL, or the job's input in a caller's shared
                              * buffer, read in place (see xb_stream_unshare) */
    uint64_t gen;            /* the pool's `gen` when the slot was taken */
    size_t cap;              /* allocated bytes of buf */
    size_t len;              /* bytes of input in buf */
    xb_header hdr;           /* decoder: the parsed header; encoder: filled by the worker */
    uint8_t iv[16];          /* the chunk's IV (first 16 bytes of it) */

    /* Worker-written; the producer reads them only after the job is done. */
    xbcrypt_status status;   /* XBCRYPT_OK or why the chunk failed */
    char detail[XB_JOB_DETAIL]; /* what failed, when status != OK */
    size_t out_off;          /* output: buf[out_off .. out_off + out_len) */
    size_t out_len;
    bool hashed;             /* a SHA-256 was verified (decoder) */

    /* Protected by the pool mutex. */
    bool done;
    uint64_t seq;            /* position in the pool's sequence */
} xb_job;

/* Processes jobs[0..n), 1 <= n <= XB_BATCH_MAX, consecutive in the stream;
 * runs on a worker or on the producer.  `worker` is in [0, threads]: each
 * value is used by one thread at a time.  Each job's result goes in the job
 * (status, detail, output). */
typedef void (*xb_process_fn)(void *ctx, unsigned worker, xb_job **jobs, unsigned n);

typedef struct xb_pool {
    xb_job *jobs;            /* ring of `nslots` */
    unsigned nslots;
    unsigned limit;          /* slots that may be pending at once, <= nslots */
    size_t held;             /* bytes allocated for job buffers */
    size_t budget;           /* keep at most this many bytes of buffers */
    struct xb_spare {
        uint8_t *buf;
        size_t cap;
    } *spare;                /* free buffers, a stack of up to nslots */
    unsigned nspare;
    pthread_t *threads;
    unsigned nthreads;       /* started workers */
    bool help;               /* the producer processes jobs while it waits */
    xb_process_fn process;
    void *ctx;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* workers wait here for submissions */
    pthread_cond_t done_cv;  /* the producer waits here for the oldest job */
    uint64_t submitted;      /* jobs submitted; the slot being filled is jobs[submitted % nslots] */
    uint64_t taken;          /* jobs taken by a worker */
    uint64_t retired;        /* jobs retired by the producer */
    unsigned idle;           /* workers waiting on work_cv */
    bool waiting;            /* producer waiting on done_cv ... */
    uint64_t wake_seq;       /* ... for the job with this seq */
    bool stopping;
    unsigned batch;          /* jobs a worker takes at once, 1..XB_BATCH_MAX */
    uint64_t gen;            /* producer: shared input buffers handed in so far */
    bool draining;           /* the producer waits: take partial batches */
} xb_pool;

/* nslots >= 1.  Starts the workers (see above).  On failure nothing is
 * left to destroy. */
xbcrypt_status xb_pool_init(xb_pool *p, unsigned threads, unsigned nslots, xb_process_fn process,
                            void *ctx);
/* Stops the workers (queued jobs are abandoned), joins them, frees the
 * ring and every job buffer (wiped first: they may hold plaintext). */
void xb_pool_destroy(xb_pool *p);

/* Sets how many jobs a worker takes at once (clamped to 1..XB_BATCH_MAX).
 * Producer only. */
void xb_pool_set_batch(xb_pool *p, unsigned batch);

/* True when no slot is free for filling: retire the oldest first. */
bool xb_pool_full(const xb_pool *p);
/* The slot to fill next, with a spare buffer if it has none, no `src`, and
 * the current `gen`; only when !xb_pool_full(). */
xb_job *xb_pool_slot(xb_pool *p);
/* Hands the filled slot to the workers. */
void xb_pool_submit(xb_pool *p);
/* Submitted jobs not yet retired. */
uint64_t xb_pool_pending(const xb_pool *p);
/* The oldest submitted job if it is done, else NULL; with `wait`, blocks
 * until it is done (NULL only when nothing is pending). */
xb_job *xb_pool_oldest(xb_pool *p, bool wait);
/* Releases the oldest job's slot (after xb_pool_oldest returned it) and
 * keeps its buffer as a spare, or frees it when over budget. */
void xb_pool_retire(xb_pool *p);

/* Grows job->buf to exactly `need` bytes if it is smaller, keeping its
 * content. */
xbcrypt_status xb_job_reserve(xb_pool *p, xb_job *job, size_t need);
/* Wipes and frees job->buf (of a job that is not pending). */
void xb_job_release(xb_pool *p, xb_job *job);

#endif /* XB_PIPELINE_H */
