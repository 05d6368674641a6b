/*
 * xb_encoder.c - plaintext in, version-3 XBCRYPT chunks out.
 *
 * Chunk boundaries follow Percona's xbcrypt reading a regular file: the
 * input is taken in pieces of read_buffer_size bytes and each piece is cut
 * into chunk_size chunks, so the last chunk of a piece may be short.  The
 * pieces are virtual: no piece-sized buffer is ever allocated, a chunk goes
 * to the workers as soon as its last byte arrives.
 *
 * Job buffer layout (one allocation per slot, reused):
 *
 *   [ pad | header 44 | IV 16 ] [ plaintext len ] [ SHA-256 32 ]
 *   0                      PLAIN_AT                 PLAIN_AT+len
 *
 * The worker hashes the plaintext into the 32 bytes after it, encrypts
 * plaintext and hash in place, computes the CRC, and writes the header just
 * before the payload, so the chunk leaves in one contiguous write.  Workers
 * take chunks in batches (see encode_job).
 */
#include "format/xb_format.h"
#include "pipeline/xb_chunk.h"
#include "pipeline/xb_stream.h"
#include "xb_engine.h"
#include "xb_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAIN_AT XB_HEADER_MAX_WRITE

struct xbcrypt_encoder {
    xb_stream st;
    size_t piece_pos;   /* input bytes since the last read-buffer boundary */
    size_t chunk_limit; /* plaintext bytes the slot being filled will hold */
    xb_job *cur;        /* slot being filled, or NULL */
    uint64_t next_index;
    uint64_t out_offset; /* stream offset of the next chunk to be written */
};

/* A batch of consecutive chunks (xb_chunk_seal_many: their SHA-256 in the
 * hasher's lanes, or one pass each when the batch is small), each sealed
 * in place so that it leaves in one contiguous write. */
static void encode_job(void *ctx, unsigned worker, xb_job **jobs, unsigned n)
{
    struct xbcrypt_encoder *enc = ctx;
    xb_chunk_item it[XB_CHUNK_BATCH_MAX];
    for (unsigned i = 0; i < n; i++)
        it[i] = (xb_chunk_item){.iv = jobs[i]->iv,
                                .p = jobs[i]->buf + PLAIN_AT,
                                .src = jobs[i]->src,
                                .len = jobs[i]->len,
                                .h = &jobs[i]->hdr,
                                .detail = jobs[i]->detail,
                                .detail_size = sizeof jobs[i]->detail};
    xb_chunk_seal_many(&enc->st.workers[worker], it, n);
    for (unsigned i = 0; i < n; i++) {
        jobs[i]->status = it[i].status;
        if (it[i].status != XBCRYPT_OK)
            continue;
        jobs[i]->out_off = (size_t)(it[i].start - jobs[i]->buf);
        jobs[i]->out_len = it[i].size;
    }
}

xbcrypt_status xb_encoder_new(const xbcrypt_settings *s, xbcrypt_write_fn write, void *opaque,
                              xbcrypt_encoder **out, char *msg, size_t msg_size)
{
    if (!out)
        return XBCRYPT_E_ARG;
    *out = NULL;
    if (!s || !write) {
        xb_say(msg, msg_size, "encoder: %s is NULL", s ? "the write callback" : "settings");
        return XBCRYPT_E_ARG;
    }
    if (s->chunk_size < XBCRYPT_CHUNK_SIZE_MIN || s->chunk_size > XBCRYPT_CHUNK_SIZE_MAX) {
        xb_say(msg, msg_size,
               "chunk size %zu is outside %u .. %u bytes (the format stores a chunk's size, "
               "plaintext plus its 32-byte hash, in at most 2^31-1)",
               s->chunk_size, XBCRYPT_CHUNK_SIZE_MIN, XBCRYPT_CHUNK_SIZE_MAX);
        return XBCRYPT_E_ARG;
    }
    if (s->algo < XBCRYPT_ALGO_NONE || s->algo > XBCRYPT_ALGO_AES256) {
        xb_say(msg, msg_size, "unknown algorithm number %d", (int)s->algo);
        return XBCRYPT_E_ARG;
    }
    struct xbcrypt_encoder *enc = calloc(1, sizeof *enc);
    if (!enc)
        return XBCRYPT_E_NOMEM;
    xbcrypt_status rc =
        xb_stream_init(&enc->st, s, write, opaque, s->algo != XBCRYPT_ALGO_NONE,
                       PLAIN_AT + s->chunk_size + XB_HASH_SIZE, encode_job, true, enc, msg, msg_size);
    if (rc != XBCRYPT_OK) {
        free(enc);
        return rc;
    }
    *out = enc;
    return XBCRYPT_OK;
}

