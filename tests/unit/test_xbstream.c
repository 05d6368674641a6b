/*
 * test_xbstream.c - the XBSTREAM archive codec (plugin/xbstream): headers
 * in and out against literal bytes, the path rules, the walker over the
 * archives Percona's tools made (fixtures/xbstream/) in every split, and
 * hostile archives: cut anywhere, flipped bits, forged lengths, unsafe
 * paths, unknown types, bad sparse maps, out-of-order and after-EOF
 * chunks.  Through xb_engine.h: the archive check, and the inner check of
 * a whole-stream-encrypted backup cut at an XBCRYPT chunk boundary.
 */
#include "archive/xb_archive_tally.h"
#include "crypto/xb_crypto.h"
#include "format/xb_format.h"
#include "unit_util.h"
#include "xbs_build.h"
#include "xbs_manifest.h"
#include "xbstream/xbs_format.h"
#include "xbstream/xbs_walk.h"

#include <string.h>

/* ---- building archives ---- */

static void ab_p(abuf *b, const char *path, uint64_t off, const void *payload, size_t len)
{
    ab_chunk(b, XBS_TYPE_PAYLOAD, 0, path, off, payload, len);
}

static void ab_e(abuf *b, const char *path)
{
    ab_chunk(b, XBS_TYPE_EOF, 0, path, 0, NULL, 0);
}

/* An S chunk: map[nmap] pairs (skip, n), payload of sum(n) bytes. */
static void ab_s(abuf *b, const char *path, uint64_t off, const uint32_t (*map)[2], uint32_t nmap,
                 const void *payload, size_t len)
{
    uint8_t *mb = malloc(8u * nmap + 1);
    for (uint32_t i = 0; i < nmap; i++) {
        xb_store_le32(mb + 8 * i, map[i][0]);
        xb_store_le32(mb + 8 * i + 4, map[i][1]);
    }
    xb_digest *d;
    ck_assert_int_eq(xb_digest_open(&d), XBCRYPT_OK);
    xb_digest_crc(d, mb, 8u * nmap);
    xb_digest_crc(d, payload, len);
    xbs_header h = {.type = XBS_TYPE_SPARSE, .plen = (uint32_t)strlen(path),
                    .path = (const uint8_t *)path, .nmap = nmap, .len = len, .off = off,
                    .crc = xb_digest_crc_final(d)};
    xb_digest_close(d);
    uint8_t hb[XBS_HEADER_MAX];
    ab_put(b, hb, xbs_header_encode(hb, &h));
    ab_put(b, mb, 8u * nmap);
    ab_put(b, payload, len);
    free(mb);
}

/* ---- running the archive check ---- */

typedef struct check_run {
    xbcrypt_status feed, finish;
    char msg[XBS_MSG_SIZE];
    xbcrypt_archive_summary sum;
} check_run;

/* Feeds `a` in pieces of `split` bytes (0: at once; SIZE_MAX: random
 * 1..4096 seeded by `seed`). */
static void check_archive(const uint8_t *a, size_t len, size_t split, uint64_t seed, unsigned flags,
                          check_run *r)
{
    memset(r, 0, sizeof *r);
    xb_archive_check *c = NULL;
    char msg[256];
    ck_assert_int_eq(xb_archive_check_new(flags, &c, msg, sizeof msg), XBCRYPT_OK);
    size_t pos = 0;
    while (pos < len && r->feed == XBCRYPT_OK) {
        size_t n = len - pos;
        if (split == SIZE_MAX)
            n = 1 + (size_t)(prng_next(&seed) % 4096);
        else if (split)
            n = split;
        if (n > len - pos)
            n = len - pos;
        r->feed = xb_archive_check_feed(c, a + pos, n);
        pos += n;
    }
    r->finish = r->feed == XBCRYPT_OK ? xb_archive_check_finish(c) : r->feed;
    ck_assert_int_eq(xb_archive_check_status(c), r->finish);
    snprintf(r->msg, sizeof r->msg, "%s", xb_archive_check_message(c));
    ck_assert_int_eq(r->msg[0] != '\0', r->finish != XBCRYPT_OK);
    r->sum.struct_size = sizeof r->sum;
    xb_archive_check_summary(c, &r->sum);
    xb_archive_check_free(c);
}

static void expect_fail(const abuf *b, xbcrypt_status want, const char *needle)
{
    static const size_t splits[] = {0, 1, 7, SIZE_MAX};
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        check_run r;
        check_archive(b->p, b->len, splits[i], i, 0, &r);
        ck_assert_msg(r.finish == want, "split %zu: status %d (%s), want %d", splits[i],
                      r.finish, r.msg, want);
        ck_assert_msg(strstr(r.msg, needle), "message '%s' lacks '%s'", r.msg, needle);
    }
}

/* ---- codec ---- */

START_TEST(test_literal_p_header)
{
    static const uint8_t want[] = {
        'X', 'B', 'S', 'T', 'C', 'K', '0', '1', 0x00, 'P', 5, 0, 0, 0, 'd', 'b', '/', 't', '1',
        0x03, 0, 0, 0, 0, 0, 0, 0,              /* len 3 */
        0x10, 0x20, 0, 0, 0, 0, 0, 0x01,        /* off */
        0xef, 0xbe, 0xad, 0xde,                 /* crc */
    };
    xbs_header h = {.type = 'P', .plen = 5, .path = (const uint8_t *)"db/t1", .len = 3,
                    .off = 0x0100000000002010ull, .crc = 0xdeadbeefu};
    uint8_t out[XBS_HEADER_MAX];
    ck_assert_uint_eq(xbs_header_encode(out, &h), sizeof want);
    assert_bytes_eq(out, sizeof want, want, sizeof want, "P header");

    xbs_header back;
    ck_assert_int_eq(xbs_prefix_decode(want, &back), XBS_OK);
    ck_assert_uint_eq(xbs_header_size(&back), sizeof want);
    ck_assert_int_eq(xbs_header_decode(want, &back), XBS_OK);
    ck_assert_uint_eq(back.type, 'P');
    ck_assert_uint_eq(back.plen, 5);
    ck_assert_mem_eq(back.path, "db/t1", 5);
    ck_assert_uint_eq(back.len, 3);
    ck_assert_uint_eq(back.off, 0x0100000000002010ull);
    ck_assert_uint_eq(back.crc, 0xdeadbeefu);
}
END_TEST

