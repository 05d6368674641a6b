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
 * With 0 threads, submit() processes the job in the calling thread.
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

typedef struct xb_job {
    /* Producer-owned while filling; read-only for the worker after submit. */
    uint64_t index;          /* chunk number in the stream */
    uint64_t offset;         /* stream offset of the chunk's first byte */
    uint8_t *buf;            /* owned, reused from chunk to chunk */
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
} xb_job;

/* Processes one job; runs on a worker (or on the producer with 0 threads).
 * `worker` is in [0, max(threads, 1)). */
typedef void (*xb_process_fn)(void *ctx, unsigned worker, xb_job *job);

typedef struct xb_pool {
    xb_job *jobs;            /* ring of `nslots` */
    unsigned nslots;
    pthread_t *threads;
    unsigned nthreads;       /* started workers */
    xb_process_fn process;
    void *ctx;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* workers wait here for submissions */
    pthread_cond_t done_cv;  /* the producer waits here for the oldest job */
    uint64_t submitted;      /* jobs submitted; the slot being filled is jobs[submitted % nslots] */
    uint64_t taken;          /* jobs taken by a worker */
    uint64_t retired;        /* jobs retired by the producer */
    unsigned idle;           /* workers waiting on work_cv */
    bool waiting;            /* producer waiting on done_cv */
    bool stopping;
} xb_pool;

/* nslots >= 1.  Starts `threads` workers.  On failure nothing is left to
 * destroy. */
xbcrypt_status xb_pool_init(xb_pool *p, unsigned threads, unsigned nslots, xb_process_fn process,
                            void *ctx);
/* Stops the workers (queued jobs are abandoned), joins them, frees the
 * ring and every job buffer (wiped first: they may hold plaintext). */
void xb_pool_destroy(xb_pool *p);

/* True when no slot is free for filling: retire the oldest first. */
bool xb_pool_full(const xb_pool *p);
/* The slot to fill next; only when !xb_pool_full(). */
xb_job *xb_pool_slot(xb_pool *p);
/* Hands the filled slot to the workers. */
void xb_pool_submit(xb_pool *p);
/* Submitted jobs not yet retired. */
uint64_t xb_pool_pending(const xb_pool *p);
/* The oldest submitted job if it is done, else NULL; with `wait`, blocks
 * until it is done (NULL only when nothing is pending). */
xb_job *xb_pool_oldest(xb_pool *p, bool wait);
/* Releases the oldest job's slot (after xb_pool_oldest returned it). */
void xb_pool_retire(xb_pool *p);

/* Grows job->buf to at least `need` bytes, keeping its content. */
xbcrypt_status xb_job_reserve(xb_job *job, size_t need);

#endif /* XB_PIPELINE_H */
