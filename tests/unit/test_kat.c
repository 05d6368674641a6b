/*
 * test_kat.c - known answers: every fixture made by Percona's binary
 * decrypts through the decoder to exactly its plaintext, with 0, 1 and 4
 * threads and input split into 1, 7, 65,600 bytes or whole; the encoder
 * with the deterministic IV source reproduces every det/ file byte for
 * byte; the damaged fixtures fail as the README says, writing nothing they
 * must not; legacy v1/v2 and a stream mixing versions decrypt.  The
 * 12,595,257-byte plaintext that is not shipped is generated and must
 * encrypt to Percona's recorded sha256 (about 0.3 s, so it stays in the
 * unit suite rather than "slow").  The decrypt, encode, damage and mixed
 * tests run again under each crypto backend (libgcrypt only; multi-buffer
 * SHA-256 for every batch).
 *
 * The list of files and their facts is kat_table.h, generated once from
 * fixtures/manifest.json by gen_kat_table.py.
 */
#include "crypto/xb_crypto.h"
#include "format/xb_format.h"
#include "kat_table.h"
#include "unit_util.h"

static const unsigned thread_counts[] = {0, 1, 4};
static const size_t splits[] = {1, 7, 65600, 0}; /* 0 = one feed() */

static uint8_t *plain_for(const kat_entry *e, size_t *len)
{
    char rel[64];
    snprintf(rel, sizeof rel, "plain/p%zu.bin", e->plaintext_size);
    uint8_t *p = fx_read(rel, len);
    ck_assert_uint_eq(*len, e->plaintext_size);
    return p;
}

/* Decoder settings for an entry; the key (if any) goes to *key. */
static void settings_for(const kat_entry *e, xbcrypt_settings *s, xbcrypt_key **key)
{
    xb_settings_default(s);
    s->algo = e->algo;
    *key = e->algo == XBCRYPT_ALGO_NONE ? NULL : fx_key(e->key);
    s->key = *key;
}

/* The fixture and its plaintext are what the manifest recorded. */
START_TEST(test_fixture_integrity)
{
    const kat_entry *e = &kat_table[_i];
    if (!e->shipped)
        return;
    size_t len, plen;
    uint8_t *f = fx_read(e->file, &len);
    char hex[65];
    sha256_hex(f, len, hex);
    ck_assert_msg(strcmp(hex, e->sha256) == 0, "%s: sha256 %s, manifest %s", e->file, hex,
                  e->sha256);
    uint8_t *p = plain_for(e, &plen);
    sha256_hex(p, plen, hex);
    ck_assert_msg(strcmp(hex, e->plaintext_sha256) == 0, "plaintext of %s: sha256 %s", e->file,
                  hex);
    uint8_t *g = gen_plain(plen);
    assert_bytes_eq(p, plen, g, plen, "plain/pN.bin against the (i*7) mod 251 rule");
    free(g);
    free(p);
    free(f);
}
END_TEST

static void check_chunks(const kat_entry *e, const chunk_log *log, size_t file_len)
{
    ck_assert_uint_eq(log->overflow, 0);
    ck_assert_msg(log->n == e->chunks, "%s: %u chunks, manifest %u", e->file, log->n, e->chunks);
    uint64_t off = 0, plain = 0;
    for (unsigned c = 0; c < log->n; c++) {
        const xbcrypt_chunk_info *ci = &log->info[c];
        ck_assert_uint_eq(ci->index, c);
        ck_assert_msg(ci->offset == off, "%s chunk %u: offset %llu, expected %llu", e->file, c,
                      (unsigned long long)ci->offset, (unsigned long long)off);
        ck_assert_uint_eq(ci->version, e->version);
        if (e->chunk_sizes)
            ck_assert_uint_eq(ci->plaintext_size, e->chunk_sizes[c]);
        ck_assert_uint_eq(ci->encrypted_size,
                          ci->plaintext_size + (e->version == 3 ? XB_HASH_SIZE : 0));
        ck_assert_uint_eq(ci->original_size, ci->encrypted_size);
        ck_assert_int_eq(ci->hash_checked, e->version == 3);
        if (e->version == 1)
            ck_assert_uint_eq(ci->iv_size, 0);
        else if (e->algo == XBCRYPT_ALGO_NONE)
            ck_assert_uint_eq(ci->iv_size, 0);
        else
            ck_assert_uint_eq(ci->iv_size, 16);
        uint8_t iv[16];
        if (e->det && e->algo != XBCRYPT_ALGO_NONE) {
            det_iv_bytes(c, iv);
            assert_bytes_eq(ci->iv, 16, iv, 16, "deterministic IV");
        } else if (c < 3 && e->ivs[c] && *e->ivs[c]) {
            ck_assert(unhex(e->ivs[c], iv, 16));
            assert_bytes_eq(ci->iv, 16, iv, 16, "IV listed in the manifest");
        }
        off += xb_header_size(ci->version) + ci->iv_size + ci->encrypted_size;
        plain += ci->plaintext_size;
    }
    ck_assert_uint_eq(off, file_len);
    ck_assert_uint_eq(plain, e->plaintext_size);
}

