/*
 * xb_archive.c - the member-level transform: an XBSTREAM archive in, an
 * archive out, each member encrypted, decrypted, re-encrypted or checked on
 * its own, in one streaming pass.
 *
 * The producer (the caller's thread) walks the archive (plugin/xbstream):
 * every open member has its own state - the XBCRYPT chunk being gathered,
 * and for an encrypted member the XBCRYPT parser's position (header, IV,
 * payload) - while all members share one job ring and its `threads`
 * workers (pipeline/xb_pipeline.h).  A job is one XBCRYPT chunk of one
 * member (seal, open, or open then seal), a run of pass-through bytes, or a
 * member's end; jobs are submitted in the order their last input byte
 * arrived and retired in that order, so each member's output follows its
 * input and members follow each other as they did.  A job's output is
 * written as archive payload chunks of at most 10 MiB (header built at
 * retirement, CRC-32 computed by the worker), at the member's contiguous
 * output offset, which the producer assigns at submission because every
 * job's output size is known then.
 *
 * Buffers: a member gathers its chunk in a buffer of its own, which the
 * job borrows (job->buf) from submission to retirement and which then goes
 * back to a free list.  The pool never owns them: job->buf is NULL again
 * before xb_pool_retire().
 *
 * Plaintext is released only from a job that passed: CRC and SHA-256 of
 * its XBCRYPT chunk (decrypt), as the stream decoder does.  Archive-level
 * faults (CRC of an archive chunk, a cut, an unsafe path) are found by the
 * producer; what was queued before is written, and the pass-through bytes
 * of the failing archive chunk not yet queued are dropped.  Pass-through
 * chunks are copied as they arrive, one buffer at a time (memory stays
 * bounded whatever their length), so those queued earlier are written: the
 * output can end inside a pass-through chunk, never inside one of ours.
 */
#include "archive/xb_archive_tally.h"
#include "format/xb_format.h"
#include "key/xb_key.h"
#include "pipeline/xb_chunk.h"
#include "pipeline/xb_stream.h"
#include "xb_engine.h"
#include "xb_msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room before a chunk's data: an archive header, then an XBCRYPT header and
 * IV (sealing writes them there). */
#define FRONT 640u
/* Room after it: the SHA-256 that sealing appends. */
#define TAIL XB_HASH_SIZE
/* Pass-through bytes gathered before they become a job: as much as a
 * chunk's buffer holds (so that the ring's memory is slots times one
 * buffer, whatever the jobs are), and at least this. */
#define RAW_MIN (64u << 10)
/* A member's chunk buffer starts with room for the bytes at hand (at
 * least GROW_MIN), then at most doubles: every open member holds one, so
 * none may be sized by a length field or a chunk size alone. */
#define GROW_MIN (4u << 10)
/* Members open at once; a backup writes a few at a time (--parallel). */
#define OPEN_MAX 4096u
/* Spare buffers kept beyond the ring's slots. */
#define SPARE_EXTRA 16u

_Static_assert(FRONT >= XBS_HEADER_MAX + XB_HEADER_MAX_WRITE, "FRONT holds both headers");

enum kind {
    K_RAW,    /* job->buf[0 .. len): archive bytes to write as they are */
    K_SEAL,   /* plaintext at FRONT: seal into an XBCRYPT chunk */
    K_OPEN,   /* an XBCRYPT payload at FRONT: check, decrypt, hash */
    K_RESEAL, /* open, then seal under the new key */
    K_END,    /* a member's end: its EOF chunk, its record */
};

enum phase { PH_HEADER, PH_IV, PH_PAYLOAD };

/* What each member is made into. */
enum role {
    R_SKIP,   /* nothing is written (VERIFY, INFO; plain members) */
    R_RAW,    /* written as it came */
    R_SEAL,   /* encrypted into NAME.xbcrypt */
    R_OPEN,   /* an XBCRYPT stream, opened (and written as plaintext when decrypting) */
    R_RESEAL, /* an XBCRYPT stream, re-encrypted */
};

/* The archive CRC of a chunk some of whose plaintext only the workers read
 * (xbs_walk_defer): settled once the chunk has ended and its last lent
 * piece has retired. */
typedef struct xa_check {
    uint32_t acc;              /* XOR of the retired pieces' shifted CRCs */
    unsigned pending;          /* pieces not retired */
    bool ended;                /* the chunk's end came; then, from its event: */
    uint32_t residual, stored;
    uint64_t index, offset;    /* the archive chunk's number and offset */
    const xbs_member *wm;      /* its member (the walker keeps it) */
    struct xa_check *next;     /* the free list */
} xa_check;

typedef struct xa_member {
    xbs_member *wm;            /* the walker's record: path, input offsets */
    enum role role;
    char *out_path;            /* the output member's name */
    uint32_t out_plen;
    bool cp_text;              /* its plaintext is xtrabackup_checkpoints' text */
    uint64_t out_off;          /* output bytes assigned to jobs so far */

    /* The XBCRYPT chunk being gathered: data at buf + FRONT, or (src not
     * NULL) in the buffer the caller lent (xb_archive_feed_shared), with
     * buf the room it is sealed or opened into. */
    uint8_t *buf;
    size_t cap, len;
    const uint8_t *src;
    xa_check *check;           /* with src when sealing: the CRC the worker owes */
    uint64_t check_after;      /* the chunk's payload bytes after src's */

    /* R_OPEN, R_RESEAL: the parser. */
    enum phase phase;
    uint8_t stage[XB_HEADER_V23_SIZE];
    size_t stage_len;
    xb_header hdr;
    uint8_t iv[16];
    uint64_t iv_left, iv_seen;
    uint64_t in_pos;           /* member bytes parsed */
    uint64_t chunk_pos;        /* member offset of the XBCRYPT chunk being parsed */
    uint64_t next_index;       /* XBCRYPT chunks started */

    /* Retirement side. */
    uint64_t done, hashed, plain_bytes;

    struct xa_member *prev, *next; /* every live member, for cleanup */
} xa_member;

/* Side data of one ring slot, by index; fields as in struct xb_job: the
 * producer writes before submission, the worker after, the producer reads
 * after retirement. */
typedef struct xa_slot {
    enum kind kind;
    xa_member *m;
    uint64_t out_off;          /* output offset in the member of this job's output */
    uint64_t in_off;           /* member offset of the XBCRYPT chunk (messages) */
    uint8_t new_iv[16];        /* K_RESEAL */
    xa_check *check;           /* K_SEAL of a lent piece: its archive chunk's check */
    uint64_t check_after;
    /* worker-written */
    uint32_t check_term;       /* with check: what the piece adds to check->acc */
    uint8_t *out;
    size_t out_len;
    uint32_t *crcs;            /* CRC-32 of each <= 10 MiB piece of out */
    size_t ncrc, crc_cap;
} xa_slot;

struct xbcrypt_archive {
    xb_stream st;              /* ring, workers (members' key), status, message, write */
    xbcrypt_archive_settings s;
    xb_worker *seal_w;         /* REKEY: workers with the new key */
    xb_digest **out_crc;       /* per worker: CRC-32 of plaintext written (DECRYPT) */
    unsigned nworkers;         /* of seal_w and out_crc */
    bool decrypt, hash;        /* opening: decrypt payloads, check version-3 hashes */
    xa_slot *slots;
    unsigned nslots;
    xb_tally tally;
    bool tally_open;

    uint8_t *raw;              /* pass-through bytes not yet a job */
    size_t raw_len, raw_cap;

    struct xa_spare {
        uint8_t *buf;
        size_t cap;
    } *spare;
    unsigned nspare, spare_max;
    size_t held, peak;         /* bytes of chunk buffers allocated, and the most at once */

