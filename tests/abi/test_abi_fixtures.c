/*
 * test_abi_fixtures.c - the known-answer files, through the shared object.
 *
 * Every file in fixtures/manifest.json decrypts to a plaintext with the
 * listed SHA-256; every det/ file is reproduced byte for byte by the encoder
 * with the fixtures' IV rule, whatever the worker count and however the
 * input is split; legacy versions decrypt; damaged input fails with the
 * right status and releases no plaintext of an unverified chunk.
 */
#include "abi_common.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures/manifest.json ----
 * The manifest is a flat list of objects with string and integer fields;
 * this reads just those fields, without a general JSON parser. */

typedef struct fixture {
    char file[128];
    char algo[16];
    char key_file[64];
    char sha256[65];           /* of the .xbcrypt file */
    char plaintext_sha256[65];
    size_t plaintext_size;
    long chunks;
} fixture;

#define MAX_FIXTURES 64
static fixture fixtures[MAX_FIXTURES];
static size_t n_fixtures;

/* Copies the value of "name": in [obj, end) to out: a string without its
 * quotes, or the digits of a number.  Returns 0 when absent. */
static int json_field(const char *obj, const char *end, const char *name, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = obj;
    size_t plen = strlen(pat);
    while (p && p < end && (p = strstr(p, pat)) != NULL && p < end) {
        p += plen;
        while (*p == ' ' || *p == '\n' || *p == '\t')
            p++;
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (p[n] && p[n] != '"')
                n++;
        } else {
            while (p[n] == '-' || (p[n] >= '0' && p[n] <= '9'))
                n++;
        }
        ck_assert_msg(n < size, "manifest field %s too long", name);
        memcpy(out, p, n);
        out[n] = '\0';
        return 1;
    }
    return 0;
}

static void load_manifest(void)
{
    if (n_fixtures)
        return;
    size_t len;
    uint8_t *raw = abi_read_file(abi_fixture_path("manifest.json"), &len);
    char *text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    memcpy(text, raw, len);
    text[len] = '\0';
    free(raw);
    const char *obj = strstr(text, "\"file\":");
    while (obj) {
        const char *next = strstr(obj + 1, "\"file\":");
        const char *end = next ? next : text + len;
        ck_assert_uint_lt(n_fixtures, MAX_FIXTURES);
        fixture *f = &fixtures[n_fixtures++];
        char num[32];
        ck_assert(json_field(obj, end, "file", f->file, sizeof f->file));
        ck_assert(json_field(obj, end, "algo_option", f->algo, sizeof f->algo));
        ck_assert(json_field(obj, end, "key_file", f->key_file, sizeof f->key_file));
        ck_assert(json_field(obj, end, "sha256", f->sha256, sizeof f->sha256));
        ck_assert(json_field(obj, end, "plaintext_sha256", f->plaintext_sha256,
                             sizeof f->plaintext_sha256));
        ck_assert(json_field(obj, end, "plaintext_size", num, sizeof num));
        f->plaintext_size = (size_t)strtoull(num, NULL, 10);
        ck_assert(json_field(obj, end, "chunks", num, sizeof num));
        f->chunks = strtol(num, NULL, 10);
        obj = next;
    }
    free(text);
    ck_assert_uint_ge(n_fixtures, 27);
}

static xbcrypt_algo algo_of(const char *name)
{
    if (strcmp(name, "NONE") == 0)
        return XBCRYPT_ALGO_NONE;
    if (strcmp(name, "AES128") == 0)
        return XBCRYPT_ALGO_AES128;
    if (strcmp(name, "AES192") == 0)
        return XBCRYPT_ALGO_AES192;
    ck_assert_str_eq(name, "AES256");
    return XBCRYPT_ALGO_AES256;
}

/* Default settings for `algo` with `threads` workers and the key of
 * fixtures/<key_rel> (none for NONE).  Returns that key, for key_free(). */