/* _i: table entry.  Every thread count and split. */
START_TEST(test_decrypt_fixture)
{
    const kat_entry *e = &kat_table[_i];
    if (!e->shipped)
        return;
    size_t len, plen;
    uint8_t *f = fx_read(e->file, &len);
    uint8_t *p = plain_for(e, &plen);
    xbcrypt_key *key;
    xbcrypt_settings s;
    settings_for(e, &s, &key);
    chunk_log *log = calloc(1, sizeof *log);
    ck_assert_ptr_nonnull(log);
    s.on_chunk = chunk_log_fn;
    s.chunk_opaque = log;
    for (unsigned t = 0; t < 3; t++) {
        /* Every split through feed(), then through feed_shared() (the
         * mapped input of the CLI), the lent pieces freed as soon as the
         * engine lets them go. */
        for (unsigned sp = 0; sp < 8; sp++) {
            /* Lent in 1- and 7-byte pieces (headers and IVs cut
             * everywhere) only when small: a malloc'd piece per few bytes of
             * a large file says nothing more, slowly. */
            if (sp >= 4 && splits[sp % 4] != 0 && splits[sp % 4] < 4096 && len > (64u << 10))
                continue;
            s.threads = thread_counts[t];
            log->n = 0;
            sink out = {0};
            run_result r;
            run_decoder(&s, f, len, sp < 4 ? FEED_SPLIT : FEED_SHARED, splits[sp % 4], 0, &out,
                        &r);
            ck_assert_msg(r.status == XBCRYPT_OK, "%s threads %u split %zu: %s: %s", e->file,
                          s.threads, splits[sp], xb_status_name(r.status), r.msg);
            ck_assert_int_eq(r.feed_st, XBCRYPT_OK);
            ck_assert_int_eq(r.finish_st, XBCRYPT_OK);
            ck_assert_str_eq(r.msg, "");
            assert_bytes_eq(out.data, out.len, p, plen, e->file);
            char hex[65];
            sha256_hex(out.data, out.len, hex);
            ck_assert_str_eq(hex, e->plaintext_sha256);
            ck_assert_uint_eq(r.stats.chunks, e->chunks);
            ck_assert_uint_eq(r.stats.bytes_in, len);
            ck_assert_uint_eq(r.stats.plaintext_bytes, plen);
            ck_assert_uint_eq(r.stats.encrypted_bytes, len);
            ck_assert_uint_eq(r.stats.versions_seen, e->chunks ? 1u << e->version : 0);
            ck_assert_uint_eq(r.stats.hashed_chunks, e->version == 3 ? e->chunks : 0);
            ck_assert_uint_eq(r.stats.size_mismatches, 0);
            check_chunks(e, log, len);
            sink_free(&out);
        }
    }
    free(log);
    xb_key_free(key);
    free(p);
    free(f);
}
END_TEST

/* Without a write callback and without a key the decoder checks structure
 * and CRCs only; with a key it checks hashes too. */