/* Writes the oldest job out; with `wait`, waits for it.  Returns false when
 * there was nothing (ready) to retire. */
static bool retire_one(void *owner, bool wait)
{
    struct xbcrypt_encoder *enc = owner;
    xb_stream *st = &enc->st;
    xb_job *job = xb_pool_oldest(&st->pool, wait);
    if (!job)
        return false;
    if (st->status == XBCRYPT_OK) {
        if (job->status != XBCRYPT_OK) {
            xb_stream_fail(st, job->status, "cannot encrypt chunk %llu (input offset %llu): %s",
                           (unsigned long long)job->index, (unsigned long long)job->offset,
                           job->detail);
        } else if (xb_stream_emit(st, job->buf + job->out_off, job->out_len, job->index,
                                  enc->out_offset) == XBCRYPT_OK) {
            st->stats.chunks++;
            st->stats.plaintext_bytes += job->len;
            st->stats.encrypted_bytes += job->out_len;
            st->stats.hashed_chunks++;
            st->stats.versions_seen |= 1u << 3;
            if (st->s.on_chunk) {
                xbcrypt_chunk_info info;
                job->hashed = true;
                xb_stream_chunk_info(job, &info);
                info.offset = enc->out_offset;
                st->s.on_chunk(st->s.chunk_opaque, &info);
            }
            enc->out_offset += job->out_len;
        }
    }
    xb_pool_retire(&st->pool);
    return true;
}

/* Writes every chunk already submitted (a failure found by the producer
 * comes after them in stream order), so what leaves is always the whole
 * chunks before the fault, however the workers were timed. */
static void drain(struct xbcrypt_encoder *enc)
{
    while (retire_one(enc, true))
        ;
}

static xbcrypt_status submit_current(struct xbcrypt_encoder *enc)
{
    xb_stream *st = &enc->st;
    xb_job *job = enc->cur;
    job->index = enc->next_index;
    if (st->s.iv_source) {
        if (st->s.iv_source(st->s.iv_opaque, job->index, job->iv) != 0) {
            enc->cur = NULL;
            drain(enc);
            return xb_stream_fail(st, XBCRYPT_E_CRYPTO, "the IV source failed for chunk %llu",
                                  (unsigned long long)job->index);
        }
    } else {
        xb_nonce(job->iv, sizeof job->iv);
    }
    enc->next_index++;
    enc->cur = NULL;
    xb_pool_submit(&st->pool);
    /* Write whatever is ready, without waiting. */
    while (retire_one(enc, false))
        ;
    return st->status;
}

static xbcrypt_status encoder_buffer(struct xbcrypt_encoder *enc, void **buf, size_t *avail)
{
    *buf = NULL;
    *avail = 0;
    xb_stream *st = &enc->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK)
        return rc;
    if (!enc->cur) {
        enc->cur = xb_stream_acquire(st, PLAIN_AT + st->s.chunk_size + XB_HASH_SIZE, retire_one, enc);
        if (!enc->cur)
            return st->status;
        enc->cur->offset = st->stats.bytes_in;
        enc->chunk_limit = st->s.chunk_size;
        if (st->s.read_buffer_size && st->s.read_buffer_size - enc->piece_pos < enc->chunk_limit)
            enc->chunk_limit = st->s.read_buffer_size - enc->piece_pos;
    }
    *buf = enc->cur->buf + PLAIN_AT + enc->cur->len;
    *avail = enc->chunk_limit - enc->cur->len;
    return XBCRYPT_OK;
}

