/*
 * abi_common.c - see abi_common.h.
 */
#include "abi_common.h"

#include <check.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void abi_load(abi_plugin *p)
{
    const char *path = getenv("XBCRYPT_PLUGIN");
    ck_assert_msg(path != NULL && *path, "XBCRYPT_PLUGIN is not set");
    memset(p, 0, sizeof *p);
    p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(p->handle != NULL, "dlopen %s: %s", path, dlerror());
    /* ISO C has no conversion from void * to a function pointer; POSIX
     * guarantees the representation, so copy the bytes. */
    void *sym = dlsym(p->handle, XBCRYPT_PLUGIN_SYMBOL);
    ck_assert_msg(sym != NULL, "dlsym %s: %s", XBCRYPT_PLUGIN_SYMBOL, dlerror());
    memcpy(&p->entry, &sym, sizeof p->entry);
    p->api = p->entry(XBCRYPT_ABI_MAJOR);
    ck_assert_ptr_nonnull(p->api);
    ck_assert_uint_eq(p->api->abi_major, XBCRYPT_ABI_MAJOR);
    ck_assert_msg(XBCRYPT_API_HAS(p->api, extension), "table too short: %zu bytes",
                  p->api->struct_size);
    ck_assert_int_eq(p->api->init(), XBCRYPT_OK);
}

void abi_unload(abi_plugin *p)
{
    if (p->api)
        p->api->cleanup();
    if (p->handle)
        ck_assert_int_eq(dlclose(p->handle), 0);
    memset(p, 0, sizeof *p);
}

int abi_buf_write(void *opaque, const void *buf, size_t len)
{
    abi_buf *b = opaque;
    b->calls++;
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < len)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, buf, len);
    b->len += len;
    return 0;
}

void abi_buf_free(abi_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int abi_det_iv(void *opaque, uint64_t chunk_index, uint8_t iv[16])
{
    (void)opaque;
    for (unsigned i = 0; i < 16; i++)
        iv[i] = (uint8_t)((16u * chunk_index + i) & 0xffu);
    return 0;
}

const char *abi_fixture_path(const char *rel)
{
    static char path[4096];
    const char *dir = getenv("XBCRYPT_FIXTURES");
    ck_assert_msg(dir != NULL && *dir, "XBCRYPT_FIXTURES is not set");
    int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
    ck_assert(n > 0 && (size_t)n < sizeof path);
    return path;
}

uint8_t *abi_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    abi_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ck_assert_int_eq(abi_buf_write(&b, chunk, n), 0);
    ck_assert_msg(!ferror(f), "cannot read %s", path);
    fclose(f);
    if (!b.data)
        b.data = malloc(1);
    ck_assert_ptr_nonnull(b.data);
    *len = b.len;
    return b.data;
}

int abi_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

uint8_t *abi_plaintext(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 7u) % 251u);
    return p;
}

/* --- SHA-256 (FIPS 180-4) --- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void sha_block(uint32_t h[8], const uint8_t blk[64])
{
    uint32_t w[64];
    for (unsigned i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
               (uint32_t)blk[4 * i + 2] << 8 | (uint32_t)blk[4 * i + 3];
    for (unsigned i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (unsigned i = 0; i < 64; i++) {
        uint32_t t1 = k + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha_k[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

void abi_sha256(const void *data, size_t len, uint8_t out[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t left = len;
    while (left >= 64) {
        sha_block(h, p);
        p += 64;
        left -= 64;
    }
    uint8_t tail[128] = {0};
    if (left)
        memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tail_len = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8u;
    for (unsigned i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < tail_len; off += 64)
        sha_block(h, tail + off);
    for (unsigned i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

void abi_hex32(const uint8_t in[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[64] = '\0';
}

/* --- whole streams --- */

static void copy_msg(char *msg, size_t msg_size, const char *text)
{
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", text ? text : "(null message)");
}

/* abi_encode() or abi_decode(): the encoder and the decoder have the same
 * shape, so one sequence of calls drives either. */
static xbcrypt_status run_stream(const xbcrypt_api *api, bool decrypt, const xbcrypt_settings *s,
                                 const void *data, size_t len, size_t split, abi_buf *out,
                                 xbcrypt_stats *stats, char *msg, size_t msg_size)
{
    xbcrypt_encoder *enc = NULL;
    xbcrypt_decoder *dec = NULL;
    xbcrypt_status st =
        decrypt ? api->decoder_new(s, out ? abi_buf_write : NULL, out, &dec, msg, msg_size)
                : api->encoder_new(s, abi_buf_write, out, &enc, msg, msg_size);
    if (st != XBCRYPT_OK) {
        ck_assert_ptr_null(decrypt ? (void *)dec : (void *)enc);
        return st;
    }
    ck_assert_ptr_nonnull(decrypt ? (void *)dec : (void *)enc);
    const uint8_t *p = data;
    size_t step = split ? split : len;
    for (size_t off = 0; st == XBCRYPT_OK && off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        st = decrypt ? api->decoder_feed(dec, p + off, n) : api->encoder_feed(enc, p + off, n);
    }
    if (st == XBCRYPT_OK)
        st = decrypt ? api->decoder_finish(dec) : api->encoder_finish(enc);
    ck_assert_int_eq(decrypt ? api->decoder_status(dec) : api->encoder_status(enc), st);
    copy_msg(msg, msg_size, decrypt ? api->decoder_message(dec) : api->encoder_message(enc));
    if (stats) {
        memset(stats, 0, sizeof *stats);
        if (decrypt)
            api->decoder_stats(dec, stats);
        else
            api->encoder_stats(enc, stats);
    }
    if (decrypt)
        api->decoder_free(dec);
    else
        api->encoder_free(enc);
    return st;
}

xbcrypt_status abi_encode(const xbcrypt_api *api, const xbcrypt_settings *s, const void *data,
                          size_t len, size_t split, abi_buf *out, xbcrypt_stats *stats, char *msg,
                          size_t msg_size)
{
    return run_stream(api, false, s, data, len, split, out, stats, msg, msg_size);
}

xbcrypt_status abi_decode(const xbcrypt_api *api, const xbcrypt_settings *s, const void *data,
                          size_t len, size_t split, abi_buf *out, xbcrypt_stats *stats, char *msg,
                          size_t msg_size)
{
    return run_stream(api, true, s, data, len, split, out, stats, msg, msg_size);
}

/* --- running the suite --- */

int abi_run_suite(Suite *s, enum fork_status fork)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, fork);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

Suite *abi_suite_of_one(const char *suite, const char *tcase, double timeout, const TTest *test)
{
    Suite *s = suite_create(suite);
    TCase *tc = tcase_create(tcase);
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
    return s;
}

xbcrypt_key *abi_load_key(const xbcrypt_api *api, const char *rel)
{
    char msg[256];
    xbcrypt_key *key = NULL;
    xbcrypt_status st = api->key_from_file(abi_fixture_path(rel), &key, msg, sizeof msg);
    ck_assert_msg(st == XBCRYPT_OK, "key %s: %s", rel, msg);
    return key;
}
