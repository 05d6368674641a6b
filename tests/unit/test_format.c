/*
 * test_format.c - the chunk header codec (plugin/format): round trips of
 * every version, every size field at its limit, the version-3 rules, bad
 * magic at each byte, the reserved field, and the little-endian layout
 * against literal bytes.
 */
#include "format/xb_format.h"
#include "unit_util.h"

#include <limits.h>
#include <string.h>

#define INT_MAX_U64 ((uint64_t)INT_MAX)

static xb_header hdr(unsigned version, uint64_t olen, uint64_t elen, uint32_t crc, uint64_t ivlen)
{
    xb_header h;
    memset(&h, 0, sizeof h);
    h.version = version;
    h.olen = olen;
    h.elen = elen;
    h.crc = crc;
    h.ivlen = version == 1 ? 0 : ivlen;
    return h;
}

/* Encodes h into a buffer padded with 0xee (so a v1 header has no IV field
 * of zeros behind it by accident) and decodes it. */
static xb_fmt_result round_trip(const xb_header *h, xb_header *back, size_t *size)
{
    uint8_t buf[64];
    memset(buf, 0xee, sizeof buf);
    *size = xb_header_encode(buf, h);
    return xb_header_decode(buf, back);
}

START_TEST(test_round_trip_each_version)
{
    static const unsigned versions[] = {1, 2, 3};
    for (unsigned i = 0; i < 3; i++) {
        unsigned v = versions[i];
        xb_header h = hdr(v, 65568, 65568, 0xdeadbeefu, v == 1 ? 0 : 16), back;
        size_t size = 0;
        ck_assert_int_eq(round_trip(&h, &back, &size), XB_FMT_OK);
        ck_assert_uint_eq(size, v == 1 ? 36 : 44);
        ck_assert_uint_eq(size, xb_header_size(v));
        ck_assert_uint_eq(back.version, v);
        ck_assert_uint_eq(back.reserved, 0);
        ck_assert_uint_eq(back.olen, 65568);
        ck_assert_uint_eq(back.elen, 65568);
        ck_assert_uint_eq(back.crc, 0xdeadbeefu);
        ck_assert_uint_eq(back.ivlen, v == 1 ? 0 : 16);
        ck_assert_uint_eq(xb_header_plaintext_size(&back), v == 3 ? 65536 : 65568);
    }
    ck_assert_uint_eq(xb_header_size(0), 0);
    ck_assert_uint_eq(xb_header_size(4), 0);
}
END_TEST

/* Every field at its extreme values, each version. */
START_TEST(test_round_trip_extremes)
{
    for (unsigned v = 1; v <= 3; v++) {
        xb_header h = hdr(v, INT_MAX_U64, INT_MAX_U64, UINT32_MAX, v == 2 ? INT_MAX_U64 : 16),
                  back;
        if (v == 3)
            h.ivlen = 0;
        size_t size;
        ck_assert_int_eq(round_trip(&h, &back, &size), XB_FMT_OK);
        ck_assert_uint_eq(back.olen, INT_MAX_U64);
        ck_assert_uint_eq(back.elen, INT_MAX_U64);
        ck_assert_uint_eq(back.crc, UINT32_MAX);
        ck_assert_uint_eq(back.ivlen, h.ivlen);

        h = hdr(v, 0, v == 3 ? 32 : 0, 0, 0);
        ck_assert_int_eq(round_trip(&h, &back, &size), XB_FMT_OK);
        ck_assert_uint_eq(back.olen, 0);
        ck_assert_uint_eq(back.elen, v == 3 ? 32 : 0);
        ck_assert_uint_eq(xb_header_plaintext_size(&back), 0);
    }
}
END_TEST

/* The layout, byte for byte, against a literal. */
START_TEST(test_literal_layout_v3)
{
    static const uint8_t expect[44] = {
        'X', 'B', 'C', 'R', 'Y', 'P', '0', '3',
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* reserved */
        0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00, /* olen 0x11223344 */
        0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, /* elen 65568 */
        0xdd, 0xcc, 0xbb, 0xaa,                         /* crc 0xaabbccdd */
        0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ivlen 16 */
    };
    xb_header h = hdr(3, 0x11223344u, 65568, 0xaabbccddu, 16);
    h.reserved = 0x0102030405060708u;
    uint8_t buf[64];
    memset(buf, 0xee, sizeof buf);
    ck_assert_uint_eq(xb_header_encode(buf, &h), 44);
    assert_bytes_eq(buf, 44, expect, sizeof expect, "v3 header");
    ck_assert_uint_eq(buf[44], 0xee); /* nothing written past the header */

    xb_header back;
    ck_assert_int_eq(xb_header_decode(expect, &back), XB_FMT_OK);
    ck_assert_uint_eq(back.version, 3);
    ck_assert_uint_eq(back.reserved, 0x0102030405060708u);
    ck_assert_uint_eq(back.olen, 0x11223344u);
    ck_assert_uint_eq(back.elen, 65568);
    ck_assert_uint_eq(back.crc, 0xaabbccddu);
    ck_assert_uint_eq(back.ivlen, 16);
}
END_TEST

