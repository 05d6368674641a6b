/*
 * fuzz_xbstream_transform.c - the member-level archive transform
 * (plugin/archive/xb_archive.c) on arbitrary archives.
 *
 * Input: one control byte, then the archive.
 *
 *   bits 0-2  mode: 0 verify with the key, 1 verify without, 2 info,
 *             3 decrypt, 4 encrypt, 5 rekey, 6-7 decrypt
 *   bit 3     threads 2 (else 0)
 *   bits 4-6  how the archive is split into feed() calls: at once, 1 byte
 *             at a time, or pieces of up to 5, 100, 1000, 5000, 70000 or
 *             2^20 bytes from a generator seeded by the control byte
 *   bit 7     encrypting: 1024-byte XBCRYPT chunks (else 64 KiB)
 *
 * The key is fixtures/keys/key32.bin (the member-encrypted seeds, made from
 * fixtures/xbstream/percona_members_aes256.xbstream, decrypt with it).
 *
 * Invariants (abort() when one fails):
 *  - every status is one the transform may report (E_WRITE only when the
 *    sink refused more than OUT_MAX bytes); the first error stays;
 *    the message is non-empty exactly when the status is not OK; after
 *    finish nothing more is taken;
 *  - VERIFY and INFO write nothing; every member record comes once, for a
 *    member of the archive;
 *  - what a successful DECRYPT, ENCRYPT or REKEY writes is a whole archive
 *    (the archive check with CRCs passes) with as many members; what
 *    ENCRYPT writes verifies under the key with every member verified, and
 *    decrypts back to a whole archive of as many members, none encrypted;
 *  - the output written before a failure is whole archive chunks (an
 *    archive check of it fails, if at all, only for unclosed members),
 *    except that members passed through unchanged may be cut inside a
 *    chunk where the input failed (DECRYPT, REKEY);
 *  - the same run again with every piece lent (xb_archive_feed_shared,
 *    each piece a copy freed as soon as the contract allows, so ASan sees
 *    a late read), where workers read payloads in place and vouch for or
 *    settle their archive CRCs: the same status, the same output when
 *    DECRYPT succeeds (ENCRYPT and REKEY draw fresh IVs), and whole chunks
 *    as above when it fails.
 */
#include "fuzz_harness.h"
#include "xb_engine.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

/* fixtures/keys/key32.bin */
static const uint8_t fuzz_key[32] = {
    0x63, 0x8d, 0x70, 0x1b, 0xf6, 0x0f, 0xd2, 0x57, 0x2c, 0x0b, 0xd9, 0x85, 0xfb, 0x96, 0x46, 0x20,
    0x10, 0x6c, 0xb7, 0xce, 0xfd, 0xf5, 0xce, 0xc9, 0xc3, 0x27, 0x34, 0xbb, 0x0d, 0x50, 0x85, 0x70,
};
static const uint8_t new_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static const size_t piece_max[8] = {0, 1, 5, 100, 1000, 5000, 70000, (size_t)1 << 20};

static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

struct out {
    uint8_t *data;
    size_t len, cap;
    bool refused;
};

/* Sparse holes are written out as zeros when encrypting: a few bytes of map
 * may stand for gigabytes.  The sink refuses what it will not hold. */
#define OUT_MAX ((size_t)32 << 20)

static int out_write(void *opaque, const void *buf, size_t len)
{
    struct out *o = opaque;
    CHECK(buf != NULL && len > 0);
    if (o->len + len > OUT_MAX) {
        o->refused = true;
        return 1;
    }
    if (o->len + len > o->cap) {
        size_t cap = (o->len + len) * 2;
        uint8_t *p = realloc(o->data, cap);
        CHECK(p != NULL);
        o->data = p;
        o->cap = cap;
    }
    memcpy(o->data + o->len, buf, len);
    o->len += len;
    return 0;
}

struct recs {
    uint64_t n;
    uint64_t closed;
};

static void on_member(void *opaque, const xbcrypt_member_info *info)
{
    struct recs *r = opaque;
    CHECK(info->struct_size == sizeof *info && info->path && info->path[0]);
    CHECK(info->closed == 0 || info->closed == 1);
    CHECK(info->verified == 0 || info->verified == 1);
    r->n++;
    r->closed += (uint64_t)info->closed;
}

