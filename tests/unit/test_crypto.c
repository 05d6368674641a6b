/*
 * test_crypto.c - the libgcrypt layer (plugin/crypto): AES-CTR against the
 * NIST SP 800-38A vectors for every key size, keystream continuity across
 * calls of odd lengths, the 128-bit big-endian counter, key lengths refused,
 * SHA-256 and CRC-32 check values, constant-time compare, secure memory.
 */
#include "crypto/xb_crypto.h"
#include "unit_util.h"

/* SP 800-38A F.5: the same counter block and plaintext for all three. */
static const char *nist_ctr = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const char *nist_plain =
    "6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710";

static const struct {
    const char *name;
    const char *key;
    const char *cipher;
} nist[] = {
    {"F.5.1 CTR-AES128", "2b7e151628aed2a6abf7158809cf4f3c",
     "874d6191b620e3261bef6864990db6ce" "9806f66b7970fdff8617187bb9fffdff"
     "5ae4df3edbd5d35e5b4f09020db03eab" "1e031dda2fbe03d1792170a0f3009cee"},
    {"F.5.3 CTR-AES192", "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
     "1abc932417521ca24f2b0459fe7e6e0b" "090339ec0aa6faefd5ccc2c6f4ce8e94"
     "1e36b26bd1ebc670d1bd1d665620abf7" "4f78a7f6d29809585a97daec58c6b050"},
    {"F.5.5 CTR-AES256", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
     "601ec313775789a5b7a7f504bbf3d228" "f443e3ca4d62b59aca84e990cacaf5c5"
     "2b0930daa23de94ce87017ba2d84988d" "dfc9c58db67aada613c2dd08457941a6"},
};

static void setup(void)
{
    char msg[256] = "";
    ck_assert_msg(xb_crypto_init(msg, sizeof msg) == XBCRYPT_OK, "init: %s", msg);
}

