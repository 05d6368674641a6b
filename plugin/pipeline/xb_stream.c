/* xb_stream.c - the parts of a stream the encoder and decoder share. */
#include "pipeline/xb_stream.h"

#include "key/xb_key.h"
#include "xb_engine.h"
#include "xb_msg.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t lookahead_bytes(const xb_stream *st)
{
    size_t rbs = st->s.read_buffer_size;
    return rbs < XB_LOOKAHEAD_BYTES ? rbs : XB_LOOKAHEAD_BYTES;
}

static unsigned lookahead_slots(const xb_stream *st, size_t unit)
{
    return (unsigned)(lookahead_bytes(st) / unit);
}

/* Jobs a worker takes at once for jobs of `unit` bytes (see xb_stream_fit).
 * With 0 threads each job is processed as it is submitted: no batches. */
static unsigned batch_for(const xb_stream *st, size_t unit)
{
    const xb_hasher *h = st->workers[0].hasher;
    const size_t lanes = st->batched ? xb_hasher_lanes(h) : 1;
    size_t b = XB_BATCH_BYTES / unit;
    if (b > lanes)
        b = lanes;
    return st->s.threads == 0 || b < xb_hasher_min_batch(h) ? 1 : (unsigned)b;
}

/* pigz's bound, 2N+3 slots, keeps N workers busy while the producer fills
 * one and retires another; with batches of B, each worker has one batch in
 * hand and one queued, and the producer fills a third: (2N+1)B+2. */
static unsigned base_slots_for(const xb_stream *st, unsigned batch)
{
    return (2 * st->s.threads + 1) * batch + 2;
}

xbcrypt_status xb_stream_init(xb_stream *st, const xbcrypt_settings *s, xbcrypt_write_fn write,
                              void *opaque, bool need_cipher, size_t job_bytes,
                              xb_process_fn process, bool batched, void *ctx, char *msg,
                              size_t msg_size)
{
    memset(st, 0, sizeof *st);
    if (!s || s->struct_size < offsetof(xbcrypt_settings, chunk_opaque) + sizeof(void *)) {
        xb_say(msg, msg_size, "%s", "settings were not filled by settings_default()");
        return XBCRYPT_E_ARG;
    }
    xbcrypt_status rc = xb_init_msg(msg, msg_size); /* says why on failure */
    if (rc != XBCRYPT_OK)
        return rc;
    /* Every size before any arithmetic on it: the ring's budget is
     * (2N+3) slots of job_bytes + XB_JOB_OVERHEAD each. */
    if (s->threads > XB_THREADS_MAX) {
        xb_say(msg, msg_size, "%u threads asked; at most %u", s->threads, XB_THREADS_MAX);
        return XBCRYPT_E_ARG;
    }
    size_t unit, budget;
    if (job_bytes == 0 || __builtin_add_overflow(job_bytes, (size_t)XB_JOB_OVERHEAD, &unit) ||
        __builtin_mul_overflow(unit, (size_t)(2 * s->threads + 3), &budget) ||
        __builtin_add_overflow(budget, (size_t)XB_LOOKAHEAD_BYTES, &budget)) {
        xb_say(msg, msg_size,
               "chunk size %zu with %u threads needs more memory than this system can address",
               s->chunk_size, s->threads);
        return XBCRYPT_E_ARG;
    }
    memcpy(&st->s, s, sizeof st->s);
    st->s.struct_size = sizeof st->s;
    st->write = write;
    st->opaque = opaque;
    st->stats.struct_size = sizeof st->stats;

    if (need_cipher) {
        rc = xb_key_check(s->key, s->algo, msg, msg_size);
        if (rc != XBCRYPT_OK)
            return rc;
    }
    st->nworkers = st->s.threads + 1; /* the workers, and the producer */
    st->workers = calloc(st->nworkers, sizeof *st->workers);
    if (!st->workers) {
        xb_stream_destroy(st);
        return XBCRYPT_E_NOMEM;
    }
    st->cipher = need_cipher;
    for (unsigned i = 0; i < st->nworkers; i++) {
        rc = xb_digest_open(&st->workers[i].digest);
        if (rc == XBCRYPT_OK)
            rc = xb_hasher_open(&st->workers[i].hasher);
        if (rc == XBCRYPT_OK && need_cipher)
            rc = xb_cipher_open(&st->workers[i].cipher, s->key->bytes, s->key->len, msg, msg_size);
        if (rc != XBCRYPT_OK) {
            if (!st->workers[i].digest || !st->workers[i].hasher)
                xb_say(msg, msg_size, "%s", "cannot set up SHA-256 and CRC-32");
            xb_stream_destroy(st);
            return rc;
        }
    }

    /* The ring: batches for the workers (base_slots_for), the read
     * buffer's worth on top.  A batch holds at most XB_BATCH_BYTES, so the
     * budget checked above for 2N+3 single jobs bounds this one too. */
    st->batched = batched;
    st->base_slots = base_slots_for(st, batch_for(st, unit));
    rc = xb_pool_init(&st->pool, st->s.threads, st->base_slots + lookahead_slots(st, unit), process,
                      ctx);
    if (rc != XBCRYPT_OK) {
        xb_say(msg, msg_size, "%s", rc == XBCRYPT_E_THREAD ? "cannot start worker threads"
               : "out of memory for the job ring");
        xb_stream_destroy(st);
        return rc;
    }
    xb_stream_fit(st, job_bytes);
    return XBCRYPT_OK;
}

