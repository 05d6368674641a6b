/*
 * xb_decoder.c - an XBCRYPT stream in (versions 1, 2, 3 in any mix),
 * verified plaintext out.
 *
 * The producer (the caller's thread) parses headers and gathers each
 * chunk's payload into a job slot; workers check the CRC, decrypt and
 * check the SHA-256; the producer writes chunks out in order, and only
 * chunks that passed.  The first failing chunk in stream order is the one
 * reported, and nothing after it is written.
 *
 * Input arrives through buffer()/commit(): while a payload is expected,
 * the caller reads straight into the job buffer, with room for up to
 * STAGE_CAP bytes more so that one read also brings the next header.  Bytes
 * beyond the payload go to a small staging area, where headers and IVs are
 * parsed.  A job buffer grows only as payload actually arrives (at most
 * doubling), so a forged size field cannot make the decoder allocate what
 * the input does not back.
 */
#include "format/xb_format.h"
#include "pipeline/xb_chunk.h"
#include "pipeline/xb_stream.h"
#include "xb_engine.h"
#include "xb_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAGE_CAP 64u
#define GROW_STEP (1u << 20)

enum phase { PH_HEADER, PH_IV, PH_PAYLOAD };

struct xbcrypt_decoder {
    xb_stream st;
    bool decrypt;          /* ciphers are open: decrypt payloads */
    bool hash;             /* plaintext is available: check version-3 hashes */
    enum phase phase;
    uint8_t stage[STAGE_CAP];
    size_t stage_len;
    uint64_t pos;          /* stream offset of stage[0] */
    xb_job *cur;           /* chunk being gathered (PH_IV, PH_PAYLOAD) */
    uint64_t iv_left;      /* IV bytes still to come */
    uint64_t iv_seen;      /* IV bytes seen so far */
    uint64_t next_index;
    bool has_fault;          /* `fault` describes the chunk the stream failed at */
    xbcrypt_chunk_info fault;
};

/* A batch of consecutive chunks (xb_chunk_open_many: CRC-32, AES-CTR, then
 * their SHA-256 in the hasher's lanes, or one pass each when the batch is
 * small); a chunk's plaintext is released only after both checks. */
static void decode_job(void *ctx, unsigned worker, xb_job **jobs, unsigned n)
{
    struct xbcrypt_decoder *dec = ctx;
    xb_chunk_item it[XB_CHUNK_BATCH_MAX];
    for (unsigned i = 0; i < n; i++)
        it[i] = (xb_chunk_item){.iv = jobs[i]->iv,
                                .p = jobs[i]->buf,
                                .src = jobs[i]->src,
                                .h = &jobs[i]->hdr,
                                .detail = jobs[i]->detail,
                                .detail_size = sizeof jobs[i]->detail};
    xb_chunk_open_many(&dec->st.workers[worker], dec->decrypt, dec->hash, NULL, it, n);
    for (unsigned i = 0; i < n; i++) {
        xb_job *job = jobs[i];
        job->status = it[i].status;
        job->hashed = it[i].hashed;
        if (it[i].status != XBCRYPT_OK)
            continue;
        job->out_off = 0;
        job->out_len = (size_t)xb_header_plaintext_size(&job->hdr);
    }
}