START_TEST(test_literal_e_and_s_headers)
{
    static const uint8_t e[] = {'X', 'B', 'S', 'T', 'C', 'K', '0', '1', 0, 'E', 1, 0, 0, 0, 'a'};
    xbs_header h;
    ck_assert_int_eq(xbs_header_decode(e, &h), XBS_OK);
    ck_assert_uint_eq(xbs_header_size(&h), sizeof e);
    ck_assert(!xbs_has_payload(&h));
    uint8_t out[XBS_HEADER_MAX];
    ck_assert_uint_eq(xbs_header_encode(out, &h), sizeof e);
    assert_bytes_eq(out, sizeof e, e, sizeof e, "E header");

    xbs_header s = {.type = 'S', .plen = 1, .path = (const uint8_t *)"a", .nmap = 2, .len = 9,
                    .off = 4, .crc = 1};
    size_t n = xbs_header_encode(out, &s);
    ck_assert_uint_eq(n, 14 + 1 + 4 + 20);
    ck_assert_uint_eq(xb_load_le32(out + 15), 2); /* nmap right after the path */
    ck_assert_uint_eq(xb_load_le64(out + 19), 9);
    ck_assert_uint_eq(xb_load_le64(out + 27), 4);
    ck_assert_int_eq(xbs_header_decode(out, &h), XBS_OK);
    ck_assert_uint_eq(h.nmap, 2);
    ck_assert_uint_eq(h.len, 9);
}
END_TEST

START_TEST(test_prefix_rules)
{
    uint8_t b[XBS_HEADER_MAX];
    xbs_header h = {.type = 'P', .plen = 1, .path = (const uint8_t *)"a"};
    xbs_header_encode(b, &h);
    xbs_header d;
    b[0] = 'x';
    ck_assert_int_eq(xbs_prefix_decode(b, &d), XBS_BAD_MAGIC);
    b[0] = 'X';
    b[7] = '2';
    ck_assert_int_eq(xbs_prefix_decode(b, &d), XBS_BAD_MAGIC);
    b[7] = '1';
    b[9] = 'Q';
    ck_assert_int_eq(xbs_prefix_decode(b, &d), XBS_UNKNOWN_TYPE);
    b[8] = XBS_FLAG_IGNORABLE;
    ck_assert_int_eq(xbs_prefix_decode(b, &d), XBS_OK);
    ck_assert(xbs_has_payload(&d)); /* the P layout */
    ck_assert_uint_eq(xbs_header_size(&d), 14 + 1 + 20);
    b[9] = 'P';
    xb_store_le32(b + 10, 511);
    ck_assert_int_eq(xbs_prefix_decode(b, &d), XBS_OK);
    xb_store_le32(b + 10, 512);
    ck_assert_int_eq(xbs_prefix_decode(b, &d), XBS_PATH_TOO_LONG);
    xb_store_le32(b + 10, UINT32_MAX);
    ck_assert_int_eq(xbs_prefix_decode(b, &d), XBS_PATH_TOO_LONG);
}
END_TEST

