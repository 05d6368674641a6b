/*
 * test_xbstream_transform.c - the member-level archive transform
 * (plugin/archive/xb_archive.c) through xb_engine.h: every mode on the
 * archives Percona's tools made, checked member by member against the
 * manifest by an independent path (the walker rebuilds the output archive,
 * the stream decoder decrypts each member); thread counts and splits;
 * members cut inside an XBCRYPT chunk, damaged, unclosed, already
 * encrypted, colliding; XBCRYPT chunks above 10 MiB; sparse input; the
 * memory bound with 16 members open at once.
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


/* ---- an archive rebuilt by the walker ---- */

typedef struct member {
    char *path;
    uint8_t *data;
    size_t len, cap;
    bool closed;
} member;

typedef struct tree_out {
    member m[64];
    unsigned n;
    size_t max_payload;     /* largest payload chunk */
    uint64_t chunks;
} tree_out;

static member *find(tree_out *t, const char *path)
{
    for (unsigned i = 0; i < t->n; i++)
        if (strcmp(t->m[i].path, path) == 0)
            return &t->m[i];
    return NULL;
}

/* Walks an archive (checking CRCs, contiguity, and that its end is `end`:
 * XBS_OK when every member has its EOF) and keeps each member's bytes. */
static void rebuild_ending(const uint8_t *a, size_t len, tree_out *t, xbs_result end)
{
    memset(t, 0, sizeof *t);
    xb_digest *d;
    ck_assert_int_eq(xb_digest_open(&d), XBCRYPT_OK);
    xbs_crc_ops ops = xb_tally_crc_ops(d);
    xbs_walk *w = xbs_walk_new(&ops);
    size_t pos = 0;
    for (;;) {
        xbs_event ev;
        size_t used;
        xbs_event_type ty = xbs_walk_next(w, a + pos, len - pos, &used, &ev);
        pos += used;
        ck_assert_msg(ty != XBS_EV_ERROR, "output archive: %s", xbs_walk_message(w));
        if (ty == XBS_EV_MORE)
            break;
        member *m = NULL;
        if (ev.member) {
            m = find(t, ev.member->path);
            if (!m) {
                ck_assert_uint_lt(t->n, 64);
                m = &t->m[t->n++];
                m->path = strdup(ev.member->path);
            }
        }
        if (ty == XBS_EV_CHUNK) {
            t->chunks++;
            if (ev.hdr->len > t->max_payload)
                t->max_payload = (size_t)ev.hdr->len;
        }
        if (ty == XBS_EV_DATA || ty == XBS_EV_HOLE) {
            if (m->len + ev.len > m->cap) {
                m->cap = (m->len + ev.len) * 2;
                m->data = realloc(m->data, m->cap);
            }
            if (ty == XBS_EV_DATA)
                memcpy(m->data + m->len, ev.data, ev.len);
            else
                memset(m->data + m->len, 0, ev.len);
            m->len += ev.len;
        }
        if (ty == XBS_EV_MEMBER_END)
            m->closed = true;
    }
    ck_assert_msg(xbs_walk_end(w) == end, "output archive: %s", xbs_walk_message(w));
    xbs_walk_free(w);
    xb_digest_close(d);
}

static void rebuild(const uint8_t *a, size_t len, tree_out *t)
{
    rebuild_ending(a, len, t, XBS_OK);
}

static void tree_free(tree_out *t)
{
    for (unsigned i = 0; i < t->n; i++) {
        free(t->m[i].path);
        free(t->m[i].data);
    }
}

/* Decrypts one member's XBCRYPT stream with the stream decoder. */
static void decrypt_member(const member *m, const xbcrypt_key *key, sink *out)
{
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.key = key;
    xbcrypt_decoder *dec = NULL;
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, out, &dec, NULL, 0), XBCRYPT_OK);
    xbcrypt_status st = xb_decoder_feed(dec, m->data, m->len);
    if (st == XBCRYPT_OK)
        st = xb_decoder_finish(dec);
    ck_assert_msg(st == XBCRYPT_OK, "member %s: %s", m->path, xb_decoder_message(dec));
    xb_decoder_free(dec);
}

/* The tree, members named NAME + suffix, plaintext (key NULL) or each
 * decrypted with key. */
static void expect_tree(tree_out *t, const char *suffix, const xbcrypt_key *key)
{
    ck_assert_uint_eq(t->n, XBS_NTREE);
    for (size_t i = 0; i < XBS_NTREE; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", xbs_tree[i].path, suffix);
        member *m = find(t, name);
        ck_assert_msg(m != NULL, "no member %s", name);
        ck_assert(m->closed);
        sink plain = {0};
        const uint8_t *p = m->data;
        size_t n = m->len;
        if (key) {
            decrypt_member(m, key, &plain);
            p = plain.data;
            n = plain.len;
        }
        char hex[65];
        ck_assert_uint_eq(n, xbs_tree[i].bytes);
        sha256_hex(p, n, hex);
        ck_assert_msg(strcmp(hex, xbs_tree[i].sha256) == 0, "member %s differs", name);
        sink_free(&plain);
    }
}

/* ---- running the transform ---- */

typedef struct records {
    xbcrypt_member_info info[64];
    char path[64][128];
    unsigned n;
} records;

static void record(void *opaque, const xbcrypt_member_info *info)
{
    records *r = opaque;
    ck_assert_uint_lt(r->n, 64);
    ck_assert_uint_eq(info->struct_size, sizeof *info);
    r->info[r->n] = *info;
    snprintf(r->path[r->n], sizeof r->path[0], "%s", info->path);
    r->info[r->n].path = r->path[r->n];
    r->n++;
}