START_TEST(test_verify_only)
{
    const kat_entry *e = &kat_table[_i];
    if (!e->shipped)
        return;
    size_t len;
    uint8_t *f = fx_read(e->file, &len);
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.algo = e->algo;
    s.threads = 2;
    xbcrypt_decoder *dec = NULL;
    char msg[256] = "";
    ck_assert_msg(xb_decoder_new(&s, NULL, NULL, &dec, msg, sizeof msg) == XBCRYPT_OK, "%s", msg);
    ck_assert_int_eq(xb_decoder_feed(dec, f, len), XBCRYPT_OK);
    ck_assert_msg(xb_decoder_finish(dec) == XBCRYPT_OK, "%s", xb_decoder_message(dec));
    xbcrypt_stats st = {.struct_size = sizeof st};
    xb_decoder_stats(dec, &st);
    ck_assert_uint_eq(st.chunks, e->chunks);
    /* NONE chunks carry their plaintext in the clear: the hash is checked. */
    ck_assert_uint_eq(st.hashed_chunks, e->algo == XBCRYPT_ALGO_NONE ? e->chunks : 0);
    xb_decoder_free(dec);
    free(f);
}
END_TEST

static void det_encode(const kat_entry *e, unsigned threads, enum feed_mode mode, size_t split,
                       const uint8_t *p, size_t plen, sink *out, run_result *r)
{
    xbcrypt_key *key;
    xbcrypt_settings s;
    settings_for(e, &s, &key);
    s.threads = threads;
    s.chunk_size = e->chunk_size;
    s.read_buffer_size = e->read_buffer_size;
    s.iv_source = det_iv;
    run_encoder(&s, p, plen, mode, split, 7, out, r);
    xb_key_free(key);
}

/* _i: table entry; only det/ files. */
START_TEST(test_encode_reproduces_det)
{
    const kat_entry *e = &kat_table[_i];
    if (!e->det || !e->shipped)
        return;
    size_t len, plen;
    uint8_t *f = fx_read(e->file, &len);
    uint8_t *p = plain_for(e, &plen);
    static const struct {
        enum feed_mode mode;
        size_t split;
    } ways[] = {{FEED_SPLIT, 0},  {FEED_SPLIT, 4099},  {FEED_RANDOM, 70000},
                {FEED_COMMIT_SHORT, 0}, {FEED_SHARED, 0}, {FEED_SHARED, 4099},
                {FEED_SHARED_RANDOM, 300000}};
    for (unsigned t = 0; t < 3; t++) {
        for (unsigned w = 0; w < sizeof ways / sizeof ways[0]; w++) {
            sink out = {0};
            run_result r;
            det_encode(e, thread_counts[t], ways[w].mode, ways[w].split, p, plen, &out, &r);
            ck_assert_msg(r.status == XBCRYPT_OK, "%s: %s", e->file, r.msg);
            char what[160];
            snprintf(what, sizeof what, "%s threads %u way %u", e->file, thread_counts[t], w);
            assert_bytes_eq(out.data, out.len, f, len, what);
            ck_assert_uint_eq(r.stats.chunks, e->chunks);
            ck_assert_uint_eq(r.stats.plaintext_bytes, plen);
            ck_assert_uint_eq(r.stats.bytes_in, plen);
            ck_assert_uint_eq(r.stats.encrypted_bytes, len);
            ck_assert_uint_eq(r.stats.hashed_chunks, e->chunks);
            ck_assert_uint_eq(r.stats.versions_seen, e->chunks ? 1u << 3 : 0);
            sink_free(&out);
        }
    }
    free(p);
    free(f);
}
END_TEST

/* ---- damaged input ---- */

static void decode_fixture(const char *file, const char *keyfile, unsigned threads, size_t split,
                           sink *out, run_result *r)
{
    size_t len;
    uint8_t *f = fx_read(file, &len);
    xbcrypt_settings s;
    xb_settings_default(&s);
    xbcrypt_key *key = fx_key(keyfile);
    s.key = key;
    s.threads = threads;
    run_decoder(&s, f, len, FEED_SPLIT, split, 0, out, r);
    xb_key_free(key);
    free(f);
}