static xb_cipher *open_hex(const char *key_hex)
{
    uint8_t key[32];
    size_t n = strlen(key_hex) / 2;
    ck_assert(unhex(key_hex, key, n));
    xb_cipher *c = NULL;
    char msg[256] = "";
    ck_assert_msg(xb_cipher_open(&c, key, n, msg, sizeof msg) == XBCRYPT_OK, "%s", msg);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* _i: which NIST vector. */
START_TEST(test_nist_ctr)
{
    uint8_t ctr[16], buf[64], expect[64];
    ck_assert(unhex(nist_ctr, ctr, 16));
    ck_assert(unhex(nist_plain, buf, 64));
    ck_assert(unhex(nist[_i].cipher, expect, 64));
    xb_cipher *c = open_hex(nist[_i].key);
    ck_assert_int_eq(xb_cipher_reset(c, ctr), XBCRYPT_OK);
    ck_assert_int_eq(xb_cipher_apply(c, buf, 64), XBCRYPT_OK);
    assert_bytes_eq(buf, 64, expect, 64, nist[_i].name);

    /* CTR decryption is the same operation from the same counter. */
    ck_assert_int_eq(xb_cipher_reset(c, ctr), XBCRYPT_OK);
    ck_assert_int_eq(xb_cipher_apply(c, buf, 64), XBCRYPT_OK);
    uint8_t plain[64];
    ck_assert(unhex(nist_plain, plain, 64));
    assert_bytes_eq(buf, 64, plain, 64, "decrypted back");

    /* Each block alone from its own counter (f0..ff, +1, +2, +3). */
    for (unsigned b = 0; b < 4; b++) {
        uint8_t blk_ctr[16], blk[16];
        memcpy(blk_ctr, ctr, 16);
        blk_ctr[15] = (uint8_t)(blk_ctr[15] + b); /* 0xff + b wraps into byte 14 */
        if (b > 0)
            blk_ctr[14] = (uint8_t)(blk_ctr[14] + 1);
        memcpy(blk, plain + 16 * b, 16);
        ck_assert_int_eq(xb_cipher_reset(c, blk_ctr), XBCRYPT_OK);
        ck_assert_int_eq(xb_cipher_apply(c, blk, 16), XBCRYPT_OK);
        assert_bytes_eq(blk, 16, expect + 16 * b, 16, "single block");
    }
    xb_cipher_close(c);
}
END_TEST

/* One apply() over n bytes equals many applies of odd lengths. */
START_TEST(test_keystream_continues)
{
    static const size_t pieces[] = {1, 3, 5, 7, 13, 15, 17, 31, 33, 63, 65, 127, 129, 1, 1, 255, 9};
    enum { N = 1500 };
    uint8_t a[N], b[N], ctr[16];
    uint64_t rng = 42;
    for (unsigned i = 0; i < N; i++)
        a[i] = b[i] = (uint8_t)prng_next(&rng);
    for (unsigned i = 0; i < 16; i++)
        ctr[i] = (uint8_t)(0xf0 + i);
    for (unsigned k = 0; k < 3; k++) {
        xb_cipher *c = open_hex(nist[k].key);
        uint8_t x[N], y[N];
        memcpy(x, a, N);
        memcpy(y, b, N);
        ck_assert_int_eq(xb_cipher_reset(c, ctr), XBCRYPT_OK);
        ck_assert_int_eq(xb_cipher_apply(c, x, N), XBCRYPT_OK);
        ck_assert_int_eq(xb_cipher_reset(c, ctr), XBCRYPT_OK);
        size_t pos = 0;
        for (unsigned p = 0; pos < N; p = (p + 1) % (sizeof pieces / sizeof pieces[0])) {
            size_t n = pieces[p] < N - pos ? pieces[p] : N - pos;
            ck_assert_int_eq(xb_cipher_apply(c, y + pos, n), XBCRYPT_OK);
            ck_assert_int_eq(xb_cipher_apply(c, y + pos, 0), XBCRYPT_OK); /* no-op */
            pos += n;
        }
        assert_bytes_eq(x, N, y, N, "split keystream");
        /* reset() starts over, whatever was consumed. */
        uint8_t z[N];
        memcpy(z, a, N);
        ck_assert_int_eq(xb_cipher_apply(c, z, 5), XBCRYPT_OK);
        memcpy(z, a, N);
        ck_assert_int_eq(xb_cipher_reset(c, ctr), XBCRYPT_OK);
        ck_assert_int_eq(xb_cipher_apply(c, z, N), XBCRYPT_OK);
        assert_bytes_eq(x, N, z, N, "after reset");
        xb_cipher_close(c);
    }
}
END_TEST

/* The counter is one 128-bit big-endian integer: it carries across the
 * 64-bit halves and wraps at 2^128. */
START_TEST(test_counter_is_128_bit)
{
    xb_cipher *c = open_hex(nist[2].key);
    uint8_t ctr[16], next[16], two[32], one[16];
    memset(ctr, 0, 8);
    memset(ctr + 8, 0xff, 8);  /* 00..00 ff..ff */
    memset(next, 0, 16);
    next[7] = 1;               /* 00..01 00..00 */
    memset(two, 0, sizeof two);
    ck_assert_int_eq(xb_cipher_reset(c, ctr), XBCRYPT_OK);
    ck_assert_int_eq(xb_cipher_apply(c, two, 32), XBCRYPT_OK);
    memset(one, 0, 16);
    ck_assert_int_eq(xb_cipher_reset(c, next), XBCRYPT_OK);
    ck_assert_int_eq(xb_cipher_apply(c, one, 16), XBCRYPT_OK);
    assert_bytes_eq(two + 16, 16, one, 16, "carry into the high half");

    memset(ctr, 0xff, 16);
    memset(next, 0, 16);
    memset(two, 0, sizeof two);
    ck_assert_int_eq(xb_cipher_reset(c, ctr), XBCRYPT_OK);
    ck_assert_int_eq(xb_cipher_apply(c, two, 32), XBCRYPT_OK);
    memset(one, 0, 16);
    ck_assert_int_eq(xb_cipher_reset(c, next), XBCRYPT_OK);
    ck_assert_int_eq(xb_cipher_apply(c, one, 16), XBCRYPT_OK);
    assert_bytes_eq(two + 16, 16, one, 16, "wrap at 2^128");
    xb_cipher_close(c);
}
END_TEST

START_TEST(test_key_lengths_refused)
{
    static const size_t bad[] = {0, 1, 8, 15, 17, 23, 25, 31, 33, 48, 64};
    uint8_t key[64] = {0};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xb_cipher *c = (xb_cipher *)(uintptr_t)1;
        char msg[256] = "";
        ck_assert_int_eq(xb_cipher_open(&c, key, bad[i], msg, sizeof msg), XBCRYPT_E_KEY);
        ck_assert_ptr_null(c);
        ck_assert_msg(strstr(msg, "16, 24 or 32") != NULL, "message: %s", msg);
        /* A NULL message buffer is allowed. */
        ck_assert_int_eq(xb_cipher_open(&c, key, bad[i], NULL, 0), XBCRYPT_E_KEY);
    }
    static const size_t good[] = {16, 24, 32};
    for (unsigned i = 0; i < 3; i++) {
        xb_cipher *c = NULL;
        ck_assert_int_eq(xb_cipher_open(&c, key, good[i], NULL, 0), XBCRYPT_OK);
        xb_cipher_close(c);
    }
    xb_cipher_close(NULL);
}
END_TEST