START_TEST(test_path_rules)
{
    static const struct {
        const char *p;
        size_t n;
        xbs_result want;
    } cases[] = {
        {"ibdata1", 7, XBS_OK},
        {"sakila/actor.ibd", 16, XBS_OK},
        {"a/..b/c..", 9, XBS_OK},
        {"./x", 3, XBS_OK},
        {"...", 3, XBS_OK},
        {"", 0, XBS_PATH_EMPTY},
        {"/etc/passwd", 11, XBS_PATH_ABSOLUTE},
        {"..", 2, XBS_PATH_DOTDOT},
        {"../x", 4, XBS_PATH_DOTDOT},
        {"a/../b", 6, XBS_PATH_DOTDOT},
        {"a/..", 4, XBS_PATH_DOTDOT},
        {"a//../", 6, XBS_PATH_DOTDOT},
        {"a\0b", 3, XBS_PATH_NUL},
        {"a\0", 2, XBS_PATH_NUL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(xbs_path_check((const uint8_t *)cases[i].p, cases[i].n) == cases[i].want,
                      "case %zu", i);
    uint8_t longp[600];
    memset(longp, 'a', sizeof longp);
    ck_assert_int_eq(xbs_path_check(longp, 511), XBS_OK);
    ck_assert_int_eq(xbs_path_check(longp, 512), XBS_PATH_TOO_LONG);
}
END_TEST

START_TEST(test_decode_limits)
{
    uint8_t b[XBS_HEADER_MAX];
    xbs_header h = {.type = 'S', .plen = 1, .path = (const uint8_t *)"a",
                    .nmap = XBS_SPARSE_MAP_MAX + 1, .len = 1};
    xbs_header_encode(b, &h);
    xbs_header d;
    ck_assert_int_eq(xbs_header_decode(b, &d), XBS_MAP_TOO_LONG);
    h = (xbs_header){.type = 'P', .plen = 1, .path = (const uint8_t *)"a", .len = 2,
                     .off = UINT64_MAX - 1};
    xbs_header_encode(b, &h);
    ck_assert_int_eq(xbs_header_decode(b, &d), XBS_OFFSET_OVERFLOW);
    h.len = 1;
    xbs_header_encode(b, &h);
    ck_assert_int_eq(xbs_header_decode(b, &d), XBS_OK);
    h = (xbs_header){.type = 'E', .plen = 2, .path = (const uint8_t *)"/a"};
    xbs_header_encode(b, &h);
    ck_assert_int_eq(xbs_header_decode(b, &d), XBS_PATH_ABSOLUTE);
    for (int r = XBS_OK; r <= XBS_NOMEM; r++)
        ck_assert_str_ne(xbs_result_text((xbs_result)r), "unknown archive error");
}
END_TEST

START_TEST(test_quote_and_checkpoints)
{
    char q[16];
    xbs_path_quote(q, sizeof q, (const uint8_t *)"a\nb", 3);
    ck_assert_str_eq(q, "a\\x0ab");
    xbs_path_quote(q, sizeof q, (const uint8_t *)"abcdefghijklmnopqrstuvwxyz", 26);
    ck_assert_str_eq(q, "abcdefghijkl...");
    char t[32];
    static const char cp[] = "backup_type = full-backuped\nfrom_lsn = 0\n";
    ck_assert(xbs_checkpoints_backup_type((const uint8_t *)cp, sizeof cp - 1, t, sizeof t));
    ck_assert_str_eq(t, "full-backuped");
    static const char cp2[] = "from_lsn = 5\n  backup_type=incremental\r\n";
    ck_assert(xbs_checkpoints_backup_type((const uint8_t *)cp2, sizeof cp2 - 1, t, sizeof t));
    ck_assert_str_eq(t, "incremental");
    static const char cp3[] = "backup_types = x\nbackup_type\n";
    ck_assert(!xbs_checkpoints_backup_type((const uint8_t *)cp3, sizeof cp3 - 1, t, sizeof t));
    ck_assert_str_eq(t, "");
}
END_TEST

START_TEST(test_crc_combine)
{
    uint8_t *buf = gen_plain(70000);
    static const size_t cuts[][2] = {{0, 0}, {0, 70000}, {70000, 0}, {1, 1}, {60, 65568},
                                     {31, 4097}, {12345, 54321}};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t a = cuts[i][0], b = cuts[i][1];
        uint32_t whole = xb_crc32(buf, a + b);
        ck_assert_uint_eq(xbs_crc32_combine(xb_crc32(buf, a), xb_crc32(buf + a, b), b), whole);
    }
    free(buf);
    /* Lengths no buffer here has: appending 2^k bytes twice is appending
     * 2^(k+1), for every power the combine keeps in its table, and sums of
     * lengths compose. */
    const uint32_t c = 0x12345678u;
    for (unsigned k = 0; k < 63; k++) {
        const uint64_t n = (uint64_t)1 << k;
        uint32_t twice = xbs_crc32_combine(xbs_crc32_combine(c, 0, n), 0, n);
        ck_assert_msg(twice == xbs_crc32_combine(c, 0, 2 * n), "2^%u bytes twice", k);
    }
    static const uint64_t lens[][2] = {{(uint64_t)1 << 40, 12345}, {UINT64_MAX / 3, 977},
                                       {65568, ((uint64_t)1 << 62) + 1}};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        ck_assert_uint_eq(xbs_crc32_combine(xbs_crc32_combine(c, 0, lens[i][0]), 0, lens[i][1]),
                          xbs_crc32_combine(c, 0, lens[i][0] + lens[i][1]));
}
END_TEST

/* Walks a whole archive with the tally's lazy walker, vouching for the
 * CRC of bytes [from, to) of the payload of the first P chunk as `crc`;
 * returns the first error, or XBS_OK at the end. */
static xbs_result walk_vouching(const abuf *b, size_t from, size_t to, uint32_t crc)
{
    xb_tally t;
    char msg[200];
    ck_assert_int_eq(xb_tally_init(&t, true, msg, sizeof msg), XBCRYPT_OK);
    xbs_walk_set_lazy(t.walk, true);
    const uint8_t *p = b->p;
    size_t len = b->len;
    bool vouched = false;
    xbs_result r = XBS_OK;
    for (;;) {
        xbs_event ev;
        size_t used;
        xbs_event_type e = xbs_walk_next(t.walk, p, len, &used, &ev);
        if (e == XBS_EV_ERROR) {
            r = xbs_walk_result(t.walk);
            break;
        }
        if (e == XBS_EV_DATA && !vouched) {
            vouched = true;
            xbs_walk_vouch(t.walk, ev.data + from, to - from, crc);
        }
        xbs_walk_data_done(t.walk);
        p += used;
        len -= used;
        if (e == XBS_EV_MORE) {
            r = xbs_walk_end(t.walk);
            break;
        }
    }
    xb_tally_destroy(&t);
    return r;
}

/* A consumer that vouches for the CRC of payload bytes (an XBCRYPT payload
 * a worker checks) spares the walker reading them: the archive CRC is the
 * same; a wrong vouched CRC fails it as damage would; a range outside the
 * event is not taken. */
START_TEST(test_walk_vouched_crc)
{
    static const char text[] = "the payload of member a, vouched for in part";
    const size_t n = sizeof text - 1;
    abuf b = {0};
    ab_p(&b, "a", 0, text, n);
    ab_e(&b, "a");
    const uint32_t part = xb_crc32(text + 4, 20);
    ck_assert_int_eq(walk_vouching(&b, 4, 24, part), XBS_OK);
    ck_assert_int_eq(walk_vouching(&b, 0, n, xb_crc32(text, n)), XBS_OK);
    ck_assert_int_eq(walk_vouching(&b, 4, 24, part ^ 1), XBS_CRC);
    ck_assert_int_eq(walk_vouching(&b, 4, n + 1, 0), XBS_OK); /* past the event: read instead */
    free(b.p);
}
END_TEST

/* Walks b fed in two pieces, cut `cut` bytes into the first P chunk's
 * payload (at its header's end plus cut), deferring payload ranges
 * [r[i][0], r[i][1]) to the caller, which checks them as the archive
 * transform does, with the CRC-32 of `sees` (what a worker would read:
 * the payload, or other bytes).  Returns whether the chunk's CRC checked,
 * and the `after` of each range in after[]. */
static bool walk_deferring(const abuf *b, size_t hdr, size_t cut, const size_t (*r)[2],
                           unsigned nr, const uint8_t *sees, uint64_t *after, bool *deferred)
{
    xb_tally t;
    char msg[200];
    ck_assert_int_eq(xb_tally_init(&t, true, msg, sizeof msg), XBCRYPT_OK);
    xbs_walk_set_lazy(t.walk, true);
    size_t piece[2] = {hdr + cut, b->len - hdr - cut}, off = 0, pay = 0;
    uint32_t acc = 0;
    bool checked = false, ended = false;
    *deferred = false;
    for (int k = 0; k < 2; k++) {
        const uint8_t *p = b->p + off;
        size_t len = piece[k];
        off += len;
        for (;;) {
            xbs_event ev;
            size_t used;
            xbs_event_type e = xbs_walk_next(t.walk, p, len, &used, &ev);
            ck_assert_msg(e != XBS_EV_ERROR, "%s", xbs_walk_message(t.walk));
            if (e == XBS_EV_DATA && !ended) {
                for (unsigned i = 0; i < nr; i++) {
                    if (r[i][0] < pay || r[i][1] > pay + ev.len)
                        continue;
                    ck_assert(xbs_walk_defer(t.walk, ev.data + (r[i][0] - pay),
                                             r[i][1] - r[i][0], &after[i]));
                    acc ^= xbs_crc32_shift(xb_crc32(sees + r[i][0], r[i][1] - r[i][0]),
                                           after[i]);
                }
                /* Not inside what is left of the event: refused. */
                uint64_t dummy;
                ck_assert(!xbs_walk_defer(t.walk, ev.data + ev.len - 1, 2, &dummy));
                pay += ev.len;
            }
            if (e == XBS_EV_CHUNK_END && !ended) {
                ended = true;
                *deferred = ev.deferred;
                checked = ev.deferred ? ev.residual == acc : true;
            }
            xbs_walk_data_done(t.walk);
            p += used;
            len -= used;
            if (e == XBS_EV_MORE)
                break;
        }
    }
    ck_assert_int_eq(xbs_walk_end(t.walk), XBS_OK);
    xb_tally_destroy(&t);
    return checked;
}

/* Bytes another thread reads later (a plaintext chunk a worker seals)
 * are deferred: the walker reads the rest, and the chunk's end carries
 * what the deferred ranges' CRCs must add up to; right CRCs match it,
 * any damaged byte, inside a range or out of it, does not. */
START_TEST(test_walk_deferred_crc)
{
    static const char text[] = "the payload of member a, deferred in part to the workers";
    const size_t n = sizeof text - 1;
    const size_t r[2][2] = {{4, 24}, {30, 41}};
    /* As a P chunk, and as an S chunk (its CRC covers the map too) whose
     * two runs hold one range each, holes before them. */
    const uint32_t map[2][2] = {{3, 30}, {5, (uint32_t)n - 30}};
    for (int sparse = 0; sparse < 2; sparse++) {
        abuf b = {0};
        if (sparse)
            ab_s(&b, "a", 0, map, 2, text, n);
        else
            ab_p(&b, "a", 0, text, n);
        const size_t hdr = b.len - n;
        ab_e(&b, "a");
        uint64_t after[2];
        bool deferred;
        /* Both ranges in one event (P); then cut between them. */
        const size_t cuts[] = {n, 27};
        for (unsigned c = 0; c < 2; c++) {
            const size_t cut = cuts[c];
            ck_assert(walk_deferring(&b, hdr, cut, r, 2, (const uint8_t *)text, after,
                                     &deferred));
            ck_assert(deferred);
            ck_assert_uint_eq(after[0], n - 24);
            ck_assert_uint_eq(after[1], n - 41);
            for (size_t at = 0; at < n; at++) {
                const bool in_range = (at >= 4 && at < 24) || (at >= 30 && at < 41);
                char bad[sizeof text];
                memcpy(bad, text, sizeof text);
                bad[at] ^= 0x10;
                /* What the worker reads is damaged there. */
                if (in_range)
                    ck_assert(!walk_deferring(&b, hdr, cut, r, 2, (const uint8_t *)bad, after,
                                              &deferred));
                /* The archive is damaged there: the walker finds it outside
                 * the ranges; inside them only the worker reads the bytes. */
                abuf d = {0};
                ab_put(&d, b.p, b.len);
                d.p[hdr + at] ^= 0x10;
                ck_assert_int_eq(walk_deferring(&d, hdr, cut, r, 2, (const uint8_t *)text,
                                                after, &deferred),
                                 in_range);
                free(d.p);
            }
        }
        if (sparse) { /* a map byte damaged: the walker reads the map */
            abuf d = {0};
            ab_put(&d, b.p, b.len);
            d.p[hdr - 16] ^= 0x01; /* the first hole: 3 bytes become 2 */
            ck_assert(!walk_deferring(&d, hdr, n, r, 2, (const uint8_t *)text, after, &deferred));
            free(d.p);
        }
        /* Nothing deferred: the walker's own verdict, as before. */
        ck_assert(walk_deferring(&b, hdr, n, r, 0, (const uint8_t *)text, after, &deferred));
        ck_assert(!deferred);
        free(b.p);
    }
}
END_TEST

/* ---- the walker over the fixtures ---- */


/* Rebuilds every member from the walker's DATA/HOLE events, fed in pieces
 * of 1..max bytes, and checks them against the manifest. */
static void walk_rebuild(const uint8_t *a, size_t len, size_t max, uint64_t seed, bool encrypted)
{
    uint8_t *content[XBS_NTREE] = {0};
    size_t clen[XBS_NTREE] = {0};
    for (size_t i = 0; i < XBS_NTREE; i++)
        content[i] = calloc(1, xbs_tree[i].bytes + 1);
    xb_digest *d;
    ck_assert_int_eq(xb_digest_open(&d), XBCRYPT_OK);
    xbs_crc_ops ops = xb_tally_crc_ops(d);
    xbs_walk *w = xbs_walk_new(&ops);
    ck_assert_ptr_nonnull(w);
    unsigned ends = 0, chunk_ends = 0, chunks = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t n = max == 0 ? len - pos : 1 + (size_t)(prng_next(&seed) % max);
        if (n > len - pos)
            n = len - pos;
        const uint8_t *p = a + pos;
        size_t left = n;
        for (;;) {
            xbs_event ev;
            size_t used;
            xbs_event_type t = xbs_walk_next(w, p, left, &used, &ev);
            ck_assert_uint_le(used, left);
            p += used;
            left -= used;
            ck_assert_msg(t != XBS_EV_ERROR, "%s", xbs_walk_message(w));
            if (t == XBS_EV_MORE) {
                ck_assert_uint_eq(left, 0);
                break;
            }
            size_t k = XBS_NTREE;
            if (ev.member) {
                for (k = 0; k < XBS_NTREE; k++) {
                    size_t pl = strlen(xbs_tree[k].path);
                    if (ev.member->plen == pl + (encrypted ? 8 : 0) &&
                        memcmp(ev.member->path, xbs_tree[k].path, pl) == 0)
                        break;
                }
                ck_assert_msg(k < XBS_NTREE, "unexpected member %s", ev.member->path);
            }
            if (t == XBS_EV_CHUNK)
                chunks++;
            if (t == XBS_EV_CHUNK_END)
                chunk_ends++;
            if (t == XBS_EV_MEMBER_END) {
                ends++;
                ck_assert(ev.member->closed);
            }
            if (t == XBS_EV_DATA && !encrypted) {
                ck_assert_uint_eq(ev.at, clen[k]); /* contiguous */
                ck_assert_uint_le(clen[k] + ev.len, xbs_tree[k].bytes);
                memcpy(content[k] + clen[k], ev.data, ev.len);
                clen[k] += ev.len;
            }
        }
        pos += n;
    }
    ck_assert_int_eq(xbs_walk_end(w), XBS_OK);
    ck_assert_uint_eq(ends, XBS_NTREE);
    ck_assert_uint_eq(chunks, chunk_ends);
    xbs_walk_counts c;
    xbs_walk_counts_get(w, &c);
    ck_assert_uint_eq(c.bytes, len);
    ck_assert_uint_eq(c.members, XBS_NTREE);
    ck_assert_uint_eq(c.open, 0);
    ck_assert_uint_eq(c.chunks, chunks + ends);
    for (size_t i = 0; i < XBS_NTREE && !encrypted; i++) {
        char hex[65];
        ck_assert_uint_eq(clen[i], xbs_tree[i].bytes);
        sha256_hex(content[i], clen[i], hex);
        ck_assert_msg(strcmp(hex, xbs_tree[i].sha256) == 0, "member %s differs", xbs_tree[i].path);
    }
    for (size_t i = 0; i < XBS_NTREE; i++)
        free(content[i]);
    xbs_walk_free(w);
    xb_digest_close(d);
}