xbcrypt_status xb_decoder_new(const xbcrypt_settings *s, xbcrypt_write_fn write, void *opaque,
                              xbcrypt_decoder **out, char *msg, size_t msg_size)
{
    if (!out)
        return XBCRYPT_E_ARG;
    *out = NULL;
    if (!s) {
        xb_say(msg, msg_size, "decoder: settings are NULL");
        return XBCRYPT_E_ARG;
    }
    if (s->algo < XBCRYPT_ALGO_NONE || s->algo > XBCRYPT_ALGO_AES256) {
        xb_say(msg, msg_size, "unknown algorithm number %d", (int)s->algo);
        return XBCRYPT_E_ARG;
    }
    /* The decoder takes chunk sizes from the stream; chunk_size only sizes
     * its first job buffers, but is checked before it is added to. */
    if (s->chunk_size > XBCRYPT_CHUNK_SIZE_MAX) {
        xb_say(msg, msg_size, "decoder: chunk size %zu is over the format's limit of %u bytes",
               s->chunk_size, XBCRYPT_CHUNK_SIZE_MAX);
        return XBCRYPT_E_ARG;
    }
    const bool aes = s->algo != XBCRYPT_ALGO_NONE;
    if (aes && !s->key && write) {
        xb_say(msg, msg_size, "decoder: AES needs a key to write plaintext");
        return XBCRYPT_E_KEY;
    }
    struct xbcrypt_decoder *dec = calloc(1, sizeof *dec);
    if (!dec)
        return XBCRYPT_E_NOMEM;
    dec->decrypt = aes && s->key;
    dec->hash = dec->decrypt || !aes;
    xbcrypt_status rc =
        xb_stream_init(&dec->st, s, write, opaque, dec->decrypt, s->chunk_size + XB_HASH_SIZE + XB_HEADER_MAX_WRITE, decode_job, true, dec, msg, msg_size);
    if (rc != XBCRYPT_OK) {
        free(dec);
        return rc;
    }
    *out = dec;
    return XBCRYPT_OK;
}

/* Keeps the header fields of the first chunk the stream fails at, for
 * xb_decoder_fault(). */
static void note_fault(struct xbcrypt_decoder *dec, const xb_header *h, uint64_t index,
                       uint64_t offset)
{
    if (dec->st.status != XBCRYPT_OK || dec->has_fault)
        return;
    dec->has_fault = true;
    memset(&dec->fault, 0, sizeof dec->fault);
    dec->fault.struct_size = sizeof dec->fault;
    dec->fault.index = index;
    dec->fault.offset = offset;
    if (h) {
        dec->fault.version = h->version;
        dec->fault.original_size = h->olen;
        dec->fault.encrypted_size = h->elen;
        dec->fault.iv_size = h->ivlen;
        dec->fault.crc = h->crc;
    }
}

/* Writes the oldest chunk out if it passed, or records why it failed. */
static bool retire_one(void *owner, bool wait)
{
    struct xbcrypt_decoder *dec = owner;
    xb_stream *st = &dec->st;
    xb_job *job = xb_pool_oldest(&st->pool, wait);
    if (!job)
        return false;
    if (st->status == XBCRYPT_OK) {
        const unsigned long long idx = job->index, off = job->offset;
        if (job->status != XBCRYPT_OK)
            note_fault(dec, &job->hdr, job->index, job->offset);
        if (job->status == XBCRYPT_E_HASH && st->stats.hashed_chunks == 0) {
            xb_stream_fail(st, XBCRYPT_E_WRONG_KEY,
                           "wrong key: chunk %llu (offset %llu) does not decrypt to data that "
                           "matches its SHA-256, and no chunk before it did",
                           idx, off);
        } else if (job->status == XBCRYPT_E_HASH) {
            xb_stream_fail(st, XBCRYPT_E_HASH,
                           "SHA-256 mismatch at chunk %llu (offset %llu): the chunk is damaged "
                           "though its CRC matches, or it was encrypted with another key",
                           idx, off);
        } else if (job->status == XBCRYPT_E_CRC) {
            xb_stream_fail(st, XBCRYPT_E_CRC,
                           "CRC-32 mismatch at chunk %llu (offset %llu): %s; the chunk is damaged",
                           idx, off, job->detail);
        } else if (job->status != XBCRYPT_OK) {
            xb_stream_fail(st, job->status, "cannot decrypt chunk %llu (offset %llu): %s", idx,
                           off, job->detail);
        } else {
            if (st->s.on_chunk) {
                xbcrypt_chunk_info info;
                xb_stream_chunk_info(job, &info);
                st->s.on_chunk(st->s.chunk_opaque, &info);
            }
            /* An empty chunk (version 1 or 2, elen 0) never got a buffer:
             * NULL + 0 is undefined in C, so do not form the pointer. */
            const uint8_t *out = job->out_len ? job->buf + job->out_off : NULL;
            if (xb_stream_emit(st, out, job->out_len, job->index, job->offset) == XBCRYPT_OK) {
                st->stats.chunks++;
                st->stats.plaintext_bytes += job->out_len;
                st->stats.encrypted_bytes += xb_header_size(job->hdr.version) + job->hdr.ivlen +
                                             job->hdr.elen;
                st->stats.hashed_chunks += job->hashed;
                st->stats.size_mismatches += job->hdr.olen != job->hdr.elen;
                /* Writers only ever moved from version 1 to 2 to 3: a
                 * CRC-only chunk after a hashed one is a downgrade. */
                if (job->hdr.version < 3 && (st->stats.versions_seen & (1u << 3)) &&
                    st->stats.downgrades++ == 0) {
                    st->stats.first_downgrade_index = job->index;
                    st->stats.first_downgrade_offset = job->offset;
                }
                st->stats.versions_seen |= 1u << job->hdr.version;
            }
        }
    }
    /* Plaintext of a chunk that is not released must not linger. */
    if (job->status != XBCRYPT_OK || st->status != XBCRYPT_OK)
        xb_wipe(job->buf, job->len);
    xb_pool_retire(&st->pool);
    return true;
}