static xbcrypt_key *settings_for(const xbcrypt_api *api, xbcrypt_algo algo, const char *key_rel,
                                 unsigned threads, xbcrypt_settings *s)
{
    api->settings_default(s);
    s->algo = algo;
    xbcrypt_key *key = algo == XBCRYPT_ALGO_NONE ? NULL : abi_load_key(api, key_rel);
    s->key = key;
    s->threads = threads;
    return key;
}

static void check_sha(const void *data, size_t len, const char *want, const char *what)
{
    uint8_t d[32];
    char hex[65];
    abi_sha256(data, len, d);
    abi_hex32(d, hex);
    ck_assert_msg(strcmp(hex, want) == 0, "%s: sha256 %s, want %s", what, hex, want);
}

/* Worker counts and input splits every stream is run with. */
static const struct {
    unsigned threads;
    size_t split;
} runs[] = {{0, 0}, {1, 0}, {1, 1}, {2, 4093}, {4, 65536}, {8, 100001}};
#define N_RUNS (sizeof runs / sizeof runs[0])

/* ---- decrypt every fixture of the manifest ---- */

START_TEST(test_decrypt_manifest)
{
    abi_plugin p;
    abi_load(&p);
    load_manifest();
    size_t done = 0;
    for (size_t i = 0; i < n_fixtures; i++) {
        const fixture *f = &fixtures[i];
        if (!abi_file_exists(abi_fixture_path(f->file)))
            continue; /* the 12 MB one is not shipped: see test_reencrypt_large */
        size_t len;
        uint8_t *enc = abi_read_file(abi_fixture_path(f->file), &len);
        check_sha(enc, len, f->sha256, f->file);
        xbcrypt_settings s;
        xbcrypt_key *key =
            settings_for(p.api, algo_of(f->algo), f->key_file, runs[_i].threads, &s);
        abi_buf out = {0};
        xbcrypt_stats stats;
        char msg[256];
        xbcrypt_status st =
            abi_decode(p.api, &s, enc, len, runs[_i].split, &out, &stats, msg, sizeof msg);
        ck_assert_msg(st == XBCRYPT_OK, "%s (threads %u, split %zu): %s: %s", f->file, s.threads,
                      runs[_i].split, p.api->status_name(st), msg);
        ck_assert_uint_eq(out.len, f->plaintext_size);
        check_sha(out.data, out.len, f->plaintext_sha256, f->file);
        ck_assert_uint_eq(stats.chunks, (uint64_t)f->chunks);
        ck_assert_uint_eq(stats.plaintext_bytes, f->plaintext_size);
        ck_assert_uint_eq(stats.encrypted_bytes, len);
        ck_assert_uint_eq(stats.bytes_in, len);
        ck_assert_uint_eq(stats.hashed_chunks, (uint64_t)f->chunks);
        ck_assert_uint_eq(stats.size_mismatches, 0);
        if (f->chunks)
            ck_assert_uint_eq(stats.versions_seen, 1u << 3);

        /* The plaintext also matches the shipped plain/pN.bin. */
        char plain[64];
        snprintf(plain, sizeof plain, "plain/p%zu.bin", f->plaintext_size);
        if (abi_file_exists(abi_fixture_path(plain))) {
            size_t plen;
            uint8_t *want = abi_read_file(abi_fixture_path(plain), &plen);
            ck_assert_uint_eq(plen, out.len);
            ck_assert(plen == 0 || memcmp(want, out.data, plen) == 0);
            free(want);
        }
        abi_buf_free(&out);
        p.api->key_free(key);
        free(enc);
        done++;
    }
    ck_assert_uint_ge(done, 27);
    abi_unload(&p);
}
END_TEST

/* ---- reproduce det/ byte for byte ---- */

/* The settings that made det/ file f; NONE needs no key, and the
 * manifest's key is then unused.  Returns the key, for key_free(). */
static xbcrypt_key *det_settings(const xbcrypt_api *api, const fixture *f, unsigned threads,
                                 xbcrypt_settings *s)
{
    xbcrypt_key *key = settings_for(api, algo_of(f->algo), f->key_file, threads, s);
    s->iv_source = abi_det_iv;
    if (strstr(f->file, "_s1024_"))
        s->chunk_size = 1024;
    if (strstr(f->file, "_r100000_"))
        s->read_buffer_size = 100000;
    return key;
}

