"""xbcrypt: Percona XtraBackup's XBCRYPT stream encryption, from Python.

A pure-Python binding (ctypes) over ``xbcrypt-plugin.so``, the engine of
xbcrypt-compat.  It reads and writes the same files as the ``xbcrypt``
command (format versions 1, 2 and 3 in, version 3 out).

The plugin is found through ``$XBCRYPT_PLUGIN``, then pkg-config's
``plugindir``, then the install locations (``/usr/lib/<triplet>/xbcrypt/``).

Keys are read by the engine itself from a key file (or a wrapped-key file
through gpg) into libgcrypt's secure memory; they never exist as Python
objects.  The engine releases the GIL while it works, so several Python
threads may each run their own stream at once; one object must not be used
from two threads at the same time.

>>> import xbcrypt
>>> with open("backup.xbstream", "rb") as src, open("backup.xbcrypt", "wb") as dst:
...     xbcrypt.encrypt_stream(src, dst, "/etc/mysql/backup.key", threads=2)
"""

from __future__ import annotations

import ctypes
import enum
import os
from typing import (BinaryIO, Callable, Iterable, Optional, Sequence, Tuple, Union)

from . import _abi

__version__ = "1.1.0"

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Buffer = Union[bytes, bytearray, memoryview]
#: Where output goes: a callable taking ``bytes``, or a binary file object.
Sink = Union[Callable[[bytes], object], BinaryIO]

_READ_SIZE = 1 << 20


class Status(enum.IntEnum):
    """xbcrypt_status: the engine's pinned status codes."""
    OK = 0
    E_ARG = 1
    E_NOMEM = 2
    E_KEY = 3
    E_CRYPTO = 4
    E_WRITE = 5
    E_MAGIC = 6
    E_LIMIT = 7
    E_CRC = 8
    E_HASH = 9
    E_WRONG_KEY = 10
    E_TRUNCATED = 11
    E_STATE = 12
    E_THREAD = 13
    E_IO = 14
    E_UNSUPPORTED = 15


class Algo(enum.IntEnum):
    """xbcrypt_algo.  The AES key size really used is the key's length."""
    NONE = 0
    AES128 = 1
    AES192 = 2
    AES256 = 3


class Error(Exception):
    """An engine failure.

    Attributes:
        status: the :class:`Status` (an int for codes newer than this binding).
        chunk: index of the chunk the decoder failed on, or None.
        offset: byte offset of that chunk's magic in the encrypted stream, or None.
        write_error: the errno a failed write gave the engine, or 0.
    When a write callback or file raised, that exception is ``__cause__``.
    """

    def __init__(self, status: int, message: str, chunk: Optional[int] = None,
                 offset: Optional[int] = None, write_error: int = 0):
        super().__init__(message)
        try:
            self.status: Union[Status, int] = Status(status)
        except ValueError:
            self.status = status
        self.message = message
        self.chunk = chunk
        self.offset = offset
        self.write_error = write_error

    def __str__(self) -> str:
        return self.message


def _status_name(status: int) -> str:
    return _abi.engine().api.status_name(status).decode(errors="replace")


def _check(status: int, msg) -> None:
    if status != 0:
        text = msg.value.decode(errors="replace") if msg is not None else ""
        raise Error(status, text or _status_name(status))


def _algo(algo: Union[str, int, Algo]) -> Algo:
    if isinstance(algo, str):
        try:
            return Algo[algo.upper()]
        except KeyError:
            raise ValueError(f"unknown algorithm {algo!r}: NONE, AES128, AES192 or AES256"
                             ) from None
    return Algo(algo)


def engine_version() -> str:
    """The loaded engine's version string, e.g. ``"1.1.0"``."""
    return _abi.engine().api.version_string().decode()


def plugin_path() -> str:
    """Path of the loaded xbcrypt-plugin.so."""
    return _abi.engine().path