void xb_stream_fit(xb_stream *st, size_t job_bytes)
{
    if (job_bytes <= st->job_bytes)
        return;
    st->job_bytes = job_bytes;
    /* Saturating: a job too big to count can only leave one slot. */
    size_t unit, budget;
    if (__builtin_add_overflow(job_bytes, (size_t)XB_JOB_OVERHEAD, &unit))
        unit = SIZE_MAX;
    const unsigned batch = batch_for(st, unit);
    st->base_slots = base_slots_for(st, batch);
    xb_pool_set_batch(&st->pool, batch);
    if (__builtin_mul_overflow(unit, (size_t)st->base_slots, &budget) ||
        __builtin_add_overflow(budget, lookahead_bytes(st), &budget))
        budget = SIZE_MAX;
    size_t limit = st->base_slots + lookahead_slots(st, unit);
    st->pool.limit = limit < st->pool.nslots ? (unsigned)limit : st->pool.nslots;
    st->pool.budget = budget;
}

xb_job *xb_stream_acquire(xb_stream *st, size_t reserve, bool (*retire)(void *owner, bool wait),
                          void *owner)
{
    while (xb_pool_full(&st->pool))
        retire(owner, true);
    if (st->status != XBCRYPT_OK)
        return NULL;
    xb_job *job = xb_pool_slot(&st->pool);
    job->len = 0;
    if (xb_job_reserve(&st->pool, job, reserve) != XBCRYPT_OK) {
        xb_stream_fail(st, XBCRYPT_E_NOMEM, "out of memory for a %zu-byte chunk buffer", reserve);
        return NULL;
    }
    return job;
}

void xb_stream_destroy(xb_stream *st)
{
    xb_pool_destroy(&st->pool); /* joins the workers before their ciphers go */
    for (unsigned i = 0; st->workers && i < st->nworkers; i++) {
        xb_cipher_close(st->workers[i].cipher);
        xb_digest_close(st->workers[i].digest);
        xb_hasher_close(st->workers[i].hasher); /* wipes the digests it holds */
    }
    free(st->workers);
    st->workers = NULL;
    st->nworkers = 0;
}

xbcrypt_status xb_stream_fail(xb_stream *st, xbcrypt_status code, const char *fmt, ...)
{
    if (st->status != XBCRYPT_OK)
        return st->status;
    st->status = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    return code;
}

xbcrypt_status xb_stream_usable(xb_stream *st)
{
    if (st->status != XBCRYPT_OK)
        return st->status;
    if (st->finished)
        return XBCRYPT_E_STATE;
    return XBCRYPT_OK;
}

static xbcrypt_status xb_stream_enter(xb_stream *st)
{
    if (st->busy)
        return XBCRYPT_E_STATE;
    st->busy = true;
    return XBCRYPT_OK;
}

static void xb_stream_leave(xb_stream *st)
{
    st->busy = false;
}

xbcrypt_status xb_stream_emit(xb_stream *st, const void *buf, size_t len, uint64_t index,
                              uint64_t offset)
{
    if (!st->write || len == 0)
        return XBCRYPT_OK;
    int err = st->write(st->opaque, buf, len);
    if (err == 0)
        return XBCRYPT_OK;
    st->write_err = err;
    return xb_stream_fail(st, XBCRYPT_E_WRITE,
                          "cannot write the output of chunk %llu (offset %llu): the write "
                          "callback failed (%d)",
                          (unsigned long long)index, (unsigned long long)offset, err);
}

xbcrypt_status xb_stream_buffer(xb_stream *st, void *obj, xb_buffer_fn fn, void **buf,
                                size_t *avail)
{
    xbcrypt_status rc = xb_stream_enter(st);
    if (rc != XBCRYPT_OK) {
        *buf = NULL;
        *avail = 0;
        return rc;
    }
    rc = fn(obj, buf, avail);
    xb_stream_leave(st);
    return rc;
}