START_TEST(test_literal_layout_v1)
{
    static const uint8_t expect[36] = {
        'X', 'B', 'C', 'R', 'Y', 'P', '0', '1',
        0, 0, 0, 0, 0, 0, 0, 0,
        0xff, 0x03, 0, 0, 0, 0, 0, 0,                   /* olen 1023 */
        0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0,             /* elen INT_MAX */
        0x01, 0x02, 0x03, 0x04,                         /* crc 0x04030201 */
    };
    xb_header h = hdr(1, 1023, INT_MAX_U64, 0x04030201u, 0);
    uint8_t buf[64];
    memset(buf, 0xee, sizeof buf);
    ck_assert_uint_eq(xb_header_encode(buf, &h), 36);
    assert_bytes_eq(buf, 36, expect, sizeof expect, "v1 header");
    ck_assert_uint_eq(buf[36], 0xee); /* no IV-size field in version 1 */
}
END_TEST

/* The first header of a fixture made by Percona's binary. */
START_TEST(test_fixture_header)
{
    size_t len;
    uint8_t *f = fx_read("det/aes256_p1.xbcrypt", &len);
    ck_assert_uint_eq(len, 44 + 16 + 1 + 32);
    xb_header h;
    ck_assert_int_eq(xb_header_decode(f, &h), XB_FMT_OK);
    ck_assert_uint_eq(h.version, 3);
    ck_assert_uint_eq(h.olen, 33);
    ck_assert_uint_eq(h.elen, 33);
    ck_assert_uint_eq(h.ivlen, 16);
    uint8_t again[44];
    ck_assert_uint_eq(xb_header_encode(again, &h), 44);
    assert_bytes_eq(again, 44, f, 44, "re-encoded fixture header");
    free(f);

    f = fx_read("legacy/v1_aes128_p1023.xbcrypt", &len);
    ck_assert_int_eq(xb_header_decode(f, &h), XB_FMT_OK);
    ck_assert_uint_eq(h.version, 1);
    ck_assert_uint_eq(h.elen, 1023);
    ck_assert_uint_eq(len, 36 + 1023);
    free(f);
}
END_TEST

static xb_fmt_result decode_fields(unsigned v, uint64_t olen, uint64_t elen, uint64_t ivlen,
                                   xb_header *h)
{
    uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    xb_header in = hdr(v, olen, elen, 0, 0);
    in.ivlen = ivlen; /* raw, even for v1 (where encode does not write it) */
    xb_header_encode(buf, &in);
    return xb_header_decode(buf, h);
}

START_TEST(test_olen_limit)
{
    xb_header h;
    for (unsigned v = 1; v <= 3; v++) {
        uint64_t iv = v == 1 ? 0 : 16;
        ck_assert_int_eq(decode_fields(v, INT_MAX_U64, 64, iv, &h), XB_FMT_OK);
        ck_assert_int_eq(decode_fields(v, INT_MAX_U64 + 1, 64, iv, &h), XB_FMT_OLEN_LIMIT);
        ck_assert_uint_eq(h.olen, INT_MAX_U64 + 1); /* fields read so far are kept */
        ck_assert_int_eq(decode_fields(v, UINT64_MAX, 64, iv, &h), XB_FMT_OLEN_LIMIT);
        ck_assert_int_eq(decode_fields(v, (uint64_t)UINT32_MAX, 64, iv, &h), XB_FMT_OLEN_LIMIT);
    }
}
END_TEST