class _Owned:
    """An engine object this Python object owns: freed by close(), or when collected."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class Key(_Owned):
    """A key held by the engine in secure memory; wiped by :meth:`close`.

    Make one with :meth:`from_file`, :meth:`from_fd` or :func:`unwrap`.  A
    key may be shared by any number of encoders and decoders (in any
    thread) and must outlive them.  Usable as a context manager.
    """

    __slots__ = ("_ptr", "__weakref__")

    def __init__(self, _ptr: int):
        self._ptr: Optional[int] = _ptr

    @classmethod
    def from_file(cls, path: PathLike) -> "Key":
        """The whole content of the file (a file, a FIFO or /dev/fd/N) as the key."""
        api = _abi.engine().api
        out, msg = ctypes.c_void_p(), _abi.message_buffer()
        _check(api.key_from_file(os.fsencode(path), ctypes.byref(out), msg, len(msg)), msg)
        return cls(out.value)

    @classmethod
    def from_fd(cls, fd: int) -> "Key":
        """The key read from descriptor `fd` to its end (fd is not closed)."""
        api = _abi.engine().api
        out, msg = ctypes.c_void_p(), _abi.message_buffer()
        _check(api.key_from_fd(fd, ctypes.byref(out), msg, len(msg)), msg)
        return cls(out.value)

    @property
    def size(self) -> int:
        """Length of the key in bytes (16, 24 or 32 for AES)."""
        return _abi.engine().api.key_size(self._handle())

    def _handle(self) -> int:
        if not self._ptr:
            raise ValueError("key is closed")
        return self._ptr

    def close(self) -> None:
        """Wipe and free the key; later use raises ValueError."""
        ptr, self._ptr = self._ptr, None
        if ptr:
            _abi.engine().api.key_free(ptr)

    def __enter__(self) -> "Key":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<xbcrypt.Key closed>" if not self._ptr else f"<xbcrypt.Key {self.size} bytes>"


class _Sink:
    """The C write callback over a Python callable or binary file object.

    An exception in the callable (or file) makes the callback return
    non-zero: the engine fails the stream with E_WRITE and the exception is
    kept, to be raised as the Error's __cause__ in the thread that fed.
    """

    def __init__(self, sink: Optional[Sink]):
        self.exc: Optional[BaseException] = None
        if sink is None:
            self.fn = None
            self.c_fn = _abi.WRITE_FN()  # NULL: decoder verifies only
            return
        if hasattr(sink, "write"):
            self.fn = _file_writer(sink)  # type: ignore[arg-type]
        elif callable(sink):
            self.fn = sink
        else:
            raise TypeError("write must be a callable or a binary file object")
        self.c_fn = _abi.WRITE_FN(self._call)

    def _call(self, _opaque, buf, size) -> int:
        # Called by the engine from the thread inside feed()/finish(); ctypes
        # takes the GIL for us.  Nothing may escape into ctypes.
        try:
            self.fn(_abi.string_at(buf, size))
            return 0
        except BaseException as exc:  # noqa: B902 - re-raised by the feeder
            self.exc = exc
            return getattr(exc, "errno", None) or 5  # EIO

    def close(self) -> None:
        self.fn = None


def _file_writer(f: BinaryIO) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = f.write(view)
            if n is None:  # non-blocking raw file with no room
                raise BlockingIOError("output file would block")
            view = view[n:]
    return write


class Stats:
    """Totals of a stream so far (xbcrypt_stats)."""

    __slots__ = ("chunks", "bytes_in", "plaintext_bytes", "encrypted_bytes",
                 "versions_seen", "hashed_chunks", "size_mismatches")

    def __init__(self, c: _abi.Stats):
        for name in self.__slots__:
            # Only what the engine's struct_size covers; the rest stays 0.
            setattr(self, name, getattr(c, name) if _abi.has(c, name) else 0)

    def __repr__(self) -> str:
        return "Stats(" + ", ".join(f"{n}={getattr(self, n)}" for n in self.__slots__) + ")"


class _Stream(_Owned):
    """What Encoder and Decoder share: settings, key, lifecycle, errors."""

    _kind = ""

    def __init__(self, key: Union[Key, PathLike, None], write: Optional[Sink], algo, threads: int,
                 chunk_size: Optional[int] = None):
        self._eng = _abi.engine()
        self._api = self._eng.api
        self._obj: Optional[int] = None
        self._last: Optional[Stats] = None
        self._finished = False
        self._own_key = None
        if key is not None and not isinstance(key, Key):
            key = self._own_key = Key.from_file(key)
        self._key = key
        self._sink = _Sink(write)
        s = _abi.settings_default(self._api)
        s.algo = _algo(algo)
        s.key = key._handle() if key is not None else None
        s.threads = threads
        if chunk_size is not None:
            s.chunk_size = chunk_size
        out, msg = ctypes.c_void_p(), _abi.message_buffer()
        new = getattr(self._api, self._kind + "_new")
        try:
            _check(new(ctypes.byref(s), self._sink.c_fn, None, ctypes.byref(out), msg, len(msg)),
                   msg)
        except BaseException:
            self._release_key()
            raise
        self._obj = out.value

    def _call(self, name: str, *args) -> int:
        return getattr(self._api, f"{self._kind}_{name}")(self._handle(), *args)

    def _handle(self) -> int:
        if not self._obj:
            raise ValueError(f"{self._kind} is closed")
        return self._obj

    def _fault(self) -> Tuple[Optional[int], Optional[int]]:
        return None, None

    def _raise(self, status: int) -> None:
        message = self._call("message").decode(errors="replace") or _status_name(status)
        chunk, offset = self._fault()
        werr = 0
        if self._eng.has(self._kind + "_write_error"):
            werr = self._call("write_error")
        exc, self._sink.exc = self._sink.exc, None
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        raise Error(status, message, chunk, offset, werr) from exc

    def feed(self, data: Buffer) -> None:
        """Feed bytes, bytearray or memoryview, in any split.

        Output is written through the write callback or file as chunks
        complete.  Raises :class:`Error` on failure (and on every call after
        one).  The GIL is released while the engine works.
        """
        handle = self._handle()
        with _abi.pinned(data) as (address, size):
            if not size:
                return
            status = getattr(self._api, self._kind + "_feed")(handle, address, size)
        if status:
            self._raise(status)

    def write(self, data: Buffer) -> int:
        """File-like alias of :meth:`feed`; returns len(data)."""
        self.feed(data)
        return memoryview(data).nbytes

    def finish(self) -> "Stats":
        """Flush the last chunk and wait for all output; returns the totals."""
        status = self._call("finish")
        if status:
            self._raise(status)
        self._finished = True
        return self.stats()

    def stats(self) -> "Stats":
        """Totals so far (after close(), the totals the object had then)."""
        if not self._obj and self._last is not None:
            return self._last
        c = _abi.Stats()
        c.struct_size = ctypes.sizeof(c)
        self._call("stats", ctypes.byref(c))
        return Stats(c)

    @property
    def status(self) -> Union[Status, int]:
        """The object's status: OK, or the first error it met."""
        s = self._call("status")
        try:
            return Status(s)
        except ValueError:
            return s

    def close(self) -> None:
        """Free the engine object (without finishing); idempotent."""
        if self._obj:
            self._last = self.stats()
        obj, self._obj = self._obj, None
        if obj:
            getattr(self._api, self._kind + "_free")(obj)
        self._sink.close()
        self._release_key()

    def _release_key(self) -> None:
        own, self._own_key = self._own_key, None
        if own is not None:
            own.close()
        self._key = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and not self._finished and self._obj:
                self.finish()
        finally:
            self.close()