xbcrypt_status xb_stream_commit(xb_stream *st, void *obj, xb_commit_fn fn, size_t n)
{
    xbcrypt_status rc = xb_stream_enter(st);
    if (rc != XBCRYPT_OK)
        return rc;
    rc = fn(obj, n);
    xb_stream_leave(st);
    return rc;
}

xbcrypt_status xb_stream_finish(xb_stream *st, void *obj, xb_finish_fn fn)
{
    xbcrypt_status rc = xb_stream_enter(st);
    if (rc != XBCRYPT_OK)
        return rc;
    rc = fn(obj);
    xb_stream_leave(st);
    return rc;
}

xbcrypt_status xb_stream_feed_all(xb_stream *st, void *obj, xb_buffer_fn buffer,
                                  xb_commit_fn commit, xb_lend_fn lend, const void *buf,
                                  size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        void *dst;
        size_t avail;
        xbcrypt_status rc = buffer(obj, &dst, &avail);
        if (rc != XBCRYPT_OK)
            return rc;
        if (avail == 0) /* never while OK; a loop that cannot progress must not spin */
            return xb_stream_fail(st, XBCRYPT_E_STATE, "%s", "the engine offered no room for input");
        size_t n = len < avail ? len : avail;
        if (!lend || !lend(obj, p, n))
            memcpy(dst, p, n);
        rc = commit(obj, n);
        if (rc != XBCRYPT_OK)
            return rc;
        p += n;
        len -= n;
    }
    return xb_stream_usable(st);
}

xbcrypt_status xb_stream_feed(xb_stream *st, void *obj, xb_buffer_fn buffer, xb_commit_fn commit,
                              const void *buf, size_t len)
{
    xbcrypt_status rc = xb_stream_enter(st);
    if (rc != XBCRYPT_OK)
        return rc;
    rc = xb_stream_feed_all(st, obj, buffer, commit, NULL, buf, len);
    xb_stream_leave(st);
    return rc;
}

xbcrypt_status xb_stream_feed_shared(xb_stream *st, void *obj, xb_shared_fn fn,
                                     bool (*retire)(void *owner, bool wait), const void *buf,
                                     size_t len)
{
    xbcrypt_status rc = xb_stream_enter(st);
    if (rc != XBCRYPT_OK)
        return rc;
    const uint64_t gen = ++st->pool.gen;
    rc = xb_stream_usable(st);
    if (rc == XBCRYPT_OK && len)
        rc = fn(obj, buf, len);
    /* Jobs leave in the order they were taken, so the older generations
     * are the oldest jobs. */
    while (rc == XBCRYPT_OK && xb_pool_pending(&st->pool) &&
           st->pool.jobs[st->pool.retired % st->pool.nslots].gen < gen)
        if (!retire(obj, true))
            break;
    if (rc == XBCRYPT_OK)
        rc = st->status;
    xb_stream_leave(st);
    return rc;
}

void xb_stream_chunk_info(const xb_job *job, xbcrypt_chunk_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->index = job->index;
    info->offset = job->offset;
    info->version = job->hdr.version;
    info->original_size = job->hdr.olen;
    info->encrypted_size = job->hdr.elen;
    info->iv_size = job->hdr.ivlen;
    memcpy(info->iv, job->iv, sizeof info->iv);
    info->plaintext_size = xb_header_plaintext_size(&job->hdr);
    info->crc = job->hdr.crc;
    info->hash_checked = job->hashed;
}

/* Bytes of a host struct to write, by its struct_size: see xb_stream_stats. */
static size_t host_size(size_t host, size_t engine, size_t first_layout)
{
    if (host == 0)
        return first_layout;
    if (host < sizeof(size_t))
        return 0;
    return host < engine ? host : engine;
}

/* The structs as ABI 1.0 shipped them: the least any host can hold. */
#define XB_STATS_V1_SIZE (offsetof(xbcrypt_stats, size_mismatches) + sizeof(uint64_t))
#define XB_CHUNK_INFO_V1_SIZE (offsetof(xbcrypt_chunk_info, hash_checked) + sizeof(int))

void xb_stream_stats(const xb_stream *st, xbcrypt_stats *out)
{
    if (!out)
        return;
    size_t n = host_size(out->struct_size, sizeof *out, XB_STATS_V1_SIZE);
    if (n == 0)
        return;
    memcpy(out, &st->stats, n);
    out->struct_size = n;
}

void xb_chunk_info_copy(xbcrypt_chunk_info *out, const xbcrypt_chunk_info *in)
{
    size_t n = host_size(out->struct_size, sizeof *out, XB_CHUNK_INFO_V1_SIZE);
    if (n == 0)
        return;
    memcpy(out, in, n);
    out->struct_size = n;
}