    xa_member *members;
    uint64_t verified;         /* encrypted members whose every chunk hashed */
    bool lending;              /* in xb_archive_feed_shared: whole chunks may stay in place */
    xa_check *checks;          /* nslots + 1 of them ... */
    xa_check *check_free;      /* ... those not in use ... */
    xa_check *check_cur;       /* ... and the one of the chunk being read */
    uint64_t any_hashed;       /* chunks whose SHA-256 matched, archive-wide */
};

/* ---- buffers ---- */

static uint8_t *buf_get(xbcrypt_archive *a, size_t need, size_t *cap)
{
    while (a->nspare) {
        struct xa_spare sp = a->spare[--a->nspare];
        if (sp.cap >= need) {
            *cap = sp.cap;
            return sp.buf;
        }
        xb_wipe(sp.buf, sp.cap);
        free(sp.buf);
        a->held -= sp.cap;
    }
    uint8_t *b = malloc(need);
    if (!b)
        return NULL;
    a->held += need;
    if (a->held > a->peak)
        a->peak = a->held;
    *cap = need;
    return b;
}

static void buf_put(xbcrypt_archive *a, uint8_t *b, size_t cap)
{
    if (!b)
        return;
    if (a->nspare < a->spare_max) {
        a->spare[a->nspare].buf = b;
        a->spare[a->nspare].cap = cap;
        a->nspare++;
        return;
    }
    xb_wipe(b, cap);
    free(b);
    a->held -= cap;
}

/* Grows m->buf to hold `need` bytes, keeping m->len bytes at FRONT. */
static bool buf_grow(xbcrypt_archive *a, xa_member *m, size_t need)
{
    if (m->buf && m->cap >= need)
        return true;
    size_t cap;
    uint8_t *b = buf_get(a, need, &cap);
    if (!b)
        return false;
    if (m->buf) {
        memcpy(b + FRONT, m->buf + FRONT, m->len);
        buf_put(a, m->buf, m->cap);
    }
    m->buf = b;
    m->cap = cap;
    return true;
}

/* Room in m's chunk for `more` bytes up to `limit` data bytes: what the
 * bytes at hand need, at least double what the chunk holds, no more than
 * the limit. */
static bool grow_for(xbcrypt_archive *a, xa_member *m, uint64_t more, size_t limit)
{
    const size_t have = m->buf ? m->cap - FRONT - TAIL : 0;
    if (have > m->len || have >= limit)
        return true;
    size_t target = m->len + (more < limit - m->len ? (size_t)more : limit - m->len);
    if (target < 2 * m->len)
        target = 2 * m->len;
    if (target < GROW_MIN)
        target = GROW_MIN;
    if (target > limit)
        target = limit;
    return buf_grow(a, m, FRONT + target + TAIL);
}

/* ---- members ---- */

static void member_free(xbcrypt_archive *a, xa_member *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        a->members = m->next;
    if (m->next)
        m->next->prev = m->prev;
    if (m->wm)
        m->wm->user = NULL;
    buf_put(a, m->buf, m->cap);
    free(m->out_path);
    xb_wipe(m->stage, sizeof m->stage);
    free(m);
}

/* ---- failing ---- */

static void quote(char *out, size_t size, const xa_member *m)
{
    xbs_path_quote(out, size, (const uint8_t *)m->wm->path, m->wm->plen);
}

static bool retire_one(void *owner, bool wait);

static void drain(xbcrypt_archive *a)
{
    while (retire_one(a, true))
        ;
}

/* A fault the producer found: what was submitted before it comes first
 * (written, or failing on its own), then this.  Pass-through bytes not yet
 * submitted belong to the failing chunk and are dropped. */
