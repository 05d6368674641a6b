/*
 * test_crypto_mb.c - the batch hasher (plugin/crypto/xb_crypto_mb.c):
 * SHA-256 of batches of 1 to 16 buffers of random lengths 0 to 300,000
 * (mixed lengths sharing the lanes), lengths at the 64-byte block edges and
 * at the 65,534-byte limit of libipsec-mb's checked submit, the longest
 * buffer handed to the unchecked submit and one past it, each against
 * libgcrypt's one-stream SHA-256; CRC-32 against libgcrypt's on random
 * lengths; a NULL buffer fails its own item only; the backend chosen is the
 * one the build and the CPU allow.  Every test runs in each backend mode.
 */
#include "crypto/xb_crypto.h"
#include "unit_util.h"

#include <stdlib.h>
#include <string.h>

#ifndef XB_HAVE_IPSEC_MB
#define XB_HAVE_IPSEC_MB 0
#endif

/* _i of the loop tests: the backend mode (xb_hasher_test_mode). */
#define N_MODES 3

static void setup(void)
{
    char msg[256] = "";
    ck_assert_msg(xb_crypto_init(msg, sizeof msg) == XBCRYPT_OK, "init: %s", msg);
}

static void teardown(void)
{
    xb_hasher_test_mode(0);
}

static xb_hasher *open_mode(int mode)
{
    xb_hasher_test_mode(mode);
    xb_hasher *h = NULL;
    ck_assert_int_eq(xb_hasher_open(&h), XBCRYPT_OK);
    ck_assert_ptr_nonnull(h);
    return h;
}

/* Random bytes from the tests' PRNG, so a failure reproduces. */
static uint8_t *random_buf(size_t len, uint64_t *rng)
{
    uint8_t *b = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(prng_next(rng) >> 56);
    return b;
}

/* Hashes bufs[0..n) (lengths lens[]) as one batch and checks every digest
 * against libgcrypt's. */
static void check_batch(xb_hasher *h, uint8_t **bufs, const size_t *lens, unsigned n,
                        const char *what)
{
    xb_hash_item items[16];
    uint8_t out[16][XB_SHA256_SIZE], want[XB_SHA256_SIZE];
    ck_assert_uint_le(n, 16);
    memset(out, 0, sizeof out);
    for (unsigned i = 0; i < n; i++)
        items[i] = (xb_hash_item){.buf = bufs[i], .len = lens[i], .out = out[i]};
    ck_assert_msg(xb_hasher_sha256(h, items, n) == XBCRYPT_OK, "%s: batch of %u failed", what, n);
    for (unsigned i = 0; i < n; i++) {
        ck_assert_msg(items[i].status == XBCRYPT_OK, "%s: item %u: %s", what, i, items[i].why);
        xb_sha256(want, bufs[i], lens[i]);
        ck_assert_msg(memcmp(out[i], want, sizeof want) == 0,
                      "%s (%s): item %u of %u, %zu bytes: digest differs from libgcrypt's", what,
                      xb_hasher_backend(h), i, n, lens[i]);
    }
}

/* 40 batches of every size 1..16 in turn, lengths uniform in 0..300000. */
START_TEST(test_sha_random_lengths)
{
    xb_hasher *h = open_mode(_i);
    uint64_t rng = 0x9e3779b97f4a7c15u + (uint64_t)_i;
    for (unsigned round = 0; round < 40; round++) {
        unsigned n = 1 + round % 16;
        uint8_t *bufs[16];
        size_t lens[16];
        for (unsigned i = 0; i < n; i++) {
            lens[i] = (size_t)(prng_next(&rng) % 300001);
            bufs[i] = random_buf(lens[i], &rng);
        }
        check_batch(h, bufs, lens, n, "random lengths");
        for (unsigned i = 0; i < n; i++)
            free(bufs[i]);
    }
    xb_hasher_close(h);
}
END_TEST

/* The lengths where a lane's padding or a length limit changes: block
 * edges, the checked submit's 65,534, a 64 KiB chunk and its 32-byte hash,
 * 2 MiB (the unchecked submit's limit here) and one byte past it. */
START_TEST(test_sha_edges)
{
    static const size_t lens[16] = {0,     1,     55,    56,    63,          64,
                                    65,    119,   120,   65534, 65535,       65536,
                                    65568, 200000, 2u << 20, (2u << 20) + 1};
    xb_hasher *h = open_mode(_i);
    uint64_t rng = 42;
    uint8_t *bufs[16];
    for (unsigned i = 0; i < 16; i++)
        bufs[i] = random_buf(lens[i], &rng);
    check_batch(h, bufs, lens, 16, "edge lengths, one batch");
    /* and each alone, a lane by itself */
    for (unsigned i = 0; i < 16; i++)
        check_batch(h, &bufs[i], &lens[i], 1, "edge length alone");
    for (unsigned i = 0; i < 16; i++)
        free(bufs[i]);
    xb_hasher_close(h);
}
END_TEST