static void drain(struct xbcrypt_decoder *dec)
{
    while (retire_one(dec, true))
        ;
}

/* A fault seen by the parser: earlier chunks come first, so write (or
 * fail on) every chunk already submitted, then record this one.  `h` holds
 * what was read of its header, or is NULL. */
static xbcrypt_status fail_in_order(struct xbcrypt_decoder *dec, xbcrypt_status code,
                                    const char *what, const xb_header *h, uint64_t index,
                                    uint64_t offset)
{
    drain(dec);
    note_fault(dec, h, index, offset);
    return xb_stream_fail(&dec->st, code, "%s at chunk %llu (offset %llu)", what,
                          (unsigned long long)index, (unsigned long long)offset);
}

/*
 * Makes room for more of the current payload plus STAGE_CAP bytes of
 * look-ahead.  Up to GROW_STEP bytes are taken on the header's word (one
 * chunk is gathered at a time, so that is all a forged size can cost);
 * beyond that the buffer at most doubles what has actually arrived.
 */
static xbcrypt_status grow_payload(struct xbcrypt_decoder *dec, xb_job *job)
{
    const size_t want = (size_t)job->hdr.elen + STAGE_CAP;
    if (job->cap >= want || job->cap - job->len > STAGE_CAP)
        return XBCRYPT_OK;
    size_t target = job->len > GROW_STEP / 2 ? 2 * job->len : GROW_STEP;
    if (target > want)
        target = want;
    if (xb_job_reserve(&dec->st.pool, job, target) == XBCRYPT_OK)
        return XBCRYPT_OK;
    return xb_stream_fail(&dec->st, XBCRYPT_E_NOMEM, "out of memory for chunk %llu (offset %llu)",
                          (unsigned long long)job->index, (unsigned long long)job->offset);
}

static void consume(struct xbcrypt_decoder *dec, size_t n)
{
    memmove(dec->stage, dec->stage + n, dec->stage_len - n);
    dec->stage_len -= n;
    dec->pos += n;
}

static xbcrypt_status submit_current(struct xbcrypt_decoder *dec)
{
    dec->cur = NULL;
    dec->phase = PH_HEADER;
    xb_pool_submit(&dec->st.pool);
    while (retire_one(dec, false))
        ;
    return dec->st.status;
}