__attribute__((format(printf, 3, 4))) static xbcrypt_status
fail_in_order(xbcrypt_archive *a, xbcrypt_status code, const char *fmt, ...)
{
    a->raw_len = 0;
    drain(a);
    if (a->st.status != XBCRYPT_OK)
        return a->st.status;
    char text[XB_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return xb_stream_fail(&a->st, code, "%s", text);
}

static xbcrypt_status fail_walker(xbcrypt_archive *a)
{
    const xbs_walk *w = a->tally.walk;
    return fail_in_order(a, xb_tally_status(xbs_walk_result(w)), "%s", xbs_walk_message(w));
}

/* ---- the workers ---- */

static void set_pieces(xa_slot *sl)
{
    size_t n = sl->out_len ? (sl->out_len - 1) / XBS_PAYLOAD_MAX_WRITE + 1 : 0;
    sl->ncrc = n;
    for (size_t k = 0; k < n; k++) {
        size_t at = k * XBS_PAYLOAD_MAX_WRITE;
        size_t len = sl->out_len - at < XBS_PAYLOAD_MAX_WRITE ? sl->out_len - at
                                                               : XBS_PAYLOAD_MAX_WRITE;
        sl->crcs[k] = xb_crc32(sl->out + at, len);
    }
}

/* The archive CRC of a sealed chunk: its header and IV, then the payload
 * whose CRC sealing computed. */
static void sealed_crc(xb_worker *w, xa_slot *sl, const xb_header *h)
{
    const size_t head = sl->out_len - (size_t)h->elen;
    xb_digest_reset(w->digest);
    xb_digest_crc(w->digest, sl->out, head);
    sl->ncrc = 1;
    sl->crcs[0] = xbs_crc32_combine(xb_digest_crc_final(w->digest), h->crc, h->elen);
}

/* What sealing left: the chunk is the job's output, with its CRC when it
 * is one archive chunk, else its pieces' CRCs. */
static void sealed(xb_worker *w, xb_job *job, xa_slot *sl, const xb_chunk_item *it)
{
    job->status = it->status; /* the detail is already in job->detail */
    if (it->status != XBCRYPT_OK)
        return;
    sl->out = it->start;
    sl->out_len = it->size;
    if (it->size > XBS_PAYLOAD_MAX_WRITE)
        set_pieces(sl);
    else
        sealed_crc(w, sl, it->h);
}

static xb_chunk_item item_of(xb_job *job, const uint8_t *iv, uint8_t *data, size_t len,
                             xb_header *h)
{
    return (xb_chunk_item){.iv = iv, .p = data, .len = len, .h = h, .detail = job->detail,
                           .detail_size = sizeof job->detail};
}

/*
 * A batch of consecutive jobs (xb_pipeline.h), of any members: the chunks
 * to open are checked and opened together, then those to seal (new ones
 * under the key, or opened ones under the new key) sealed together, so
 * that their SHA-256 fills the hasher's lanes as a whole stream's does.
 */
static void process(void *ctx, unsigned worker, xb_job **jobs, unsigned n)
{
    xbcrypt_archive *a = ctx;
    xb_chunk_item open[XB_CHUNK_BATCH_MAX], seal[XB_CHUNK_BATCH_MAX], reseal[XB_CHUNK_BATCH_MAX];
    xb_job *open_j[XB_CHUNK_BATCH_MAX], *seal_j[XB_CHUNK_BATCH_MAX], *reseal_j[XB_CHUNK_BATCH_MAX];
    xb_header reseal_h[XB_CHUNK_BATCH_MAX];
    unsigned n_open = 0, n_seal = 0, n_reseal = 0;

    for (unsigned i = 0; i < n; i++) {
        xb_job *job = jobs[i];
        xa_slot *sl = &a->slots[job - a->st.pool.jobs];
        uint8_t *data = job->buf ? job->buf + FRONT : NULL;
        sl->out = NULL;
        sl->out_len = 0;
        sl->ncrc = 0;
        if (sl->kind == K_SEAL) {
            seal[n_seal] = item_of(job, job->iv, data, job->len, &job->hdr);
            seal[n_seal].src = job->src;
            seal[n_seal].want_plain_crc = sl->check != NULL;
            seal_j[n_seal++] = job;
        } else if (sl->kind == K_OPEN || sl->kind == K_RESEAL) {
            /* Plaintext written whole as one archive chunk gets its CRC
             * while it is opened. */
            size_t plain = (size_t)xb_header_plaintext_size(&job->hdr);
            open[n_open] = item_of(job, job->iv, data, 0, &job->hdr);
            open[n_open].src = job->src;
            open[n_open].want_plain_crc =
                sl->kind == K_OPEN && a->out_crc && plain <= XBS_PAYLOAD_MAX_WRITE;
            open_j[n_open++] = job;
        }
    }
    if (n_open)
        xb_chunk_open_many(&a->st.workers[worker], a->decrypt, a->hash,
                           a->out_crc ? a->out_crc[worker] : NULL, open, n_open);
    for (unsigned i = 0; i < n_open; i++) {
        xb_job *job = open_j[i];
        xa_slot *sl = &a->slots[job - a->st.pool.jobs];
        job->status = open[i].status;
        job->hashed = open[i].hashed;
        if (job->status != XBCRYPT_OK)
            continue;
        size_t plain = (size_t)xb_header_plaintext_size(&job->hdr);
        if (sl->kind == K_RESEAL) {
            reseal[n_reseal] = item_of(job, sl->new_iv, open[i].p, plain, &reseal_h[n_reseal]);
            reseal_j[n_reseal++] = job;
            continue;
        }
        sl->out = open[i].p;
        sl->out_len = a->st.write ? plain : 0;
        if (open[i].want_plain_crc && plain) {
            sl->ncrc = 1;
            sl->crcs[0] = open[i].plain_crc;
        } else {
            set_pieces(sl);
        }
    }
    if (n_seal)
        xb_chunk_seal_many(&a->st.workers[worker], seal, n_seal);
    for (unsigned i = 0; i < n_seal; i++) {
        xa_slot *sl = &a->slots[seal_j[i] - a->st.pool.jobs];
        if (sl->check) /* here, not on the producer's thread */
            sl->check_term = xbs_crc32_shift(seal[i].plain_crc, sl->check_after);
        sealed(&a->st.workers[worker], seal_j[i], sl, &seal[i]);
    }
    if (n_reseal)
        xb_chunk_seal_many(&a->seal_w[worker], reseal, n_reseal);
    for (unsigned i = 0; i < n_reseal; i++)
        sealed(&a->seal_w[worker], reseal_j[i], &a->slots[reseal_j[i] - a->st.pool.jobs],
               &reseal[i]);
}

/* ---- writing ---- */

static xbcrypt_status write_pieces(xbcrypt_archive *a, xb_job *job, xa_slot *sl)
{
    xa_member *m = sl->m;
    xb_stream *st = &a->st;
    for (size_t k = 0; k < sl->ncrc; k++) {
        size_t at = k * XBS_PAYLOAD_MAX_WRITE;
        size_t len = sl->out_len - at < XBS_PAYLOAD_MAX_WRITE ? sl->out_len - at
                                                               : XBS_PAYLOAD_MAX_WRITE;
        xbs_header h = {.type = XBS_TYPE_PAYLOAD, .plen = m->out_plen,
                        .path = (const uint8_t *)m->out_path, .len = len,
                        .off = sl->out_off + at, .crc = sl->crcs[k]};
        size_t hs = xbs_header_size(&h);
        xbcrypt_status rc;
        if (sl->ncrc == 1 && (size_t)(sl->out - job->buf) >= hs) {
            /* The usual case: the header goes just before the data, and
             * the chunk leaves in one write. */
            xbs_header_encode(sl->out - hs, &h);
            rc = xb_stream_emit(st, sl->out - hs, hs + len, m->next_index, sl->in_off);
        } else {
            uint8_t hb[XBS_HEADER_MAX];
            xbs_header_encode(hb, &h);
            rc = xb_stream_emit(st, hb, hs, m->next_index, sl->in_off);
            if (rc == XBCRYPT_OK)
                rc = xb_stream_emit(st, sl->out + at, len, m->next_index, sl->in_off);
        }
        if (rc != XBCRYPT_OK)
            return rc;
        st->stats.encrypted_bytes += hs + len;
    }
    return XBCRYPT_OK;
}

static void member_record(xbcrypt_archive *a, xa_member *m, bool closed)
{
    if (!a->s.on_member)
        return;
    xbcrypt_member_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.path = m->wm->path;
    info.bytes = m->wm->next_off;
    info.chunks = m->wm->chunks;
    info.encrypted = xb_is_xbcrypt_name(m->wm->path, m->wm->plen);
    info.closed = closed;
    info.verified = (m->role == R_OPEN || m->role == R_RESEAL) && a->decrypt && a->hash &&
                    m->hashed == m->done && closed;
    info.xbcrypt_chunks = m->done;
    info.plaintext_bytes = m->plain_bytes;
    a->s.on_member(a->s.member_opaque, &info);
}

/* A member's end, in order: its EOF chunk (unless passed through as it
 * came), its record. */
static void end_member(xbcrypt_archive *a, xa_member *m)
{
    xb_stream *st = &a->st;
    if (st->write && m->role != R_RAW && m->role != R_SKIP) {
        xbs_header h = {.type = XBS_TYPE_EOF, .plen = m->out_plen,
                        .path = (const uint8_t *)m->out_path};
        uint8_t hb[XBS_HEADER_MAX];
        size_t hs = xbs_header_encode(hb, &h);
        if (xb_stream_emit(st, hb, hs, m->next_index, m->in_pos) != XBCRYPT_OK)
            return;
        st->stats.encrypted_bytes += hs;
    }
    if ((m->role == R_OPEN || m->role == R_RESEAL) && a->decrypt && a->hash &&
        m->hashed == m->done)
        a->verified++;
    if (m->cp_text)
        xb_tally_member_end(&a->tally, m->wm);
    member_record(a, m, true);
    member_free(a, m);
}

/* Why a chunk failed, in the stream decoder's words, naming the member. */
static void fail_chunk(xbcrypt_archive *a, const xb_job *job, const xa_slot *sl)
{
    char q[200];
    quote(q, sizeof q, sl->m);
    const unsigned long long idx = job->index, off = sl->in_off;
    xb_stream *st = &a->st;
    if (job->status == XBCRYPT_E_HASH && a->any_hashed == 0)
        xb_stream_fail(st, XBCRYPT_E_WRONG_KEY,
                       "member '%s': wrong key: XBCRYPT chunk %llu (member offset %llu) does "
                       "not decrypt to data that matches its SHA-256, and no chunk before it did",
                       q, idx, off);
    else if (job->status == XBCRYPT_E_HASH)
        xb_stream_fail(st, XBCRYPT_E_HASH,
                       "member '%s': SHA-256 mismatch at XBCRYPT chunk %llu (member offset "
                       "%llu): the chunk is damaged though its CRC matches, or it was encrypted "
                       "with another key",
                       q, idx, off);
    else if (job->status == XBCRYPT_E_CRC)
        xb_stream_fail(st, XBCRYPT_E_CRC,
                       "member '%s': CRC-32 mismatch at XBCRYPT chunk %llu (member offset %llu): "
                       "%s; the chunk is damaged",
                       q, idx, off, job->detail);
    else
        xb_stream_fail(st, job->status,
                       "member '%s': cannot process XBCRYPT chunk %llu (member offset %llu): %s",
                       q, idx, off, job->detail);
}

/* ---- deferred archive CRCs ---- */

/* A record for the chunk being read, to defer `len` bytes at p of the
 * current event to the worker that seals them; false: the walker reads
 * them itself, as usual. */
static bool defer_crc(xbcrypt_archive *a, xa_member *m, const uint8_t *p, size_t len)
{
    xa_check *c = a->check_cur;
    if (!c && !(c = a->check_free))
        return false;
    if (!xbs_walk_defer(a->tally.walk, p, len, &m->check_after))
        return false;
    if (c != a->check_cur) {
        a->check_free = c->next;
        *c = (xa_check){0};
        a->check_cur = c;
    }
    c->pending++;
    m->check = c;
    return true;
}

/* Whether c's chunk, ended and with every piece retired, has the CRC it
 * stores; if not, the walker's words for it in msg (XBS_MSG_SIZE bytes). */
static bool check_verdict(const xa_check *c, char *msg)
{
    if (c->acc == c->residual)
        return true;
    xbs_walk_crc_message(msg, XBS_MSG_SIZE, c->index, c->offset, (const uint8_t *)c->wm->path,
                         c->wm->plen, c->stored, c->stored ^ c->residual ^ c->acc);
    return false;
}

/* Settles and frees a pool record (check_verdict). */
static bool check_settle(xbcrypt_archive *a, xa_check *c, char *msg)
{
    const bool ok = check_verdict(c, msg);
    c->next = a->check_free;
    a->check_free = c;
    return ok;
}

/* The end of a chunk with deferred bytes (XBS_EV_CHUNK_END). */
static xbcrypt_status check_end(xbcrypt_archive *a, const xbs_event *ev)
{
    /* Without a record (not a path defer_crc takes) no piece adds to the
     * XOR: the residual alone must be zero. */
    xa_check none = {0};
    xa_check *c = a->check_cur ? a->check_cur : &none;
    a->check_cur = NULL;
    c->ended = true;
    c->residual = ev->residual;
    c->stored = ev->hdr->crc;
    c->index = ev->index;
    c->offset = ev->offset;
    c->wm = ev->member;
    char msg[XBS_MSG_SIZE];
    if (c->pending == 0 && !(c == &none ? check_verdict(c, msg) : check_settle(a, c, msg)))
        return fail_in_order(a, XBCRYPT_E_CRC, "%s", msg);
    return XBCRYPT_OK;
}

/* A lent piece retires: what it adds goes into its chunk's check, which
 * is settled if it was the last. */
static void check_piece(xbcrypt_archive *a, xa_slot *sl)
{
    xa_check *c = sl->check;
    sl->check = NULL;
    c->acc ^= sl->check_term;
    char msg[XBS_MSG_SIZE];
    if (--c->pending == 0 && c->ended && !check_settle(a, c, msg))
        xb_stream_fail(&a->st, XBCRYPT_E_CRC, "%s", msg);
}

static bool retire_one(void *owner, bool wait)
{
    xbcrypt_archive *a = owner;
    xb_stream *st = &a->st;
    xb_job *job = xb_pool_oldest(&st->pool, wait);
    if (!job)
        return false;
    xa_slot *sl = &a->slots[job - st->pool.jobs];
    /* A lent piece settles its archive chunk's CRC before it is written:
     * a damaged chunk stops the run here. */
    if (st->status == XBCRYPT_OK && job->status == XBCRYPT_OK && sl->check)
        check_piece(a, sl);
    if (st->status == XBCRYPT_OK) {
        if (job->status != XBCRYPT_OK) {
            fail_chunk(a, job, sl);
        } else if (sl->kind == K_RAW) {
            if (xb_stream_emit(st, job->buf, job->len, 0, 0) == XBCRYPT_OK)
                st->stats.encrypted_bytes += job->len;
        } else if (sl->kind == K_END) {
            end_member(a, sl->m);
        } else if (write_pieces(a, job, sl) == XBCRYPT_OK) {
            xa_member *m = sl->m;
            size_t plain = sl->kind == K_SEAL ? job->len
                                              : (size_t)xb_header_plaintext_size(&job->hdr);
            m->done++;
            m->hashed += job->hashed || sl->kind == K_SEAL;
            a->any_hashed += job->hashed;
            m->plain_bytes += plain;
            st->stats.chunks++;
            st->stats.plaintext_bytes += plain;
            st->stats.hashed_chunks += job->hashed;
            if (m->cp_text && sl->kind == K_OPEN && a->decrypt)
                xb_tally_checkpoints_text(&a->tally, m->wm, job->buf + FRONT, plain);
        }
    }
    /* Plaintext that is not released must not linger; the buffer goes back
     * to the free list (the pool never owns it). */
    if (job->status != XBCRYPT_OK || st->status != XBCRYPT_OK)
        xb_wipe(job->buf, job->cap);
    buf_put(a, job->buf, job->cap);
    job->buf = NULL;
    job->cap = 0;
    job->len = 0;
    xb_pool_retire(&st->pool);
    return true;
}

/* ---- submitting ---- */

static xbcrypt_status flush_raw(xbcrypt_archive *a);

/* Submits a job of `kind` for member m over `buf` (which the job now
 * owns; it is given back even on failure). */
static xbcrypt_status submit(xbcrypt_archive *a, enum kind kind, xa_member *m, uint8_t *buf,
                             size_t cap, size_t len, const xb_header *h, const uint8_t iv[16],
                             uint64_t out_size)
{
    xb_stream *st = &a->st;
    if (kind != K_RAW && a->raw_len && flush_raw(a) != XBCRYPT_OK) {
        buf_put(a, buf, cap);
        return st->status;
    }
    while (xb_pool_full(&st->pool))
        retire_one(a, true);
    if (st->status != XBCRYPT_OK) {
        buf_put(a, buf, cap);
        return st->status;
    }
    xb_job *job = xb_pool_slot(&st->pool);
    xa_slot *sl = &a->slots[job - st->pool.jobs];
    sl->check = NULL;
    if (m) {
        job->src = m->src; /* a chunk left in the lent buffer */
        m->src = NULL;
        sl->check = m->check;
        sl->check_after = m->check_after;
        m->check = NULL;
    }
    job->buf = buf;
    job->cap = cap;
    job->len = len;
    job->index = m ? m->next_index : 0;
    job->offset = 0;
    if (h)
        job->hdr = *h;
    memset(job->iv, 0, sizeof job->iv);
    if (iv)
        memcpy(job->iv, iv, sizeof job->iv);
    sl->kind = kind;
    sl->m = m;
    sl->in_off = m ? m->chunk_pos : 0;
    if (m && kind != K_END && kind != K_RAW) {
        job->index = m->next_index++;
        sl->out_off = m->out_off;
        m->out_off += out_size;
    }
    if (kind == K_RESEAL || kind == K_SEAL) {
        uint8_t *dst = kind == K_SEAL ? job->iv : sl->new_iv;
        if (a->s.iv_source) {
            if (a->s.iv_source(a->s.iv_opaque, job->index, dst) != 0) {
                job->buf = NULL;
                job->cap = 0;
                buf_put(a, buf, cap);
                char q[200];
                quote(q, sizeof q, m);
                return fail_in_order(a, XBCRYPT_E_CRYPTO,
                                     "member '%s': the IV source failed for XBCRYPT chunk %llu",
                                     q, (unsigned long long)job->index);
            }
        } else {
            xb_nonce(dst, 16);
        }
    }
    xb_pool_submit(&st->pool);
    while (retire_one(a, false))
        ;
    return st->status;
}

static xbcrypt_status flush_raw(xbcrypt_archive *a)
{
    if (!a->raw_len)
        return XBCRYPT_OK;
    size_t cap;
    uint8_t *b = buf_get(a, a->raw_len, &cap);
    if (!b)
        return fail_in_order(a, XBCRYPT_E_NOMEM, "out of memory for %zu pass-through bytes",
                             a->raw_len);
    memcpy(b, a->raw, a->raw_len);
    size_t n = a->raw_len;
    a->raw_len = 0;
    return submit(a, K_RAW, NULL, b, cap, n, NULL, NULL, 0);
}

static xbcrypt_status raw_put(xbcrypt_archive *a, const uint8_t *p, size_t n)
{
    while (n) {
        if (a->raw_len == a->raw_cap && flush_raw(a) != XBCRYPT_OK)
            return a->st.status;
        size_t take = a->raw_cap - a->raw_len < n ? a->raw_cap - a->raw_len : n;
        memcpy(a->raw + a->raw_len, p, take);
        a->raw_len += take;
        p += take;
        n -= take;
    }
    return XBCRYPT_OK;
}

/* Appends `take` bytes from p (zeros when p is NULL: a sparse hole) to
 * the member's chunk; returns p moved past them. */
static const uint8_t *append(xa_member *m, const uint8_t *p, size_t take)
{
    if (p)
        memcpy(m->buf + FRONT + m->len, p, take);
    else
        memset(m->buf + FRONT + m->len, 0, take);
    m->len += take;
    return p ? p + take : NULL;
}

/* ---- encrypting members ---- */

static size_t sealed_size(const xbcrypt_archive *a, size_t plain)
{
    bool iv = a->st.cipher;
    return XB_HEADER_V23_SIZE + (iv ? XBCRYPT_IV_SIZE : 0) + plain + XB_HASH_SIZE;
}

static xbcrypt_status seal_current(xbcrypt_archive *a, xa_member *m)
{
    uint8_t *b = m->buf;
    size_t cap = m->cap, len = m->len;
    m->buf = NULL;
    m->cap = m->len = 0;
    m->chunk_pos = m->in_pos;
    m->in_pos += len;
    return submit(a, K_SEAL, m, b, cap, len, NULL, NULL, sealed_size(a, len));
}

/* Plaintext bytes of m (or `n` zeros when p is NULL) into its chunks. */
static xbcrypt_status seal_feed(xbcrypt_archive *a, xa_member *m, const uint8_t *p, uint64_t n)
{
    const size_t chunk = a->s.chunk_size;
    while (n) {
        if (p && a->lending && m->len == 0 && n >= chunk) {
            /* A whole chunk in the lent buffer: the worker that seals it
             * copies it (xb_chunk_seal_many), not this thread, and takes
             * the CRC-32 that the chunk's archive CRC is checked with. */
            if (!buf_grow(a, m, FRONT + chunk + TAIL))
                return fail_in_order(a, XBCRYPT_E_NOMEM, "out of memory for a chunk buffer");
            (void)defer_crc(a, m, p, chunk);
            m->src = p;
            m->len = chunk;
            p += chunk;
            n -= chunk;
            if (seal_current(a, m) != XBCRYPT_OK)
                return a->st.status;
            continue;
        }
        if (!grow_for(a, m, n, chunk))
            return fail_in_order(a, XBCRYPT_E_NOMEM, "out of memory for a chunk buffer");
        const size_t room = m->cap - FRONT - TAIL - m->len;
        size_t take = chunk - m->len < n ? chunk - m->len : (size_t)n;
        if (take > room)
            take = room;
        p = append(m, p, take);
        n -= take;
        if (m->len == chunk && seal_current(a, m) != XBCRYPT_OK)
            return a->st.status;
    }
    return XBCRYPT_OK;
}

/* ---- opening members ---- */

__attribute__((format(printf, 4, 5))) static xbcrypt_status
fail_member(xbcrypt_archive *a, xbcrypt_status code, const xa_member *m, const char *fmt, ...)
{
    char q[200], text[XB_MSG_SIZE];
    quote(q, sizeof q, m);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return fail_in_order(a, code, "member '%s': %s at XBCRYPT chunk %llu (member offset %llu)", q,
                         text, (unsigned long long)m->next_index,
                         (unsigned long long)m->chunk_pos);
}

static xbcrypt_status open_current(xbcrypt_archive *a, xa_member *m)
{
    /* An empty payload (versions 1 and 2) never got a buffer; re-sealing
     * it still writes a header and a hash around it. */
    if (!m->buf && !buf_grow(a, m, FRONT + (size_t)m->hdr.elen + TAIL))
        return fail_member(a, XBCRYPT_E_NOMEM, m, "out of memory for the chunk");
    uint8_t *b = m->buf;
    size_t cap = m->cap, len = m->len;
    m->buf = NULL;
    m->cap = m->len = 0;
    m->phase = PH_HEADER;
    m->stage_len = 0;
    size_t plain = (size_t)xb_header_plaintext_size(&m->hdr);
    enum kind k = m->role == R_RESEAL ? K_RESEAL : K_OPEN;
    uint64_t out = k == K_RESEAL ? sealed_size(a, plain) : a->st.write ? plain : 0;
    return submit(a, k, m, b, cap, len, &m->hdr, m->iv, out);
}

static xbcrypt_status open_header(xbcrypt_archive *a, xa_member *m)
{
    xb_fmt_result fr = xb_header_decode(m->stage, &m->hdr);
    if (fr == XB_FMT_BAD_MAGIC)
        return fail_member(a, XBCRYPT_E_MAGIC, m, "%s",
                           m->next_index ? "bad magic (a damaged chunk header)"
                                         : "not an xbcrypt stream: bad magic");
    if (fr != XB_FMT_OK)
        return fail_member(a, XBCRYPT_E_LIMIT, m, "%s (olen %llu, elen %llu, IV size %llu)",
                           xb_fmt_result_text(fr), (unsigned long long)m->hdr.olen,
                           (unsigned long long)m->hdr.elen, (unsigned long long)m->hdr.ivlen);
    if (m->hdr.version == 3 && a->decrypt && m->hdr.ivlen != XBCRYPT_IV_SIZE)
        return fail_member(a, XBCRYPT_E_LIMIT, m, "%s",
                           "version-3 chunk without an IV cannot be decrypted with AES");
    xb_stream_fit(&a->st, FRONT + (size_t)m->hdr.elen + TAIL);
    memset(m->iv, 0, sizeof m->iv);
    m->iv_left = m->hdr.ivlen;
    m->iv_seen = 0;
    m->phase = PH_IV;
    m->len = 0;
    return XBCRYPT_OK;
}

/* Bytes of an encrypted member (or `n` zeros when p is NULL: a sparse
 * hole) through its XBCRYPT parser. */
static xbcrypt_status open_feed(xbcrypt_archive *a, xa_member *m, const uint8_t *p, uint64_t n)
{
    static const uint8_t zeros[XB_HEADER_V23_SIZE];
    while (n) {
        if (a->st.status != XBCRYPT_OK)
            return a->st.status;
        switch (m->phase) {
        case PH_HEADER: {
            if (m->stage_len == 0)
                m->chunk_pos = m->in_pos;
            size_t need = XB_MAGIC_SIZE;
            if (m->stage_len >= XB_MAGIC_SIZE) {
                unsigned v = xb_magic_version(m->stage);
                need = v ? xb_header_size(v) : XB_MAGIC_SIZE;
            }
            size_t take = need - m->stage_len < n ? need - m->stage_len : (size_t)n;
            memcpy(m->stage + m->stage_len, p ? p : zeros, take);
            m->stage_len += take;
            m->in_pos += take;
            n -= take;
            if (p)
                p += take;
            if (m->stage_len < need)
                break;
            if (m->stage_len == XB_MAGIC_SIZE && xb_magic_version(m->stage) &&
                xb_header_size(xb_magic_version(m->stage)) > XB_MAGIC_SIZE)
                break; /* the rest of the header comes next */
            if (open_header(a, m) != XBCRYPT_OK)
                return a->st.status;
            if (m->iv_left == 0) {
                m->phase = PH_PAYLOAD;
                if (m->hdr.elen == 0 && open_current(a, m) != XBCRYPT_OK)
                    return a->st.status;
            }
            break;
        }
        case PH_IV: {
            size_t take = m->iv_left < n ? (size_t)m->iv_left : (size_t)n;
            for (size_t i = 0; p && i < take && m->iv_seen + i < sizeof m->iv; i++)
                m->iv[m->iv_seen + i] = p[i];
            m->iv_seen += take;
            m->iv_left -= take;
            m->in_pos += take;
            n -= take;
            if (p)
                p += take;
            if (m->iv_left)
                break;
            m->phase = PH_PAYLOAD;
            if (m->hdr.elen == 0 && open_current(a, m) != XBCRYPT_OK)
                return a->st.status;
            break;
        }
        case PH_PAYLOAD: {
            if (p && a->lending && m->len == 0 && a->decrypt && m->hdr.version == 3 &&
                n >= m->hdr.elen) {
                /* All of it in the lent buffer: decrypted from there into
                 * the chunk's room and checked there (xb_chunk_open_many). */
                const size_t elen = (size_t)m->hdr.elen;
                if (!buf_grow(a, m, FRONT + elen + TAIL))
                    return fail_member(a, XBCRYPT_E_NOMEM, m, "out of memory for the chunk");
                /* The worker checks these bytes against the chunk's stored
                 * CRC-32 before anything else (xb_chunk_open_many): that is
                 * their archive CRC too, so the walker need not read them
                 * a second time. */
                xbs_walk_vouch(a->tally.walk, p, elen, m->hdr.crc);
                m->src = p;
                m->len = elen;
                m->in_pos += elen;
                p += elen;
                n -= elen;
                if (open_current(a, m) != XBCRYPT_OK)
                    return a->st.status;
                break;
            }
            if (!grow_for(a, m, n, (size_t)m->hdr.elen))
                return fail_member(a, XBCRYPT_E_NOMEM, m, "out of memory for the chunk");
            size_t room = m->cap - FRONT - TAIL - m->len;
            size_t need = (size_t)m->hdr.elen - m->len;
            size_t take = need < room ? need : room;
            if (take > n)
                take = (size_t)n;
            p = append(m, p, take);
            m->in_pos += take;
            n -= take;
            if (m->len == m->hdr.elen && open_current(a, m) != XBCRYPT_OK)
                return a->st.status;
            break;
        }
        }
    }
    return a->st.status;
}

/* The member's EOF chunk came: its XBCRYPT stream must be at a chunk
 * boundary. */
static xbcrypt_status open_end(xbcrypt_archive *a, xa_member *m)
{
    if (m->phase == PH_HEADER && m->stage_len == 0)
        return XBCRYPT_OK;
    if (m->phase == PH_HEADER)
        return fail_member(a, XBCRYPT_E_TRUNCATED, m,
                           "the member ends inside a chunk header (%zu of %zu bytes)",
                           m->stage_len, (size_t)XB_HEADER_V23_SIZE);
    if (m->phase == PH_IV)
        return fail_member(a, XBCRYPT_E_TRUNCATED, m,
                           "the member ends inside a chunk's IV (%llu of %llu bytes)",
                           (unsigned long long)m->iv_seen, (unsigned long long)m->hdr.ivlen);
    return fail_member(a, XBCRYPT_E_TRUNCATED, m,
                       "the member ends inside a chunk's payload (%zu of %llu bytes)", m->len,
                       (unsigned long long)m->hdr.elen);
}

/* ---- walking the input ---- */

static const char suffix[] = ".xbcrypt";
#define SUFFIX_LEN (sizeof suffix - 1)

/* A member seen for the first time: what becomes of it. */
static xbcrypt_status member_new(xbcrypt_archive *a, xbs_member *wm, xa_member **out)
{
    *out = NULL;
    const bool enc = xb_is_xbcrypt_name(wm->path, wm->plen);
    xbs_walk_counts c;
    xbs_walk_counts_get(a->tally.walk, &c);
    if (c.open > OPEN_MAX) {
        char q[200];
        xbs_path_quote(q, sizeof q, (const uint8_t *)wm->path, wm->plen);
        return fail_in_order(a, XBCRYPT_E_LIMIT,
                             "member '%s': more than %u members open at once (a backup writes "
                             "a few at a time); each holds a chunk buffer",
                             q, OPEN_MAX);
    }
    xa_member *m = calloc(1, sizeof *m);
    if (!m)
        return fail_in_order(a, XBCRYPT_E_NOMEM, "out of memory for a member");
    m->wm = wm;
    m->next = a->members;
    if (a->members)
        a->members->prev = m;
    a->members = m;
    wm->user = m;

    char q[200];
    xbs_path_quote(q, sizeof q, (const uint8_t *)wm->path, wm->plen);
    size_t out_len = wm->plen;
    switch (a->s.mode) {
    case XBCRYPT_ARCHIVE_ENCRYPT:
        if (enc)
            return fail_in_order(a, XBCRYPT_E_ENCRYPTED,
                                 "member '%s' is already encrypted (its name ends in .xbcrypt): "
                                 "re-encrypt it under a new key instead of encrypting it twice",
                                 q);
        m->role = R_SEAL;
        out_len = wm->plen + SUFFIX_LEN;
        break;
    case XBCRYPT_ARCHIVE_DECRYPT:
        m->role = enc ? R_OPEN : R_RAW;
        out_len = enc ? wm->plen - SUFFIX_LEN : wm->plen;
        break;
    case XBCRYPT_ARCHIVE_REKEY:
        m->role = enc ? R_RESEAL : R_RAW;
        break;
    case XBCRYPT_ARCHIVE_VERIFY:
        m->role = enc ? R_OPEN : R_SKIP;
        break;
    case XBCRYPT_ARCHIVE_INFO:
        m->role = R_SKIP;
        break;
    }
    if (out_len > XBS_PATH_MAX)
        return fail_in_order(a, XBCRYPT_E_UNSAFE_PATH,
                             "member '%s': its name with .xbcrypt would be %zu bytes, and "
                             "archive readers refuse 512 or more",
                             q, out_len);
    m->out_path = malloc(out_len + SUFFIX_LEN + 1);
    if (!m->out_path)
        return fail_in_order(a, XBCRYPT_E_NOMEM, "out of memory for a member");
    memcpy(m->out_path, wm->path, out_len < wm->plen ? out_len : wm->plen);
    if (out_len > wm->plen)
        memcpy(m->out_path + wm->plen, suffix, SUFFIX_LEN);
    m->out_path[out_len] = '\0';
    m->out_plen = (uint32_t)out_len;
    if (a->s.mode == XBCRYPT_ARCHIVE_DECRYPT) {
        /* NAME.xbcrypt and NAME would both come out as NAME. */
        const char *other = enc ? m->out_path : NULL;
        char alt[XBS_PATH_MAX + SUFFIX_LEN + 1];
        if (!enc && wm->plen + SUFFIX_LEN <= XBS_PATH_MAX) {
            memcpy(alt, wm->path, wm->plen);
            memcpy(alt + wm->plen, suffix, SUFFIX_LEN + 1);
            other = alt;
        }
        if (other && xbs_walk_find(a->tally.walk, (const uint8_t *)other, strlen(other)))
            return fail_in_order(a, XBCRYPT_E_ARCHIVE,
                                 "member '%s': the archive also holds '%s%s', and both would be "
                                 "extracted as '%s'",
                                 q, enc ? m->out_path : q, enc ? "" : suffix,
                                 enc ? m->out_path : q);
        if (enc && (xbs_path_check((const uint8_t *)m->out_path, m->out_plen) != XBS_OK ||
                    m->out_path[m->out_plen - 1] == '/'))
            return fail_in_order(a, XBCRYPT_E_UNSAFE_PATH,
                                 "member '%s': without .xbcrypt its name is not a safe path", q);
    }
    bool plain;
    if (enc && a->decrypt && wm->plen > SUFFIX_LEN &&
        xb_is_checkpoints(wm->path, wm->plen - SUFFIX_LEN, &plain) && plain)
        m->cp_text = true;
    *out = m;
    return XBCRYPT_OK;
}

static xbcrypt_status on_event(xbcrypt_archive *a, const xbs_event *ev)
{
    xb_tally_event(&a->tally, ev);
    if (ev->type == XBS_EV_CHUNK_END && ev->deferred)
        return check_end(a, ev);
    /* A chunk starts: pass-through bytes of the chunks before it leave
     * first (and are not dropped if this one fails). */
    if ((ev->type == XBS_EV_CHUNK || ev->type == XBS_EV_MEMBER_END) && flush_raw(a) != XBCRYPT_OK)
        return a->st.status;
    xa_member *m = NULL;
    if (ev->member) {
        if (ev->opened && member_new(a, ev->member, &m) != XBCRYPT_OK)
            return a->st.status;
        m = ev->member->user;
        if (!m)
            return XBCRYPT_OK;
    }
    switch (ev->type) {
    case XBS_EV_CHUNK:
        if (m->role == R_RAW)
            return raw_put(a, ev->data, (size_t)ev->len);
        return XBCRYPT_OK;
    case XBS_EV_MAP:
        return m->role == R_RAW ? raw_put(a, ev->data, (size_t)ev->len) : XBCRYPT_OK;
    case XBS_EV_DATA:
    case XBS_EV_HOLE: {
        const uint8_t *p = ev->type == XBS_EV_DATA ? ev->data : NULL;
        switch (m->role) {
        case R_RAW: return p ? raw_put(a, p, (size_t)ev->len) : XBCRYPT_OK;
        case R_SEAL: return seal_feed(a, m, p, ev->len);
        case R_OPEN:
        case R_RESEAL: return open_feed(a, m, p, ev->len);
        case R_SKIP: return XBCRYPT_OK;
        }
        return XBCRYPT_OK;
    }
    case XBS_EV_MEMBER_END:
        if (m->role == R_RAW && raw_put(a, ev->data, (size_t)ev->len) != XBCRYPT_OK)
            return a->st.status;
        if (m->role == R_SEAL && m->len && seal_current(a, m) != XBCRYPT_OK)
            return a->st.status;
        if ((m->role == R_OPEN || m->role == R_RESEAL) && open_end(a, m) != XBCRYPT_OK)
            return a->st.status;
        return submit(a, K_END, m, NULL, 0, 0, NULL, NULL, 0);
    default:
        return XBCRYPT_OK;
    }
}

static xbcrypt_status walk(xbcrypt_archive *a, const uint8_t *p, size_t len)
{
    xb_stream *st = &a->st;
    for (;;) {
        xbs_event ev;
        size_t used;
        xbs_event_type t = xbs_walk_next(a->tally.walk, p, len, &used, &ev);
        if (t == XBS_EV_ERROR)
            return fail_walker(a);
        xbcrypt_status rc = on_event(a, &ev);
        /* The archive CRC of the event's bytes, but for the XBCRYPT
         * payloads on_event vouched for (open_feed). */
        xbs_walk_data_done(a->tally.walk);
        if (rc != XBCRYPT_OK)
            return st->status;
        if (p)
            p += used;
        len -= used;
        if (t == XBS_EV_MORE)
            return XBCRYPT_OK;
    }
}

/* ---- the public functions ---- */

void xb_archive_settings_default(xbcrypt_archive_settings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->mode = XBCRYPT_ARCHIVE_VERIFY;
    s->algo = XBCRYPT_ALGO_AES256;
    s->chunk_size = XBCRYPT_CHUNK_SIZE_DEFAULT;
    s->threads = 1;
}

static xbcrypt_status check_settings(const xbcrypt_archive_settings *s, xbcrypt_write_fn write,
                                     char *msg, size_t msg_size)
{
    if (!s || s->struct_size < offsetof(xbcrypt_archive_settings, iv_opaque) + sizeof(void *)) {
        xb_say(msg, msg_size, "%s", "archive settings were not filled by archive_settings_default()");
        return XBCRYPT_E_ARG;
    }
    if (s->mode < XBCRYPT_ARCHIVE_ENCRYPT || s->mode > XBCRYPT_ARCHIVE_INFO) {
        xb_say(msg, msg_size, "unknown archive mode %d", (int)s->mode);
        return XBCRYPT_E_ARG;
    }
    if (s->algo < XBCRYPT_ALGO_NONE || s->algo > XBCRYPT_ALGO_AES256) {
        xb_say(msg, msg_size, "unknown algorithm number %d", (int)s->algo);
        return XBCRYPT_E_ARG;
    }
    const bool writes = s->mode == XBCRYPT_ARCHIVE_ENCRYPT || s->mode == XBCRYPT_ARCHIVE_DECRYPT ||
                        s->mode == XBCRYPT_ARCHIVE_REKEY;
    if (writes && !write) {
        xb_say(msg, msg_size, "%s", "archive: the write callback is NULL");
        return XBCRYPT_E_ARG;
    }
    const bool aes = s->algo != XBCRYPT_ALGO_NONE;
    if (aes && !s->key && (writes || s->mode == XBCRYPT_ARCHIVE_REKEY)) {
        xb_say(msg, msg_size, "%s", "archive: AES needs a key");
        return XBCRYPT_E_KEY;
    }
    if (s->mode == XBCRYPT_ARCHIVE_REKEY && (!aes || !s->new_key)) {
        xb_say(msg, msg_size, "%s", "archive: re-encrypting needs AES and a new key");
        return XBCRYPT_E_KEY;
    }
    if (s->mode == XBCRYPT_ARCHIVE_ENCRYPT &&
        (s->chunk_size < XBCRYPT_CHUNK_SIZE_MIN || s->chunk_size > XBCRYPT_CHUNK_SIZE_MAX)) {
        xb_say(msg, msg_size, "chunk size %zu is outside %u .. %u bytes", s->chunk_size,
               XBCRYPT_CHUNK_SIZE_MIN, XBCRYPT_CHUNK_SIZE_MAX);
        return XBCRYPT_E_ARG;
    }
    return XBCRYPT_OK;
}

xbcrypt_status xb_archive_new(const xbcrypt_archive_settings *s, xbcrypt_write_fn write,
                              void *opaque, xbcrypt_archive **out, char *msg, size_t msg_size)
{
    if (!out)
        return XBCRYPT_E_ARG;
    *out = NULL;
    xbcrypt_status rc = check_settings(s, write, msg, msg_size);
    if (rc != XBCRYPT_OK)
        return rc;
    xbcrypt_archive *a = calloc(1, sizeof *a);
    if (!a)
        return XBCRYPT_E_NOMEM;
    memcpy(&a->s, s, sizeof a->s);
    a->s.struct_size = sizeof a->s;
    if (s->mode == XBCRYPT_ARCHIVE_VERIFY || s->mode == XBCRYPT_ARCHIVE_INFO)
        write = NULL;
    if (s->mode == XBCRYPT_ARCHIVE_INFO)
        a->s.key = NULL;
    const bool aes = s->algo != XBCRYPT_ALGO_NONE;
    a->decrypt = aes && a->s.key && s->mode != XBCRYPT_ARCHIVE_ENCRYPT;
    a->hash = a->decrypt || !aes;

    xbcrypt_settings xs;
    xb_settings_default(&xs);
    xs.algo = s->algo;
    xs.key = a->s.key;
    xs.threads = s->threads;
    xs.chunk_size = s->mode == XBCRYPT_ARCHIVE_ENCRYPT ? s->chunk_size : XBCRYPT_CHUNK_SIZE_DEFAULT;
    const size_t job = FRONT + xs.chunk_size + TAIL;
    rc = xb_stream_init(&a->st, &xs, write, opaque, aes && a->s.key != NULL, job, process, true, a,
                        msg, msg_size);
    if (rc != XBCRYPT_OK) {
        free(a);
        return rc;
    }
    a->nslots = a->st.pool.nslots;
    a->slots = calloc(a->nslots, sizeof *a->slots);
    a->spare_max = a->st.pool.nslots + SPARE_EXTRA;
    a->spare = calloc(a->spare_max, sizeof *a->spare);
    a->raw_cap = job > RAW_MIN ? job : RAW_MIN;
    a->raw = write ? malloc(a->raw_cap) : NULL;
    a->checks = calloc(a->nslots + 1, sizeof *a->checks);
    for (unsigned i = 0; a->checks && i <= a->nslots; i++) {
        a->checks[i].next = a->check_free;
        a->check_free = &a->checks[i];
    }
    bool ok = a->slots && a->spare && a->checks && (a->raw || !write);
    for (unsigned i = 0; ok && i < a->nslots; i++) {
        a->slots[i].crc_cap = XBCRYPT_CHUNK_SIZE_MAX / XBS_PAYLOAD_MAX_WRITE + 2;
        a->slots[i].crcs = malloc(a->slots[i].crc_cap * sizeof *a->slots[i].crcs);
        ok = a->slots[i].crcs != NULL;
    }
    if (!ok) {
        xb_say(msg, msg_size, "%s", "out of memory for the archive transform");
        xb_archive_free(a);
        return XBCRYPT_E_NOMEM;
    }
    if (s->mode == XBCRYPT_ARCHIVE_REKEY) {
        rc = xb_key_check(s->new_key, s->algo, msg, msg_size);
        a->nworkers = a->st.nworkers;
        a->seal_w = rc == XBCRYPT_OK ? calloc(a->nworkers, sizeof *a->seal_w) : NULL;
        if (rc == XBCRYPT_OK && !a->seal_w)
            rc = XBCRYPT_E_NOMEM;
        for (unsigned i = 0; rc == XBCRYPT_OK && i < a->nworkers; i++) {
            /* The new key's sealer runs on worker i's thread, right after
             * worker i opened the chunk: it shares that worker's hasher
             * (no key in it), which xb_stream_destroy closes. */
            a->seal_w[i].hasher = a->st.workers[i].hasher;
            rc = xb_digest_open(&a->seal_w[i].digest);
            if (rc == XBCRYPT_OK)
                rc = xb_cipher_open(&a->seal_w[i].cipher, s->new_key->bytes, s->new_key->len, msg,
                                    msg_size);
        }
        if (rc != XBCRYPT_OK) {
            xb_archive_free(a);
            return rc;
        }
    }
    if (s->mode == XBCRYPT_ARCHIVE_DECRYPT) {
        a->nworkers = a->st.nworkers;
        a->out_crc = calloc(a->nworkers, sizeof *a->out_crc);
        rc = a->out_crc ? XBCRYPT_OK : XBCRYPT_E_NOMEM;
        for (unsigned i = 0; rc == XBCRYPT_OK && i < a->nworkers; i++)
            rc = xb_digest_open(&a->out_crc[i]);
        if (rc != XBCRYPT_OK) {
            xb_say(msg, msg_size, "%s", "cannot set up CRC-32 for the output");
            xb_archive_free(a);
            return rc;
        }
    }
    rc = xb_tally_init(&a->tally, true, msg, msg_size);
    if (rc != XBCRYPT_OK) {
        xb_archive_free(a);
        return rc;
    }
    /* Opening members vouches for CRCs (open_feed), sealing them defers
     * some (seal_feed); otherwise the walker reads each event's bytes
     * before on_event hands them on, so that the worker's copy finds them
     * in cache. */
    xbs_walk_set_lazy(a->tally.walk, a->decrypt || s->mode == XBCRYPT_ARCHIVE_ENCRYPT);
    a->tally_open = true;
    *out = a;
    return XBCRYPT_OK;
}

xbcrypt_status xb_archive_feed(xbcrypt_archive *a, const void *buf, size_t len)
{
    if (!a || (!buf && len))
        return XBCRYPT_E_ARG;
    xb_stream *st = &a->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK || len == 0)
        return rc;
    st->stats.bytes_in += len;
    return walk(a, buf, len);
}

