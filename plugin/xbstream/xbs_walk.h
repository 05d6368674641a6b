/*
 * xbs_walk.h - an incremental XBSTREAM archive walker.
 *
 * A pull parser: the caller hands it whatever bytes it has, in any split,
 * and takes back one event at a time (a chunk's header, a run of payload
 * bytes, a hole of a sparse chunk, the end of a chunk, a member's EOF).
 * Payload bytes are never copied: a DATA event points into the caller's
 * input.  Only headers (at most XBS_HEADER_MAX bytes) and sparse maps (as
 * their entries arrive, at most XBS_SPARSE_MAP_MAX) are kept, so memory
 * follows the bytes the input really holds, never a length field.
 *
 * The walker keeps one record per member path it has seen: where the next
 * chunk must start (offsets are contiguous per member), whether the EOF
 * chunk came, and a `user` pointer for the caller.  It checks every chunk's
 * CRC-32 through the caller's functions when they are given (this file has
 * no cryptography), the path rules, the sparse maps, and at the end whether
 * the archive stopped inside a chunk or left members unclosed.
 *
 * Pure: no I/O, no threads; it allocates member records and sparse maps.
 * One walker belongs to one thread at a time.
 */
#ifndef XBS_WALK_H
#define XBS_WALK_H

#include "xbstream/xbs_format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XBS_MSG_SIZE 320

/* The CRC-32 the walker checks with; update == NULL: CRCs are not
 * checked.  `ctx` is passed back to every call.  `fold` (optional, needed
 * by xbs_walk_vouch) appends `len` bytes whose CRC-32 is `crc` without
 * reading them. */
typedef struct xbs_crc_ops {
    void *ctx;
    void (*reset)(void *ctx);
    void (*update)(void *ctx, const void *buf, size_t len);
    uint32_t (*final)(void *ctx);
    void (*fold)(void *ctx, uint32_t crc, uint64_t len);
} xbs_crc_ops;

typedef struct xbs_member {
    char *path;               /* plen bytes and a NUL (a checked path holds no NUL) */
    uint32_t plen;
    uint64_t id;              /* order of first appearance, from 0 */
    uint64_t next_off;        /* the member's bytes so far: where its next chunk starts */
    uint64_t chunks;          /* P and S chunks */
    uint64_t stored;          /* payload bytes stored in them */
    bool closed;              /* its EOF chunk came */
    void *user;               /* the caller's; the walker never touches it */
    struct xbs_member *hash_next;
    struct xbs_member *open_prev, *open_next; /* open members, oldest first */
} xbs_member;

typedef enum xbs_event_type {
    XBS_EV_MORE = 0,   /* the input is used up: call again with more */
    XBS_EV_CHUNK,      /* a P or S header is in: hdr, member; raw header bytes in data/len */
    XBS_EV_MAP,        /* raw sparse map bytes data[0..len) (entries may be cut) */
    XBS_EV_HOLE,       /* len zero bytes of the member at `at` (a sparse hole) */
    XBS_EV_DATA,       /* payload bytes data[0..len), the member's bytes at `at` */
    XBS_EV_CHUNK_END,  /* the chunk's payload is complete; its CRC matched if checked
                        * (but see xbs_walk_defer: `deferred`) */
    XBS_EV_MEMBER_END, /* an E chunk: member is closed; raw header bytes in data/len */
    XBS_EV_IGNORED,    /* an ignorable chunk of unknown type was skipped whole */
    XBS_EV_ERROR,      /* see xbs_walk_result / xbs_walk_message */
} xbs_event_type;

typedef struct xbs_event {
    xbs_event_type type;
    xbs_member *member;       /* CHUNK .. CHUNK_END, MEMBER_END */
    const xbs_header *hdr;    /* CHUNK .. CHUNK_END, MEMBER_END, IGNORED: path points into the walker */
    const uint8_t *data;      /* CHUNK, MAP, DATA, MEMBER_END */
    uint64_t len;
    uint64_t at;              /* HOLE, DATA: offset in the member */
    uint64_t index;           /* archive chunk number, from 0 */
    uint64_t offset;          /* archive offset of the chunk's magic */
    bool opened;              /* CHUNK, MEMBER_END: the member's first chunk */
    bool deferred;            /* CHUNK_END: ranges were deferred; the caller checks ... */
    uint32_t residual;        /* ... against this (xbs_walk_defer) */
} xbs_event;

typedef struct xbs_walk xbs_walk;

/* NULL when out of memory.  `crc` may be NULL (CRCs not checked); it is
 * copied. */