START_TEST(test_walk_fixtures)
{
    static const char *const files[] = {"xbstream/percona_plain.xbstream",
                                        "xbstream/plain_interleaved.xbstream",
                                        "xbstream/percona_members_aes256.xbstream"};
    static const size_t maxes[] = {0, 1u << 20, 4096, 37};
    size_t len;
    uint8_t *a = fx_read(files[_i / 4], &len);
    walk_rebuild(a, len, maxes[_i % 4], (uint64_t)_i + 1, _i / 4 == 2);
    free(a);
}
END_TEST

START_TEST(test_check_fixtures)
{
    static const char *const files[] = {"xbstream/percona_plain.xbstream",
                                        "xbstream/plain_interleaved.xbstream",
                                        "xbstream/percona_members_aes256.xbstream"};
    size_t len;
    uint8_t *a = fx_read(files[_i], &len);
    check_run r;
    check_archive(a, len, SIZE_MAX, 9, 0, &r);
    ck_assert_msg(r.finish == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.struct_size, sizeof r.sum);
    ck_assert_uint_eq(r.sum.bytes, len);
    ck_assert_uint_eq(r.sum.members, 8);
    ck_assert_uint_eq(r.sum.members_open, 0);
    ck_assert_uint_eq(r.sum.encrypted, _i == 2 ? 8 : 0);
    ck_assert_int_eq(r.sum.checkpoints, 1);
    ck_assert_str_eq(r.sum.backup_type, _i == 2 ? "" : "full-backuped");
    ck_assert_int_eq(r.sum.in_chunk, 0);
    /* Percona's writer: ibdata1 as one 10 MiB payload and the rest. */
    if (_i == 0)
        ck_assert_uint_eq(r.sum.chunks, 6 + 2 + 8); /* db1/empty.ibd: its EOF only */
    free(a);
}
END_TEST