typedef struct arun {
    xbcrypt_status st;
    char msg[512];
    xbcrypt_archive_summary sum;
    size_t peak;
} arun;

/* With XB_TEST_LEND=1 in the environment (the suite's second run, see
 * meson.build) every run goes through xb_archive_feed_shared() instead, each
 * piece lent as a copy that is poisoned and freed as soon as the contract
 * allows (the next shared feed returned OK), so a worker that reads it
 * late yields other bytes, and ASan reports it. */
static bool lending(void)
{
    const char *v = getenv("XB_TEST_LEND");
    return v && strcmp(v, "1") == 0;
}

static void unlend(uint8_t *b, size_t n)
{
    if (b)
        memset(b, 0x5a, n);
    free(b);
}

/* Feeds `in` in pieces of `split` bytes (0: at once, SIZE_MAX: random
 * 1..70000). */
static void run(const xbcrypt_archive_settings *s, const uint8_t *in, size_t len, size_t split,
                sink *out, arun *r)
{
    memset(r, 0, sizeof *r);
    xbcrypt_archive *a = NULL;
    char msg[512] = "";
    r->st = xb_archive_new(s, out ? sink_write : NULL, out, &a, msg, sizeof msg);
    if (r->st != XBCRYPT_OK) {
        snprintf(r->msg, sizeof r->msg, "%s", msg);
        ck_assert_ptr_null(a);
        return;
    }
    uint64_t seed = len + split;
    size_t pos = 0;
    const bool lend = lending();
    uint8_t *lent[2] = {NULL, NULL};
    size_t lent_len[2] = {0, 0};
    while (pos < len && r->st == XBCRYPT_OK) {
        size_t n = split == SIZE_MAX ? 1 + (size_t)(prng_next(&seed) % 70000) : split ? split : len;
        if (n > len - pos)
            n = len - pos;
        if (lend) {
            uint8_t *b = malloc(n);
            ck_assert_ptr_nonnull(b);
            memcpy(b, in + pos, n);
            r->st = xb_archive_feed_shared(a, b, n);
            if (r->st == XBCRYPT_OK) {
                unlend(lent[1], lent_len[1]);
            } else {
                lent[0] = lent[1];
                lent_len[0] = lent_len[1];
            }
            lent[1] = b;
            lent_len[1] = n;
        } else {
            r->st = xb_archive_feed(a, in + pos, n);
        }
        pos += n;
    }
    if (r->st == XBCRYPT_OK)
        r->st = xb_archive_finish(a);
    ck_assert_int_eq(xb_archive_status(a), r->st);
    snprintf(r->msg, sizeof r->msg, "%s", xb_archive_message(a));
    ck_assert_int_eq(r->msg[0] != '\0', r->st != XBCRYPT_OK);
    r->sum.struct_size = sizeof r->sum;
    xb_archive_summary(a, &r->sum);
    r->peak = xb_archive_peak_bytes(a);
    xb_archive_free(a);
    unlend(lent[0], lent_len[0]);
    unlend(lent[1], lent_len[1]);
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

/* ---- modes on the fixtures ---- */

static const unsigned thread_counts[] = {0, 1, 2, 4};
static const size_t splits[] = {0, SIZE_MAX, 4096, 1};

START_TEST(test_decrypt_percona_members)
{
    size_t len;
    uint8_t *in = fx_read("xbstream/percona_members_aes256.xbstream", &len);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_DECRYPT, key, thread_counts[_i % 4]);
    records rec = {0};
    s.on_member = record;
    s.member_opaque = &rec;
    sink out = {0};
    arun r;
    /* The 1-byte split is slow on 10 MB: only with one thread count. */
    size_t split = splits[_i / 4];
    if (split == 1 && _i % 4 != 2)
        split = 3;
    run(&s, in, len, split, &out, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    tree_out t;
    rebuild(out.data, out.len, &t);
    expect_tree(&t, "", NULL);
    ck_assert_uint_le(t.max_payload, XBS_PAYLOAD_MAX_WRITE);
    ck_assert_uint_eq(r.sum.members, 8);
    ck_assert_uint_eq(r.sum.encrypted, 8);
    ck_assert_uint_eq(r.sum.verified, 8);
    ck_assert_int_eq(r.sum.checkpoints, 1);
    ck_assert_str_eq(r.sum.backup_type, "full-backuped"); /* read from the decrypted member */
    ck_assert_uint_eq(rec.n, 8);
    for (unsigned i = 0; i < rec.n; i++) {
        ck_assert(rec.info[i].closed && rec.info[i].encrypted && rec.info[i].verified);
        ck_assert_ptr_nonnull(strstr(rec.path[i], ".xbcrypt"));
    }
    tree_free(&t);
    sink_free(&out);
    xb_key_free(key);
    free(in);
}
END_TEST

START_TEST(test_encrypt_then_decrypt)
{
    static const char *const files[] = {"xbstream/percona_plain.xbstream",
                                        "xbstream/plain_interleaved.xbstream"};
    size_t len;
    uint8_t *in = fx_read(files[_i / 4], &len);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, thread_counts[_i % 4]);
    sink enc = {0};
    arun r;
    run(&s, in, len, SIZE_MAX, &enc, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.members, 8);
    ck_assert_uint_eq(r.sum.encrypted, 0);
    /* Independent path: walk the output, decrypt each member as a file. */
    tree_out t;
    rebuild(enc.data, enc.len, &t);
    expect_tree(&t, ".xbcrypt", key);
    ck_assert_uint_le(t.max_payload, XBS_PAYLOAD_MAX_WRITE);
    /* Each XBCRYPT chunk is version 3 with a 16-byte IV, 64 KiB. */
    const member *ib = find(&t, "ibdata1.xbcrypt");
    ck_assert_uint_eq(xb_magic_version(ib->data), 3);
    ck_assert_uint_eq(xb_load_le64(ib->data + 16), 65536 + 32);
    ck_assert_uint_eq(xb_load_le64(ib->data + 36), 16);
    tree_free(&t);

    /* And back through the transform. */
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    sink dec = {0};
    run(&s, enc.data, enc.len, 65536, &dec, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    rebuild(dec.data, dec.len, &t);
    expect_tree(&t, "", NULL);
    tree_free(&t);
    sink_free(&enc);
    sink_free(&dec);
    xb_key_free(key);
    free(in);
}
END_TEST

/* With the fixtures' deterministic IVs and no read-buffer restarts, a
 * member's XBCRYPT stream is exactly what the stream encoder makes of its
 * plaintext. */
START_TEST(test_encrypt_matches_stream_encoder)
{
    size_t len;
    uint8_t *in = fx_read("xbstream/plain_interleaved.xbstream", &len);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 2);
    s.iv_source = det_iv;
    s.chunk_size = 4096;
    sink enc = {0};
    arun r;
    run(&s, in, len, 0, &enc, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    tree_out t, p;
    rebuild(enc.data, enc.len, &t);
    rebuild(in, len, &p);
    for (unsigned i = 0; i < p.n; i++) {
        xbcrypt_settings es;
        xb_settings_default(&es);
        es.key = key;
        es.iv_source = det_iv;
        es.chunk_size = 4096;
        es.read_buffer_size = 0;
        sink want = {0};
        run_result rr;
        run_encoder(&es, p.m[i].data, p.m[i].len, FEED_SPLIT, 0, 0, &want, &rr);
        ck_assert_int_eq(rr.status, XBCRYPT_OK);
        char name[128];
        snprintf(name, sizeof name, "%s.xbcrypt", p.m[i].path);
        member *m = find(&t, name);
        ck_assert_ptr_nonnull(m);
        assert_bytes_eq(m->data, m->len, want.data, want.len, name);
        sink_free(&want);
    }
    tree_free(&t);
    tree_free(&p);
    sink_free(&enc);
    xb_key_free(key);
    free(in);
}
END_TEST

START_TEST(test_verify_and_info)
{
    size_t len;
    uint8_t *in = fx_read("xbstream/percona_members_aes256.xbstream", &len);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_key *wrong = fx_key("keys/key32_wrong.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_VERIFY, key, 2);
    arun r;
    run(&s, in, len, SIZE_MAX, NULL, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.verified, 8);
    ck_assert_str_eq(r.sum.backup_type, "full-backuped");
    /* Without a key: structure and CRCs, nothing verified. */
    s.key = NULL;
    run(&s, in, len, SIZE_MAX, NULL, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.verified, 0);
    ck_assert_uint_eq(r.sum.encrypted, 8);
    ck_assert_int_eq(r.sum.checkpoints, 1);
    ck_assert_str_eq(r.sum.backup_type, "");
    /* Wrong key: named member, first chunk. */
    s.key = wrong;
    run(&s, in, len, 0, NULL, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_WRONG_KEY);
    ck_assert_ptr_nonnull(strstr(r.msg, "member 'backup-my.cnf.xbcrypt': wrong key"));
    /* Info: one record per member. */
    s = settings(XBCRYPT_ARCHIVE_INFO, NULL, 0);
    records rec = {0};
    s.on_member = record;
    s.member_opaque = &rec;
    run(&s, in, len, 0, NULL, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(rec.n, 8);
    ck_assert_str_eq(rec.path[0], "backup-my.cnf.xbcrypt");
    ck_assert_str_eq(rec.path[5], "db1/empty.ibd.xbcrypt");
    ck_assert_uint_eq(rec.info[5].bytes, 0);
    ck_assert_uint_eq(rec.info[5].chunks, 0);
    ck_assert_uint_eq(rec.info[2].chunks, 2); /* ibdata1: two payload chunks */
    ck_assert(rec.info[2].bytes > 10498105);
    ck_assert(rec.info[2].encrypted && rec.info[2].closed && !rec.info[2].verified);
    /* A plain archive verifies, nothing encrypted. */
    free(in);
    in = fx_read("xbstream/plain_interleaved.xbstream", &len);
    s = settings(XBCRYPT_ARCHIVE_VERIFY, key, 1);
    run(&s, in, len, 0, NULL, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.encrypted, 0);
    ck_assert_str_eq(r.sum.backup_type, "full-backuped");
    xb_key_free(key);
    xb_key_free(wrong);
    free(in);
}
END_TEST

START_TEST(test_rekey)
{
    size_t len;
    uint8_t *in = fx_read("xbstream/percona_members_aes256.xbstream", &len);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_key *nkey = fx_key("keys/key32_wrong.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_REKEY, key, thread_counts[_i]);
    s.new_key = nkey;
    sink out = {0};
    arun r;
    run(&s, in, len, SIZE_MAX, &out, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.verified, 8);
    tree_out t;
    rebuild(out.data, out.len, &t);
    expect_tree(&t, ".xbcrypt", nkey);
    tree_free(&t);
    /* The old key no longer opens it. */
    s = settings(XBCRYPT_ARCHIVE_VERIFY, key, 1);
    run(&s, out.data, out.len, 0, NULL, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_WRONG_KEY);
    sink_free(&out);
    xb_key_free(key);
    xb_key_free(nkey);
    free(in);
}
END_TEST

/* ---- refusals and damage ---- */

/* An XBCRYPT stream of `n` bytes of the fixtures' rule, chunk size 1024. */
static void xbcrypt_of(size_t n, const xbcrypt_key *key, sink *out)
{
    xbcrypt_settings es;
    xb_settings_default(&es);
    es.key = key;
    es.chunk_size = 1024;
    uint8_t *plain = gen_plain(n);
    run_result rr;
    run_encoder(&es, plain, n, FEED_SPLIT, 0, 0, out, &rr);
    ck_assert_int_eq(rr.status, XBCRYPT_OK);
    free(plain);
}

START_TEST(test_member_cut_inside_xbcrypt_chunk)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    sink x = {0};
    xbcrypt_of(5000, key, &x); /* 5 chunks: 4 of 1024, one of 904 */
    const size_t c = 60 + 1024 + 32;
    static const size_t cuts[] = {2 * c + 10, 2 * c + 50, 3 * c + 500};
    static const char *const where[] = {"chunk header (10 of 44 bytes)", "IV (6 of 16 bytes)",
                                        "payload (440 of 1056 bytes)"};
    for (size_t k = 0; k < 3; k++) {
        abuf b = {0};
        ab_chunk(&b, 'P', 0, "ok.xbcrypt", 0, x.data, x.len);
        ab_chunk(&b, 'E', 0, "ok.xbcrypt", 0, NULL, 0);
        ab_chunk(&b, 'P', 0, "t.ibd.xbcrypt", 0, x.data, cuts[k]);
        ab_chunk(&b, 'E', 0, "t.ibd.xbcrypt", 0, NULL, 0);
        xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_DECRYPT, key, 2);
        sink out = {0};
        arun r;
        run(&s, b.p, b.len, 7, &out, &r);
        ck_assert_int_eq(r.st, XBCRYPT_E_TRUNCATED);
        ck_assert_msg(strstr(r.msg, "member 't.ibd.xbcrypt'") && strstr(r.msg, where[k]) &&
                          strstr(r.msg, k == 2 ? "XBCRYPT chunk 3" : "XBCRYPT chunk 2"),
                      "%s", r.msg);
        /* What verified came out, and no plaintext of the cut chunk. */
        tree_out t;
        memset(&t, 0, sizeof t);
        ck_assert_uint_gt(out.len, 5000);
        s.mode = XBCRYPT_ARCHIVE_VERIFY;
        run(&s, b.p, b.len, 0, NULL, &r);
        ck_assert_int_eq(r.st, XBCRYPT_E_TRUNCATED);
        sink_free(&out);
        free(b.p);
    }
    sink_free(&x);
    xb_key_free(key);
}
END_TEST

/*
 * A flipped payload byte of XBCRYPT chunk 1 under an archive CRC that now
 * mismatches.  Read by copy, the walker's archive CRC would find it at
 * the archive chunk's end, but the chunk's own check comes first in
 * stream order; lent in place (XB_TEST_LEND), the walker takes the chunk's
 * stored CRC-32 for those bytes (xbs_walk_vouch), and the same check of it
 * is what finds the damage.  Either way the same error, naming the member,
 * and decrypting writes nothing of chunk 1.
 */
START_TEST(test_payload_damaged_under_archive_crc)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    sink x = {0};
    xbcrypt_of(5000, key, &x);
    abuf b = {0};
    ab_chunk(&b, 'P', 0, "d/x.xbcrypt", 0, x.data, x.len);
    ab_chunk(&b, 'E', 0, "d/x.xbcrypt", 0, NULL, 0);
    b.p[14 + 11 + 20 + 60 + 1024 + 32 + 60 + 7] ^= 0x40;
    for (int mode = 0; mode < 2; mode++) {
        xbcrypt_archive_settings s =
            settings(mode ? XBCRYPT_ARCHIVE_DECRYPT : XBCRYPT_ARCHIVE_VERIFY, key, 2);
        sink out = {0};
        arun r;
        run(&s, b.p, b.len, 0, mode ? &out : NULL, &r);
        ck_assert_int_eq(r.st, XBCRYPT_E_CRC);
        ck_assert_msg(strstr(r.msg, "member 'd/x.xbcrypt': CRC-32 mismatch at XBCRYPT chunk 1 "
                                    "(member offset 1116)"),
                      "%s", r.msg);
        ck_assert_uint_le(out.len, 14 + 3 + 20 + 1024);
        sink_free(&out);
    }
    free(b.p);
    sink_free(&x);
    xb_key_free(key);
}
END_TEST

/*
 * A plaintext byte damaged under its archive CRC, encrypting: read by
 * copy, the walker's CRC finds it at the chunk's end; lent in place
 * (XB_TEST_LEND), whole XBCRYPT chunks are read only by the workers that
 * seal them, and the CRC they take on the way settles the chunk's archive
 * CRC (xbs_walk_defer).  Either way the same message, with the CRC the
 * damaged bytes have, and the member is never closed in the output.
 */
START_TEST(test_plaintext_damaged_under_archive_crc)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    const size_t n = 20000, cut = 9000;
    uint8_t *plain = gen_plain(n);
    /* In chunk 0: a whole XBCRYPT chunk, the one cut by the archive
     * chunk's end; in chunk 1: a whole one, the member's last bytes. */
    const size_t flips[] = {100, 8999, 15000, 19999};
    /* A short path, and one longer than the message quotes whole. */
    char longp[304] = "d/";
    memset(longp + 2, 'y', 300);
    const char *paths[2] = {"d/x", longp};
    for (unsigned f = 0; f < 8; f++) {
        const size_t at = flips[f % 4];
        const char *path = paths[f / 4];
        abuf b = {0};
        ab_chunk(&b, 'P', 0, path, 0, plain, cut);
        const size_t hdr = b.len - cut, second = b.len;
        ab_chunk(&b, 'P', 0, path, cut, plain + cut, n - cut);
        ab_chunk(&b, 'E', 0, path, 0, NULL, 0);
        const bool first = at < cut;
        uint8_t *pay = first ? plain : plain + cut;
        const size_t plen = first ? cut : n - cut;
        const uint32_t stored = xb_crc32(pay, plen);
        b.p[(first ? hdr : second + hdr) + (first ? at : at - cut)] ^= 0x08;
        pay[first ? at : at - cut] ^= 0x08;
        const uint32_t computed = xb_crc32(pay, plen);
        pay[first ? at : at - cut] ^= 0x08;
        char want[XBS_MSG_SIZE];
        xbs_walk_crc_message(want, sizeof want, first ? 0 : 1, first ? 0 : second,
                             (const uint8_t *)path, strlen(path), stored, computed);
        if (f == 0)
            ck_assert_str_eq(want, "CRC-32 mismatch at archive chunk 0 (offset 0), member 'd/x': "
                                   "stored 0xb2e574ab, computed 0xd6ca0c93");
        for (unsigned t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
            for (int sp = 0; sp < 2; sp++) {
                xbcrypt_archive_settings s =
                    settings(XBCRYPT_ARCHIVE_ENCRYPT, key, thread_counts[t]);
                s.chunk_size = XBCRYPT_CHUNK_SIZE_MIN;
                sink out = {0};
                arun r;
                run(&s, b.p, b.len, sp ? SIZE_MAX : 0, &out, &r);
                ck_assert_int_eq(r.st, XBCRYPT_E_CRC);
                ck_assert_msg(strstr(r.msg, want), "byte %zu, -t %u: %s", at, thread_counts[t],
                              r.msg);
                /* What was written is whole chunks, and the member is
                 * never closed. */
                tree_out t_out;
                rebuild_ending(out.data, out.len, &t_out, out.len ? XBS_UNCLOSED : XBS_EMPTY);
                ck_assert_uint_le(t_out.n, 1);
                ck_assert(t_out.n == 0 || !t_out.m[0].closed);
                tree_free(&t_out);
                sink_free(&out);
            }
        }
        free(b.p);
    }
    free(plain);
    xb_key_free(key);
}
END_TEST