static void assert_msg_has(const run_result *r, const char *needle)
{
    ck_assert_msg(strstr(r->msg, needle) != NULL, "message \"%s\" lacks \"%s\"", r->msg, needle);
}

/* The damaged-input tests are loop tests over every way to run: _i picks
 * thread_counts[_i / N_SPLITS] and splits[_i % N_SPLITS]. */
#define N_SPLITS (sizeof splits / sizeof splits[0])
#define N_WAYS ((int)(sizeof thread_counts / sizeof thread_counts[0] * N_SPLITS))

START_TEST(test_bitflip_chunk1)
{
    const unsigned threads = thread_counts[_i / N_SPLITS];
    const size_t split = splits[_i % N_SPLITS];
    size_t plen;
    uint8_t *p = fx_read("plain/p200000.bin", &plen);
    sink out = {0};
    run_result r;
    decode_fixture("negative/payload_bitflip_chunk1.xbcrypt", "keys/key32.bin", threads, split,
                   &out, &r);
    ck_assert_msg(r.status == XBCRYPT_E_CRC, "threads %u split %zu: %s (%s)", threads, split,
                  xb_status_name(r.status), r.msg);
    /* Exactly chunk 0, and it is the right plaintext. */
    ck_assert_uint_eq(out.len, 65536);
    assert_bytes_eq(out.data, out.len, p, 65536, "chunk 0");
    assert_msg_has(&r, "chunk 1 (offset 65628)");
    ck_assert_uint_eq(r.stats.chunks, 1);
    sink_free(&out);
    free(p);
}
END_TEST

START_TEST(test_truncated)
{
    size_t plen;
    uint8_t *p = fx_read("plain/p200000.bin", &plen);
    sink out = {0};
    run_result r;
    decode_fixture("negative/trunc_150000.xbcrypt", "keys/key32.bin", thread_counts[_i / N_SPLITS],
                   splits[_i % N_SPLITS], &out, &r);
    /* Every feed succeeds: only finish() can know the stream ended. */
    ck_assert_int_eq(r.feed_st, XBCRYPT_OK);
    ck_assert_msg(r.finish_st == XBCRYPT_E_TRUNCATED, "%s (%s)", xb_status_name(r.finish_st),
                  r.msg);
    ck_assert_uint_eq(out.len, 131072);
    assert_bytes_eq(out.data, out.len, p, 131072, "chunks 0 and 1");
    assert_msg_has(&r, "chunk 2 (offset 131256)");
    sink_free(&out);
    free(p);
}
END_TEST

START_TEST(test_garbage)
{
    sink out = {0};
    run_result r;
    decode_fixture("negative/garbage_random4096.bin", "keys/key32.bin",
                   thread_counts[_i / N_SPLITS], splits[_i % N_SPLITS], &out, &r);
    ck_assert_msg(r.status == XBCRYPT_E_MAGIC, "%s (%s)", xb_status_name(r.status), r.msg);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_uint_eq(out.calls, 0);
    assert_msg_has(&r, "chunk 0 (offset 0)");
    sink_free(&out);
}
END_TEST

START_TEST(test_wrong_key)
{
    sink out = {0};
    run_result r;
    decode_fixture("det/aes256_p200000.xbcrypt", "keys/key32_wrong.bin",
                   thread_counts[_i / N_SPLITS], splits[_i % N_SPLITS], &out, &r);
    ck_assert_msg(r.status == XBCRYPT_E_WRONG_KEY, "%s (%s)", xb_status_name(r.status), r.msg);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_uint_eq(out.calls, 0);
    assert_msg_has(&r, "chunk 0");
    assert_msg_has(&r, "wrong key");
    ck_assert_uint_eq(r.stats.chunks, 0);
    sink_free(&out);
}
END_TEST