static xbcrypt_status encoder_commit(struct xbcrypt_encoder *enc, size_t n)
{
    xb_stream *st = &enc->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK)
        return rc;
    if (n == 0)
        return XBCRYPT_OK;
    if (!enc->cur || n > enc->chunk_limit - enc->cur->len) {
        enc->cur = NULL;
        drain(enc);
        return xb_stream_fail(st, XBCRYPT_E_ARG, "commit of %zu bytes exceeds the buffer given", n);
    }
    enc->cur->len += n;
    enc->piece_pos += n;
    st->stats.bytes_in += n;
    if (st->s.read_buffer_size && enc->piece_pos == st->s.read_buffer_size)
        enc->piece_pos = 0;
    if (enc->cur->len == enc->chunk_limit)
        return submit_current(enc);
    return XBCRYPT_OK;
}

static xbcrypt_status buffer_of(void *obj, void **buf, size_t *avail)
{
    return encoder_buffer(obj, buf, avail);
}

static xbcrypt_status commit_of(void *obj, size_t n)
{
    return encoder_commit(obj, n);
}

/* Input a caller lends (xb_stream_feed_shared): each whole chunk in it goes
 * to the workers as a pointer, copied only by the worker that seals it; a
 * chunk begun by an earlier call, or cut by the end of this one, is
 * gathered by copy as feed() does.  Chunk boundaries are feed()'s. */
static bool lend_of(void *obj, const uint8_t *p, size_t n)
{
    struct xbcrypt_encoder *enc = obj;
    if (enc->cur->len != 0 || n != enc->chunk_limit)
        return false;
    enc->cur->src = p; /* all of it is here: no copy */
    return true;
}

static xbcrypt_status encoder_shared(void *obj, const uint8_t *p, size_t len)
{
    struct xbcrypt_encoder *enc = obj;
    return xb_stream_feed_all(&enc->st, enc, buffer_of, commit_of, lend_of, p, len);
}

static xbcrypt_status encoder_finish(struct xbcrypt_encoder *enc)
{
    xb_stream *st = &enc->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK)
        return rc;
    if (enc->cur && enc->cur->len > 0)
        submit_current(enc);
    enc->cur = NULL;
    drain(enc);
    st->finished = true;
    return st->status;
}

static xbcrypt_status finish_of(void *obj)
{
    return encoder_finish(obj);
}

/* The public calls run callbacks: each is refused with XBCRYPT_E_STATE
 * while another runs on the same encoder (a callback calling back in). */
xbcrypt_status xb_encoder_buffer(xbcrypt_encoder *enc, void **buf, size_t *avail)
{
    if (!enc || !buf || !avail)
        return XBCRYPT_E_ARG;
    return xb_stream_buffer(&enc->st, enc, buffer_of, buf, avail);
}

xbcrypt_status xb_encoder_commit(xbcrypt_encoder *enc, size_t n)
{
    return enc ? xb_stream_commit(&enc->st, enc, commit_of, n) : XBCRYPT_E_ARG;
}

xbcrypt_status xb_encoder_feed(xbcrypt_encoder *enc, const void *buf, size_t len)
{
    if (!enc || (!buf && len))
        return XBCRYPT_E_ARG;
    return xb_stream_feed(&enc->st, enc, buffer_of, commit_of, buf, len);
}

xbcrypt_status xb_encoder_feed_shared(xbcrypt_encoder *enc, const void *buf, size_t len)
{
    if (!enc || (!buf && len))
        return XBCRYPT_E_ARG;
    return xb_stream_feed_shared(&enc->st, enc, encoder_shared, retire_one, buf, len);
}

xbcrypt_status xb_encoder_finish(xbcrypt_encoder *enc)
{
    return enc ? xb_stream_finish(&enc->st, enc, finish_of) : XBCRYPT_E_ARG;
}

void xb_encoder_free(xbcrypt_encoder *enc)
{
    /* From inside a callback the encoder is still in use: left alone. */
    if (!enc || enc->st.busy)
        return;
    xb_stream_destroy(&enc->st);
    free(enc);
}

xbcrypt_status xb_encoder_status(const xbcrypt_encoder *enc)
{
    return enc ? enc->st.status : XBCRYPT_E_ARG;
}

const char *xb_encoder_message(const xbcrypt_encoder *enc)
{
    return enc ? enc->st.msg : "no encoder";
}

void xb_encoder_stats(const xbcrypt_encoder *enc, xbcrypt_stats *stats)
{
    if (enc)
        xb_stream_stats(&enc->st, stats);
}

int xb_encoder_write_error(const xbcrypt_encoder *enc)
{
    return enc ? enc->st.write_err : 0;
}
