/*
 * fuzz_xbstream.c - the archive codec and walker (plugin/xbstream) and the
 * archive check (xb_engine.h) on arbitrary archives.
 *
 * Input: one control byte, then the archive.
 *
 *   bits 0-2  how the walker is fed: all at once, 1 byte at a time, or
 *             pieces of up to 3, 17, 600, 4096, 70000 or 2^20 bytes drawn
 *             from a generator seeded by the control byte and the length
 *   bits 3-5  the same for the archive check, independently
 *   bit 6     the walker checks CRCs (else it does not; the check always
 *             does, and once more without, see below)
 *
 * Invariants (abort() when one fails):
 *  - the walker takes no byte it was not given, takes all of them when it
 *    asks for more, and counts exactly the bytes it took;
 *  - a DATA event points inside the input it was given; DATA and HOLE
 *    events place each member's bytes contiguously from the chunk's offset,
 *    and a chunk's DATA bytes add up to its payload length;
 *  - every header event re-encodes (xbs_header_encode) to the raw bytes it
 *    came from, and decodes again to the same fields;
 *  - the archive check, fed in another split, ends with the status the
 *    walker's result maps to (when both check CRCs); without CRCs it never
 *    fails where the CRC-checking one passes; the message is non-empty
 *    exactly when the status is not OK; summaries agree with the walker.
 */
#include "fuzz_harness.h"
#include "xb_engine.h"
#include "xbstream/xbs_format.h"
#include "xbstream/xbs_walk.h"
#include "archive/xb_archive_tally.h"
#include "crypto/xb_crypto.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

static const size_t piece_max[8] = {0, 1, 3, 17, 600, 4096, 70000, (size_t)1 << 20};

static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* What the harness keeps per member (hung on xbs_member.user). */
struct track {
    uint64_t next;           /* member offset the next DATA/HOLE must start at */
    struct track *all;
};

static void check_header(const xbs_event *ev)
{
    uint8_t out[XBS_HEADER_MAX];
    CHECK(ev->len <= XBS_HEADER_MAX);
    size_t n = xbs_header_encode(out, ev->hdr);
    CHECK(n == ev->len && memcmp(out, ev->data, n) == 0);
    xbs_header back;
    CHECK(xbs_header_decode(out, &back) == XBS_OK);
    CHECK(back.type == ev->hdr->type && back.plen == ev->hdr->plen &&
          back.len == ev->hdr->len && back.off == ev->hdr->off && back.crc == ev->hdr->crc &&
          back.nmap == ev->hdr->nmap);
    CHECK(xbs_path_check(back.path, back.plen) == XBS_OK);
}