START_TEST(test_member_damaged)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    sink x = {0};
    xbcrypt_of(5000, key, &x);
    /* A flipped payload byte of XBCRYPT chunk 1, the archive CRC redone:
     * only the member's own CRC can tell. */
    x.data[60 + 1024 + 32 + 60 + 7] ^= 0x40;
    abuf b = {0};
    ab_chunk(&b, 'P', 0, "d/x.xbcrypt", 0, x.data, x.len);
    ab_chunk(&b, 'E', 0, "d/x.xbcrypt", 0, NULL, 0);
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_VERIFY, key, 2);
    arun r;
    run(&s, b.p, b.len, 0, NULL, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_CRC);
    ck_assert_msg(strstr(r.msg, "member 'd/x.xbcrypt': CRC-32 mismatch at XBCRYPT chunk 1 "
                                "(member offset 1116)"),
                  "%s", r.msg);
    /* Decrypting writes chunk 0's plaintext and nothing of chunk 1. */
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    sink out = {0};
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_CRC);
    uint8_t *plain = gen_plain(5000);
    /* One archive chunk of chunk 0's 1024 bytes, member "d/x": header 14 + 3 + 20. */
    ck_assert_uint_eq(out.len, 14 + 3 + 20 + 1024);
    assert_bytes_eq(out.data + 37, 1024, plain, 1024, "chunk 0");
    free(plain);
    sink_free(&out);
    free(b.p);
    sink_free(&x);
    xb_key_free(key);
}
END_TEST