START_TEST(test_newline_key)
{
    xbcrypt_settings s;
    xb_settings_default(&s);
    xbcrypt_key *key = fx_key("keys/key32_newline.bin");
    s.key = key;
    xbcrypt_decoder *dec = (xbcrypt_decoder *)(uintptr_t)1;
    char msg[512] = "";
    sink out = {0};
    ck_assert_int_eq(xb_decoder_new(&s, sink_write, &out, &dec, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(dec);
    ck_assert_msg(strstr(msg, "newline") && strstr(msg, "printf"), "message: %s", msg);
    /* And the encoder refuses it the same way. */
    xbcrypt_encoder *enc = (xbcrypt_encoder *)(uintptr_t)1;
    msg[0] = '\0';
    ck_assert_int_eq(xb_encoder_new(&s, sink_write, &out, &enc, msg, sizeof msg), XBCRYPT_E_KEY);
    ck_assert_ptr_null(enc);
    ck_assert_msg(strstr(msg, "newline") && strstr(msg, "printf"), "message: %s", msg);
    ck_assert_uint_eq(out.calls, 0);
    xb_key_free(key);
}
END_TEST

/* A v3 chunk from the NONE fixture (no IV) cannot be decrypted with AES. */
START_TEST(test_none_stream_under_aes)
{
    sink out = {0};
    run_result r;
    decode_fixture("det/none_p65537.xbcrypt", "keys/key32.bin", 1, 0, &out, &r);
    ck_assert_msg(r.status == XBCRYPT_E_LIMIT, "%s (%s)", xb_status_name(r.status), r.msg);
    ck_assert_uint_eq(out.len, 0);
    assert_msg_has(&r, "chunk 0 (offset 0)");
    sink_free(&out);
}
END_TEST

/* ---- version mixes ---- */

typedef struct span {
    const uint8_t *p;
    size_t len;
} span;

/* Splits a stream into its chunks (whole files only, no checks beyond the
 * header). */
static unsigned chunks_of(const uint8_t *f, size_t len, span *out, unsigned max)
{
    unsigned n = 0;
    size_t pos = 0;
    while (pos < len) {
        xb_header h;
        ck_assert_int_eq(xb_header_decode(f + pos, &h), XB_FMT_OK);
        size_t clen = xb_header_size(h.version) + h.ivlen + h.elen;
        ck_assert_uint_lt(n, max);
        out[n].p = f + pos;
        out[n].len = clen;
        n++;
        pos += clen;
    }
    return n;
}

/* Whole files of versions 1, 2, 3 back to back, and the random-IV file. */
START_TEST(test_mixed_files)
{
    static const char *files[] = {"legacy/v1_aes256_p200000.xbcrypt",
                                  "det/aes256_p1.xbcrypt",
                                  "legacy/v2_aes256_p200000.xbcrypt",
                                  "det/aes256_p200000.xbcrypt",
                                  "random/aes256_t4_p200000.xbcrypt",
                                  "det/aes256_p0.xbcrypt",
                                  "legacy/v1_aes256_p200000.xbcrypt"};
    static const size_t plains[] = {200000, 1, 200000, 200000, 200000, 0, 200000};
    size_t total = 0, ptotal = 0;
    uint8_t *stream = NULL, *expect = NULL;
    for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        uint8_t *f = fx_read(files[i], &len);
        stream = realloc(stream, total + len + 1);
        memcpy(stream + total, f, len);
        total += len;
        free(f);
        uint8_t *g = gen_plain(plains[i]);
        expect = realloc(expect, ptotal + plains[i] + 1);
        memcpy(expect + ptotal, g, plains[i]);
        ptotal += plains[i];
        free(g);
    }
    xbcrypt_key *key = fx_key("keys/key32.bin");
    for (unsigned t = 0; t < 3; t++) {
        for (unsigned sp = 0; sp < 4; sp++) {
            xbcrypt_settings s;
            xb_settings_default(&s);
            s.key = key;
            s.threads = thread_counts[t];
            sink out = {0};
            run_result r;
            run_decoder(&s, stream, total, FEED_SPLIT, splits[sp], 0, &out, &r);
            ck_assert_msg(r.status == XBCRYPT_OK, "%s", r.msg);
            assert_bytes_eq(out.data, out.len, expect, ptotal, "mixed files");
            ck_assert_uint_eq(r.stats.versions_seen, (1u << 1) | (1u << 2) | (1u << 3));
            ck_assert_uint_eq(r.stats.chunks, 4 + 1 + 4 + 4 + 4 + 0 + 4);
            ck_assert_uint_eq(r.stats.hashed_chunks, 1 + 4 + 4);
            sink_free(&out);
        }
    }
    xb_key_free(key);
    free(stream);
    free(expect);
}
END_TEST

/* Chunk by chunk: chunk c taken from the v1, v2 or v3 file in turn. */
START_TEST(test_mixed_chunks)
{
    static const char *files[3] = {"legacy/v1_aes256_p200000.xbcrypt",
                                   "legacy/v2_aes256_p200000.xbcrypt",
                                   "det/aes256_p200000.xbcrypt"};
    uint8_t *f[3];
    span ch[3][8];
    for (unsigned v = 0; v < 3; v++) {
        size_t len;
        f[v] = fx_read(files[v], &len);
        ck_assert_uint_eq(chunks_of(f[v], len, ch[v], 8), 4);
    }
    size_t plen;
    uint8_t *p = fx_read("plain/p200000.bin", &plen);
    xbcrypt_key *key = fx_key("keys/key32.bin");
    /* Several rotations so each chunk position meets each version. */
    for (unsigned rot = 0; rot < 3; rot++) {
        uint8_t *stream = malloc(4 * 70000);
        size_t total = 0;
        for (unsigned c = 0; c < 4; c++) {
            const span *sp = &ch[(c + rot) % 3][c];
            memcpy(stream + total, sp->p, sp->len);
            total += sp->len;
        }
        for (unsigned t = 0; t < 3; t++) {
            xbcrypt_settings s;
            xb_settings_default(&s);
            s.key = key;
            s.threads = thread_counts[t];
            sink out = {0};
            run_result r;
            run_decoder(&s, stream, total, FEED_SPLIT, 7, 0, &out, &r);
            ck_assert_msg(r.status == XBCRYPT_OK, "rotation %u: %s", rot, r.msg);
            assert_bytes_eq(out.data, out.len, p, plen, "mixed chunks");
            ck_assert_uint_eq(r.stats.versions_seen, (1u << 1) | (1u << 2) | (1u << 3));
            sink_free(&out);
        }
        free(stream);
    }
    xb_key_free(key);
    free(p);
    for (unsigned v = 0; v < 3; v++)
        free(f[v]);
}
END_TEST

/* ---- the 12,595,257-byte known answer, generated here (not shipped) ---- */

#define BIG_PLAIN 12595257u
#define BIG_STREAM 12613013u

static const kat_entry *big_entry(void)
{
    for (unsigned i = 0; i < KAT_COUNT; i++)
        if (!kat_table[i].shipped && kat_table[i].plaintext_size == BIG_PLAIN)
            return &kat_table[i];
    ck_abort_msg("manifest entry for the %u-byte plaintext is missing", BIG_PLAIN);
    return NULL;
}

/* _i: threads (0, 1, 2, 4). */
START_TEST(test_big_det)
{
    static const unsigned threads[] = {0, 1, 2, 4};
    const kat_entry *e = big_entry();
    ck_assert_str_eq(e->sha256,
                     "0b943ffe745b7381e01ebe9e1ca10c384fe02f8ed2c9ece7bdd804df1f7cbeb4");
    uint8_t *p = gen_plain(BIG_PLAIN);
    char hex[65];
    sha256_hex(p, BIG_PLAIN, hex);
    ck_assert_str_eq(hex, e->plaintext_sha256);

    xbcrypt_key *key = fx_key(e->key);
    xbcrypt_settings s;
    xb_settings_default(&s);
    s.algo = XBCRYPT_ALGO_AES256;
    s.key = key;
    s.threads = threads[_i];
    s.iv_source = det_iv;
    ck_assert_uint_eq(s.chunk_size, e->chunk_size);
    ck_assert_uint_eq(s.read_buffer_size, e->read_buffer_size);
    sink enc = {0};
    run_result r;
    /* Pieces of 1 MiB + 1: boundaries must not follow the feed. */
    double t0 = now_seconds();
    run_encoder(&s, p, BIG_PLAIN, FEED_SPLIT, (1u << 20) + 1, 0, &enc, &r);
    double t1 = now_seconds();
    ck_assert_msg(r.status == XBCRYPT_OK, "%s", r.msg);
    ck_assert_uint_eq(enc.len, BIG_STREAM);
    sha256_hex(enc.data, enc.len, hex);
    ck_assert_str_eq(hex, e->sha256);
    ck_assert_uint_eq(r.stats.chunks, e->chunks);

    sink dec = {0};
    run_decoder(&s, enc.data, enc.len, FEED_SPLIT, 65600, 0, &dec, &r);
    double t2 = now_seconds();
    ck_assert_msg(r.status == XBCRYPT_OK, "%s", r.msg);
    assert_bytes_eq(dec.data, dec.len, p, BIG_PLAIN, "decrypted back");
    /* About 0.05 s each way on the 2-core reference machine; generous bound. */
    ck_assert_msg(t1 - t0 < 20 && t2 - t1 < 20, "encrypt %.3f s, decrypt %.3f s", t1 - t0, t2 - t1);
    sink_free(&enc);
    sink_free(&dec);
    xb_key_free(key);
    free(p);
}
END_TEST

/* Both crypto backends (crypto/xb_crypto_mb.c) over the tests whose
 * answers go through SHA-256 and CRC-32: libgcrypt alone, and the
 * multi-buffer manager for every batch, down to one chunk (where the build
 * and the CPU have it; else the same libgcrypt path runs again). */
static void backend_gcrypt(void)
{
    xb_hasher_test_mode(1);
}

static void backend_mb(void)
{
    xb_hasher_test_mode(2);
}

static void backend_default(void)
{
    xb_hasher_test_mode(0);
}

static void add_backend_tcase(Suite *s, const char *name, void (*setup)(void))
{
    const int n = (int)KAT_COUNT;
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, backend_default);
    tcase_add_loop_test(tc, test_decrypt_fixture, 0, n);
    tcase_add_loop_test(tc, test_encode_reproduces_det, 0, n);
    tcase_add_loop_test(tc, test_bitflip_chunk1, 0, N_WAYS);
    tcase_add_loop_test(tc, test_wrong_key, 0, N_WAYS);
    tcase_add_test(tc, test_mixed_files);
    tcase_add_test(tc, test_mixed_chunks);
    tcase_add_loop_test(tc, test_big_det, 0, 4);
    suite_add_tcase(s, tc);
}