static xbcrypt_status start_chunk(struct xbcrypt_decoder *dec)
{
    xb_stream *st = &dec->st;
    xb_header h;
    xb_fmt_result fr = xb_header_decode(dec->stage, &h);
    if (fr != XB_FMT_OK) {
        char what[160];
        if (fr == XB_FMT_BAD_MAGIC && dec->next_index == 0)
            snprintf(what, sizeof what, "not an xbcrypt stream: bad magic");
        else if (fr == XB_FMT_BAD_MAGIC)
            snprintf(what, sizeof what,
                     "bad magic (trailing garbage, or a damaged chunk header)");
        else
            snprintf(what, sizeof what, "%s (olen %llu, elen %llu, IV size %llu)",
                     xb_fmt_result_text(fr), (unsigned long long)h.olen,
                     (unsigned long long)h.elen, (unsigned long long)h.ivlen);
        xbcrypt_status code = fr == XB_FMT_BAD_MAGIC ? XBCRYPT_E_MAGIC : XBCRYPT_E_LIMIT;
        return fail_in_order(dec, code, what, &h, dec->next_index, dec->pos);
    }
    if (h.version == 3 && dec->decrypt && h.ivlen != XBCRYPT_IV_SIZE)
        return fail_in_order(dec, XBCRYPT_E_LIMIT,
                             "version-3 chunk without an IV cannot be decrypted with AES "
                             "(was it written with --encrypt-algo=NONE?)",
                             &h, dec->next_index, dec->pos);
    /* Sized by the header for the ring's budget only; the buffer itself
     * grows as payload arrives. */
    xb_stream_fit(st, (size_t)h.elen + STAGE_CAP);
    xb_job *job = xb_stream_acquire(st, 0, retire_one, dec);
    if (!job)
        return st->status;
    job->hdr = h;
    job->index = dec->next_index++;
    job->offset = dec->pos;
    job->len = 0;
    memset(job->iv, 0, sizeof job->iv);
    dec->cur = job;
    dec->iv_left = h.ivlen;
    dec->iv_seen = 0;
    dec->phase = PH_IV;
    consume(dec, xb_header_size(h.version));
    return XBCRYPT_OK;
}

/* Takes what the staging area holds: headers, IVs, the start (or all) of
 * payloads. */
static xbcrypt_status process_stage(struct xbcrypt_decoder *dec)
{
    xb_stream *st = &dec->st;
    for (;;) {
        if (st->status != XBCRYPT_OK)
            return st->status;
        switch (dec->phase) {
        case PH_HEADER: {
            if (dec->stage_len < XB_MAGIC_SIZE)
                return XBCRYPT_OK;
            unsigned v = xb_magic_version(dec->stage);
            if (v && dec->stage_len < xb_header_size(v))
                return XBCRYPT_OK;
            if (start_chunk(dec) != XBCRYPT_OK)
                return st->status;
            break;
        }
        case PH_IV: {
            size_t take = dec->stage_len < dec->iv_left ? dec->stage_len : (size_t)dec->iv_left;
            for (size_t i = 0; i < take && dec->iv_seen + i < sizeof dec->cur->iv; i++)
                dec->cur->iv[dec->iv_seen + i] = dec->stage[i];
            consume(dec, take);
            dec->iv_seen += take;
            dec->iv_left -= take;
            if (dec->iv_left)
                return XBCRYPT_OK;
            dec->phase = PH_PAYLOAD;
            break;
        }
        case PH_PAYLOAD: {
            xb_job *job = dec->cur;
            size_t need = (size_t)job->hdr.elen - job->len;
            size_t take = dec->stage_len < need ? dec->stage_len : need;
            if (take) {
                if (grow_payload(dec, job) != XBCRYPT_OK)
                    return st->status;
                memcpy(job->buf + job->len, dec->stage, take);
                job->len += take;
                consume(dec, take);
            }
            if (job->len < job->hdr.elen)
                return XBCRYPT_OK;
            if (submit_current(dec) != XBCRYPT_OK)
                return st->status;
            break;
        }
        }
    }
}

static xbcrypt_status decoder_buffer(struct xbcrypt_decoder *dec, void **buf, size_t *avail)
{
    *buf = NULL;
    *avail = 0;
    xb_stream *st = &dec->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK)
        return rc;
    if (dec->phase != PH_PAYLOAD) {
        *buf = dec->stage + dec->stage_len;
        *avail = STAGE_CAP - dec->stage_len;
        return XBCRYPT_OK;
    }
    /* The stage is empty while a payload is being gathered. */
    xb_job *job = dec->cur;
    size_t need = (size_t)job->hdr.elen - job->len;
    if (grow_payload(dec, job) != XBCRYPT_OK)
        return st->status;
    *buf = job->buf + job->len;
    *avail = job->cap - job->len < need + STAGE_CAP ? job->cap - job->len : need + STAGE_CAP;
    return XBCRYPT_OK;
}