static xbcrypt_status walk_lent(void *obj, const uint8_t *p, size_t len)
{
    xbcrypt_archive *a = obj;
    a->st.stats.bytes_in += len;
    a->lending = true;
    xbcrypt_status rc = walk(a, p, len);
    a->lending = false;
    return rc;
}

static bool retire_of(void *owner, bool wait)
{
    return retire_one(owner, wait);
}

xbcrypt_status xb_archive_feed_shared(xbcrypt_archive *a, const void *buf, size_t len)
{
    if (!a || (!buf && len))
        return XBCRYPT_E_ARG;
    return xb_stream_feed_shared(&a->st, a, walk_lent, retire_of, buf, len);
}

xbcrypt_status xb_archive_finish(xbcrypt_archive *a)
{
    if (!a)
        return XBCRYPT_E_ARG;
    xb_stream *st = &a->st;
    xbcrypt_status rc = xb_stream_usable(st);
    if (rc != XBCRYPT_OK)
        return rc;
    if (walk(a, NULL, 0) != XBCRYPT_OK)
        return st->status;
    xbs_result r = xbs_walk_end(a->tally.walk);
    if (r == XBS_UNCLOSED) {
        /* Everything that closed goes out first; then the records of the
         * members that never did, oldest first. */
        flush_raw(a);
        drain(a);
        for (xbs_member *wm = xbs_walk_first_open(a->tally.walk); wm; wm = xbs_walk_next_open(wm))
            if (wm->user)
                member_record(a, wm->user, false);
    }
    if (r != XBS_OK)
        return fail_walker(a);
    flush_raw(a);
    drain(a);
    st->finished = true;
    return st->status;
}