/* Cut at every chunk boundary of the plain fixture, and inside chunks:
 * unclosed members or a cut chunk, never success. */
START_TEST(test_check_cut_everywhere)
{
    size_t len;
    uint8_t *a = fx_read("xbstream/percona_plain.xbstream", &len);
    /* Find the chunk boundaries with the walker itself. */
    size_t bounds[64], nb = 0, cuts = 0;
    bool after_eof[64];
    xbs_walk *w = xbs_walk_new(NULL);
    size_t pos = 0;
    for (;;) {
        xbs_event ev;
        size_t used;
        xbs_event_type t = xbs_walk_next(w, a + pos, len - pos, &used, &ev);
        pos += used;
        if (t == XBS_EV_MORE)
            break;
        if (t == XBS_EV_CHUNK_END || t == XBS_EV_MEMBER_END) {
            after_eof[nb] = t == XBS_EV_MEMBER_END;
            bounds[nb++] = pos;
        }
    }
    xbs_walk_free(w);
    ck_assert_uint_eq(nb, 16);
    ck_assert_uint_eq(bounds[nb - 1], len);
    for (size_t i = 0; i + 1 < nb; i++) {
        check_run r;
        check_archive(a, bounds[i], 0, 0, 0, &r);
        if (after_eof[i]) {
            /* Percona writes members one after the other: a cut after an
             * EOF chunk leaves a whole archive of fewer members.  Only the
             * missing xtrabackup_checkpoints (written second to last, by
             * the backup tools near the end) tells. */
            ck_assert_msg(r.finish == XBCRYPT_OK, "cut at %zu: %d %s", bounds[i], r.finish, r.msg);
            ck_assert_int_eq(r.sum.checkpoints, i >= 3);
        } else {
            ck_assert_msg(r.finish == XBCRYPT_E_UNCLOSED, "cut at %zu: %d %s", bounds[i],
                          r.finish, r.msg);
            ck_assert_ptr_nonnull(strstr(r.msg, "never got their end-of-file chunk"));
        }
        for (size_t d = 1; d < 40 && bounds[i] + d < bounds[i + 1]; d += 13) {
            check_archive(a, bounds[i] + d, 0, 0, 0, &r);
            ck_assert_msg(r.finish == XBCRYPT_E_TRUNCATED, "cut at %zu: %d %s", bounds[i] + d,
                          r.finish, r.msg);
            ck_assert_int_eq(r.sum.in_chunk, 1);
            cuts++;
        }
    }
    ck_assert_uint_gt(cuts, 30);
    /* The first member open at the cut is named. */
    check_run r;
    check_archive(a, bounds[4], 0, 0, 0, &r); /* ibdata1: its first payload in */
    ck_assert_ptr_nonnull(strstr(r.msg, "'ibdata1' (10485760 bytes)"));
    free(a);
}
END_TEST