START_TEST(test_reencrypt_det)
{
    abi_plugin p;
    abi_load(&p);
    load_manifest();
    size_t done = 0;
    for (size_t i = 0; i < n_fixtures; i++) {
        const fixture *f = &fixtures[i];
        if (strncmp(f->file, "det/", 4) != 0 || !abi_file_exists(abi_fixture_path(f->file)))
            continue;
        size_t len;
        uint8_t *want = abi_read_file(abi_fixture_path(f->file), &len);
        uint8_t *plain = abi_plaintext(f->plaintext_size);
        xbcrypt_settings s;
        xbcrypt_key *key = det_settings(p.api, f, runs[_i].threads, &s);
        abi_buf out = {0};
        xbcrypt_stats stats;
        char msg[256];
        xbcrypt_status st = abi_encode(p.api, &s, plain, f->plaintext_size, runs[_i].split, &out,
                                       &stats, msg, sizeof msg);
        ck_assert_msg(st == XBCRYPT_OK, "%s: %s: %s", f->file, p.api->status_name(st), msg);
        ck_assert_msg(out.len == len, "%s (threads %u, split %zu): %zu bytes, want %zu", f->file,
                      s.threads, runs[_i].split, out.len, len);
        size_t at = 0;
        while (at < len && out.data[at] == want[at])
            at++;
        ck_assert_msg(at == len, "%s (threads %u, split %zu): first difference at byte %zu",
                      f->file, s.threads, runs[_i].split, at);
        ck_assert_uint_eq(stats.chunks, (uint64_t)f->chunks);
        ck_assert_uint_eq(stats.bytes_in, f->plaintext_size);
        ck_assert_uint_eq(stats.plaintext_bytes, f->plaintext_size);
        ck_assert_uint_eq(stats.encrypted_bytes, len);
        abi_buf_free(&out);
        p.api->key_free(key);
        free(plain);
        free(want);
        done++;
    }
    ck_assert_uint_ge(done, 26);
    abi_unload(&p);
}
END_TEST

/* The 12,595,257-byte plaintext is over the default 10 MiB read buffer;
 * only its encrypted sha256 is in the manifest. */
START_TEST(test_reencrypt_large)
{
    abi_plugin p;
    abi_load(&p);
    load_manifest();
    const fixture *f = NULL;
    for (size_t i = 0; i < n_fixtures; i++)
        if (strcmp(fixtures[i].file, "det/aes256_p12595257.xbcrypt") == 0)
            f = &fixtures[i];
    ck_assert_ptr_nonnull(f);
    uint8_t *plain = abi_plaintext(f->plaintext_size);
    check_sha(plain, f->plaintext_size, f->plaintext_sha256, "p12595257 by the rule");
    xbcrypt_settings s;
    xbcrypt_key *key = det_settings(p.api, f, 4, &s);
    abi_buf out = {0};
    char msg[256];
    xbcrypt_status st =
        abi_encode(p.api, &s, plain, f->plaintext_size, 1u << 20, &out, NULL, msg, sizeof msg);
    ck_assert_msg(st == XBCRYPT_OK, "%s", msg);
    ck_assert_uint_eq(out.len, 12613013);
    check_sha(out.data, out.len, f->sha256, f->file);

    /* And back. */
    abi_buf back = {0};
    xbcrypt_stats stats;
    st = abi_decode(p.api, &s, out.data, out.len, 3u << 20, &back, &stats, msg, sizeof msg);
    ck_assert_msg(st == XBCRYPT_OK, "%s", msg);
    ck_assert_uint_eq(stats.chunks, (uint64_t)f->chunks);
    ck_assert_uint_eq(back.len, f->plaintext_size);
    ck_assert(memcmp(back.data, plain, back.len) == 0);
    abi_buf_free(&back);
    abi_buf_free(&out);
    p.api->key_free(key);
    free(plain);
    abi_unload(&p);
}
END_TEST

/* ---- legacy versions 1 and 2 ---- */