START_TEST(test_refusals)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    size_t len;
    uint8_t *in = fx_read("xbstream/percona_members_aes256.xbstream", &len);
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 1);
    sink out = {0};
    arun r;
    run(&s, in, len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_ENCRYPTED);
    ck_assert_ptr_nonnull(strstr(r.msg, "member 'backup-my.cnf.xbcrypt' is already encrypted"));
    ck_assert_uint_eq(out.len, 0);
    sink_free(&out);
    free(in);

    /* NAME and NAME.xbcrypt would both become NAME. */
    sink x = {0};
    xbcrypt_of(100, key, &x);
    abuf b = {0};
    ab_chunk(&b, 'P', 0, "a", 0, "plain", 5);
    ab_chunk(&b, 'E', 0, "a", 0, NULL, 0);
    ab_chunk(&b, 'P', 0, "a.xbcrypt", 0, x.data, x.len);
    ab_chunk(&b, 'E', 0, "a.xbcrypt", 0, NULL, 0);
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_ARCHIVE);
    ck_assert_ptr_nonnull(strstr(r.msg, "both would be extracted as 'a'"));
    sink_free(&out);
    /* What came before the refused member is written, whole: here every
     * chunk before it, passed through. */
    b.len = 0;
    ab_chunk(&b, 'P', 0, "a", 0, "plain", 5);
    ab_chunk(&b, 'E', 0, "a", 0, NULL, 0);
    ab_chunk(&b, 'P', 0, "x", 0, "1", 1);
    const size_t before = b.len;
    ab_chunk(&b, 'P', 0, "a.xbcrypt", 0, x.data, x.len);
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_ARCHIVE);
    assert_bytes_eq(out.data, out.len, b.p, before, "written before the refusal");
    sink_free(&out);
    /* ".xbcrypt" alone has no name left. */
    b.len = 0;
    ab_chunk(&b, 'P', 0, "d/.xbcrypt", 0, x.data, x.len);
    ab_chunk(&b, 'E', 0, "d/.xbcrypt", 0, NULL, 0);
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_UNSAFE_PATH);
    ck_assert_ptr_nonnull(strstr(r.msg, "without .xbcrypt its name is not a safe path"));
    sink_free(&out);

    /* Unclosed: records with closed = 0 after the closed ones. */
    b.len = 0;
    ab_chunk(&b, 'P', 0, "open1", 0, "12", 2);
    ab_chunk(&b, 'P', 0, "shut", 0, "x", 1);
    ab_chunk(&b, 'E', 0, "shut", 0, NULL, 0);
    ab_chunk(&b, 'P', 0, "open2", 0, "3", 1);
    records rec = {0};
    s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 2);
    s.on_member = record;
    s.member_opaque = &rec;
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_UNCLOSED);
    ck_assert_ptr_nonnull(strstr(r.msg, "2 of 3 members"));
    ck_assert_ptr_nonnull(strstr(r.msg, "'open1'"));
    ck_assert_uint_eq(rec.n, 3);
    ck_assert_str_eq(rec.path[0], "shut");
    ck_assert_int_eq(rec.info[0].closed, 1);
    ck_assert_str_eq(rec.path[1], "open1");
    ck_assert_int_eq(rec.info[1].closed, 0);
    ck_assert_str_eq(rec.path[2], "open2");
    sink_free(&out);
    /* Empty input, unsafe paths. */
    s.on_member = NULL;
    run(&s, NULL, 0, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_EMPTY);
    b.len = 0;
    ab_chunk(&b, 'P', 0, "../etc/x", 0, "12", 2);
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_UNSAFE_PATH);
    ck_assert_uint_eq(out.len, 0);
    sink_free(&out);
    free(b.p);
    sink_free(&x);
    xb_key_free(key);
}
END_TEST

