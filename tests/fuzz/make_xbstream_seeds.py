#!/usr/bin/env python3
"""Writes the seeds of fixtures/fuzz/{xbstream,xbstream_transform}/.

    tests/fuzz/make_xbstream_seeds.py [FIXTURES_DIR]

The archives of fixtures/xbstream/ are 10 MB; the seeds are small archives
cut from them along chunk boundaries (the small members of Percona's plain,
interleaved and member-encrypted archives, their real bytes), plus
hand-made ones for what those lack: sparse chunks, an ignorable chunk, an
unknown type, unsafe paths, out-of-order and after-EOF chunks, a cut inside
a chunk, a damaged CRC, a member cut inside an XBCRYPT chunk.  Every seed
starts with the harness's control byte (fuzz_xbstream.c,
fuzz_xbstream_transform.c); each archive is written with a few control
bytes.  Files are named seed-<what>-<control>; other files are untouched.
"""
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'fixtures')
OUT = os.path.join(FIX, 'fuzz')
SMALL = {'backup-my.cnf', 'xtrabackup_checkpoints', 'db1/t2.ibd', 'db1/empty.ibd',
         'mysql/user.ibd', 'xtrabackup_logfile'}


def chunks(data):
    """(path, type, raw bytes) of every chunk of a P/E archive."""
    pos = 0
    while pos < len(data):
        assert data[pos:pos + 8] == b'XBSTCK01'
        typ = data[pos + 9:pos + 10]
        plen = struct.unpack_from('<I', data, pos + 10)[0]
        path = data[pos + 14:pos + 14 + plen].decode()
        end = pos + 14 + plen
        if typ == b'P':
            length = struct.unpack_from('<Q', data, end)[0]
            end += 20 + length
        yield path, typ, data[pos:end]
        pos = end


def small_archive(rel, keep=SMALL, suffix=''):
    with open(os.path.join(FIX, rel), 'rb') as f:
        data = f.read()
    names = {k + suffix for k in keep}
    return b''.join(raw for path, _, raw in chunks(data) if path in names)


def p(path, off, payload, flags=0, typ=b'P', crc=None):
    path = path.encode() if isinstance(path, str) else path
    crc = zlib.crc32(payload) if crc is None else crc
    return (b'XBSTCK01' + bytes([flags]) + typ + struct.pack('<I', len(path)) + path +
            struct.pack('<QQI', len(payload), off, crc) + payload)


def e(path):
    path = path.encode() if isinstance(path, str) else path
    return b'XBSTCK01\x00E' + struct.pack('<I', len(path)) + path


def s(path, off, entries, payload):
    path = path.encode()
    mp = b''.join(struct.pack('<II', a, b) for a, b in entries)
    return (b'XBSTCK01\x00S' + struct.pack('<I', len(path)) + path + struct.pack('<I', len(entries)) +
            struct.pack('<QQI', len(payload), off, zlib.crc32(mp + payload)) + mp + payload)


def put(corpus, name, data):
    d = os.path.join(OUT, corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def main():
    plain = small_archive('xbstream/percona_plain.xbstream')
    inter = small_archive('xbstream/plain_interleaved.xbstream', SMALL - {'xtrabackup_logfile'})
    members = small_archive('xbstream/percona_members_aes256.xbstream', suffix='.xbcrypt')
    enc_user = small_archive('xbstream/percona_members_aes256.xbstream', {'mysql/user.ibd'},
                             '.xbcrypt')
    hand = {
        'sparse': s('f', 0, [(0, 2), (3, 3), (2, 0)], b'abcde') + p('f', 10, b'Z') + e('f'),
        'ignorable': p('a', 0, b'12') + p('a', 77, b'xyz', flags=1, typ=b'Z') + p('a', 2, b'3') +
                     e('a'),
        'unknown-type': p('a', 0, b'12', typ=b'Z') + e('a'),
        'unsafe-dotdot': p('../etc/x', 0, b'1') + e('../etc/x'),
        'unsafe-absolute': e('/x'),
        'unsafe-nul': e(b'a\x00b'),
        'out-of-order': p('a', 0, b'12') + p('a', 3, b'4') + e('a'),
        'after-eof': e('a') + p('a', 0, b'1'),
        'cut-in-chunk': (p('a', 0, b'12345') + e('a'))[:25],
        'unclosed': p('a', 0, b'1') + p('b', 0, b'2') + e('a'),
        'bad-crc': p('a', 0, b'123', crc=7) + e('a'),
        'interleaved': p('a', 0, b'1') + p('b', 0, b'xy') + p('a', 1, b'') + e('e') +
                       p('a', 1, b'2') + e('b') + e('a'),
        'member-cut-in-xbcrypt': enc_user[:200] + e('mysql/user.ibd.xbcrypt'),
        'v1-empty-chunk': p('old.xbcrypt', 0, b'XBCRYP01' + bytes(28)) + e('old.xbcrypt'),
    }
    for name, data in [('plain', plain), ('interleaved', inter)] + list(hand.items()):
        for ctl in (0x00, 0x41, 0x6d):
            put('xbstream', 'seed-%s-%02x' % (name, ctl), bytes([ctl]) + data)
    # Transform: members to decrypt, verify, rekey; plain archives to encrypt.
    for name, data, ctls in [('members', members, (0x00, 0x09, 0x03, 0x0b, 0x15, 0x02, 0x01)),
                             ('user-xbcrypt', enc_user, (0x03, 0x25)),
                             ('plain', plain, (0x04, 0x8c, 0x03, 0x02)),
                             ('interleaved', inter, (0x0c, 0x94))] + \
            [(k, v, (0x04, 0x03, 0x0d, 0x05)) for k, v in hand.items()]:
        for ctl in ctls:
            put('xbstream_transform', 'seed-%s-%02x' % (name, ctl), bytes([ctl]) + data)


main()