static bool allowed(xbcrypt_status st)
{
    switch (st) {
    case XBCRYPT_OK:
    case XBCRYPT_E_MAGIC:
    case XBCRYPT_E_LIMIT:
    case XBCRYPT_E_CRC:
    case XBCRYPT_E_HASH:
    case XBCRYPT_E_WRONG_KEY:
    case XBCRYPT_E_TRUNCATED:
    case XBCRYPT_E_ARCHIVE:
    case XBCRYPT_E_UNSAFE_PATH:
    case XBCRYPT_E_UNCLOSED:
    case XBCRYPT_E_EMPTY:
    case XBCRYPT_E_ENCRYPTED:
        return true;
    default:
        return false;
    }
}

struct result {
    xbcrypt_status st;
    xbcrypt_archive_summary sum;
    struct recs recs;
};

static void run(const xbcrypt_archive_settings *s, const uint8_t *p, size_t n, uint8_t split,
                uint32_t seed, bool lend, struct out *out, struct result *r)
{
    memset(r, 0, sizeof *r);
    xbcrypt_archive_settings cs = *s;
    cs.on_member = on_member;
    cs.member_opaque = &r->recs;
    xbcrypt_archive *a = NULL;
    CHECK(xb_archive_new(&cs, out ? out_write : NULL, out, &a, NULL, 0) == XBCRYPT_OK);
    uint32_t rng = seed;
    const size_t maxp = piece_max[split & 7];
    xbcrypt_status st = XBCRYPT_OK, fed = XBCRYPT_OK;
    uint8_t *lent[2] = {NULL, NULL}; /* the piece before, the piece now */
    for (size_t off = 0; off < n && st == XBCRYPT_OK;) {
        size_t piece = maxp ? 1 + next_rand(&rng) % maxp : n - off;
        if (piece > n - off)
            piece = n - off;
        if (lend) {
            uint8_t *b = malloc(piece);
            CHECK(b != NULL);
            memcpy(b, p + off, piece);
            st = fed = xb_archive_feed_shared(a, b, piece);
            if (st == XBCRYPT_OK)
                free(lent[1]); /* its jobs have retired */
            else
                lent[0] = lent[1];
            lent[1] = b;
        } else {
            st = fed = xb_archive_feed(a, p + off, piece);
        }
        off += piece;
    }
    if (st == XBCRYPT_OK)
        st = xb_archive_finish(a);
    CHECK(allowed(st) || (st == XBCRYPT_E_WRITE && out && out->refused));
    if (fed != XBCRYPT_OK)
        CHECK(st == fed);
    CHECK(xb_archive_status(a) == st);
    const char *m = xb_archive_message(a);
    CHECK((st == XBCRYPT_OK) == (m[0] == '\0'));
    CHECK(strlen(m) < 1024);
    const uint8_t one = 0;
    CHECK(xb_archive_feed(a, &one, 1) == (st == XBCRYPT_OK ? XBCRYPT_E_STATE : st));
    r->sum.struct_size = sizeof r->sum;
    xb_archive_summary(a, &r->sum);
    CHECK(r->recs.n <= r->sum.members);
    CHECK(r->sum.verified <= r->sum.encrypted);
    if (st == XBCRYPT_OK)
        CHECK(r->recs.n == r->sum.members && r->recs.closed == r->sum.members);
    r->st = st;
    xb_archive_free(a);
    free(lent[0]);
    free(lent[1]);
}

static xbcrypt_status check_archive(const struct out *o, xbcrypt_archive_summary *sum)
{
    xb_archive_check *c = NULL;
    CHECK(xb_archive_check_new(0, &c, NULL, 0) == XBCRYPT_OK);
    xbcrypt_status st = o->len ? xb_archive_check_feed(c, o->data, o->len) : XBCRYPT_OK;
    if (st == XBCRYPT_OK)
        st = xb_archive_check_finish(c);
    sum->struct_size = sizeof *sum;
    xb_archive_check_summary(c, sum);
    xb_archive_check_free(c);
    return st;
}