/* The same buffer hashed in every lane, and a batch where one length
 * dwarfs the rest (lanes finish at very different times). */
START_TEST(test_sha_uneven_batch)
{
    xb_hasher *h = open_mode(_i);
    uint64_t rng = 7;
    uint8_t *big = random_buf(300000, &rng);
    uint8_t *bufs[16];
    size_t lens[16];
    for (unsigned i = 0; i < 16; i++) {
        bufs[i] = big;
        lens[i] = i == 3 ? 300000 : i;
    }
    check_batch(h, bufs, lens, 16, "one long lane among short ones");
    for (unsigned i = 0; i < 16; i++)
        lens[i] = 65536;
    check_batch(h, bufs, lens, 16, "16 equal lanes");
    free(big);
    xb_hasher_close(h);
}
END_TEST

/* A NULL buffer (with a length) fails its own item, not the others. */
START_TEST(test_sha_null_item)
{
    xb_hasher *h = open_mode(_i);
    uint8_t data[100], out[8][XB_SHA256_SIZE], want[XB_SHA256_SIZE];
    memset(data, 0x5a, sizeof data);
    xb_hash_item items[8];
    for (unsigned i = 0; i < 8; i++)
        items[i] = (xb_hash_item){.buf = data, .len = sizeof data, .out = out[i]};
    items[5].buf = NULL;
    ck_assert_int_eq(xb_hasher_sha256(h, items, 8), XBCRYPT_E_ARG);
    xb_sha256(want, data, sizeof data);
    for (unsigned i = 0; i < 8; i++) {
        if (i == 5) {
            ck_assert_int_eq(items[i].status, XBCRYPT_E_ARG);
            ck_assert_ptr_nonnull(items[i].why);
        } else {
            ck_assert_int_eq(items[i].status, XBCRYPT_OK);
            ck_assert_mem_eq(out[i], want, sizeof want);
        }
    }
    xb_hasher_close(h);
}
END_TEST

START_TEST(test_crc_random_lengths)
{
    xb_hasher *h = open_mode(_i);
    ck_assert_uint_eq(xb_hasher_crc32(h, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(xb_hasher_crc32(h, "", 0), 0);
    uint64_t rng = 99 + (uint64_t)_i;
    for (unsigned round = 0; round < 200; round++) {
        size_t len = round < 70 ? round : (size_t)(prng_next(&rng) % 300001);
        uint8_t *b = random_buf(len, &rng);
        ck_assert_msg(xb_hasher_crc32(h, b, len) == xb_crc32(b, len),
                      "%s: CRC-32 of %zu bytes differs from libgcrypt's", xb_hasher_backend(h), len);
        free(b);
    }
    xb_hasher_close(h);
}
END_TEST

static bool cpu_runs_avx512_manager(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512dq");
#else
    return false;
#endif
}

/* The backend is what the build and the CPU allow, and mode 1 forces
 * libgcrypt. */
START_TEST(test_backend_choice)
{
    xb_hasher *h = open_mode(0);
    const bool mb = XB_HAVE_IPSEC_MB && cpu_runs_avx512_manager();
    ck_assert_msg(xb_hasher_lanes(h) == (mb ? 16u : 1u), "%s: %u lanes", xb_hasher_backend(h),
                  xb_hasher_lanes(h));
    ck_assert_uint_eq(xb_hasher_min_batch(h), mb ? 5u : 1u);
    ck_assert_int_eq(strncmp(xb_hasher_backend(h), mb ? "libipsec-mb" : "libgcrypt",
                             mb ? 11 : 9),
                     0);
    xb_hasher_close(h);

    h = open_mode(1);
    ck_assert_uint_eq(xb_hasher_lanes(h), 1);
    ck_assert_str_eq(xb_hasher_backend(h), "libgcrypt");
    xb_hasher_close(h);

    h = open_mode(2);
    ck_assert_uint_eq(xb_hasher_lanes(h), mb ? 16u : 1u);
    ck_assert_uint_eq(xb_hasher_min_batch(h), 1);
    xb_hasher_close(h);
}
END_TEST

static Suite *crypto_mb_suite(void)
{
    Suite *s = suite_create("crypto_mb");
    TCase *tc = tcase_create("hasher");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_sha_random_lengths, 0, N_MODES);
    tcase_add_loop_test(tc, test_sha_edges, 0, N_MODES);
    tcase_add_loop_test(tc, test_sha_uneven_batch, 0, N_MODES);
    tcase_add_loop_test(tc, test_sha_null_item, 0, N_MODES);
    tcase_add_loop_test(tc, test_crc_random_lengths, 0, N_MODES);
    tcase_add_test(tc, test_backend_choice);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(crypto_mb_suite());
}
