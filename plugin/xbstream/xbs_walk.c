/* xbs_walk.c - the incremental archive walker: a pull parser over chunks. */
#include "xbstream/xbs_walk.h"

#include "format/xb_format.h" /* little-endian loads */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state { ST_PREFIX, ST_HEADER, ST_MAP, ST_PAYLOAD, ST_FAILED };

struct xbs_walk {
    xbs_crc_ops crc;
    enum state state;
    uint8_t stage[XBS_HEADER_MAX];
    size_t stage_len;
    size_t need;              /* header bytes to gather (ST_PREFIX, ST_HEADER) */
    xbs_header hdr;           /* the chunk being read; path points into stage */
    xbs_member *cur;          /* its member (NULL for an ignorable chunk) */
    bool ignore;              /* the chunk is an ignorable one being skipped */
    bool unknown;             /* its type is unknown and not ignorable: its path is read
                               * only to name it in the error */
    uint64_t chunk_pos;       /* archive offset of its magic */
    uint64_t chunk_index;     /* its number */
    uint64_t pos;             /* archive bytes taken */
    uint64_t left;            /* map bytes (ST_MAP) or payload bytes (ST_PAYLOAD) to come */
    bool lazy;                /* see xbs_walk_set_lazy */
    const uint8_t *pend;      /* lazy: the last DATA event's bytes, not read yet ... */
    size_t pend_len, pend_done; /* ... how many, and how many are folded in */
    uint64_t deferred;        /* ranges of this chunk whose CRC the caller checks */

    /* The sparse map of the S chunk being read, as it arrives. */
    uint32_t (*map)[2];       /* skip, n */
    uint32_t map_cap;
    uint32_t map_len;
    uint8_t entry[8];         /* a map entry cut between two inputs */
    unsigned entry_len;
    uint64_t map_sum;         /* the entries' n so far */
    uint64_t map_end;         /* off + every skip and n so far */
    uint32_t ent;             /* payload: entry being placed */
    uint64_t ent_done;        /* payload: bytes of entry `ent` placed */
    bool hole_done;           /* payload: entry `ent`'s hole was reported */
    uint64_t at;              /* payload: member offset of the next byte */

    /* Members: a chained hash table by path, and the open ones in order. */
    xbs_member **table;
    size_t table_size;        /* a power of two */
    xbs_member *open_head, *open_tail;
    xbs_walk_counts counts;

    bool cut;                 /* the input ended inside a chunk */
    xbs_result result;
    char msg[XBS_MSG_SIZE];
};

xbs_walk *xbs_walk_new(const xbs_crc_ops *crc)
{
    xbs_walk *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (crc && crc->update)
        w->crc = *crc;
    w->need = XBS_PREFIX_SIZE;
    w->table_size = 64;
    w->table = calloc(w->table_size, sizeof *w->table);
    if (!w->table) {
        free(w);
        return NULL;
    }
    return w;
}

void xbs_walk_free(xbs_walk *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->table_size; i++) {
        xbs_member *m = w->table[i];
        while (m) {
            xbs_member *next = m->hash_next;
            free(m->path);
            free(m);
            m = next;
        }
    }
    free(w->table);
    free(w->map);
    free(w);
}

/* Records the first error, with the chunk and member it concerns. */
__attribute__((format(printf, 3, 4))) static xbs_event_type fail(xbs_walk *w, xbs_result r,
                                                                 const char *fmt, ...)
{
    if (w->result == XBS_OK) {
        w->result = r;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg, sizeof w->msg, fmt, ap);
        va_end(ap);
    }
    w->state = ST_FAILED;
    return XBS_EV_ERROR;
}

/* "archive chunk N (offset X), member 'path'" for the chunk being read. */
static void where_of(char *out, size_t out_size, uint64_t index, uint64_t offset,
                     const uint8_t *path, size_t plen)
{
    char q[160];
    xbs_path_quote(q, sizeof q, path ? path : (const uint8_t *)"", plen);
    snprintf(out, out_size, "archive chunk %llu (offset %llu), member '%s'",
             (unsigned long long)index, (unsigned long long)offset, q);
}