START_TEST(test_check_bit_flips)
{
    size_t len;
    uint8_t *a = fx_read("xbstream/plain_interleaved.xbstream", &len);
    uint64_t seed = 77;
    for (int i = 0; i < 12; i++) {
        size_t at = (size_t)(prng_next(&seed) % len);
        a[at] ^= 0x10;
        check_run r;
        check_archive(a, len, 0, 0, 0, &r);
        ck_assert_msg(r.finish != XBCRYPT_OK, "flip at %zu passed", at);
        a[at] ^= 0x10;
    }
    /* A flip in a payload byte is a CRC error naming the member, and is not
     * seen when CRCs are not checked. */
    a[len / 2] ^= 1;
    check_run r;
    check_archive(a, len, 4096, 0, 0, &r);
    ck_assert_int_eq(r.finish, XBCRYPT_E_CRC);
    ck_assert_ptr_nonnull(strstr(r.msg, "member '"));
    check_archive(a, len, 4096, 0, XB_ARCHIVE_CHECK_NO_CRC, &r);
    ck_assert_int_eq(r.finish, XBCRYPT_OK);
    free(a);
}
END_TEST

/* ---- hostile archives ---- */

START_TEST(test_forged_length_costs_nothing)
{
    abuf b = {0};
    ab_p(&b, "a", 0, "xyz", 3);
    /* A 2^63-byte payload that never comes, then the end. */
    xbs_header h = {.type = 'P', .plen = 1, .path = (const uint8_t *)"a", .len = 1ull << 63,
                    .off = 3};
    uint8_t hb[XBS_HEADER_MAX];
    ab_put(&b, hb, xbs_header_encode(hb, &h));
    ab_put(&b, "tail", 4);
    expect_fail(&b, XBCRYPT_E_TRUNCATED, "ends inside the payload of archive chunk 1");
    /* A forged sparse map count, likewise. */
    b.len = 0;
    h = (xbs_header){.type = 'S', .plen = 1, .path = (const uint8_t *)"a",
                     .nmap = XBS_SPARSE_MAP_MAX, .len = 1ull << 40};
    ab_put(&b, hb, xbs_header_encode(hb, &h));
    ab_put(&b, "\0\0\0\0\1\0\0\0", 8);
    expect_fail(&b, XBCRYPT_E_TRUNCATED, "sparse map");
    free(b.p);
}
END_TEST

START_TEST(test_unsafe_paths)
{
    static const char *const bad[] = {"/etc/passwd", "../x", "a/../../b", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        abuf b = {0};
        ab_p(&b, "ok", 0, "1", 1);
        ab_e(&b, "ok");
        ab_p(&b, bad[i], 0, "2", 1);
        ab_e(&b, bad[i]);
        expect_fail(&b, XBCRYPT_E_UNSAFE_PATH, "archive chunk 2");
        free(b.p);
    }
    abuf b = {0};
    ab_e(&b, "a");
    uint8_t hb[XBS_HEADER_MAX];
    xbs_header h = {.type = 'E', .plen = 3, .path = (const uint8_t *)"a\0b"};
    ab_put(&b, hb, xbs_header_encode(hb, &h));
    expect_fail(&b, XBCRYPT_E_UNSAFE_PATH, "member 'a\\x00b'");
    b.len = 0;
    ab_e(&b, "a");
    memcpy(hb, "XBSTCK01\0E\0\2\0\0", 14); /* plen 512 */
    ab_put(&b, hb, 14);
    expect_fail(&b, XBCRYPT_E_UNSAFE_PATH, "512 bytes or more");
    free(b.p);
}
END_TEST

START_TEST(test_types_and_order)
{
    abuf b = {0};
    /* Unknown type, not ignorable. */
    ab_p(&b, "a", 0, "12", 2);
    ab_chunk(&b, 'Z', 0, "a", 2, "34", 2);
    ab_e(&b, "a");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "unknown chunk type");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "(0x5a) at archive chunk 1 (offset 37), member 'a'");
    /* Ignorable: skipped whole, even with a bad CRC. */
    b.len = 0;
    ab_p(&b, "a", 0, "12", 2);
    size_t at = b.len;
    ab_chunk(&b, 'Z', XBS_FLAG_IGNORABLE, "a", 77, "34567", 5);
    b.p[b.len - 6] ^= 0xff; /* the CRC's last byte */
    (void)at;
    ab_p(&b, "a", 2, "3", 1);
    ab_e(&b, "a");
    check_run r;
    check_archive(b.p, b.len, 1, 0, 0, &r);
    ck_assert_msg(r.finish == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.ignored_chunks, 1);
    ck_assert_uint_eq(r.sum.chunks, 4);
    /* Out of order: a gap, a repeat. */
    b.len = 0;
    ab_p(&b, "a", 0, "12", 2);
    ab_p(&b, "a", 3, "4", 1);
    ab_e(&b, "a");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "payload offset 3, expected 2");
    b.len = 0;
    ab_p(&b, "b", 1, "1", 1);
    ab_e(&b, "b");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "out-of-order chunk at archive chunk 0 (offset 0), member 'b'");
    /* After EOF: a payload, a second EOF. */
    b.len = 0;
    ab_p(&b, "a", 0, "12", 2);
    ab_e(&b, "a");
    ab_p(&b, "a", 2, "3", 1);
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "after the member's end-of-file chunk");
    b.len = 0;
    ab_e(&b, "a");
    ab_e(&b, "a");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "archive chunk 1");
    /* Bad magic in the middle. */
    b.len = 0;
    ab_e(&b, "a");
    ab_put(&b, "XBSTCK02\0E\1\0\0\0b", 15);
    expect_fail(&b, XBCRYPT_E_MAGIC, "archive chunk 1 (offset 15)");
    /* Empty. */
    check_archive(NULL, 0, 0, 0, 0, &r);
    ck_assert_int_eq(r.finish, XBCRYPT_E_EMPTY);
    free(b.p);
}
END_TEST

