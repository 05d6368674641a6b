/* xb_pipeline.c - the ordered job ring shared by the encoder and decoder. */
#include "pipeline/xb_pipeline.h"

#include "crypto/xb_crypto.h"

#include <stdlib.h>
#include <string.h>

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
    if (!p->jobs)
        return XBCRYPT_E_NOMEM;
    p->nslots = nslots;
    p->process = process;
    p->ctx = ctx;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->jobs);
        return XBCRYPT_E_THREAD;
    }
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
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
    for (unsigned i = 0; i < p->nslots; i++) {
        xb_wipe(p->jobs[i].buf, p->jobs[i].cap);
        free(p->jobs[i].buf);
    }
    free(p->jobs);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
}

static void *worker_main(void *arg)
{
    const worker_arg *wa = arg;
    xb_pool *p = wa->pool;
    const unsigned id = wa->id;
    bool announced = false;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->taken == p->submitted && !p->stopping) {
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
        xb_job *job = &p->jobs[p->taken % p->nslots];
        p->taken++;
        pthread_mutex_unlock(&p->mu);

        p->process(p->ctx, id, job);

        pthread_mutex_lock(&p->mu);
        job->done = true;
        if (p->waiting)
            pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

bool xb_pool_full(const xb_pool *p)
{
    /* Only the producer changes `submitted` and `retired`. */
    return p->submitted - p->retired >= p->nslots;
}

xb_job *xb_pool_slot(xb_pool *p)
{
    return &p->jobs[p->submitted % p->nslots];
}

void xb_pool_submit(xb_pool *p)
{
    xb_job *job = xb_pool_slot(p);
    job->status = XBCRYPT_OK;
    job->detail[0] = '\0';
    job->hashed = false;
    if (p->nthreads == 0) {
        p->process(p->ctx, 0, job);
        job->done = true;
        p->submitted++;
        p->taken++;
        return;
    }
    pthread_mutex_lock(&p->mu);
    job->done = false;
    p->submitted++;
    if (p->idle)
        pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

uint64_t xb_pool_pending(const xb_pool *p)
{
    return p->submitted - p->retired;
}

xb_job *xb_pool_oldest(xb_pool *p, bool wait)
{
    if (p->submitted == p->retired)
        return NULL;
    xb_job *job = &p->jobs[p->retired % p->nslots];
    if (p->nthreads == 0)
        return job;
    pthread_mutex_lock(&p->mu);
    while (!job->done && wait) {
        p->waiting = true;
        pthread_cond_wait(&p->done_cv, &p->mu);
        p->waiting = false;
    }
    bool done = job->done;
    pthread_mutex_unlock(&p->mu);
    return done ? job : NULL;
}

void xb_pool_retire(xb_pool *p)
{
    xb_job *job = &p->jobs[p->retired % p->nslots];
    job->done = false; /* no worker can see this slot until it is resubmitted */
    p->retired++;
}

xbcrypt_status xb_job_reserve(xb_job *job, size_t need)
{
    if (need <= job->cap)
        return XBCRYPT_OK;
    size_t cap = job->cap ? job->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* Plaintext may sit in the old buffer: copy and wipe rather than
     * realloc, which would free it unwiped. */
    uint8_t *nb = malloc(cap);
    if (!nb)
        return XBCRYPT_E_NOMEM;
    if (job->len)
        memcpy(nb, job->buf, job->len);
    xb_wipe(job->buf, job->cap);
    free(job->buf);
    job->buf = nb;
    job->cap = cap;
    return XBCRYPT_OK;
}
