/* xb_pipeline.c - the ordered job ring shared by the encoder and decoder. */
#include "pipeline/xb_pipeline.h"

#include "crypto/xb_crypto.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *worker_main(void *arg);

typedef struct worker_arg {
    xb_pool *pool;
    unsigned id;
} worker_arg;

xbcrypt_status xb_pool_init(xb_pool *p, unsigned threads, unsigned nslots, xb_process_fn process,
                            void *ctx)
{
    memset(p, 0, sizeof *p);
    if (nslots == 0)
        return XBCRYPT_E_ARG;
    p->jobs = calloc(nslots, sizeof *p->jobs);
    p->spare = calloc(nslots, sizeof *p->spare);
    if (!p->jobs || !p->spare) {
        free(p->jobs);
        free(p->spare);
        return XBCRYPT_E_NOMEM;
    }
    p->budget = SIZE_MAX;
    p->batch = 1;
    p->nslots = nslots;
    p->limit = nslots;
    p->process = process;
    p->ctx = ctx;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->jobs);
        free(p->spare);
        return XBCRYPT_E_THREAD;
    }
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    /* With a worker for every CPU, a producer that only read and wrote
     * would be one thread too many: the CPUs would switch between three
     * threads and the workers would sleep and wake around it.  Then the
     * producer is one of the `threads` and does jobs itself while it waits
     * (measured on 2 CPUs: 0.92 of the hardware limit against 0.85). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > 1 && cpus > 0 && threads >= (unsigned long)cpus) {
        p->help = true;
        threads--;
    }
    if (threads == 0)
        return XBCRYPT_OK;

    p->threads = calloc(threads, sizeof *p->threads);
    worker_arg *args = calloc(threads, sizeof *args);
    if (!p->threads || !args) {
        free(args);
        xb_pool_destroy(p);
        return XBCRYPT_E_NOMEM;
    }
    /* Each worker copies its argument, then reports idle; once all have,
     * `args` can be freed. */
    for (unsigned i = 0; i < threads; i++) {
        args[i].pool = p;
        args[i].id = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, &args[i]) != 0) {
            xb_pool_destroy(p);
            free(args);
            return XBCRYPT_E_THREAD;
        }
        p->nthreads++;
    }
    /* Wait until every worker has copied its argument (it then counts
     * itself idle or takes work), so `args` can go. */
    pthread_mutex_lock(&p->mu);
    while (p->idle < p->nthreads)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    free(args);
    return XBCRYPT_OK;
}

void xb_pool_destroy(xb_pool *p)
{
    if (!p->jobs)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    for (unsigned i = 0; i < p->nslots; i++)
        xb_job_release(p, &p->jobs[i]);
    while (p->nspare) {
        p->nspare--;
        xb_wipe(p->spare[p->nspare].buf, p->spare[p->nspare].cap);
        free(p->spare[p->nspare].buf);
    }
    free(p->spare);
    free(p->jobs);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
}

/* A worker may take jobs: a whole batch is queued, or the producer waits
 * and the rest will not grow.  Called with mu held. */
static bool work_ready(const xb_pool *p)
{
    uint64_t queued = p->submitted - p->taken;
    return queued > 0 && (queued >= p->batch || p->draining);
}

/* Takes up to `batch` queued jobs into jobs[].  Called with mu held. */
static unsigned take_batch(xb_pool *p, xb_job **jobs)
{
    uint64_t queued = p->submitted - p->taken;
    unsigned n = queued < p->batch ? (unsigned)queued : p->batch;
    for (unsigned i = 0; i < n; i++)
        jobs[i] = &p->jobs[(p->taken + i) % p->nslots];
    p->taken += n;
    return n;
}

/* Marks jobs[0..n) done and wakes the producer if it waits for one of
 * them.  Called with mu held. */
static void finish_batch(xb_pool *p, xb_job **jobs, unsigned n)
{
    bool wake = false;
    for (unsigned i = 0; i < n; i++) {
        jobs[i]->done = true;
        wake |= p->waiting && jobs[i]->seq == p->wake_seq;
    }
    if (wake)
        pthread_cond_signal(&p->done_cv);
}

static void *worker_main(void *arg)
{
    const worker_arg *wa = arg;
    xb_pool *p = wa->pool;
    const unsigned id = wa->id;
    bool announced = false;
    xb_job *jobs[XB_BATCH_MAX];

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!work_ready(p) && !p->stopping) {
            p->idle++;
            if (!announced) {
                announced = true; /* `arg` is not touched again */
                pthread_cond_broadcast(&p->done_cv);
            }
            pthread_cond_wait(&p->work_cv, &p->mu);
            p->idle--;
        }
        if (p->stopping)
            break;
        unsigned n = take_batch(p, jobs);
        pthread_mutex_unlock(&p->mu);

        p->process(p->ctx, id, jobs, n);

        pthread_mutex_lock(&p->mu);
        finish_batch(p, jobs, n);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void xb_pool_set_batch(xb_pool *p, unsigned batch)
{
    if (batch < 1)
        batch = 1;
    if (batch > XB_BATCH_MAX)
        batch = XB_BATCH_MAX;
    pthread_mutex_lock(&p->mu);
    p->batch = batch;
    pthread_mutex_unlock(&p->mu);
}