START_TEST(test_sparse)
{
    /* "ab" hole(3) "cde" hole(2), then a P chunk continuing after it. */
    static const uint32_t map[][2] = {{0, 2}, {3, 3}, {2, 0}};
    abuf b = {0};
    ab_s(&b, "f", 0, map, 3, "abcde", 5);
    ab_p(&b, "f", 10, "Z", 1);
    ab_e(&b, "f");
    static const size_t splits[] = {0, 1, 3};
    for (size_t s = 0; s < 3; s++) {
        xbs_walk *w = xbs_walk_new(NULL);
        uint8_t out[16];
        memset(out, 0x55, sizeof out);
        size_t pos = 0, olen = 0;
        bool ended = false;
        while (!ended) {
            size_t n = splits[s] ? splits[s] : b.len;
            if (n > b.len - pos)
                n = b.len - pos;
            const uint8_t *p = b.p + pos;
            for (;;) {
                xbs_event ev;
                size_t used;
                xbs_event_type t = xbs_walk_next(w, p, n, &used, &ev);
                p += used;
                n -= used;
                ck_assert_msg(t != XBS_EV_ERROR, "%s", xbs_walk_message(w));
                if (t == XBS_EV_MORE)
                    break;
                if (t == XBS_EV_HOLE || t == XBS_EV_DATA) {
                    ck_assert_uint_eq(ev.at, olen);
                    ck_assert_uint_le(olen + ev.len, sizeof out);
                    if (t == XBS_EV_HOLE)
                        memset(out + olen, 0, ev.len);
                    else
                        memcpy(out + olen, ev.data, ev.len);
                    olen += ev.len;
                }
                ended |= t == XBS_EV_MEMBER_END;
            }
            pos = p - b.p;
            ck_assert(ended || pos < b.len);
        }
        ck_assert_int_eq(xbs_walk_end(w), XBS_OK);
        assert_bytes_eq(out, olen, "ab\0\0\0cde\0\0Z", 11, "sparse member");
        xbs_walk_free(w);
    }
    check_run r;
    check_archive(b.p, b.len, 1, 0, 0, &r);
    ck_assert_msg(r.finish == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.sparse_chunks, 1);

    /* Map sums: more than len, less than len, no entries. */
    static const uint32_t over[][2] = {{0, 4}, {0, 4}};
    b.len = 0;
    ab_s(&b, "f", 0, over, 2, "abcde", 5);
    ab_e(&b, "f");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "place more than 5 bytes");
    static const uint32_t under[][2] = {{1, 2}};
    b.len = 0;
    ab_s(&b, "f", 0, under, 1, "abcde", 5);
    ab_e(&b, "f");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "entries place 2 bytes, payload is 5");
    b.len = 0;
    ab_s(&b, "f", 0, NULL, 0, "abcde", 5);
    ab_e(&b, "f");
    expect_fail(&b, XBCRYPT_E_ARCHIVE, "no entry");
    /* A flipped map byte is a CRC error (the CRC covers the map). */
    static const uint32_t ok[][2] = {{1, 5}};
    b.len = 0;
    ab_s(&b, "f", 0, ok, 1, "abcde", 5);
    ab_e(&b, "f");
    b.p[14 + 1 + 4 + 20] ^= 0x01; /* skip 1 -> 0 */
    expect_fail(&b, XBCRYPT_E_CRC, "CRC-32 mismatch");
    free(b.p);
}
END_TEST

START_TEST(test_interleaved_members_and_empty_payloads)
{
    abuf b = {0};
    ab_p(&b, "a", 0, "1", 1);
    ab_p(&b, "b", 0, "xy", 2);
    ab_p(&b, "a", 1, "", 0);  /* an empty payload chunk */
    ab_e(&b, "e");            /* an empty file */
    ab_p(&b, "a", 1, "2", 1);
    ab_e(&b, "b");
    ab_e(&b, "a");
    check_run r;
    for (size_t s = 0; s < 3; s++) {
        check_archive(b.p, b.len, s, 0, 0, &r);
        ck_assert_msg(r.finish == XBCRYPT_OK, "%s", r.msg);
        ck_assert_uint_eq(r.sum.members, 3);
        ck_assert_uint_eq(r.sum.chunks, 7);
        ck_assert_int_eq(r.sum.checkpoints, 0);
    }
    /* Without b's EOF: one member open, named; summary reports it. */
    abuf c = {0};
    ab_p(&c, "a", 0, "1", 1);
    ab_p(&c, "b", 0, "xy", 2);
    ab_e(&c, "a");
    check_archive(c.p, c.len, 0, 0, 0, &r);
    ck_assert_int_eq(r.finish, XBCRYPT_E_UNCLOSED);
    ck_assert_ptr_nonnull(strstr(r.msg, "1 of 2 members"));
    ck_assert_ptr_nonnull(strstr(r.msg, "'b' (2 bytes)"));
    ck_assert_uint_eq(r.sum.members_open, 1);
    free(b.p);
    free(c.p);
}
END_TEST