static Suite *kat_suite(void)
{
    Suite *s = suite_create("kat");
    const int n = (int)KAT_COUNT;
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_fixture_integrity, 0, n);
    tcase_add_loop_test(tc, test_decrypt_fixture, 0, n);
    tcase_add_loop_test(tc, test_verify_only, 0, n);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_encode_reproduces_det, 0, n);
    suite_add_tcase(s, tc);

    tc = tcase_create("negative");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_bitflip_chunk1, 0, N_WAYS);
    tcase_add_loop_test(tc, test_truncated, 0, N_WAYS);
    tcase_add_loop_test(tc, test_garbage, 0, N_WAYS);
    tcase_add_loop_test(tc, test_wrong_key, 0, N_WAYS);
    tcase_add_test(tc, test_newline_key);
    tcase_add_test(tc, test_none_stream_under_aes);
    suite_add_tcase(s, tc);

    tc = tcase_create("mixed");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_mixed_files);
    tcase_add_test(tc, test_mixed_chunks);
    suite_add_tcase(s, tc);

    tc = tcase_create("big");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_big_det, 0, 4);
    suite_add_tcase(s, tc);

    add_backend_tcase(s, "backend-libgcrypt", backend_gcrypt);
    add_backend_tcase(s, "backend-multi-buffer", backend_mb);
    return s;
}

int main(void)
{
    return run_suite(kat_suite());
}