START_TEST(test_elen_limit)
{
    xb_header h;
    for (unsigned v = 1; v <= 3; v++) {
        uint64_t iv = v == 1 ? 0 : 16;
        ck_assert_int_eq(decode_fields(v, 64, INT_MAX_U64, iv, &h), XB_FMT_OK);
        ck_assert_uint_eq(h.elen, INT_MAX_U64);
        ck_assert_int_eq(decode_fields(v, 64, INT_MAX_U64 + 1, iv, &h), XB_FMT_ELEN_LIMIT);
        ck_assert_uint_eq(h.elen, INT_MAX_U64 + 1);
        ck_assert_int_eq(decode_fields(v, 64, UINT64_MAX, iv, &h), XB_FMT_ELEN_LIMIT);
        ck_assert_int_eq(decode_fields(v, 64, (uint64_t)1 << 32, iv, &h), XB_FMT_ELEN_LIMIT);
    }
}
END_TEST

START_TEST(test_ivlen_limit)
{
    xb_header h;
    /* Version 2 takes any IV size up to INT_MAX (its IV is ignored). */
    ck_assert_int_eq(decode_fields(2, 64, 64, INT_MAX_U64, &h), XB_FMT_OK);
    ck_assert_uint_eq(h.ivlen, INT_MAX_U64);
    ck_assert_int_eq(decode_fields(2, 64, 64, 0, &h), XB_FMT_OK);
    ck_assert_int_eq(decode_fields(2, 64, 64, 7, &h), XB_FMT_OK);
    ck_assert_int_eq(decode_fields(2, 64, 64, INT_MAX_U64 + 1, &h), XB_FMT_IVLEN_LIMIT);
    ck_assert_int_eq(decode_fields(2, 64, 64, UINT64_MAX, &h), XB_FMT_IVLEN_LIMIT);
    /* Version 3: above INT_MAX is the limit error, below it the v3 rule. */
    ck_assert_int_eq(decode_fields(3, 64, 64, INT_MAX_U64 + 1, &h), XB_FMT_IVLEN_LIMIT);
    ck_assert_int_eq(decode_fields(3, 64, 64, UINT64_MAX, &h), XB_FMT_IVLEN_LIMIT);
    ck_assert_int_eq(decode_fields(3, 64, 64, INT_MAX_U64, &h), XB_FMT_IVLEN_V3);
    /* Version 1 has no IV-size field: bytes 36.. are not read. */
    uint8_t buf[64];
    memset(buf, 0xff, sizeof buf);
    xb_header in = hdr(1, 64, 64, 0, 0);
    xb_header_encode(buf, &in);
    ck_assert_int_eq(xb_header_decode(buf, &h), XB_FMT_OK);
    ck_assert_uint_eq(h.ivlen, 0);
}
END_TEST

START_TEST(test_v3_ivlen)
{
    xb_header h;
    ck_assert_int_eq(decode_fields(3, 64, 64, 0, &h), XB_FMT_OK);
    ck_assert_int_eq(decode_fields(3, 64, 64, 16, &h), XB_FMT_OK);
    static const uint64_t bad[] = {1, 8, 15, 17, 24, 32, 64, 4096, 0x7fffffff};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(decode_fields(3, 64, 64, bad[i], &h) == XB_FMT_IVLEN_V3,
                      "v3 ivlen %llu accepted", (unsigned long long)bad[i]);
}
END_TEST

START_TEST(test_v3_short_payload)
{
    xb_header h;
    for (uint64_t e = 0; e < 32; e++)
        ck_assert_msg(decode_fields(3, 64, e, 16, &h) == XB_FMT_SHORT_PAYLOAD,
                      "v3 elen %llu accepted", (unsigned long long)e);
    ck_assert_int_eq(decode_fields(3, 32, 32, 16, &h), XB_FMT_OK);
    ck_assert_uint_eq(xb_header_plaintext_size(&h), 0);
    ck_assert_int_eq(decode_fields(3, 33, 33, 0, &h), XB_FMT_OK);
    ck_assert_uint_eq(xb_header_plaintext_size(&h), 1);
    /* Versions 1 and 2 carry no hash: any payload size is fine. */
    ck_assert_int_eq(decode_fields(1, 0, 0, 0, &h), XB_FMT_OK);
    ck_assert_int_eq(decode_fields(2, 5, 5, 16, &h), XB_FMT_OK);
    ck_assert_uint_eq(xb_header_plaintext_size(&h), 5);
}
END_TEST