/* Walks the archive; returns the walker's end result. */
static xbs_result walk(const uint8_t *p, size_t n, uint8_t ctl, bool crc, xbs_walk_counts *counts)
{
    xb_digest *d = NULL;
    CHECK(xb_digest_open(&d) == XBCRYPT_OK);
    xbs_crc_ops ops = xb_tally_crc_ops(d);
    xbs_walk *w = xbs_walk_new(crc ? &ops : NULL);
    CHECK(w != NULL);
    struct track *all = NULL;
    uint32_t rng = 0x2545f491u ^ (uint32_t)ctl << 16 ^ (uint32_t)n;
    const size_t maxp = piece_max[ctl & 7];
    uint64_t taken = 0, chunk_data = 0;
    bool failed = false;
    for (size_t off = 0; off < n && !failed;) {
        size_t piece = maxp ? 1 + next_rand(&rng) % maxp : n - off;
        if (piece > n - off)
            piece = n - off;
        const uint8_t *q = p + off;
        size_t left = piece;
        for (;;) {
            xbs_event ev;
            size_t used = 0;
            xbs_event_type t = xbs_walk_next(w, q, left, &used, &ev);
            CHECK(used <= left);
            taken += used;
            if (t == XBS_EV_ERROR) {
                CHECK(xbs_walk_result(w) != XBS_OK && xbs_walk_message(w)[0]);
                failed = true;
                break;
            }
            if (t == XBS_EV_MORE) {
                CHECK(used == left);
                break;
            }
            struct track *tr = NULL;
            if (ev.member) {
                tr = ev.member->user;
                if (!tr) {
                    tr = calloc(1, sizeof *tr);
                    CHECK(tr != NULL);
                    tr->all = all;
                    all = tr;
                    ev.member->user = tr;
                }
            }
            switch (t) {
            case XBS_EV_CHUNK:
                check_header(&ev);
                CHECK(ev.hdr->off == tr->next);
                chunk_data = 0;
                break;
            case XBS_EV_MEMBER_END:
                check_header(&ev);
                CHECK(ev.member->closed);
                break;
            case XBS_EV_DATA:
                CHECK(ev.data >= q && ev.data + ev.len <= q + left);
                chunk_data += ev.len;
                /* fall through */
            case XBS_EV_HOLE:
                CHECK(ev.at == tr->next);
                tr->next += ev.len;
                break;
            case XBS_EV_CHUNK_END:
                CHECK(chunk_data == ev.hdr->len);
                CHECK(ev.member->next_off == tr->next);
                break;
            default:
                break;
            }
            q += used;
            left -= used;
        }
        off += piece;
    }
    xbs_result r = xbs_walk_end(w);
    CHECK((r == XBS_OK) == (xbs_walk_message(w)[0] == '\0'));
    xbs_walk_counts_get(w, counts);
    CHECK(counts->bytes == taken);
    CHECK(counts->open <= counts->members);
    while (all) {
        struct track *next = all->all;
        free(all);
        all = next;
    }
    xbs_walk_free(w);
    xb_digest_close(d);
    return r;
}

static xbcrypt_status check(const uint8_t *p, size_t n, uint8_t ctl, unsigned flags,
                            xbcrypt_archive_summary *sum)
{
    xb_archive_check *c = NULL;
    CHECK(xb_archive_check_new(flags, &c, NULL, 0) == XBCRYPT_OK);
    uint32_t rng = 0x6a09e667u ^ (uint32_t)ctl << 8 ^ (uint32_t)n;
    const size_t maxp = piece_max[(ctl >> 3) & 7];
    xbcrypt_status st = XBCRYPT_OK;
    for (size_t off = 0; off < n && st == XBCRYPT_OK;) {
        size_t piece = maxp ? 1 + next_rand(&rng) % maxp : n - off;
        if (piece > n - off)
            piece = n - off;
        st = xb_archive_check_feed(c, p + off, piece);
        off += piece;
    }
    if (st == XBCRYPT_OK)
        st = xb_archive_check_finish(c);
    CHECK(xb_archive_check_status(c) == st);
    const char *m = xb_archive_check_message(c);
    CHECK((st == XBCRYPT_OK) == (m[0] == '\0'));
    CHECK(strlen(m) < 1024);
    memset(sum, 0, sizeof *sum);
    sum->struct_size = sizeof *sum;
    xb_archive_check_summary(c, sum);
    CHECK(sum->members_open <= sum->members && sum->encrypted <= sum->members);
    xb_archive_check_free(c);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    CHECK(xb_init() == XBCRYPT_OK);
    const uint8_t ctl = data[0];
    const uint8_t *p = data + 1;
    const size_t n = size - 1;
    const bool walker_crc = ctl & 0x40;

    xbs_walk_counts wc;
    xbs_result wr = walk(p, n, ctl, walker_crc, &wc);

    xbcrypt_archive_summary with, without;
    xbcrypt_status cs = check(p, n, ctl, 0, &with);
    xbcrypt_status ns = check(p, n, ctl, XB_ARCHIVE_CHECK_NO_CRC, &without);
    if (walker_crc) {
        CHECK(cs == xb_tally_status(wr));
        if (cs == XBCRYPT_OK)
            CHECK(with.members == wc.members && with.chunks == wc.chunks && with.bytes == n);
    } else {
        CHECK(ns == xb_tally_status(wr));
    }
    /* A CRC error is the only thing CRCs add. */
    if (cs == XBCRYPT_OK)
        CHECK(ns == XBCRYPT_OK);
    if (cs != XBCRYPT_E_CRC)
        CHECK(ns == cs);
    return 0;
}