bool xb_pool_full(const xb_pool *p)
{
    /* Only the producer changes `submitted` and `retired`. */
    return p->submitted - p->retired >= p->limit;
}

xb_job *xb_pool_slot(xb_pool *p)
{
    xb_job *job = &p->jobs[p->submitted % p->nslots];
    job->src = NULL;
    job->gen = p->gen;
    if (!job->buf && p->nspare) {
        p->nspare--;
        job->buf = p->spare[p->nspare].buf;
        job->cap = p->spare[p->nspare].cap;
    }
    return job;
}

void xb_pool_submit(xb_pool *p)
{
    xb_job *job = &p->jobs[p->submitted % p->nslots];
    job->status = XBCRYPT_OK;
    job->detail[0] = '\0';
    job->hashed = false;
    if (p->nthreads == 0) {
        p->process(p->ctx, 0, &job, 1);
        job->done = true;
        p->submitted++;
        p->taken++;
        return;
    }
    pthread_mutex_lock(&p->mu);
    job->done = false;
    job->seq = p->submitted;
    p->submitted++;
    if (p->idle && work_ready(p))
        pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

uint64_t xb_pool_pending(const xb_pool *p)
{
    return p->submitted - p->retired;
}

/* Sleeps until the job with sequence `seq` is done.  Called with mu held. */
static void wait_for(xb_pool *p, uint64_t seq)
{
    xb_job *job = &p->jobs[seq % p->nslots];
    while (!job->done) {
        p->wake_seq = seq;
        p->waiting = true;
        pthread_cond_wait(&p->done_cv, &p->mu);
        p->waiting = false;
    }
}

xb_job *xb_pool_oldest(xb_pool *p, bool wait)
{
    if (p->submitted == p->retired)
        return NULL;
    xb_job *job = &p->jobs[p->retired % p->nslots];
    if (p->nthreads == 0)
        return job;
    pthread_mutex_lock(&p->mu);
    if (!job->done && wait && p->batch > 1) {
        /* Nothing more comes until this job is done: let the workers take
         * the queued jobs, however few. */
        p->draining = true;
        if (p->idle && work_ready(p))
            pthread_cond_broadcast(&p->work_cv);
    }
    while (!job->done && wait && p->help && p->taken < p->submitted) {
        /* Rather than sleep, do the next queued jobs here. */
        xb_job *jobs[XB_BATCH_MAX];
        unsigned n = take_batch(p, jobs);
        pthread_mutex_unlock(&p->mu);
        p->process(p->ctx, p->nthreads, jobs, n);
        pthread_mutex_lock(&p->mu);
        finish_batch(p, jobs, n);
    }
    if (!job->done && wait && p->batch > 1) {
        /* A batch ends together: one wake-up per batch, and the producer
         * refills the batch's slots while the workers hash the next. */
        wait_for(p, p->retired);
    } else if (!job->done && wait) {
        /* Sleep once for all but `nthreads` jobs of the ring rather than
         * once per job: a wake-up costs the worker that sends it several
         * microseconds, and the last jobs submitted keep every worker busy
         * while this thread writes and refills the rest. */
        uint64_t pending = p->submitted - p->retired;
        uint64_t batch = p->nslots > p->nthreads ? p->nslots - p->nthreads : 1;
        wait_for(p, p->retired + (pending < batch ? pending : batch) - 1);
        wait_for(p, p->retired);
    }
    p->draining = false;
    bool done = job->done;
    pthread_mutex_unlock(&p->mu);
    return done ? job : NULL;
}

void xb_pool_retire(xb_pool *p)
{
    xb_job *job = &p->jobs[p->retired % p->nslots];
    job->done = false; /* no worker can see this slot until it is resubmitted */
    p->retired++;
    if (job->buf && p->held <= p->budget) {
        p->spare[p->nspare].buf = job->buf; /* at most nslots buffers exist */
        p->spare[p->nspare].cap = job->cap;
        p->nspare++;
        job->buf = NULL;
        job->cap = 0;
    } else {
        xb_job_release(p, job);
    }
}

xbcrypt_status xb_job_reserve(xb_pool *p, xb_job *job, size_t need)
{
    if (need <= job->cap)
        return XBCRYPT_OK;
    /* Exactly what is asked: callers decide how fast to grow.  Plaintext
     * may sit in the old buffer: copy and wipe rather than realloc, which
     * would free it unwiped. */
    uint8_t *nb = malloc(need);
    if (!nb)
        return XBCRYPT_E_NOMEM;
    if (job->len)
        memcpy(nb, job->buf, job->len);
    xb_job_release(p, job);
    job->buf = nb;
    job->cap = need;
    p->held += need;
    return XBCRYPT_OK;
}

void xb_job_release(xb_pool *p, xb_job *job)
{
    if (!job->buf)
        return;
    xb_wipe(job->buf, job->cap);
    free(job->buf);
    p->held -= job->cap;
    job->buf = NULL;
    job->cap = 0;
}