static void where(const xbs_walk *w, char *out, size_t out_size)
{
    where_of(out, out_size, w->chunk_index, w->chunk_pos, w->hdr.path, w->hdr.plen);
}

void xbs_walk_crc_message(char *out, size_t size, uint64_t index, uint64_t offset,
                          const uint8_t *path, size_t plen, uint32_t stored, uint32_t computed)
{
    char at[256];
    where_of(at, sizeof at, index, offset, path, plen);
    snprintf(out, size, "%s at %s: stored 0x%08x, computed 0x%08x", xbs_result_text(XBS_CRC), at,
             (unsigned)stored, (unsigned)computed);
}

static uint64_t hash_path(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static bool grow_table(xbs_walk *w)
{
    size_t size = w->table_size * 2;
    xbs_member **t = calloc(size, sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < w->table_size; i++) {
        xbs_member *m = w->table[i];
        while (m) {
            xbs_member *next = m->hash_next;
            size_t b = hash_path((const uint8_t *)m->path, m->plen) & (size - 1);
            m->hash_next = t[b];
            t[b] = m;
            m = next;
        }
    }
    free(w->table);
    w->table = t;
    w->table_size = size;
    return true;
}

xbs_member *xbs_walk_find(const xbs_walk *w, const uint8_t *path, size_t plen)
{
    size_t b = hash_path(path, plen) & (w->table_size - 1);
    for (xbs_member *m = w->table[b]; m; m = m->hash_next)
        if (m->plen == plen && memcmp(m->path, path, plen) == 0)
            return m;
    return NULL;
}

/* The member named by the current header, created (open, at offset 0) if
 * new; NULL when out of memory. */
static xbs_member *member_of(xbs_walk *w)
{
    const xbs_header *h = &w->hdr;
    xbs_member *found = xbs_walk_find(w, h->path, h->plen);
    if (found)
        return found;
    size_t b = hash_path(h->path, h->plen) & (w->table_size - 1);
    if (w->counts.members >= w->table_size && grow_table(w))
        b = hash_path(h->path, h->plen) & (w->table_size - 1);
    xbs_member *m = calloc(1, sizeof *m);
    char *path = malloc(h->plen + 1u);
    if (!m || !path) {
        free(m);
        free(path);
        return NULL;
    }
    memcpy(path, h->path, h->plen);
    path[h->plen] = '\0';
    m->path = path;
    m->plen = h->plen;
    m->id = w->counts.members++;
    m->hash_next = w->table[b];
    w->table[b] = m;
    m->open_prev = w->open_tail;
    if (w->open_tail)
        w->open_tail->open_next = m;
    else
        w->open_head = m;
    w->open_tail = m;
    w->counts.open++;
    return m;
}

static void close_member(xbs_walk *w, xbs_member *m)
{
    m->closed = true;
    if (m->open_prev)
        m->open_prev->open_next = m->open_next;
    else
        w->open_head = m->open_next;
    if (m->open_next)
        m->open_next->open_prev = m->open_prev;
    else
        w->open_tail = m->open_prev;
    m->open_prev = m->open_next = NULL;
    w->counts.open--;
}

/* Ends the chunk just read: back to reading a prefix. */
static void chunk_done(xbs_walk *w)
{
    w->counts.chunks++;
    w->state = ST_PREFIX;
    w->stage_len = 0;
    w->need = XBS_PREFIX_SIZE;
    w->cur = NULL;
    w->ignore = false;
}

/* The header is in the stage: decide what the chunk is. */
static xbs_event_type start_chunk(xbs_walk *w, xbs_event *ev)
{
    char at[256];
    if (w->unknown) {
        char q[160];
        xbs_path_quote(q, sizeof q, w->stage + XBS_PREFIX_SIZE, w->hdr.plen);
        return fail(w, XBS_UNKNOWN_TYPE, "%s (0x%02x) at archive chunk %llu (offset %llu), member '%s'",
                    xbs_result_text(XBS_UNKNOWN_TYPE), (unsigned)w->hdr.type,
                    (unsigned long long)w->chunk_index, (unsigned long long)w->chunk_pos, q);
    }
    xbs_result r = xbs_header_decode(w->stage, &w->hdr);
    if (r != XBS_OK) {
        where(w, at, sizeof at);
        return fail(w, r, "%s at %s", xbs_result_text(r), at);
    }
    xbs_header *h = &w->hdr;
    if (h->type != XBS_TYPE_PAYLOAD && h->type != XBS_TYPE_SPARSE && h->type != XBS_TYPE_EOF) {
        w->ignore = true;
        w->left = h->len;
        w->state = ST_PAYLOAD;
        return XBS_EV_MORE; /* nothing to report until it is skipped */
    }
    const uint64_t known = w->counts.members;
    xbs_member *m = member_of(w);
    ev->opened = w->counts.members != known;
    if (!m)
        return fail(w, XBS_NOMEM, "out of memory for the member table");
    if (m->closed) {
        where(w, at, sizeof at);
        return fail(w, XBS_AFTER_EOF, "%s at %s", xbs_result_text(XBS_AFTER_EOF), at);
    }
    ev->member = m;
    ev->data = w->stage;
    ev->len = w->stage_len;
    if (h->type == XBS_TYPE_EOF) {
        close_member(w, m);
        chunk_done(w);
        return XBS_EV_MEMBER_END;
    }
    if (h->off != m->next_off) {
        where(w, at, sizeof at);
        return fail(w, XBS_OUT_OF_ORDER, "%s at %s: payload offset %llu, expected %llu", xbs_result_text(XBS_OUT_OF_ORDER), at,
                    (unsigned long long)h->off, (unsigned long long)m->next_off);
    }
    w->cur = m;
    if (w->crc.reset)
        w->crc.reset(w->crc.ctx);
    w->deferred = 0;
    w->at = h->off;
    if (h->type == XBS_TYPE_SPARSE) {
        w->counts.sparse++;
        w->map_len = 0;
        w->entry_len = 0;
        w->map_sum = 0;
        w->map_end = h->off;
        w->ent = 0;
        w->ent_done = 0;
        w->hole_done = false;
        w->left = (uint64_t)h->nmap * 8u;
        w->state = ST_MAP;
        if (h->nmap == 0 && h->len != 0) {
            where(w, at, sizeof at);
            return fail(w, XBS_MAP_SUM, "%s at %s: no entry, payload of %llu bytes",
                        xbs_result_text(XBS_MAP_SUM), at, (unsigned long long)h->len);
        }
        if (h->nmap == 0)
            w->state = ST_PAYLOAD;
    } else {
        w->left = h->len;
        w->state = ST_PAYLOAD;
    }
    if (w->state == ST_PAYLOAD)
        w->left = h->len;
    return XBS_EV_CHUNK;
}

/* One complete map entry: keep it and check the running sums. */
static bool add_entry(xbs_walk *w, const uint8_t *e)
{
    char at[256];
    uint32_t skip = xb_load_le32(e), n = xb_load_le32(e + 4);
    if (w->map_len == w->map_cap) {
        uint32_t cap = w->map_cap ? w->map_cap * 2 : 16;
        if (cap > w->hdr.nmap)
            cap = w->hdr.nmap;
        void *nm = realloc(w->map, (size_t)cap * sizeof *w->map);
        if (!nm) {
            fail(w, XBS_NOMEM, "out of memory for a sparse map of %u entries", w->hdr.nmap);
            return false;
        }
        w->map = nm;
        w->map_cap = cap;
    }
    w->map[w->map_len][0] = skip;
    w->map[w->map_len][1] = n;
    w->map_len++;
    w->map_sum += n;
    if (w->map_sum > w->hdr.len) {
        where(w, at, sizeof at);
        fail(w, XBS_MAP_SUM, "%s at %s: entries place more than %llu bytes",
             xbs_result_text(XBS_MAP_SUM), at, (unsigned long long)w->hdr.len);
        return false;
    }
    if ((uint64_t)skip + n > UINT64_MAX - w->map_end) {
        where(w, at, sizeof at);
        fail(w, XBS_OFFSET_OVERFLOW, "%s at %s: sparse holes", xbs_result_text(XBS_OFFSET_OVERFLOW), at);
        return false;
    }
    w->map_end += (uint64_t)skip + n;
    if (w->map_len == w->hdr.nmap && w->map_sum != w->hdr.len) {
        where(w, at, sizeof at);
        fail(w, XBS_MAP_SUM, "%s at %s: entries place %llu bytes, payload is %llu",
             xbs_result_text(XBS_MAP_SUM), at, (unsigned long long)w->map_sum,
             (unsigned long long)w->hdr.len);
        return false;
    }
    return true;
}

static xbs_event_type take_map(xbs_walk *w, const uint8_t *in, size_t in_len, size_t *used,
                               xbs_event *ev)
{
    size_t take = in_len < w->left ? in_len : (size_t)w->left;
    if (take == 0)
        return XBS_EV_MORE;
    if (w->crc.update)
        w->crc.update(w->crc.ctx, in, take);
    for (size_t i = 0; i < take; i++) {
        w->entry[w->entry_len++] = in[i];
        if (w->entry_len == 8) {
            w->entry_len = 0;
            if (!add_entry(w, w->entry))
                return XBS_EV_ERROR;
        }
    }
    *used += take;
    w->pos += take;
    w->left -= take;
    if (w->left == 0) {
        w->state = ST_PAYLOAD;
        w->left = w->hdr.len;
    }
    ev->member = w->cur;
    ev->data = in;
    ev->len = take;
    return XBS_EV_MAP;
}

/* The last payload byte is in: check the CRC and account the chunk. */
static xbs_event_type end_payload(xbs_walk *w, xbs_event *ev)
{
    if (w->ignore) {
        w->counts.ignored++;
        chunk_done(w);
        return XBS_EV_IGNORED;
    }
    xbs_member *m = w->cur;
    if (w->crc.update && w->deferred) {
        ev->deferred = true;
        ev->residual = w->crc.final(w->crc.ctx) ^ w->hdr.crc;
    } else if (w->crc.update) {
        uint32_t crc = w->crc.final(w->crc.ctx);
        if (crc != w->hdr.crc) {
            char text[XBS_MSG_SIZE];
            xbs_walk_crc_message(text, sizeof text, w->chunk_index, w->chunk_pos, w->hdr.path,
                                 w->hdr.plen, w->hdr.crc, crc);
            return fail(w, XBS_CRC, "%s", text);
        }
    }
    m->chunks++;
    m->stored += w->hdr.len;
    m->next_off = w->hdr.type == XBS_TYPE_SPARSE ? w->map_end : w->hdr.off + w->hdr.len;
    ev->member = m;
    chunk_done(w);
    return XBS_EV_CHUNK_END;
}

/* Payload bytes of a P or S chunk, a sparse hole, or the chunk's end. */
static xbs_event_type take_payload(xbs_walk *w, const uint8_t *in, size_t in_len, size_t *used,
                                   xbs_event *ev)
{
    const bool sparse = w->hdr.type == XBS_TYPE_SPARSE;
    uint64_t run = w->left;
    if (sparse) {
        /* Walk the entries to the next hole to report or bytes to place;
         * the sums checked on the map say where the payload ends. */
        for (;;) {
            if (w->ent == w->map_len)
                return end_payload(w, ev);
            uint32_t skip = w->map[w->ent][0], n = w->map[w->ent][1];
            if (!w->hole_done) {
                w->hole_done = true;
                if (skip) {
                    ev->at = w->at;
                    ev->len = skip;
                    w->at += skip;
                    return XBS_EV_HOLE;
                }
            }
            if (w->ent_done < n) {
                run = n - w->ent_done;
                break;
            }
            w->ent++;
            w->ent_done = 0;
            w->hole_done = false;
        }
    } else if (w->left == 0) {
        return end_payload(w, ev);
    }
    if (in_len == 0)
        return XBS_EV_MORE;
    size_t take = in_len < run ? in_len : (size_t)run;
    if (w->crc.update && w->lazy) {
        w->pend = in;
        w->pend_len = take;
        w->pend_done = 0;
    } else if (w->crc.update) {
        w->crc.update(w->crc.ctx, in, take);
    }
    *used += take;
    w->pos += take;
    w->left -= take;
    ev->at = w->at;
    w->at += take;
    if (sparse)
        w->ent_done += take;
    ev->data = in;
    ev->len = take;
    return XBS_EV_DATA;
}

void xbs_walk_set_lazy(xbs_walk *w, bool lazy)
{
    w->lazy = lazy && w->crc.fold;
}

/* Reads the pending bytes before `at`, then folds in `crc` for the `len`
 * bytes at `at`; false, and nothing done, when they are not inside what is
 * left of the event (the caller's range is then read as usual). */
static bool fold_range(xbs_walk *w, const uint8_t *at, size_t len, uint32_t crc)
{
    if (!w->pend || at < w->pend + w->pend_done || len > w->pend_len ||
        (size_t)(at - w->pend) > w->pend_len - len)
        return false;
    const size_t gap = (size_t)(at - w->pend) - w->pend_done;
    if (gap)
        w->crc.update(w->crc.ctx, w->pend + w->pend_done, gap);
    if (len)
        w->crc.fold(w->crc.ctx, crc, len);
    w->pend_done += gap + len;
    return true;
}

void xbs_walk_vouch(xbs_walk *w, const uint8_t *at, size_t len, uint32_t crc)
{
    (void)fold_range(w, at, len, crc);
}

bool xbs_walk_defer(xbs_walk *w, const uint8_t *at, size_t len, uint64_t *after)
{
    if (!fold_range(w, at, len, 0))
        return false;
    w->deferred++;
    /* Past the range: the rest of the event, then what w->left says is
     * still to come. */
    *after = (uint64_t)(w->pend_len - w->pend_done) + w->left;
    return true;
}

void xbs_walk_data_done(xbs_walk *w)
{
    if (!w->pend)
        return;
    if (w->pend_len > w->pend_done)
        w->crc.update(w->crc.ctx, w->pend + w->pend_done, w->pend_len - w->pend_done);
    w->pend = NULL;
    w->pend_len = w->pend_done = 0;
}

xbs_event_type xbs_walk_next(xbs_walk *w, const uint8_t *in, size_t in_len, size_t *used,
                             xbs_event *ev)
{
    /* A lazy caller that did not settle the last event: its bytes are
     * still where they were within this call's buffer only if it passed
     * the rest of the same one, so this is the contract's fallback, not a
     * path the archive transform takes. */
    xbs_walk_data_done(w);
    memset(ev, 0, sizeof *ev);
    *used = 0;
    xbs_event_type t;
    for (;;) {
        size_t avail = in_len - *used;
        const uint8_t *p = avail ? in + *used : NULL;
        if (w->state == ST_FAILED)
            return ev->type = XBS_EV_ERROR;
        if (w->state == ST_PREFIX || w->state == ST_HEADER) {
            size_t take = w->need - w->stage_len;
            if (take > avail)
                take = avail;
            if (take) {
                if (w->stage_len == 0) {
                    w->chunk_pos = w->pos;
                    w->chunk_index = w->counts.chunks;
                }
                memcpy(w->stage + w->stage_len, p, take);
                w->stage_len += take;
                *used += take;
                w->pos += take;
            }
            if (w->stage_len < w->need)
                return ev->type = XBS_EV_MORE;
            if (w->state == ST_PREFIX) {
                xbs_result r = xbs_prefix_decode(w->stage, &w->hdr);
                if (r == XBS_UNKNOWN_TYPE) {
                    w->unknown = true;
                    w->need = XBS_PREFIX_SIZE + w->hdr.plen;
                    w->state = ST_HEADER;
                    continue;
                }
                if (r != XBS_OK) {
                    t = fail(w, r, "%s at archive chunk %llu (offset %llu)", xbs_result_text(r),
                             (unsigned long long)w->chunk_index,
                             (unsigned long long)w->chunk_pos);
                    break;
                }
                w->need = xbs_header_size(&w->hdr);
                w->state = ST_HEADER;
                continue;
            }
            t = start_chunk(w, ev);
            if (t == XBS_EV_MORE)
                continue; /* an ignorable chunk: skip its payload */
            break;
        }
        if (w->state == ST_MAP) {
            if (avail == 0)
                return ev->type = XBS_EV_MORE;
            t = take_map(w, p, avail, used, ev);
            break;
        }
        /* ST_PAYLOAD */
        if (w->ignore) {
            if (w->left == 0) {
                t = end_payload(w, ev);
                break;
            }
            if (avail == 0)
                return ev->type = XBS_EV_MORE;
            size_t take = avail < w->left ? avail : (size_t)w->left;
            *used += take;
            w->pos += take;
            w->left -= take;
            continue;
        }
        ev->member = w->cur;
        t = take_payload(w, p, avail, used, ev);
        break;
    }
    ev->type = t;
    if (t != XBS_EV_ERROR && t != XBS_EV_MORE) {
        ev->hdr = &w->hdr;
        ev->index = w->chunk_index;
        ev->offset = w->chunk_pos;
    }
    return t;
}

bool xbs_walk_in_chunk(const xbs_walk *w)
{
    return w->cut || w->state == ST_MAP || w->state == ST_PAYLOAD ||
           (w->state != ST_FAILED && w->stage_len > 0);
}

xbs_member *xbs_walk_current(const xbs_walk *w)
{
    return w->cur;
}

xbs_result xbs_walk_end(xbs_walk *w)
{
    if (w->result != XBS_OK)
        return w->result;
    if (xbs_walk_in_chunk(w)) {
        char q[160] = "";
        const char *part = "header";
        if (w->state == ST_MAP || w->state == ST_PAYLOAD) {
            xbs_path_quote(q, sizeof q, w->hdr.path, w->hdr.plen);
            part = w->state == ST_MAP ? "sparse map" : "payload";
        } else if (w->state == ST_HEADER && w->stage_len >= XBS_PREFIX_SIZE + w->hdr.plen) {
            xbs_path_quote(q, sizeof q, w->stage + XBS_PREFIX_SIZE, w->hdr.plen);
        }
        w->cut = true;
        fail(w, XBS_TRUNCATED,
             "the archive ends inside the %s of archive chunk %llu (offset %llu)%s%s%s",
             part, (unsigned long long)w->counts.chunks, (unsigned long long)w->chunk_pos,
             q[0] ? ", member '" : "", q, q[0] ? "'" : "");
        return w->result;
    }
    if (w->counts.chunks == 0) {
        fail(w, XBS_EMPTY, "the archive holds no chunk (empty archive)");
        return w->result;
    }
    if (w->open_head) {
        char q[160];
        xbs_path_quote(q, sizeof q, (const uint8_t *)w->open_head->path, w->open_head->plen);
        fail(w, XBS_UNCLOSED,
             "%llu of %llu members never got their end-of-file chunk, the first being '%s' "
             "(%llu bytes): the archive was cut short",
             (unsigned long long)w->counts.open, (unsigned long long)w->counts.members, q,
             (unsigned long long)w->open_head->next_off);
        return w->result;
    }
    return XBS_OK;
}

xbs_result xbs_walk_result(const xbs_walk *w)
{
    return w->result;
}

const char *xbs_walk_message(const xbs_walk *w)
{
    return w->msg;
}

void xbs_walk_counts_get(const xbs_walk *w, xbs_walk_counts *out)
{
    *out = w->counts;
    out->bytes = w->pos;
}

xbs_member *xbs_walk_first_open(const xbs_walk *w)
{
    return w->open_head;
}

xbs_member *xbs_walk_next_open(const xbs_member *m)
{
    return m->open_next;
}