START_TEST(test_bad_magic_each_byte)
{
    uint8_t good[64];
    memset(good, 0, sizeof good);
    xb_header h = hdr(3, 64, 64, 0, 16);
    xb_header_encode(good, &h);
    ck_assert_uint_eq(xb_magic_version(good), 3);
    for (unsigned pos = 0; pos < XB_MAGIC_SIZE; pos++) {
        static const uint8_t flips[] = {0x01, 0x20, 0x80, 0xff};
        for (unsigned f = 0; f < sizeof flips; f++) {
            uint8_t buf[64];
            memcpy(buf, good, sizeof buf);
            buf[pos] ^= flips[f];
            if (pos == 7 && (buf[7] == '1' || buf[7] == '2'))
                continue; /* another valid version */
            xb_header back;
            ck_assert_msg(xb_header_decode(buf, &back) == XB_FMT_BAD_MAGIC,
                          "magic byte %u ^ 0x%02x accepted", pos, flips[f]);
            ck_assert_uint_eq(xb_magic_version(buf), 0);
        }
    }
    /* Version digits outside 1..3, and lower case. */
    static const char *bad[] = {"XBCRYP00", "XBCRYP04", "XBCRYP09", "XBCRYP0:", "xbcryp03",
                                "XBCRYPT3", "\0BCRYP03"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[64];
        memcpy(buf, good, sizeof buf);
        memcpy(buf, bad[i], 8);
        xb_header back;
        ck_assert_int_eq(xb_header_decode(buf, &back), XB_FMT_BAD_MAGIC);
    }
    ck_assert_uint_eq(xb_magic_version((const uint8_t *)"XBCRYP01"), 1);
    ck_assert_uint_eq(xb_magic_version((const uint8_t *)"XBCRYP02"), 2);
    ck_assert_uint_eq(xb_magic_version((const uint8_t *)"XBCRYP03"), 3);
}
END_TEST

START_TEST(test_reserved_ignored)
{
    static const uint64_t values[] = {0, 1, 0x8000000000000000u, UINT64_MAX};
    for (unsigned v = 1; v <= 3; v++) {
        for (unsigned i = 0; i < 4; i++) {
            xb_header h = hdr(v, 100, 100, 7, v == 1 ? 0 : 16), back;
            h.reserved = values[i];
            size_t size;
            ck_assert_int_eq(round_trip(&h, &back, &size), XB_FMT_OK);
            ck_assert_uint_eq(back.reserved, values[i]);
            ck_assert_uint_eq(back.olen, 100);
            ck_assert_uint_eq(back.elen, 100);
        }
    }
}
END_TEST

START_TEST(test_le_helpers)
{
    uint8_t b[8];
    xb_store_le64(b, 0x0123456789abcdefu);
    static const uint8_t e64[8] = {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01};
    assert_bytes_eq(b, 8, e64, 8, "le64");
    ck_assert_uint_eq(xb_load_le64(b), 0x0123456789abcdefu);
    xb_store_le32(b, 0xcbf43926u);
    static const uint8_t e32[4] = {0x26, 0x39, 0xf4, 0xcb};
    assert_bytes_eq(b, 4, e32, 4, "le32");
    ck_assert_uint_eq(xb_load_le32(b), 0xcbf43926u);
}
END_TEST

START_TEST(test_result_text)
{
    for (int r = XB_FMT_OK; r <= XB_FMT_SHORT_PAYLOAD; r++) {
        const char *t = xb_fmt_result_text((xb_fmt_result)r);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_gt(strlen(t), 5);
        for (int q = XB_FMT_OK; q < r; q++)
            ck_assert_str_ne(t, xb_fmt_result_text((xb_fmt_result)q));
    }
    ck_assert_ptr_nonnull(strstr(xb_fmt_result_text(XB_FMT_ELEN_LIMIT), "INT_MAX"));
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_round_trip_each_version);
    tcase_add_test(tc, test_round_trip_extremes);
    tcase_add_test(tc, test_literal_layout_v3);
    tcase_add_test(tc, test_literal_layout_v1);
    tcase_add_test(tc, test_fixture_header);
    tcase_add_test(tc, test_le_helpers);
    tcase_add_test(tc, test_result_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_test(tc, test_olen_limit);
    tcase_add_test(tc, test_elen_limit);
    tcase_add_test(tc, test_ivlen_limit);
    tcase_add_test(tc, test_v3_ivlen);
    tcase_add_test(tc, test_v3_short_payload);
    tcase_add_test(tc, test_bad_magic_each_byte);
    tcase_add_test(tc, test_reserved_ignored);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(format_suite());
}
