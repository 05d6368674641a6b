#!/usr/bin/env python3
"""e2e_archive.py - walks an XBSTREAM archive read on stdin (written from
/work/shared/spec/xbstream-format.md) and says, for each byte OFFSET given,
whether an archive cut there would look complete.

  e2e_archive.py OFFSET...
  e2e_archive.py --boundaries

The archive must be whole: every chunk's CRC-32 right, every member closed by
its EOF chunk, the data ending at a chunk boundary; otherwise exit 1 with the
reason.  Then one line per OFFSET: "OFFSET clean" when OFFSET is a chunk
boundary at which no member is open (a prefix that long is a complete
archive of fewer members, which no reader can tell from a finished one), else
"OFFSET cut" (the prefix ends inside a chunk or leaves members unclosed).
With --boundaries, the same line for every chunk's end offset instead.
Last, "members=N chunks=N bytes=N interleaved=N", the last the number of
chunks that belong to another member than the chunk before while that one
is still open (a --parallel backup's shape).
"""
import struct
import sys
import zlib

MAGIC = b"XBSTCK01"


def read_exact(f, n, what, pos):
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"archive ends inside {what} at offset {pos + len(data)}")
    return data


def walk(f):
    """Yields (offset after the chunk, members open after it, whether the
    chunk interleaves) for each chunk; returns the member count."""
    pos = 0
    prev = None
    open_members = set()
    seen = set()
    while True:
        head = f.read(14)
        if not head:
            break
        if len(head) < 14 or head[:8] != MAGIC:
            raise ValueError(f"no chunk header at offset {pos}")
        ctype = head[9:10]
        (plen,) = struct.unpack_from("<I", head, 10)
        path = read_exact(f, plen, "a path", pos + 14)
        end = pos + 14 + plen
        if ctype == b"E":
            if path not in open_members and path in seen:
                raise ValueError(f"second EOF chunk of {path!r} at offset {pos}")
            open_members.discard(path)
            seen.add(path)
        elif ctype in (b"P", b"S"):
            nmap = 0
            if ctype == b"S":
                (nmap,) = struct.unpack("<I", read_exact(f, 4, "a header", end))
                end += 4
            length, _off, crc = struct.unpack("<QQI", read_exact(f, 20, "a header", end))
            end += 20
            body = read_exact(f, 8 * nmap + length, "a payload", end)
            end += len(body)
            if zlib.crc32(body) != crc:
                raise ValueError(f"CRC-32 mismatch in the chunk of {path!r} at offset {pos}")
            if path in seen and path not in open_members:
                raise ValueError(f"chunk of {path!r} after its EOF chunk, at offset {pos}")
            open_members.add(path)
            seen.add(path)
        else:
            raise ValueError(f"chunk type {ctype!r} at offset {pos}")
        pos = end
        yield pos, len(open_members), prev is not None and prev != path and prev in open_members
        prev = path
    if open_members:
        raise ValueError(f"members never closed: {sorted(open_members)[:5]}")
    return len(seen)


def main(argv):
    boundaries = argv == ["--boundaries"]
    offsets = [] if boundaries else [int(a) for a in argv]
    clean = set()
    chunks = interleaved = 0
    gen = walk(sys.stdin.buffer)
    try:
        while True:
            pos, n_open, switch = next(gen)
            chunks += 1
            interleaved += switch
            if boundaries:
                offsets.append(pos)
            if n_open == 0:
                clean.add(pos)
    except StopIteration as stop:
        members, size = stop.value, (pos if chunks else 0)
    except ValueError as e:
        print(f"e2e_archive.py: {e}", file=sys.stderr)
        return 1
    if members == 0:
        print("e2e_archive.py: empty archive", file=sys.stderr)
        return 1
    for off in offsets:
        print(f"{off} {'clean' if off in clean or off == 0 else 'cut'}")
    print(f"members={members} chunks={chunks} bytes={size} interleaved={interleaved}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