xbs_walk *xbs_walk_new(const xbs_crc_ops *crc);
void xbs_walk_free(xbs_walk *w);

/*
 * Takes bytes from in[0 .. in_len) and returns the next event; *used says
 * how many were taken (all of them when the event is XBS_EV_MORE).  Call
 * again with the rest until XBS_EV_MORE.  Pointers in *ev are valid until
 * the next call.  After XBS_EV_ERROR every call returns it again.
 */
xbs_event_type xbs_walk_next(xbs_walk *w, const uint8_t *in, size_t in_len, size_t *used,
                             xbs_event *ev);

/*
 * The input has ended: XBS_OK, or XBS_TRUNCATED (inside a chunk),
 * XBS_EMPTY (no chunk at all), XBS_UNCLOSED (members without EOF), or the
 * error the walker already stopped at; the message says which member.
 */
xbs_result xbs_walk_end(xbs_walk *w);

xbs_result xbs_walk_result(const xbs_walk *w);
/* "" while OK. */
const char *xbs_walk_message(const xbs_walk *w);

/*
 * Vouched CRCs, for a consumer that checks some payload bytes itself (an
 * XBCRYPT payload, whose stored CRC-32 a worker checks over exactly those
 * bytes): with xbs_walk_set_lazy(w, true) the walker no longer reads the
 * bytes of an XBS_EV_DATA event when it returns it; the caller names,
 * with xbs_walk_vouch(), the ranges of the event's bytes whose CRC-32 it
 * vouches for and will check (in order, not overlapping), then calls
 * xbs_walk_data_done() before the next xbs_walk_next(): the walker reads
 * the rest and folds the vouched CRCs in, so the chunk's CRC is checked
 * as before without a second pass over those bytes.  A caller that vouches
 * for a CRC and then does not check it defeats the archive CRC: only the
 * archive transform uses this.
 */
void xbs_walk_set_lazy(xbs_walk *w, bool lazy);
void xbs_walk_vouch(xbs_walk *w, const uint8_t *at, size_t len, uint32_t crc);
void xbs_walk_data_done(xbs_walk *w);

/*
 * Deferred CRCs, for bytes another thread reads later (a plaintext chunk
 * that a worker copies, and takes the CRC-32 of, before it seals it): in
 * lazy mode, xbs_walk_defer() takes a range of the event's bytes as
 * xbs_walk_vouch() does, but with a CRC-32 nobody knows yet, and sets
 * *after to how many payload bytes of the chunk follow the range.  The
 * walker counts the range as zeros' CRC (0), and the chunk's CHUNK_END
 * comes with `deferred` set instead of a verdict: the chunk's CRC is right
 * if and only if the XOR, over its deferred ranges, of
 * xbs_crc32_shift(range's CRC-32, after) equals `residual` (the CRC-32 is
 * linear in each piece).  The caller owns that check.  Returns false, and
 * the walker reads the range as usual, when it is not inside what is left
 * of the event.
 */
bool xbs_walk_defer(xbs_walk *w, const uint8_t *at, size_t len, uint64_t *after);

/* The walker's words for a CRC mismatch of archive chunk `index` at
 * archive offset `offset` of member path[0 .. plen), stored and computed
 * CRCs given, into out[0 .. size): what a caller settling a deferred chunk
 * says, so that it reads as the walker's own verdict. */
void xbs_walk_crc_message(char *out, size_t size, uint64_t index, uint64_t offset,
                          const uint8_t *path, size_t plen, uint32_t stored, uint32_t computed);

/* True between a chunk's first byte and its last. */
bool xbs_walk_in_chunk(const xbs_walk *w);
/* The member whose chunk is being read (CHUNK .. CHUNK_END), else NULL. */
xbs_member *xbs_walk_current(const xbs_walk *w);

typedef struct xbs_walk_counts {
    uint64_t bytes;           /* archive bytes taken */
    uint64_t chunks;          /* chunks complete, of every type */
    uint64_t members;         /* distinct member paths */
    uint64_t open;            /* members without their EOF chunk */
    uint64_t ignored;         /* ignorable chunks skipped */
    uint64_t sparse;          /* S chunks */
} xbs_walk_counts;
void xbs_walk_counts_get(const xbs_walk *w, xbs_walk_counts *out);

/* The record of a member path seen so far, or NULL. */
xbs_member *xbs_walk_find(const xbs_walk *w, const uint8_t *path, size_t plen);

/* The oldest open member (NULL if none), and the one opened after m. */
xbs_member *xbs_walk_first_open(const xbs_walk *w);
xbs_member *xbs_walk_next_open(const xbs_member *m);

#endif /* XBS_WALK_H */