static const struct {
    const char *file;
    const char *key;
    size_t plaintext_size;
    unsigned version;
} legacy[] = {
    {"legacy/v1_aes128_p1023.xbcrypt", "keys/key16.bin", 1023, 1},
    {"legacy/v1_aes256_p200000.xbcrypt", "keys/key32.bin", 200000, 1},
    {"legacy/v2_aes256_p200000.xbcrypt", "keys/key32.bin", 200000, 2},
};

typedef struct chunk_log {
    size_t n;
    xbcrypt_chunk_info info[256];
} chunk_log;

static void log_chunk(void *opaque, const xbcrypt_chunk_info *info)
{
    chunk_log *log = opaque;
    ck_assert_uint_ge(info->struct_size, sizeof *info);
    ck_assert_uint_lt(log->n, 256);
    log->info[log->n++] = *info;
}

START_TEST(test_decrypt_legacy)
{
    abi_plugin p;
    abi_load(&p);
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++) {
        size_t len;
        uint8_t *enc = abi_read_file(abi_fixture_path(legacy[i].file), &len);
        uint8_t *plain = abi_plaintext(legacy[i].plaintext_size);
        xbcrypt_settings s;
        xbcrypt_key *key =
            settings_for(p.api, XBCRYPT_ALGO_AES256, legacy[i].key, runs[_i].threads, &s);
        chunk_log log = {0};
        s.on_chunk = log_chunk;
        s.chunk_opaque = &log;
        abi_buf out = {0};
        xbcrypt_stats stats;
        char msg[256];
        xbcrypt_status st =
            abi_decode(p.api, &s, enc, len, runs[_i].split, &out, &stats, msg, sizeof msg);
        ck_assert_msg(st == XBCRYPT_OK, "%s: %s", legacy[i].file, msg);
        ck_assert_uint_eq(out.len, legacy[i].plaintext_size);
        ck_assert(memcmp(out.data, plain, out.len) == 0);
        ck_assert_uint_eq(stats.versions_seen, 1u << legacy[i].version);
        ck_assert_uint_eq(stats.hashed_chunks, 0);
        ck_assert_uint_eq(log.n, stats.chunks);
        uint64_t offset = 0;
        for (size_t c = 0; c < log.n; c++) {
            ck_assert_uint_eq(log.info[c].index, c);
            ck_assert_uint_eq(log.info[c].offset, offset);
            ck_assert_uint_eq(log.info[c].version, legacy[i].version);
            ck_assert_uint_eq(log.info[c].hash_checked, 0);
            ck_assert_uint_eq(log.info[c].iv_size, legacy[i].version == 1 ? 0 : 16);
            offset += (legacy[i].version == 1 ? 36 : 44 + log.info[c].iv_size) +
                      log.info[c].encrypted_size;
        }
        ck_assert_uint_eq(offset, len);
        abi_buf_free(&out);
        p.api->key_free(key);
        free(plain);
        free(enc);
    }
    abi_unload(&p);
}
END_TEST