class Encoder(_Stream):
    """Plaintext in (any split), XBCRYPT version-3 chunks out.

    Args:
        key: a :class:`Key`, or the path of a key file (read by the engine).
            None only with algo NONE.
        write: a callable taking ``bytes``, or a binary file object.
        algo: "AES256" (default), "AES192", "AES128" or "NONE" (any case), or an :class:`Algo`.
        threads: threads doing the crypto (0 = all in the calling thread).
        chunk_size: plaintext bytes per chunk (1024 .. 2 GiB - 33).

    ``with Encoder(...) as enc:`` finishes and frees on normal exit; on an
    exception it only frees (the stream is left incomplete).
    """

    _kind = "encoder"

    def __init__(self, key: Union[Key, PathLike, None], write: Sink,
                 algo: Union[str, int, Algo] = "AES256", threads: int = 1,
                 chunk_size: int = 65536):
        if write is None:
            raise TypeError("an Encoder needs a write callable or file")
        super().__init__(key, write, algo, threads, chunk_size)

    def __enter__(self) -> "Encoder":
        return self


class Decoder(_Stream):
    """An XBCRYPT stream in (any split), verified plaintext out.

    No byte of a chunk is written before its CRC-32 and SHA-256 pass.  A
    failure raises :class:`Error` with ``.chunk`` and ``.offset`` of the bad
    chunk.  With ``write=None`` the decoder only verifies (and may then have
    no key: structure and CRC only).  The algorithm is only used to decide
    whether a key is needed ("NONE" streams need none).
    """

    _kind = "decoder"

    def __init__(self, key: Union[Key, PathLike, None], write: Optional[Sink],
                 algo: Union[str, int, Algo] = "AES256", threads: int = 1):
        super().__init__(key, write, algo, threads)

    def __enter__(self) -> "Decoder":
        return self

    def _fault(self) -> Tuple[Optional[int], Optional[int]]:
        if not self._eng.has("decoder_fault"):
            return None, None
        info = _abi.ChunkInfo()
        info.struct_size = ctypes.sizeof(info)
        if self._call("fault", ctypes.byref(info)) != 1:
            return None, None
        return info.index, info.offset