static xbcrypt_status decoder_commit(struct xbcrypt_decoder *dec, size_t n)
{
    xb_stream *st = &dec->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK)
        return rc;
    if (n == 0)
        return XBCRYPT_OK;
    st->stats.bytes_in += n;
    if (dec->phase != PH_PAYLOAD) {
        if (n > STAGE_CAP - dec->stage_len)
            return xb_stream_fail(st, XBCRYPT_E_ARG, "commit of %zu bytes exceeds the buffer given", n);
        dec->stage_len += n;
        return process_stage(dec);
    }
    xb_job *job = dec->cur;
    size_t elen = (size_t)job->hdr.elen;
    if (n > job->cap - job->len || n > elen - job->len + STAGE_CAP)
        return xb_stream_fail(st, XBCRYPT_E_ARG, "commit of %zu bytes exceeds the buffer given", n);
    job->len += n;
    if (job->len < elen) {
        dec->pos += n;
        return XBCRYPT_OK;
    }
    /* Bytes past the payload belong to the next chunk. */
    size_t extra = job->len - elen;
    memcpy(dec->stage, job->buf + elen, extra);
    dec->stage_len = extra;
    dec->pos += n - extra;
    job->len = elen;
    if (submit_current(dec) != XBCRYPT_OK)
        return st->status;
    return process_stage(dec);
}

static xbcrypt_status buffer_of(void *obj, void **buf, size_t *avail)
{
    return decoder_buffer(obj, buf, avail);
}

static xbcrypt_status commit_of(void *obj, size_t n)
{
    return decoder_commit(obj, n);
}

/*
 * Input a caller lends (xb_stream_feed_shared).  Headers and IVs go
 * through the stage by copy, exactly as many bytes as they need; then a
 * version-3 payload that is all there, when decrypting, goes to the
 * workers as a pointer: they decrypt it from the caller's buffer into the
 * job's, and check the SHA-256 there, so what is released was checked in
 * private memory even if the input changes meanwhile.  Anything else (a
 * payload cut by the end of the buffer, versions 1 and 2, whose CRC is
 * their only check, a run without the key) is gathered by copy.
 */
static xbcrypt_status decoder_shared(void *obj, const uint8_t *p, size_t len)
{
    struct xbcrypt_decoder *dec = obj;
    xb_stream *st = &dec->st;
    while (len && st->status == XBCRYPT_OK) {
        xb_job *job = dec->cur;
        if (dec->phase == PH_PAYLOAD && job->len == 0 && dec->stage_len == 0 && dec->decrypt &&
            job->hdr.version == 3 && job->hdr.elen <= len) {
            const size_t elen = (size_t)job->hdr.elen;
            if (xb_job_reserve(&st->pool, job, elen) != XBCRYPT_OK)
                return xb_stream_fail(st, XBCRYPT_E_NOMEM,
                                      "out of memory for chunk %llu (offset %llu)",
                                      (unsigned long long)job->index,
                                      (unsigned long long)job->offset);
            job->src = p;
            job->len = elen;
            st->stats.bytes_in += elen;
            dec->pos += elen;
            p += elen;
            len -= elen;
            if (submit_current(dec) != XBCRYPT_OK)
                break;
            continue;
        }
        void *dst;
        size_t avail;
        if (decoder_buffer(dec, &dst, &avail) != XBCRYPT_OK)
            break;
        size_t n = len < avail ? len : avail;
        size_t need = n;
        if (dec->phase == PH_HEADER) {
            unsigned v = dec->stage_len >= XB_MAGIC_SIZE ? xb_magic_version(dec->stage) : 0;
            size_t want = v ? xb_header_size(v) : XB_MAGIC_SIZE;
            need = want > dec->stage_len ? want - dec->stage_len : 1;
        } else if (dec->phase == PH_IV) {
            need = (size_t)dec->iv_left;
        } else {
            need = (size_t)dec->cur->hdr.elen - dec->cur->len;
        }
        if (need && n > need)
            n = need;
        memcpy(dst, p, n);
        if (decoder_commit(dec, n) != XBCRYPT_OK)
            break;
        p += n;
        len -= n;
    }
    return st->status;
}

static xbcrypt_status decoder_finish(struct xbcrypt_decoder *dec);

static xbcrypt_status finish_of(void *obj)
{
    return decoder_finish(obj);
}

