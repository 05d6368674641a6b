"""1000 cycles of keys, encoders and decoders leave neither memory nor objects behind."""
import gc
import io
import os
import weakref

import xbcrypt


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def cycle(key32, data, refs):
    key = xbcrypt.Key.from_file(key32)
    parts = []
    with xbcrypt.Encoder(key, parts.append, threads=1, chunk_size=1024) as enc:
        enc.feed(data)
    out = io.BytesIO()
    with xbcrypt.Decoder(key, out, threads=2) as dec:
        dec.feed(b"".join(parts))
    assert out.getvalue() == data
    try:  # and a failing decoder (fault, message, exception chain)
        xbcrypt.decrypt_stream(io.BytesIO(b"".join(parts)[:-1]), io.BytesIO(), key32)
    except xbcrypt.Error as e:
        assert e.status == xbcrypt.Status.E_TRUNCATED
    else:
        raise AssertionError("truncated stream accepted")
    refs.append(weakref.ref(enc))
    refs.append(weakref.ref(key))
    key.close()


def test_no_leak_over_1000_cycles(key32):
    data = os.urandom(5000)
    refs = []
    for _ in range(200):  # warm up: arenas, thread stacks, caches
        cycle(key32, data, refs)
    gc.collect()
    before = rss_kib()
    for _ in range(1000):
        cycle(key32, data, refs)
    gc.collect()
    grown = rss_kib() - before
    # One leaked engine object (ring buffers, threads) per cycle would be far
    # more than this over 1000 cycles.
    assert grown < 4096, f"RSS grew by {grown} KiB over 1000 cycles"
    alive = [r for r in refs if r() is not None]
    assert not alive, f"{len(alive)} objects never freed"
