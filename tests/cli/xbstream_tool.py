#!/usr/bin/env python3
"""xbstream_tool.py - an independent reader and writer of XBSTREAM archives
for the tests and the benchmark, written from /work/shared/spec/xbstream-format.md
(not from any other project's code).

  list ARCHIVE              one line per chunk: offset type flags path len off
  make OUT DIR [--chunk N] [--interleave] [--extra SPEC]...
                            an archive of the regular files under DIR (sorted
                            paths), payloads cut at N bytes (default 10 MiB);
                            --interleave takes members round-robin, a chunk
                            each; --extra appends a crafted chunk:
                              eof:PATH            an EOF chunk only
                              payload:PATH:TEXT   a payload chunk at offset 0
                              unknown:PATH        type 'X', not ignorable
                              ignorable:PATH      type 'X', ignorable flag
                            (PATH may use \\xNN escapes)
  gen OUT BYTES MEMBERS [CHUNK]
                            BYTES of pseudo-random-ish data in MEMBERS members
                            of equal size, CHUNK-byte payloads (default 64K)
                            round-robin: a --parallel backup's shape, for bench/
  tree DIR MANIFEST         exit 0 when DIR holds exactly the manifest's tree
                            with its hashes; else print the differences
  xbcrypt-ends FILE         per chunk of an XBCRYPT stream: its end offset and
                            the plaintext bytes up to its end
"""
import hashlib
import json
import os
import struct
import sys
import zlib

MAGIC = b"XBSTCK01"


def chunk(path, ctype, payload=b"", off=0, flags=0):
    head = MAGIC + bytes([flags]) + ctype + struct.pack("<I", len(path)) + path
    if ctype == b"E":
        return head
    return head + struct.pack("<QQI", len(payload), off, zlib.crc32(payload)) + payload


def unescape(s):
    return s.encode("utf-8").decode("unicode_escape").encode("latin-1")


def cmd_list(args):
    data = open(args[0], "rb").read()
    pos = 0
    while pos < len(data):
        if data[pos:pos + 8] != MAGIC:
            print(f"{pos} bad-magic")
            return 1
        flags, ctype = data[pos + 8], data[pos + 9:pos + 10].decode("latin-1")
        (plen,) = struct.unpack_from("<I", data, pos + 10)
        path = data[pos + 14:pos + 14 + plen].decode("utf-8", "backslashreplace")
        q = pos + 14 + plen
        if ctype == "E":
            print(f"{pos} E {flags} {path} 0 0")
            pos = q
            continue
        nmap = 0
        if ctype == "S":
            (nmap,) = struct.unpack_from("<I", data, q)
            q += 4
        ln, off, _crc = struct.unpack_from("<QQI", data, q)
        print(f"{pos} {ctype} {flags} {path} {ln} {off}")
        pos = q + 20 + 8 * nmap + ln
    return 0


def members_of(root):
    out = []
    for d, _dirs, files in os.walk(root):
        for f in files:
            full = os.path.join(d, f)
            out.append((os.path.relpath(full, root), full))
    return sorted(out)


def cmd_make(args):
    out, root = args[0], args[1]
    size, interleave, extras = 10 << 20, False, []
    i = 2
    while i < len(args):
        if args[i] == "--chunk":
            size = int(args[i + 1])
            i += 2
        elif args[i] == "--interleave":
            interleave = True
            i += 1
        elif args[i] == "--extra":
            extras.append(args[i + 1])
            i += 2
        else:
            raise SystemExit(f"unknown argument {args[i]}")
    queues = []
    for rel, full in members_of(root):
        data = open(full, "rb").read()
        path = rel.encode()
        q = [chunk(path, b"P", data[o:o + size], o) for o in range(0, len(data), size)]
        q.append(chunk(path, b"E"))
        queues.append(q)
    with open(out, "wb") as f:
        if interleave:
            while any(queues):
                for q in queues:
                    if q:
                        f.write(q.pop(0))
        else:
            for q in queues:
                f.write(b"".join(q))
        for e in extras:
            kind, _, rest = e.partition(":")
            if kind == "eof":
                f.write(chunk(unescape(rest), b"E"))
            elif kind == "payload":
                p, _, text = rest.partition(":")
                f.write(chunk(unescape(p), b"P", text.encode()))
            elif kind in ("unknown", "ignorable"):
                f.write(chunk(unescape(rest), b"X", b"odd", 0, 1 if kind == "ignorable" else 0))
            else:
                raise SystemExit(f"unknown --extra {e}")
    return 0


def cmd_gen(args):
    out, total, n = args[0], int(args[1]), int(args[2])
    size = int(args[3]) if len(args) > 3 else 65536
    # One 1 MiB block of varied bytes, rotated per member and chunk: cheap to
    # make, not all zeros, and different for every member.
    block = hashlib.shake_256(b"xbcrypt-compat bench").digest(1 << 20)
    per = total // n
    done = [0] * n
    paths = [f"db{m % 4}/t{m}.ibd".encode() for m in range(n)]
    with open(out, "wb", buffering=1 << 22) as f:
        while True:
            active = False
            for m in range(n):
                if done[m] < 0:
                    continue
                active = True
                if done[m] >= per:
                    f.write(chunk(paths[m], b"E"))
                    done[m] = -1
                    continue
                ln = min(size, per - done[m])
                start = (done[m] + m * 4099) % (len(block) - ln)
                f.write(chunk(paths[m], b"P", block[start:start + ln], done[m]))
                done[m] += ln
            if not active:
                break
    return 0


def cmd_tree(args):
    root, manifest = args[0], json.load(open(args[1]))["tree"]
    have = {rel: full for rel, full in members_of(root)}
    bad = 0
    for rel, want in manifest.items():
        if rel not in have:
            print(f"missing {rel}")
            bad += 1
            continue
        got = hashlib.sha256(open(have[rel], "rb").read()).hexdigest()
        if got != want["sha256"]:
            print(f"differs {rel}")
            bad += 1
    for rel in sorted(set(have) - set(manifest)):
        print(f"extra {rel}")
        bad += 1
    return 1 if bad else 0


def cmd_xbcrypt_ends(args):
    data = open(args[0], "rb").read()
    pos = plain = 0
    while pos + 8 <= len(data):
        ver = data[pos + 7]
        if data[pos:pos + 7] != b"XBCRYP0" or ver not in b"123":
            print(f"bad-magic-at-{pos}")
            return 1
        q = pos + 8 + 8 + 8 + 8 + 4  # magic, reserved, olen, elen, checksum
        ivlen = 0
        if ver in b"23":
            (ivlen,) = struct.unpack_from("<Q", data, q)
            q += 8 + ivlen
        olen, elen = struct.unpack_from("<QQ", data, pos + 16)
        pos = q + elen
        plain += olen - (32 if ver == ord("3") else 0)  # v3: olen counts the SHA-256
        print(pos, plain)
    return 0


def main():
    cmds = {"list": cmd_list, "make": cmd_make, "gen": cmd_gen, "tree": cmd_tree,
            "xbcrypt-ends": cmd_xbcrypt_ends}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    return cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