def _pump(src: BinaryIO, stream: _Stream, read_size: int) -> "Stats":
    readinto = getattr(src, "readinto", None)
    if readinto is not None:
        buf = bytearray(read_size)
        view = memoryview(buf)
        while True:
            n = readinto(view)
            if not n:
                break
            stream.feed(view[:n])
    else:
        while True:
            data = src.read(read_size)
            if not data:
                break
            stream.feed(data)
    return stream.finish()


def _key_for(key_file: Optional[PathLike], wrapped_key_file: Optional[PathLike]) -> Key:
    if (key_file is None) == (wrapped_key_file is None):
        raise ValueError("give exactly one of key_file and wrapped_key_file")
    if key_file is not None:
        return Key.from_file(key_file)
    with open(wrapped_key_file, "rb") as f:  # type: ignore[arg-type]
        return unwrap(f.read())


def encrypt_stream(src: BinaryIO, dst: Sink, key_file: Optional[PathLike] = None,
                   algo: Union[str, int, Algo] = "AES256", threads: int = 1,
                   chunk_size: int = 65536, *, recipients: Optional[Sequence[str]] = None,
                   wrapped_key_file: Optional[PathLike] = None) -> "Stats":
    """Encrypt binary file `src` to `dst` (a binary file or a callable).

    With ``key_file``: the key file's content is the key, as for ``xbcrypt
    -f``.  With ``recipients`` and ``wrapped_key_file`` instead: a fresh
    data key wrapped to those OpenPGP fingerprints is written to
    `wrapped_key_file` (created; an existing file is never replaced) and the
    stream is AES-256 under it, as ``xbcrypt --recipient``.  Returns the
    stream's :class:`Stats`.
    """
    if recipients is not None:
        if key_file is not None or wrapped_key_file is None:
            raise ValueError("recipients need wrapped_key_file and no key_file")
        key, wrapped = wrap(recipients)
        try:
            with open(wrapped_key_file, "xb") as f:
                f.write(wrapped)
        except BaseException:
            key.close()
            raise
        algo = "AES256"
    else:
        if key_file is None and _algo(algo) != Algo.NONE:
            raise ValueError("key_file is required unless algo is NONE")
        key = Key.from_file(key_file) if key_file is not None else None
    try:
        with Encoder(key, dst, algo=algo, threads=threads, chunk_size=chunk_size) as enc:
            return _pump(src, enc, _READ_SIZE)
    finally:
        if key is not None:
            key.close()


