"""Errors: damage with chunk and offset, keys, write failures, with-block semantics."""
import errno
import io
import os

import pytest

import xbcrypt
from xbcrypt import Status


def decrypt(path, key, **kw):
    out = bytearray()
    with open(path, "rb") as f:
        with pytest.raises(xbcrypt.Error) as info:
            xbcrypt.decrypt_stream(f, out.extend, key, **kw)
    return info.value, bytes(out)


@pytest.mark.parametrize("threads", [0, 1, 4])
def test_bitflip_fixture(fixtures, key32, plain, threads):
    e, out = decrypt(os.path.join(fixtures, "negative", "payload_bitflip_chunk1.xbcrypt"), key32,
                     threads=threads)
    assert e.status == Status.E_CRC
    assert (e.chunk, e.offset) == (1, 65628)
    assert "chunk 1" in str(e) and "65628" in str(e)
    assert out == plain("p200000.bin")[:65536]  # nothing of chunk 1


def test_truncated_fixture(fixtures, key32):
    e, out = decrypt(os.path.join(fixtures, "negative", "trunc_150000.xbcrypt"), key32)
    assert e.status == Status.E_TRUNCATED
    assert e.chunk == 2
    assert e.offset == 2 * 65628
    assert len(out) == 131072


def test_garbage_fixture(fixtures, key32):
    e, out = decrypt(os.path.join(fixtures, "negative", "garbage_random4096.bin"), key32)
    assert e.status == Status.E_MAGIC
    assert (e.chunk, e.offset) == (0, 0)
    assert out == b""


def test_damage_at_every_chunk(fixtures, key32):
    with open(os.path.join(fixtures, "det", "aes256_p200000.xbcrypt"), "rb") as f:
        good = f.read()
    starts = [0, 65628, 131256, 196884]
    for chunk, start in enumerate(starts):
        bad = bytearray(good)
        bad[start + 70] ^= 0x40  # a payload byte
        with pytest.raises(xbcrypt.Error) as info:
            xbcrypt.decrypt_stream(io.BytesIO(bytes(bad)), io.BytesIO(), key32, threads=2)
        assert (info.value.chunk, info.value.offset) == (chunk, start)
        assert info.value.status == Status.E_CRC


def test_wrong_key(fixtures):
    e, out = decrypt(os.path.join(fixtures, "det", "aes256_p200000.xbcrypt"),
                     os.path.join(fixtures, "keys", "key32_wrong.bin"))
    assert e.status == Status.E_WRONG_KEY
    assert e.chunk == 0
    assert out == b""


def test_missing_and_bad_key_files(tmp_path, fixtures):
    with pytest.raises(xbcrypt.Error) as info:
        xbcrypt.Key.from_file(tmp_path / "absent.key")
    assert info.value.status in (Status.E_IO, Status.E_KEY)
    assert "absent.key" in str(info.value)
    with pytest.raises(xbcrypt.Error) as info:  # 33 bytes: AES cannot use it
        xbcrypt.Encoder(os.path.join(fixtures, "keys", "key32_newline.bin"), lambda b: None)
    assert info.value.status == Status.E_KEY


def test_bad_arguments(key32):
    with pytest.raises(xbcrypt.Error) as info:
        xbcrypt.Encoder(key32, lambda b: None, chunk_size=10)
    assert info.value.status == Status.E_ARG
    with pytest.raises(ValueError):
        xbcrypt.Encoder(key32, lambda b: None, algo="DES")
    with pytest.raises(TypeError):
        xbcrypt.Encoder(key32, 42)


class Boom(Exception):
    pass


def test_write_callback_exception_fails_the_write(key32):
    calls = []

    def sink(data):
        calls.append(len(data))
        raise Boom("upload failed")

    enc = xbcrypt.Encoder(key32, sink, chunk_size=1024)
    with pytest.raises(xbcrypt.Error) as info:
        enc.feed(b"a" * 10000)
        enc.finish()
    assert info.value.status == Status.E_WRITE
    assert isinstance(info.value.__cause__, Boom)
    assert info.value.write_error == errno.EIO
    assert len(calls) == 1  # stopped at the first write
    # The object keeps its first error.
    with pytest.raises(xbcrypt.Error) as again:
        enc.feed(b"b")
    assert again.value.status == Status.E_WRITE
    assert enc.status == Status.E_WRITE
    enc.close()


def test_oserror_in_file_gives_its_errno(key32):
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(xbcrypt.Error) as info:
        xbcrypt.encrypt_stream(io.BytesIO(b"x" * 100), Full(), key32)
    assert info.value.write_error == errno.ENOSPC
    assert isinstance(info.value.__cause__, OSError)


def test_keyboard_interrupt_in_callback_propagates_as_is(key32):
    def sink(data):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with xbcrypt.Encoder(key32, sink) as enc:
            enc.feed(b"x")


def test_with_block_finishes_on_exit_and_only_frees_on_exception(key32):
    out = []
    with xbcrypt.Encoder(key32, out.append) as enc:
        enc.feed(b"z" * 100)
    assert out and enc._obj is None  # finished (last chunk written) and freed
    out2 = []
    with pytest.raises(Boom):
        with xbcrypt.Encoder(key32, out2.append) as enc2:
            enc2.feed(b"z" * 100)
            raise Boom()
    assert out2 == []  # not finished: the short chunk was never flushed
    assert enc2._obj is None
    with pytest.raises(ValueError):
        enc2.feed(b"more")


def test_decoder_finish_reports_truncation(key32, fixtures):
    with open(os.path.join(fixtures, "det", "aes256_p1024.xbcrypt"), "rb") as f:
        data = f.read()
    dec = xbcrypt.Decoder(key32, lambda b: None)
    dec.feed(data[:-1])
    with pytest.raises(xbcrypt.Error) as info:
        dec.finish()
    assert info.value.status == Status.E_TRUNCATED
    assert (info.value.chunk, info.value.offset) == (0, 0)
    dec.close()