/* The chunk callback sees each chunk once, in order, with its header. */
START_TEST(test_chunk_callback)
{
    abi_plugin p;
    abi_load(&p);
    size_t len;
    uint8_t *enc = abi_read_file(abi_fixture_path("det/aes256_p200000.xbcrypt"), &len);
    xbcrypt_settings s;
    xbcrypt_key *key = settings_for(p.api, XBCRYPT_ALGO_AES256, "keys/key32.bin", 4, &s);
    chunk_log log = {0};
    s.on_chunk = log_chunk;
    s.chunk_opaque = &log;
    abi_buf out = {0};
    char msg[256];
    ck_assert_int_eq(abi_decode(p.api, &s, enc, len, 777, &out, NULL, msg, sizeof msg),
                     XBCRYPT_OK);
    static const uint64_t sizes[] = {65536, 65536, 65536, 3392};
    ck_assert_uint_eq(log.n, 4);
    uint64_t offset = 0;
    for (size_t c = 0; c < 4; c++) {
        const xbcrypt_chunk_info *ci = &log.info[c];
        uint8_t iv[16];
        abi_det_iv(NULL, c, iv);
        ck_assert_uint_eq(ci->index, c);
        ck_assert_uint_eq(ci->offset, offset);
        ck_assert_uint_eq(ci->version, 3);
        ck_assert_uint_eq(ci->plaintext_size, sizes[c]);
        ck_assert_uint_eq(ci->original_size, sizes[c] + 32);
        ck_assert_uint_eq(ci->encrypted_size, sizes[c] + 32);
        ck_assert_uint_eq(ci->iv_size, 16);
        ck_assert(memcmp(ci->iv, iv, 16) == 0);
        ck_assert_int_eq(ci->hash_checked, 1);
        offset += 44 + 16 + ci->encrypted_size;
    }
    ck_assert_uint_eq(offset, len);

    /* The encoder reports the same chunks. */
    chunk_log elog = {0};
    abi_buf again = {0};
    s.on_chunk = log_chunk;
    s.chunk_opaque = &elog;
    s.iv_source = abi_det_iv;
    ck_assert_int_eq(abi_encode(p.api, &s, out.data, out.len, 0, &again, NULL, msg, sizeof msg),
                     XBCRYPT_OK);
    ck_assert_uint_eq(elog.n, 4);
    for (size_t c = 0; c < 4; c++) {
        ck_assert_uint_eq(elog.info[c].index, c);
        ck_assert_uint_eq(elog.info[c].offset, log.info[c].offset);
        ck_assert_uint_eq(elog.info[c].plaintext_size, sizes[c]);
        ck_assert_uint_eq(elog.info[c].crc, log.info[c].crc);
    }
    abi_buf_free(&again);
    abi_buf_free(&out);
    p.api->key_free(key);
    free(enc);
    abi_unload(&p);
}
END_TEST

/* Without a write callback the decoder only verifies; without a key it
 * checks structure and CRCs, and says it hashed nothing. */
START_TEST(test_verify_only)
{
    abi_plugin p;
    abi_load(&p);
    size_t len;
    uint8_t *enc = abi_read_file(abi_fixture_path("det/aes192_p200000.xbcrypt"), &len);
    xbcrypt_settings s;
    p.api->settings_default(&s);
    s.algo = XBCRYPT_ALGO_AES192;
    xbcrypt_stats stats;
    char msg[256];
    ck_assert_int_eq(abi_decode(p.api, &s, enc, len, 1000, NULL, &stats, msg, sizeof msg),
                     XBCRYPT_OK);
    ck_assert_uint_eq(stats.chunks, 4);
    ck_assert_uint_eq(stats.hashed_chunks, 0);
    xbcrypt_key *key = abi_load_key(p.api, "keys/key24.bin");
    s.key = key;
    ck_assert_int_eq(abi_decode(p.api, &s, enc, len, 0, NULL, &stats, msg, sizeof msg),
                     XBCRYPT_OK);
    ck_assert_uint_eq(stats.chunks, 4);
    ck_assert_uint_eq(stats.hashed_chunks, 4);
    p.api->key_free(key);
    free(enc);
    abi_unload(&p);
}
END_TEST

/* As in libgcrypt, the key's length picks the AES variant, not the name. */
START_TEST(test_key_length_picks_aes)
{
    abi_plugin p;
    abi_load(&p);
    size_t len;
    uint8_t *enc = abi_read_file(abi_fixture_path("det/aes256_p65537.xbcrypt"), &len);
    xbcrypt_settings s;
    xbcrypt_key *key = settings_for(p.api, XBCRYPT_ALGO_AES128, "keys/key32.bin", 1, &s);
    abi_buf out = {0};
    char msg[256];
    ck_assert_int_eq(abi_decode(p.api, &s, enc, len, 0, &out, NULL, msg, sizeof msg), XBCRYPT_OK);
    ck_assert_uint_eq(out.len, 65537);
    abi_buf_free(&out);
    p.api->key_free(key);
    free(enc);
    abi_unload(&p);
}
END_TEST

/* ---- damaged input ---- */