/* The public calls run callbacks: each is refused with XBCRYPT_E_STATE
 * while another runs on the same decoder (a callback calling back in). */
xbcrypt_status xb_decoder_buffer(xbcrypt_decoder *dec, void **buf, size_t *avail)
{
    if (!dec || !buf || !avail)
        return XBCRYPT_E_ARG;
    return xb_stream_buffer(&dec->st, dec, buffer_of, buf, avail);
}

xbcrypt_status xb_decoder_commit(xbcrypt_decoder *dec, size_t n)
{
    return dec ? xb_stream_commit(&dec->st, dec, commit_of, n) : XBCRYPT_E_ARG;
}

xbcrypt_status xb_decoder_feed(xbcrypt_decoder *dec, const void *buf, size_t len)
{
    if (!dec || (!buf && len))
        return XBCRYPT_E_ARG;
    return xb_stream_feed(&dec->st, dec, buffer_of, commit_of, buf, len);
}

xbcrypt_status xb_decoder_feed_shared(xbcrypt_decoder *dec, const void *buf, size_t len)
{
    if (!dec || (!buf && len))
        return XBCRYPT_E_ARG;
    return xb_stream_feed_shared(&dec->st, dec, decoder_shared, retire_one, buf, len);
}

xbcrypt_status xb_decoder_finish(xbcrypt_decoder *dec)
{
    return dec ? xb_stream_finish(&dec->st, dec, finish_of) : XBCRYPT_E_ARG;
}

static xbcrypt_status decoder_finish(struct xbcrypt_decoder *dec)
{
    xb_stream *st = &dec->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK)
        return rc;
    if (dec->phase == PH_HEADER && dec->stage_len > 0) {
        char what[128];
        unsigned v = dec->stage_len >= XB_MAGIC_SIZE ? xb_magic_version(dec->stage) : 0;
        snprintf(what, sizeof what, "the stream ends inside a chunk header (%zu of %zu bytes)",
                 dec->stage_len, v ? xb_header_size(v) : (size_t)XB_HEADER_V1_SIZE);
        fail_in_order(dec, XBCRYPT_E_TRUNCATED, what, NULL, dec->next_index, dec->pos);
    } else if (dec->phase == PH_IV) {
        char what[128];
        snprintf(what, sizeof what, "the stream ends inside a chunk's IV (%llu of %llu bytes)",
                 (unsigned long long)dec->iv_seen, (unsigned long long)dec->cur->hdr.ivlen);
        fail_in_order(dec, XBCRYPT_E_TRUNCATED, what, &dec->cur->hdr, dec->cur->index,
                      dec->cur->offset);
    } else if (dec->phase == PH_PAYLOAD) {
        char what[128];
        snprintf(what, sizeof what, "the stream ends inside a chunk's payload (%zu of %llu bytes)",
                 dec->cur->len, (unsigned long long)dec->cur->hdr.elen);
        fail_in_order(dec, XBCRYPT_E_TRUNCATED, what, &dec->cur->hdr, dec->cur->index,
                      dec->cur->offset);
    } else {
        drain(dec);
    }
    st->finished = true;
    return st->status;
}

void xb_decoder_free(xbcrypt_decoder *dec)
{
    /* From inside a callback the decoder is still in use: left alone. */
    if (!dec || dec->st.busy)
        return;
    xb_stream_destroy(&dec->st);
    free(dec);
}

xbcrypt_status xb_decoder_status(const xbcrypt_decoder *dec)
{
    return dec ? dec->st.status : XBCRYPT_E_ARG;
}

const char *xb_decoder_message(const xbcrypt_decoder *dec)
{
    return dec ? dec->st.msg : "no decoder";
}

void xb_decoder_stats(const xbcrypt_decoder *dec, xbcrypt_stats *stats)
{
    if (dec)
        xb_stream_stats(&dec->st, stats);
}

int xb_decoder_fault(const xbcrypt_decoder *dec, xbcrypt_chunk_info *info)
{
    if (!dec || !info || !dec->has_fault)
        return 0;
    xb_chunk_info_copy(info, &dec->fault);
    return 1;
}

int xb_decoder_write_error(const xbcrypt_decoder *dec)
{
    return dec ? dec->st.write_err : 0;
}