START_TEST(test_settings_misuse)
{
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_archive *a = (xbcrypt_archive *)1;
    char msg[256];
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_DECRYPT, key, 1);
    ck_assert_int_eq(xb_archive_new(&s, NULL, NULL, &a, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(msg, "write callback"));
    s.key = NULL;
    ck_assert_int_eq(xb_archive_new(&s, sink_write, NULL, &a, msg, sizeof msg), XBCRYPT_E_KEY);
    s = settings(XBCRYPT_ARCHIVE_REKEY, key, 1);
    ck_assert_int_eq(xb_archive_new(&s, sink_write, NULL, &a, msg, sizeof msg), XBCRYPT_E_KEY);
    s = settings((xbcrypt_archive_mode)9, key, 1);
    ck_assert_int_eq(xb_archive_new(&s, sink_write, NULL, &a, msg, sizeof msg), XBCRYPT_E_ARG);
    s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 1);
    s.chunk_size = 100;
    ck_assert_int_eq(xb_archive_new(&s, sink_write, NULL, &a, msg, sizeof msg), XBCRYPT_E_ARG);
    s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 1);
    s.struct_size = 8;
    ck_assert_int_eq(xb_archive_new(&s, sink_write, NULL, &a, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_archive_new(NULL, sink_write, NULL, &a, msg, sizeof msg), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_archive_feed(NULL, "x", 1), XBCRYPT_E_ARG);
    ck_assert_int_eq(xb_archive_finish(NULL), XBCRYPT_E_ARG);
    xb_archive_free(NULL);
    /* After finish, feed and finish are out of order. */
    s = settings(XBCRYPT_ARCHIVE_INFO, NULL, 0);
    ck_assert_int_eq(xb_archive_new(&s, NULL, NULL, &a, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_int_eq(xb_archive_feed(a, "XBSTCK01\0E\1\0\0\0a", 15), XBCRYPT_OK);
    ck_assert_int_eq(xb_archive_finish(a), XBCRYPT_OK);
    ck_assert_int_eq(xb_archive_feed(a, "x", 1), XBCRYPT_E_STATE);
    ck_assert_int_eq(xb_archive_finish(a), XBCRYPT_E_STATE);
    xb_archive_free(a);
    xb_key_free(key);
}
END_TEST

/* ---- sizes ---- */

START_TEST(test_big_chunks_split_at_10mib)
{
    size_t len;
    uint8_t *in = fx_read("xbstream/percona_plain.xbstream", &len);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 2);
    s.chunk_size = 12u << 20; /* ibdata1 is one XBCRYPT chunk above 10 MiB */
    sink enc = {0};
    arun r;
    run(&s, in, len, SIZE_MAX, &enc, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    tree_out t;
    rebuild(enc.data, enc.len, &t);
    ck_assert_uint_eq(t.max_payload, XBS_PAYLOAD_MAX_WRITE);
    expect_tree(&t, ".xbcrypt", key);
    tree_free(&t);
    /* Decrypting it gives a plaintext chunk above 10 MiB: split again. */
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    sink dec = {0};
    run(&s, enc.data, enc.len, 1u << 20, &dec, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    rebuild(dec.data, dec.len, &t);
    ck_assert_uint_eq(t.max_payload, XBS_PAYLOAD_MAX_WRITE);
    expect_tree(&t, "", NULL);
    tree_free(&t);
    sink_free(&enc);
    sink_free(&dec);
    xb_key_free(key);
    free(in);
}
END_TEST

START_TEST(test_sparse_input_encrypts_holes_as_zeros)
{
    /* "ab", 3-byte hole, "cde", 2-byte hole: 10 bytes. */
    uint8_t mb[24];
    xb_store_le32(mb, 0);
    xb_store_le32(mb + 4, 2);
    xb_store_le32(mb + 8, 3);
    xb_store_le32(mb + 12, 3);
    xb_store_le32(mb + 16, 2);
    xb_store_le32(mb + 20, 0);
    uint8_t both[24 + 5];
    memcpy(both, mb, 24);
    memcpy(both + 24, "abcde", 5);
    xbs_header h = {.type = 'S', .plen = 1, .path = (const uint8_t *)"f", .nmap = 3, .len = 5,
                    .crc = xb_crc32(both, sizeof both)};
    abuf b = {0};
    uint8_t hb[XBS_HEADER_MAX];
    ab_put(&b, hb, xbs_header_encode(hb, &h));
    ab_put(&b, both, sizeof both);
    ab_chunk(&b, 'E', 0, "f", 0, NULL, 0);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 0);
    sink enc = {0};
    arun r;
    run(&s, b.p, b.len, 1, &enc, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(r.sum.sparse_chunks, 1);
    tree_out t;
    rebuild(enc.data, enc.len, &t);
    sink plain = {0};
    decrypt_member(find(&t, "f.xbcrypt"), key, &plain);
    assert_bytes_eq(plain.data, plain.len, "ab\0\0\0cde\0\0", 10, "sparse member");
    /* Decrypt mode passes a sparse plain member through as it came. */
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    sink pass = {0};
    run(&s, b.p, b.len, 3, &pass, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    assert_bytes_eq(pass.data, pass.len, b.p, b.len, "pass-through");
    tree_free(&t);
    sink_free(&plain);
    sink_free(&pass);
    sink_free(&enc);
    free(b.p);
    xb_key_free(key);
}
END_TEST

/* 16 members open at once, interleaved in 40000-byte payload chunks (so
 * that each member always holds a part-filled 64 KiB XBCRYPT chunk), 4 MB
 * each: the chunk buffers held stay within the bound the header states. */
START_TEST(test_memory_bound_16_open)
{
    enum { MEMBERS = 16, PIECE = 40000, PER = 100 * PIECE };
    uint8_t *piece = gen_plain(PIECE);
    abuf b = {0};
    char names[MEMBERS][16];
    for (int i = 0; i < MEMBERS; i++)
        snprintf(names[i], sizeof names[i], "db/t%02d.ibd", i);
    for (size_t off = 0; off < PER; off += PIECE)
        for (int i = 0; i < MEMBERS; i++)
            ab_chunk(&b, 'P', 0, names[i], off, piece, PIECE);
    for (int i = 0; i < MEMBERS; i++)
        ab_chunk(&b, 'E', 0, names[i], 0, NULL, 0);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    const unsigned threads = 4;
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, threads);
    sink enc = {0};
    arun r;
    run(&s, b.p, b.len, 1 << 20, &enc, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    /* The bound of xbcrypt.h: ((2N+1)B+2 + 1 MiB / (C + 772) + open
     * members + 17) buffers of C + 672 bytes, with B the batch this build
     * and CPU take (the hasher's lanes, within 4 MiB a batch; 1 under the
     * hasher's minimum). */
    const size_t job = 640 + 65536 + 32;
    xb_hasher *hs;
    ck_assert_int_eq(xb_hasher_open(&hs), XBCRYPT_OK);
    size_t batch = (4u << 20) / (job + 100);
    if (batch > xb_hasher_lanes(hs))
        batch = xb_hasher_lanes(hs);
    if (batch < xb_hasher_min_batch(hs))
        batch = 1;
    xb_hasher_close(hs);
    const size_t bound =
        ((2 * threads + 1) * batch + 2 + (1u << 20) / (job + 100) + MEMBERS + 17) * job;
    ck_assert_msg(r.peak <= bound, "peak %zu > bound %zu", r.peak, bound);
    ck_assert_uint_gt(r.peak, MEMBERS * job); /* every member held its chunk */
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    sink dec = {0};
    run(&s, enc.data, enc.len, 1 << 20, &dec, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_msg(r.peak <= bound, "decrypt: peak %zu > bound %zu", r.peak, bound);
    /* Passing members through (a plain archive "decrypted") stays within
     * it too, with 10 MiB payload chunks. */
    size_t plen;
    uint8_t *plain = fx_read("xbstream/percona_plain.xbstream", &plen);
    sink pass = {0};
    run(&s, plain, plen, 1 << 20, &pass, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    ck_assert_msg(r.peak <= bound, "pass-through: peak %zu > bound %zu", r.peak, bound);
    assert_bytes_eq(pass.data, pass.len, plain, plen, "passed through");
    sink_free(&pass);
    free(plain);
    tree_out t;
    rebuild(dec.data, dec.len, &t);
    ck_assert_uint_eq(t.n, MEMBERS);
    for (int i = 0; i < MEMBERS; i++) {
        ck_assert_uint_eq(t.m[i].len, PER);
        ck_assert_mem_eq(t.m[i].data + PER - PIECE, piece, PIECE);
    }
    tree_free(&t);
    sink_free(&enc);
    sink_free(&dec);
    xb_key_free(key);
    free(b.p);
    free(piece);
}
END_TEST

/* Version-1 chunks of zero bytes (Percona's old writers made them) have
 * no payload to gather: re-encrypting and decrypting them still works. */
START_TEST(test_empty_v1_chunks)
{
    uint8_t v1[36] = {'X', 'B', 'C', 'R', 'Y', 'P', '0', '1'};
    abuf b = {0};
    ab_chunk(&b, 'P', 0, "old.xbcrypt", 0, v1, sizeof v1);
    ab_chunk(&b, 'E', 0, "old.xbcrypt", 0, NULL, 0);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_key *nkey = fx_key("keys/key16.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_REKEY, key, thread_counts[_i]);
    s.new_key = nkey;
    sink out = {0};
    arun r;
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    tree_out t;
    rebuild(out.data, out.len, &t);
    member *m = find(&t, "old.xbcrypt");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->len, 44 + 16 + 32); /* one version-3 chunk of no plaintext */
    sink plain = {0};
    decrypt_member(m, nkey, &plain);
    ck_assert_uint_eq(plain.len, 0);
    tree_free(&t);
    sink_free(&out);
    s.mode = XBCRYPT_ARCHIVE_DECRYPT;
    run(&s, b.p, b.len, 1, &out, &r);
    ck_assert_msg(r.st == XBCRYPT_OK, "%s", r.msg);
    rebuild(out.data, out.len, &t);
    ck_assert_uint_eq(find(&t, "old")->len, 0);
    tree_free(&t);
    sink_free(&out);
    sink_free(&plain);
    free(b.p);
    xb_key_free(key);
    xb_key_free(nkey);
}
END_TEST

/* Many members open at once, each with a chunk just begun: memory follows
 * the bytes that arrived, not the chunks' length fields; past OPEN_MAX
 * open members the archive is refused. */
START_TEST(test_open_members_cost_what_they_hold)
{
    enum { OPEN = 300 };
    /* An XBCRYPT header announcing a 1 GiB payload, its IV, one byte. */
    uint8_t x[44 + 16 + 1] = {'X', 'B', 'C', 'R', 'Y', 'P', '0', '3'};
    xb_store_le64(x + 16, 1u << 30);
    xb_store_le64(x + 24, 1u << 30);
    xb_store_le64(x + 36, 16);
    abuf b = {0};
    char name[32];
    for (int i = 0; i < OPEN; i++) {
        snprintf(name, sizeof name, "t%03d.ibd.xbcrypt", i);
        ab_chunk(&b, 'P', 0, name, 0, x, sizeof x);
    }
    xbcrypt_key *key = fx_key("keys/key32.bin");
    xbcrypt_archive_settings s = settings(XBCRYPT_ARCHIVE_DECRYPT, key, 2);
    sink out = {0};
    arun r;
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_UNCLOSED);
    ck_assert_msg(r.peak < OPEN * (640 + 4096 + 32 + 1024) + (1u << 20), "peak %zu", r.peak);
    sink_free(&out);
    /* Encrypting: 4097 members open, one byte each. */
    b.len = 0;
    for (int i = 0; i <= 4096; i++) {
        snprintf(name, sizeof name, "f%04d", i);
        ab_chunk(&b, 'P', 0, name, 0, "z", 1);
    }
    s = settings(XBCRYPT_ARCHIVE_ENCRYPT, key, 0);
    run(&s, b.p, b.len, 0, &out, &r);
    ck_assert_int_eq(r.st, XBCRYPT_E_LIMIT);
    ck_assert_msg(strstr(r.msg, "member 'f4096': more than 4096 members open at once"), "%s",
                  r.msg);
    ck_assert_msg(r.peak < 4096 * (640 + 4096 + 32) + (1u << 20), "peak %zu", r.peak);
    sink_free(&out);
    free(b.p);
    xb_key_free(key);
}
END_TEST

static Suite *transform_suite(void)
{
    Suite *s = suite_create("xbstream_transform");
    TCase *tc = tcase_create("modes");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_decrypt_percona_members, 0, 16);
    tcase_add_loop_test(tc, test_encrypt_then_decrypt, 0, 8);
    tcase_add_test(tc, test_encrypt_matches_stream_encoder);
    tcase_add_test(tc, test_verify_and_info);
    tcase_add_loop_test(tc, test_rekey, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_member_cut_inside_xbcrypt_chunk);
    tcase_add_test(tc, test_member_damaged);
    tcase_add_test(tc, test_payload_damaged_under_archive_crc);
    tcase_add_test(tc, test_plaintext_damaged_under_archive_crc);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_settings_misuse);
    tcase_add_loop_test(tc, test_empty_v1_chunks, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("sizes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_big_chunks_split_at_10mib);
    tcase_add_test(tc, test_sparse_input_encrypts_holes_as_zeros);
    tcase_add_test(tc, test_memory_bound_16_open);
    tcase_add_test(tc, test_open_members_cost_what_they_hold);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(transform_suite());
}