START_TEST(test_check_api_misuse)
{
    xb_archive_check *c = NULL;
    char msg[128] = "";
    ck_assert_int_eq(xb_archive_check_new(0, NULL, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_archive_check_new(0x80, &c, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(msg, "unknown flags"));
    ck_assert_int_eq(xb_archive_check_feed(NULL, "x", 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_archive_check_finish(NULL), XBCRYPT_E_ARG);
    xb_archive_check_free(NULL);
    ck_assert_int_eq(xb_archive_check_new(0, &c, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_archive_check_feed(c, NULL, 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_archive_check_feed(c, "XBSTCK01\0E\1\0\0\0a", 15), XBCRYPT_OK);
    ck_assert_int_eq(xb_archive_check_finish(c), XBCRYPT_OK);
    ck_assert_int_eq(xb_archive_check_feed(c, "x", 1), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_archive_check_finish(c), XBCRYPT_E_STATE);
    /* A short summary struct gets only its bytes. */
    struct {
        xbcrypt_archive_summary s;
        uint8_t guard[8];
    } g;
    memset(&g, 0xab, sizeof g);
    g.s.struct_size = offsetof(xbcrypt_archive_summary, members);
    xb_archive_check_summary(c, &g.s);
    ck_assert_uint_eq(g.s.struct_size, offsetof(xbcrypt_archive_summary, members));
    ck_assert_uint_eq(g.s.chunks, 1);
    ck_assert_uint_eq(((uint8_t *)&g.s)[offsetof(xbcrypt_archive_summary, members)], 0xab);
    xb_archive_check_free(c);
    ck_assert(xb_archive_is_archive("XBSTCK01", 8));
    ck_assert(!xb_archive_is_archive("XBSTCK0", 7));
    ck_assert(!xb_archive_is_archive("XBCRYP03", 8));
}
END_TEST

/* ---- the inner check of a whole-stream backup ---- */

static int check_write(void *opaque, const void *buf, size_t len)
{
    xbcrypt_status st = xb_archive_check_feed(opaque, buf, len);
    return st == XBCRYPT_OK ? 0 : 100 + (int)st;
}

/* Decrypts the first `len` bytes of whole_aes256 into the archive check. */
static void whole_stream(size_t cut, xbcrypt_status *dec_st, xbcrypt_status *chk_st, char *msg,
                         size_t msg_size)
{
    size_t len;
    uint8_t *in = fx_read("xbstream/whole_aes256.xbstream.xbcrypt", &len);
    if (cut < len)
        len = cut;
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xb_archive_check *c = NULL;
    ck_assert_int_eq(xb_archive_check_new(0, &c, NULL, 0), XBCRYPT_OK);
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.key = key;
    s.threads = 2;
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, check_write, c, &dec, NULL, 0), XBCRYPT_OK);
    *dec_st = xb_decoder_feed(dec, in, len);
    if (*dec_st == XBCRYPT_OK)
        *dec_st = xb_decoder_finish(dec);
    *chk_st = *dec_st == XBCRYPT_OK ? xb_archive_check_finish(c) : xb_archive_check_status(c);
    snprintf(msg, msg_size, "%s", xb_archive_check_message(c));
    xb_decoder_free(dec);
    xb_archive_check_free(c);
    xb_key_free(key);
    free(in);
}

START_TEST(test_inner_check_whole_stream)
{
    char msg[XBS_MSG_SIZE];
    xbcrypt_status d, c;
    whole_stream(SIZE_MAX, &d, &c, msg, sizeof msg);
    ck_assert_int_eq(d, XBCRYPT_OK);
    ck_assert_msg(c == XBCRYPT_OK, "%s", msg);

    /* Cut at an XBCRYPT chunk boundary: the decoder cannot tell, the
     * archive inside can.  Version-3 chunks of 64 KiB: 44 + 16 + 65536 +
     * 32 bytes each. */
    const size_t chunk = 44 + 16 + 65536 + 32;
    whole_stream(100 * chunk, &d, &c, msg, sizeof msg);
    ck_assert_int_eq(d, XBCRYPT_OK);
    ck_assert_msg(c == XBCRYPT_E_TRUNCATED, "%d %s", c, msg); /* inside ibdata1's 10 MiB chunk */
    ck_assert_ptr_nonnull(strstr(msg, "member 'ibdata1'"));

    /* A stream whose plaintext stops at an archive chunk boundary (after
     * ibdata1's first payload chunk), encrypted whole: it decrypts
     * cleanly, and only the unclosed members tell. */
    size_t plain_len;
    uint8_t *plain = fx_read("xbstream/percona_plain.xbstream", &plain_len);
    const size_t cut = 14 + 13 + 20 + 110 + 14 + 13 + 14 + 22 + 20 + 99 + 14 + 22 + 14 + 7 + 20 +
                       10485760;
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.key = key;
    sink enc = {0};
    run_result rr;
    run_encoder(&s, plain, cut, FEED_SPLIT, 0, 0, &enc, &rr);
    ck_assert_int_eq(rr.status, XBCRYPT_OK);
    xb_archive_check *chk = NULL;
    ck_assert_int_eq(xb_archive_check_new(0, &chk, NULL, 0), XBCRYPT_OK);
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, check_write, chk, &dec, NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_feed(dec, enc.data, enc.len), XBCRYPT_OK);
    ck_assert_int_eq(xb_decoder_finish(dec), XBCRYPT_OK);
    ck_assert_int_eq(xb_archive_check_finish(chk), XBCRYPT_E_UNCLOSED);
    ck_assert_msg(strstr(xb_archive_check_message(chk),
                         "1 of 3 members never got their end-of-file chunk, the first being "
                         "'ibdata1' (10485760 bytes)"),
                  "%s", xb_archive_check_message(chk));
    xb_decoder_free(dec);
    xb_archive_check_free(chk);
    xb_key_free(key);
    sink_free(&enc);
    free(plain);
}
END_TEST

static Suite *xbstream_suite(void)
{
    Suite *s = suite_create("xbstream");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_literal_p_header);
    tcase_add_test(tc, test_literal_e_and_s_headers);
    tcase_add_test(tc, test_prefix_rules);
    tcase_add_test(tc, test_path_rules);
    tcase_add_test(tc, test_decode_limits);
    tcase_add_test(tc, test_quote_and_checkpoints);
    tcase_add_test(tc, test_crc_combine);
    tcase_add_test(tc, test_walk_vouched_crc);
    tcase_add_test(tc, test_walk_deferred_crc);
    suite_add_tcase(s, tc);

    tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_walk_fixtures, 0, 12);
    tcase_add_loop_test(tc, test_check_fixtures, 0, 3);
    tcase_add_test(tc, test_check_cut_everywhere);
    tcase_add_test(tc, test_check_bit_flips);
    tcase_add_test(tc, test_inner_check_whole_stream);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_test(tc, test_forged_length_costs_nothing);
    tcase_add_test(tc, test_unsafe_paths);
    tcase_add_test(tc, test_types_and_order);
    tcase_add_test(tc, test_sparse);
    tcase_add_test(tc, test_interleaved_members_and_empty_payloads);
    tcase_add_test(tc, test_check_api_misuse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(xbstream_suite());
}