static const struct {
    const char *file;
    const char *key;
    xbcrypt_status want;
    size_t max_out;
} damaged[] = {
    {"negative/payload_bitflip_chunk1.xbcrypt", "keys/key32.bin", XBCRYPT_E_CRC, 65536},
    {"negative/trunc_150000.xbcrypt", "keys/key32.bin", XBCRYPT_E_TRUNCATED, 131072},
    {"negative/garbage_random4096.bin", "keys/key32.bin", XBCRYPT_E_MAGIC, 0},
    {"det/aes256_p200000.xbcrypt", "keys/key32_wrong.bin", XBCRYPT_E_WRONG_KEY, 0},
};

START_TEST(test_damaged)
{
    abi_plugin p;
    abi_load(&p);
    uint8_t *plain = abi_plaintext(200000);
    for (size_t i = 0; i < sizeof damaged / sizeof damaged[0]; i++) {
        size_t len;
        uint8_t *enc = abi_read_file(abi_fixture_path(damaged[i].file), &len);
        xbcrypt_settings s;
        xbcrypt_key *key =
            settings_for(p.api, XBCRYPT_ALGO_AES256, damaged[i].key, runs[_i].threads, &s);
        abi_buf out = {0};
        char msg[256];
        xbcrypt_status st =
            abi_decode(p.api, &s, enc, len, runs[_i].split, &out, NULL, msg, sizeof msg);
        ck_assert_msg(st == damaged[i].want, "%s (threads %u, split %zu): got %s (%s), want %s",
                      damaged[i].file, s.threads, runs[_i].split, p.api->status_name(st), msg,
                      p.api->status_name(damaged[i].want));
        ck_assert_msg(msg[0] != '\0', "%s: no message", damaged[i].file);
        /* Nothing from the bad chunk or after it, and what came out is right. */
        ck_assert_msg(out.len <= damaged[i].max_out, "%s: %zu bytes out, at most %zu allowed",
                      damaged[i].file, out.len, damaged[i].max_out);
        ck_assert(out.len == 0 || memcmp(out.data, plain, out.len) == 0);
        abi_buf_free(&out);
        p.api->key_free(key);
        free(enc);
    }
    free(plain);
    abi_unload(&p);
}
END_TEST

/* An IV source that fails stops the encoder before a chunk is written. */
static int failing_iv(void *opaque, uint64_t chunk_index, uint8_t iv[16])
{
    (void)opaque;
    (void)chunk_index;
    memset(iv, 0, 16);
    return 1;
}

START_TEST(test_iv_source_failure)
{
    abi_plugin p;
    abi_load(&p);
    xbcrypt_settings s;
    p.api->settings_default(&s);
    xbcrypt_key *key = abi_load_key(p.api, "keys/key32.bin");
    s.key = key;
    s.iv_source = failing_iv;
    uint8_t *plain = abi_plaintext(5000);
    abi_buf out = {0};
    char msg[256];
    xbcrypt_status st = abi_encode(p.api, &s, plain, 5000, 0, &out, NULL, msg, sizeof msg);
    ck_assert_int_ne(st, XBCRYPT_OK);
    ck_assert(msg[0] != '\0');
    ck_assert_uint_eq(out.len, 0);
    abi_buf_free(&out);
    free(plain);
    p.api->key_free(key);
    abi_unload(&p);
}
END_TEST

static Suite *fixtures_suite(void)
{
    Suite *s = suite_create("abi-fixtures");
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_decrypt_manifest, 0, (int)N_RUNS);
    tcase_add_loop_test(tc, test_reencrypt_det, 0, (int)N_RUNS);
    tcase_add_test(tc, test_reencrypt_large);
    tcase_add_loop_test(tc, test_decrypt_legacy, 0, (int)N_RUNS);
    tcase_add_test(tc, test_chunk_callback);
    tcase_add_test(tc, test_verify_only);
    tcase_add_test(tc, test_key_length_picks_aes);
    tcase_add_loop_test(tc, test_damaged, 0, (int)N_RUNS);
    tcase_add_test(tc, test_iv_source_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return abi_run_suite(fixtures_suite(), CK_FORK_GETENV);
}
