#!/usr/bin/env python3
"""Writes the hand-made seeds of fixtures/fuzz/{format,decoder,options}/.

    tests/fuzz/make_seeds.py [FIXTURES_DIR]

Seeds are small pieces of the fixtures (headers, the small det/ files,
legacy v1, a NONE file, truncations, bit flips) and option lines from the
CLI spec (/work/shared/spec/xbcrypt-cli.md).  Files are named
`seed-<what>`; `limit-<what>` seeds of the decoder corpus are the streams
that tests/fuzz/test_limits.c asserts on; `crash-<what>` files are inputs
that once failed a harness (added by hand, never rewritten here).
Existing seed-/limit- files are overwritten; nothing else is touched.

Decoder seeds start with the harness's control byte (see fuzz_decoder.c):
bit 0 threads 2, bit 1 zero-copy feeding, bit 2 algo NONE, bits 3-4 both
set a failing write, bits 5-7 the split style.
"""
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'fixtures')
OUT = os.path.join(FIX, 'fuzz')
INT_MAX = 2**31 - 1


def fixture(rel):
    with open(os.path.join(FIX, rel), 'rb') as f:
        return f.read()


def put(corpus, name, data):
    d = os.path.join(OUT, corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def header(version, olen, elen, ivlen=16, crc=0, reserved=0):
    h = b'XBCRYP0' + bytes([ord('0') + version])
    h += struct.pack('<QQQI', reserved, olen, elen, crc)
    if version != 1:
        h += struct.pack('<Q', ivlen)
    return h


def chunks(stream):
    """Splits a well-formed stream into its chunks (bytes)."""
    out, pos = [], 0
    while pos < len(stream):
        v = stream[pos + 7] - ord('0')
        hsz = 36 if v == 1 else 44
        elen = struct.unpack_from('<Q', stream, pos + 24)[0]
        ivlen = 0 if v == 1 else struct.unpack_from('<Q', stream, pos + 36)[0]
        end = pos + hsz + ivlen + elen
        out.append(stream[pos:end])
        pos = end
    return out


def recrc(chunk):
    """Recomputes a chunk's CRC-32 over its stored payload."""
    v = chunk[7] - ord('0')
    hsz = 36 if v == 1 else 44
    ivlen = 0 if v == 1 else struct.unpack_from('<Q', chunk, 36)[0]
    crc = zlib.crc32(chunk[hsz + ivlen:]) & 0xffffffff
    return chunk[:32] + struct.pack('<I', crc) + chunk[36:]


def flip(data, pos):
    return data[:pos] + bytes([data[pos] ^ 0x10]) + data[pos + 1:]


# The limit cases of issue 5 item 5, as test_limits.c builds them.
LIMITS = {
    'elen-over-int-max-v3': header(3, 1024, INT_MAX + 1),
    'elen-over-int-max-v1': header(1, 1024, INT_MAX + 1),
    'elen-u64-max-v2': header(2, 1024, 2**64 - 1),
    'olen-over-int-max': header(3, INT_MAX + 1, 1056),
    'ivlen-over-int-max-v2': header(2, 1024, 1024, INT_MAX + 1),
    'v3-ivlen-15': header(3, 33, 33, 15),
    'v3-ivlen-17': header(3, 33, 33, 17),
    'v3-ivlen-32': header(3, 33, 33, 32),
    'v3-ivlen-0-aes': header(3, 33, 33, 0),
    'v3-payload-31': header(3, 31, 31),
    'v3-payload-1': header(3, 1, 1),
    'v3-zero-length': header(3, 0, 0),
    'v3-zero-length-no-iv': header(3, 0, 0, 0),
    'declares-int-max-sends-100': header(3, INT_MAX, INT_MAX) + bytes(16) + bytes(100),
}


def main():
    p1 = fixture('det/aes256_p1.xbcrypt')
    p1023 = fixture('det/aes256_p1023.xbcrypt')
    p1024 = fixture('det/aes256_p1024.xbcrypt')
    none1023 = fixture('det/none_p1023.xbcrypt')
    v1_1023 = fixture('legacy/v1_aes128_p1023.xbcrypt')
    v1_big = fixture('legacy/v1_aes256_p200000.xbcrypt')
    v2_big = fixture('legacy/v2_aes256_p200000.xbcrypt')
    s1024 = chunks(fixture('det/aes256_s1024_p200000.xbcrypt'))
    a128_1 = fixture('det/aes128_p1.xbcrypt')
    garbage = fixture('negative/garbage_random4096.bin')

    # ---- format: one header (and a little after it) per seed ----
    put('format', 'seed-v3-aes-chunk', p1)
    put('format', 'seed-v3-header', p1[:44])
    put('format', 'seed-v3-none-header', none1023[:44])
    put('format', 'seed-v1-header', v1_1023[:36])
    put('format', 'seed-v2-header', v2_big[:60])
    put('format', 'seed-bad-magic-4', b'XBCRYP04' + p1[8:44])
    put('format', 'seed-bad-magic-0', b'XBCRYP00' + p1[8:44])
    put('format', 'seed-short-7', p1[:7])
    put('format', 'seed-v3-short-43', p1[:43])
    put('format', 'seed-v1-35', v1_1023[:35])
    for name, data in LIMITS.items():
        put('format', 'limit-' + name, data[:44])

    # ---- decoder: control byte + stream ----
    def dec(name, ctl, stream, kind='seed'):
        put('decoder', '%s-%s' % (kind, name), bytes([ctl]) + stream)

    dec('empty', 0x00, b'')
    dec('aes256-p1', 0x00, p1)
    dec('aes256-p1-t2-zerocopy', 0x03, p1)
    dec('aes256-p1-bytewise', 0x20, p1)
    dec('aes256-p1023-t2-pieces7', 0x41, p1023)
    dec('aes256-p1024-pieces64', 0x62, p1024)
    dec('aes256-s1024-3chunks', 0x00, b''.join(s1024[:3]))
    dec('aes256-s1024-3chunks-t2-pieces1000', 0x81, b''.join(s1024[:3]))
    dec('aes256-s1024-3chunks-writefail', 0x18, b''.join(s1024[:3]))
    dec('aes256-s1024-crc-chunk1', 0x01, s1024[0] + flip(s1024[1], 200) + s1024[2])
    dec('aes256-s1024-hash-chunk1', 0x00, s1024[0] + recrc(flip(s1024[1], 200)) + s1024[2])
    dec('aes256-s1024-hash-chunk0', 0x01, recrc(flip(s1024[0], 100)) + s1024[1])
    dec('aes256-s1024-magic-chunk1', 0x00, s1024[0] + b'XBCRYP09' + s1024[1][8:])
    dec('aes256-p1-trailing-garbage', 0x00, p1 + b'garbage!')
    dec('aes128-p1-wrong-key', 0x00, a128_1)
    dec('none-p1023', 0x04, none1023)
    dec('none-p1023-as-aes', 0x00, none1023)
    dec('none-p1023-t2-zerocopy', 0x07, none1023)
    dec('v1-aes128-p1023', 0x00, v1_1023)
    dec('v1-first-chunk-cut', 0x01, v1_big[:36 + 3000])
    dec('v2-first-chunk-cut', 0x02, v2_big[:60 + 3000])
    dec('mixed-v1-v3', 0x00, v1_1023 + p1)
    dec('garbage', 0x00, garbage[:200])
    for cut in (1, 7, 8, 20, 43, 44, 50, 59, 60, 61, 92):
        dec('aes256-p1-cut%d' % cut, 0x00, p1[:cut])
    for name, data in LIMITS.items():
        dec(name, 0x00, data, kind='limit')
        dec(name + '-after-chunk', 0x01, p1 + data, kind='limit')

    # ---- options: arguments separated by NUL ----
    lines = [
        ['--encrypt-algo=AES256', '--encrypt-key-file=/etc/mysql/backup.key'],
        ['-d', '--encrypt-algo=AES256', '--encrypt-key-file=/etc/mysql/backup.key'],
        ['--decrypt', '--encrypt-algo=AES256', '--encrypt-key-file=KEY',
         '--input=FILE.xbcrypt', '--output=FILE'],
        ['--help'], ['-?'], ['--version'], ['-V'],
        ['-a', 'AES256', '-f', 'key', '-i', 'in', '-o', 'out'],
        ['-aAES128', '-fkey', '-s', '1M', '-t', '4', '-r', '100000'],
        ['-dv', '-aaes192', '-f', 'k'],
        ['--encrypt_algo=AES256', '--encrypt_key_file', 'k', '--encrypt-chunk-size=64K'],
        ['--loose-encrypt-algo=NONE', '--loose-unknown-thing=1'],
        ['--encrypt-algo=NONE', '--encrypt-threads=0', '--read-buffer-size=1g'],
        ['--encrypt-algo=AES256', '--encrypt-key=s3cr@t-key-value'],
        ['-k', 's3cr@tvalue', '-a', 'AES256'],
        ['-ks3cr@tvalue'],
        ['--encrypt-key'],
        ['--encrypt-algo=AES512', '-f', 'k'],
        ['--encrypt-algo'],
        ['-a'],
        ['--encrypt-chunk-size=18446744073709551616', '-aNONE'],
        ['--encrypt-chunk-size=4G', '-aNONE'],
        ['--encrypt-threads=257', '-aNONE'],
        ['--read-buffer-size=2048G', '-aNONE'],
        ['-s', '1x', '-aNONE'],
        ['--', '-d'],
        ['operand@secret'],
        ['--input=', '-aNONE'],
        ['--decrypt=yes'],
        ['--' + 'x' * 70 + '=v@lue'],
        ['-\x01'],
        ['-a', 'NONE', '-i', 'a', '-i', 'b', '-o', '-'],
        ['-'],
        # issue 6: modes and progress
        ['--verify', '-f', 'k', '-t', '4', '-i', 'in'],
        ['--verify', '-aNONE', '--progress'],
        ['--rekey', '-a', 'AES256', '-f', 'old', '--new-encrypt-key-file=new',
         '--new-encrypt-algo', 'aes128'],
        ['--rekey', '-a', 'NONE', '--new-encrypt-key-file', 'n'],
        ['--info', '-v', '--no-progress'],
        ['--info', '--verify'],
        ['--info', '-f', 'k', '-o', 'x'],
        ['--new-encrypt-key-file=n@secret', '-aNONE'],
        # issue 7: the public-key envelope
        ['-a', 'AES256', '--recipient=0123456789ABCDEF0123456789ABCDEF01234567',
         '--recipient', 'x', '--wrapped-key-file=w.asc'],
        ['-d', '-aAES256', '--wrapped-key-file', 'w.asc', '-o', 'out'],
        ['--verify', '--wrapped_key_file=w'],
        ['--rewrap', '--wrapped-key-file=old', '--recipient=r', '--new-wrapped-key-file=new'],
        ['--rewrap', '--new-wrapped-key-file=n', '-i', 'x'],
        ['-aAES256', '-f', 'k', '--wrapped-key-file=w'],
        ['-aAES256', '--recipient=r@secret'],
    ]
    for i, argv in enumerate(lines):
        put('options', 'seed-line%02d' % i, b'\0'.join(a.encode('latin-1') for a in argv))


if __name__ == '__main__':
    main()