static void sha_hex_is(const void *buf, size_t len, const char *expect)
{
    char hex[65];
    sha256_hex(buf, len, hex);
    ck_assert_str_eq(hex, expect);
}

START_TEST(test_sha256)
{
    /* FIPS 180-2 B.1 and B.2, and the empty string. */
    sha_hex_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_hex_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha_hex_is(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* The fixtures' plaintext rule (plaintext_sha256 of p1023 in manifest.json). */
    uint8_t *p = gen_plain(1023);
    sha_hex_is(p, 1023, "00720ce700b5515cd62a7536737b8fe0397a35c343f8e917f9e535b6f952f9fa");
    free(p);
}
END_TEST

START_TEST(test_crc32)
{
    ck_assert_uint_eq(xb_crc32("123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(xb_crc32("", 0), 0);
    ck_assert_uint_eq(xb_crc32("a", 1), 0xE8B7BE43u);
    /* The quick brown fox (zlib crc32). */
    const char *fox = "The quick brown fox jumps over the lazy dog";
    ck_assert_uint_eq(xb_crc32(fox, strlen(fox)), 0x414FA339u);
}
END_TEST

START_TEST(test_const_equal)
{
    uint8_t a[100], b[100];
    for (unsigned i = 0; i < 100; i++)
        a[i] = b[i] = (uint8_t)i;
    ck_assert_int_eq(xb_const_equal(a, b, 100), 1);
    ck_assert_int_eq(xb_const_equal(a, b, 0), 1);
    for (unsigned pos = 0; pos < 100; pos += 33) {
        b[pos] ^= 0x80;
        ck_assert_int_eq(xb_const_equal(a, b, 100), 0);
        ck_assert_int_eq(xb_const_equal(a, b, pos), 1); /* only the first pos bytes */
        b[pos] ^= 0x80;
    }
    b[99] ^= 1;
    ck_assert_int_eq(xb_const_equal(a, b, 100), 0);
}
END_TEST

START_TEST(test_secure_memory)
{
    for (size_t len = 0; len <= 4096; len = len ? len * 4 : 1) {
        uint8_t *p = xb_secure_alloc(len);
        ck_assert_ptr_nonnull(p);
        memset(p, 0xa5, len);
        xb_secure_free(p, len);
    }
    xb_secure_free(NULL, 10);

    uint8_t w[37];
    memset(w, 0xff, sizeof w);
    xb_wipe(w, sizeof w);
    for (unsigned i = 0; i < sizeof w; i++)
        ck_assert_uint_eq(w[i], 0);
    xb_wipe(NULL, 5);
    xb_wipe(w, 0);
}
END_TEST

START_TEST(test_nonce_and_random)
{
    uint8_t a[16], b[16], k[32];
    xb_nonce(a, sizeof a);
    xb_nonce(b, sizeof b);
    ck_assert_int_eq(xb_const_equal(a, b, 16), 0);
    memset(k, 0, sizeof k);
    xb_random_key(k, sizeof k);
    uint8_t zero[32] = {0};
    ck_assert_int_eq(xb_const_equal(k, zero, 32), 0);
}
END_TEST

START_TEST(test_init_idempotent)
{
    char msg[64] = "untouched";
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(xb_crypto_init(msg, sizeof msg), XBCRYPT_OK);
    ck_assert_str_eq(msg, "untouched"); /* no message on success */
    ck_assert_int_eq(xb_crypto_init(NULL, 0), XBCRYPT_OK);
    ck_assert_int_eq(xb_init(), XBCRYPT_OK);
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("aes_ctr");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_nist_ctr, 0, 3);
    tcase_add_test(tc, test_keystream_continues);
    tcase_add_test(tc, test_counter_is_128_bit);
    tcase_add_test(tc, test_key_lengths_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("digests");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_sha256);
    tcase_add_test(tc, test_crc32);
    tcase_add_test(tc, test_const_equal);
    suite_add_tcase(s, tc);

    tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_secure_memory);
    tcase_add_test(tc, test_nonce_and_random);
    tcase_add_test(tc, test_init_idempotent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(crypto_suite());
}