static xbcrypt_archive_settings settings(xbcrypt_archive_mode mode, const xbcrypt_key *key,
                                         unsigned threads)
{
    xbcrypt_archive_settings s;
    xb_archive_settings_default(&s);
    s.mode = mode;
    s.key = key;
    s.threads = threads;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t ctl = data[0];
    const uint8_t *p = data + 1;
    const size_t n = size - 1;
    xbcrypt_key *key = NULL, *nkey = NULL;
    CHECK(xb_key_from_bytes(fuzz_key, sizeof fuzz_key, &key, NULL, 0) == XBCRYPT_OK);
    CHECK(xb_key_from_bytes(new_key, sizeof new_key, &nkey, NULL, 0) == XBCRYPT_OK);
    const unsigned threads = ctl & 8 ? 2 : 0;
    static const xbcrypt_archive_mode modes[8] = {
        XBCRYPT_ARCHIVE_VERIFY,  XBCRYPT_ARCHIVE_VERIFY, XBCRYPT_ARCHIVE_INFO,
        XBCRYPT_ARCHIVE_DECRYPT, XBCRYPT_ARCHIVE_ENCRYPT, XBCRYPT_ARCHIVE_REKEY,
        XBCRYPT_ARCHIVE_DECRYPT, XBCRYPT_ARCHIVE_DECRYPT};
    const xbcrypt_archive_mode mode = modes[ctl & 7];
    xbcrypt_archive_settings s = settings(mode, (ctl & 7) == 1 ? NULL : key, threads);
    s.new_key = nkey;
    if (ctl & 0x80)
        s.chunk_size = 1024;
    const bool writes = mode == XBCRYPT_ARCHIVE_DECRYPT || mode == XBCRYPT_ARCHIVE_ENCRYPT ||
                        mode == XBCRYPT_ARCHIVE_REKEY;
    struct out out = {0};
    struct result r;
    const uint32_t seed = 0x9e3779b9u ^ ctl ^ (uint32_t)n;
    run(&s, p, n, (uint8_t)(ctl >> 4), seed, false, writes ? &out : NULL, &r);
    if (!writes)
        CHECK(out.len == 0);

    struct out lout = {0};
    struct result lr;
    run(&s, p, n, (uint8_t)(ctl >> 4), seed, true, writes ? &lout : NULL, &lr);
    CHECK(lr.st == r.st || out.refused || lout.refused);
    if (lr.st == XBCRYPT_OK && mode == XBCRYPT_ARCHIVE_DECRYPT) /* no fresh IVs */
        CHECK(lout.len == out.len && memcmp(lout.data, out.data, out.len) == 0);
    xbcrypt_archive_summary lsum;
    const xbcrypt_status ls = check_archive(&lout, &lsum);
    if (writes && lr.st == XBCRYPT_OK)
        CHECK(ls == XBCRYPT_OK && lsum.members == lr.sum.members);
    else if (writes && lout.len)
        CHECK(ls == XBCRYPT_OK || ls == XBCRYPT_E_UNCLOSED ||
              (ls == XBCRYPT_E_TRUNCATED && mode != XBCRYPT_ARCHIVE_ENCRYPT));
    free(lout.data);

    xbcrypt_archive_summary osum;
    xbcrypt_status os = check_archive(&out, &osum);
    if (writes && r.st == XBCRYPT_OK) {
        CHECK(os == XBCRYPT_OK);
        CHECK(osum.members == r.sum.members);
    } else if (writes && out.len) {
        /* Cut short, but never inside a chunk the transform made; members
         * passed through unchanged (DECRYPT, REKEY) stream out as they come
         * and may be cut where the input failed. */
        CHECK(os == XBCRYPT_OK || os == XBCRYPT_E_UNCLOSED ||
              (os == XBCRYPT_E_TRUNCATED && mode != XBCRYPT_ARCHIVE_ENCRYPT));
    }
    if (mode == XBCRYPT_ARCHIVE_ENCRYPT && r.st == XBCRYPT_OK) {
        /* What was encrypted verifies, member by member, and decrypts back
         * to a whole archive of as many members. */
        CHECK(osum.encrypted == r.sum.members);
        xbcrypt_archive_settings v = settings(XBCRYPT_ARCHIVE_VERIFY, key, 2 - threads);
        struct result vr;
        run(&v, out.data, out.len, 0, 1, false, NULL, &vr);
        CHECK(vr.st == XBCRYPT_OK && vr.sum.verified == r.sum.members);
        xbcrypt_archive_settings d = settings(XBCRYPT_ARCHIVE_DECRYPT, key, threads);
        struct out back = {0};
        struct result dr;
        run(&d, out.data, out.len, 3, 7, (n & 1) != 0, &back, &dr); /* lent or copied */
        CHECK(dr.st == XBCRYPT_OK);
        xbcrypt_archive_summary bs;
        CHECK(check_archive(&back, &bs) == XBCRYPT_OK);
        CHECK(bs.members == r.sum.members && bs.encrypted == 0);
        free(back.data);
    }
    free(out.data);
    xb_key_free(key);
    xb_key_free(nkey);
    return 0;
}