void xb_archive_free(xbcrypt_archive *a)
{
    if (!a)
        return;
    /* Every job gives its buffer back before the pool goes. */
    if (a->st.pool.jobs && a->slots)
        drain(a);
    xb_stream_destroy(&a->st);
    while (a->members)
        member_free(a, a->members);
    if (a->tally_open)
        xb_tally_destroy(&a->tally);
    for (unsigned i = 0; a->seal_w && i < a->nworkers; i++) {
        xb_cipher_close(a->seal_w[i].cipher);
        xb_digest_close(a->seal_w[i].digest);
    }
    free(a->seal_w);
    for (unsigned i = 0; a->out_crc && i < a->nworkers; i++)
        xb_digest_close(a->out_crc[i]);
    free(a->out_crc);
    free(a->checks);
    for (unsigned i = 0; a->slots && i < a->nslots; i++)
        free(a->slots[i].crcs);
    free(a->slots);
    while (a->nspare) {
        a->nspare--;
        xb_wipe(a->spare[a->nspare].buf, a->spare[a->nspare].cap);
        free(a->spare[a->nspare].buf);
    }
    free(a->spare);
    if (a->raw)
        xb_wipe(a->raw, a->raw_cap);
    free(a->raw);
    free(a);
}

xbcrypt_status xb_archive_status(const xbcrypt_archive *a)
{
    return a ? a->st.status : XBCRYPT_E_ARG;
}

const char *xb_archive_message(const xbcrypt_archive *a)
{
    return a ? a->st.msg : "no archive transform";
}

void xb_archive_summary(const xbcrypt_archive *a, xbcrypt_archive_summary *out)
{
    if (!a || !out)
        return;
    xbcrypt_archive_summary s;
    s.struct_size = sizeof s;
    xb_tally_summary(&a->tally, &s);
    s.verified = a->verified;
    size_t n = out->struct_size && out->struct_size < sizeof s ? out->struct_size : sizeof s;
    memcpy(out, &s, n);
    out->struct_size = n;
}

void xb_archive_stats(const xbcrypt_archive *a, xbcrypt_stats *stats)
{
    if (a)
        xb_stream_stats(&a->st, stats);
}

int xb_archive_write_error(const xbcrypt_archive *a)
{
    return a ? a->st.write_err : 0;
}

size_t xb_archive_peak_bytes(const xbcrypt_archive *a)
{
    return a ? a->peak + (a->raw ? a->raw_cap : 0) : 0;
}