def decrypt_stream(src: BinaryIO, dst: Optional[Sink], key_file: Optional[PathLike] = None,
                   threads: int = 1, *, wrapped_key_file: Optional[PathLike] = None,
                   algo: Union[str, int, Algo] = "AES256") -> "Stats":
    """Decrypt binary file `src` to `dst` (a binary file, a callable, or None to verify only).

    The key comes from ``key_file`` or, for an envelope stream, from
    ``wrapped_key_file`` (gpg decrypts it with a secret key gpg-agent holds).
    Raises :class:`Error` (with ``.chunk`` and ``.offset``) on damage, a
    wrong key or a truncated stream; nothing of a bad chunk is written.
    """
    if key_file is None and wrapped_key_file is None and _algo(algo) == Algo.NONE:
        key = None
    else:
        key = _key_for(key_file, wrapped_key_file)
    try:
        with Decoder(key, dst, algo=algo, threads=threads) as dec:
            return _pump(src, dec, _READ_SIZE)
    finally:
        if key is not None:
            key.close()


# ---- The public-key envelope (extension "xbcrypt.envelope.v1") ----

def _envelope(field: str) -> _abi.EnvelopeV1:
    env = _abi.engine().envelope
    if env is None or not _abi.has(env, field):
        raise Error(Status.E_UNSUPPORTED, "the loaded engine has no public-key envelope "
                    f"({field}); it was built without GPGME or is too old")
    return env


def _recipients(recipients: Iterable[str]) -> Tuple[ctypes.Array, int]:
    items = [r.encode() if isinstance(r, str) else bytes(r) for r in recipients]
    return (ctypes.c_char_p * max(len(items), 1))(*items), len(items)


def envelope_available() -> bool:
    """True when the loaded engine has the envelope extension."""
    env = _abi.engine().envelope
    return env is not None and _abi.has(env, "wrapped_free")


def check_recipients(recipients: Iterable[str]) -> None:
    """Raise :class:`Error` unless every fingerprint names a usable encryption key."""
    env = _envelope("check_recipients")
    arr, n = _recipients(recipients)
    msg = _abi.message_buffer()
    _check(env.check_recipients(arr, n, msg, len(msg)), msg)


def _take_wrapped(env: _abi.EnvelopeV1, ptr: ctypes.c_void_p, size: ctypes.c_size_t) -> bytes:
    try:
        return _abi.string_at(ptr.value, size.value)
    finally:
        env.wrapped_free(ptr)


def wrap(recipients: Iterable[str]) -> Tuple[Key, bytes]:
    """A fresh 32-byte data key, and it wrapped to every recipient.

    Returns ``(key, wrapped)``: the key (in secure memory) for an
    :class:`Encoder`, and the ASCII-armoured OpenPGP message to store beside
    the backup (not secret).
    """
    env = _envelope("wrap")
    arr, n = _recipients(recipients)
    out, size, key = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
    msg = _abi.message_buffer()
    _check(env.wrap(arr, n, ctypes.byref(out), ctypes.byref(size), ctypes.byref(key), msg,
                    len(msg)), msg)
    k = Key(key.value)
    try:
        return k, _take_wrapped(env, out, size)
    except BaseException:
        k.close()
        raise


def unwrap(wrapped: Buffer) -> Key:
    """The data key of a wrapped key, decrypted by gpg into secure memory."""
    env = _envelope("unwrap")
    key, msg = ctypes.c_void_p(), _abi.message_buffer()
    with _abi.pinned(wrapped) as (address, size):
        status = env.unwrap(address, size, ctypes.byref(key), msg, len(msg))
    _check(status, msg)
    return Key(key.value)


def rewrap(wrapped: Buffer, recipients: Iterable[str]) -> bytes:
    """The same data key wrapped to new recipients (the stream is unchanged)."""
    env = _envelope("rewrap")
    arr, n = _recipients(recipients)
    out, size, msg = ctypes.c_void_p(), ctypes.c_size_t(), _abi.message_buffer()
    with _abi.pinned(wrapped) as (address, length):
        status = env.rewrap(address, length, arr, n, ctypes.byref(out), ctypes.byref(size), msg,
                            len(msg))
    _check(status, msg)
    return _take_wrapped(env, out, size)


__all__ = ["Algo", "Decoder", "Encoder", "Error", "Key", "Stats", "Status", "check_recipients",
           "decrypt_stream", "encrypt_stream", "engine_version", "envelope_available",
           "plugin_path", "rewrap", "unwrap", "wrap"]
