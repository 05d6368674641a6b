"""ctypes mirror of include/xbcrypt/xbcrypt.h (ABI major 1) and the plugin loader.

Every struct here is laid out exactly as its C counterpart, field for field
and in order.  The engine's own tables (``xbcrypt_api``,
``xbcrypt_envelope_v1``) may be shorter than ours (an older engine) or longer
(a newer one): a field is read only when the engine's ``struct_size`` covers
it, as ``XBCRYPT_API_HAS()`` does in C (see :func:`has`).  The structs the
host fills (``xbcrypt_chunk_info``, ``xbcrypt_stats``) always get
``struct_size = sizeof`` before the engine sees them.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sysconfig
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_size_t,
                    c_uint, c_uint8, c_uint32, c_uint64, c_void_p)
from typing import List, Optional

ABI_MAJOR = 1
PLUGIN_SONAME = "xbcrypt-plugin.so"
PLUGIN_SYMBOL = "xbcrypt_plugin_api"
ENVELOPE_V1 = b"xbcrypt.envelope.v1"
ENVELOPE_KEY_SIZE = 32

c_status = c_int  # enum xbcrypt_status
c_algo = c_int    # enum xbcrypt_algo

WRITE_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
IV_FN = CFUNCTYPE(c_int, c_void_p, c_uint64, POINTER(c_uint8))


class ChunkInfo(Structure):
    """xbcrypt_chunk_info."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("index", c_uint64),
        ("offset", c_uint64),
        ("version", c_uint),
        ("original_size", c_uint64),
        ("encrypted_size", c_uint64),
        ("iv_size", c_uint64),
        ("iv", c_uint8 * 16),
        ("plaintext_size", c_uint64),
        ("crc", c_uint32),
        ("hash_checked", c_int),
    ]


CHUNK_FN = CFUNCTYPE(None, c_void_p, POINTER(ChunkInfo))


class Settings(Structure):
    """xbcrypt_settings (filled by settings_default(), which sets struct_size)."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("algo", c_algo),
        ("key", c_void_p),
        ("chunk_size", c_size_t),
        ("read_buffer_size", c_size_t),
        ("threads", c_uint),
        ("iv_source", IV_FN),
        ("iv_opaque", c_void_p),
        ("on_chunk", CHUNK_FN),
        ("chunk_opaque", c_void_p),
    ]


class Stats(Structure):
    """xbcrypt_stats."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("chunks", c_uint64),
        ("bytes_in", c_uint64),
        ("plaintext_bytes", c_uint64),
        ("encrypted_bytes", c_uint64),
        ("versions_seen", c_uint),
        ("hashed_chunks", c_uint64),
        ("size_mismatches", c_uint64),
    ]


_msg = (c_char_p, c_size_t)  # char *msg, size_t msg_size (a ctypes buffer is passed)
_obj = c_void_p              # xbcrypt_key *, xbcrypt_encoder *, xbcrypt_decoder *


def _fn(restype, *argtypes):
    return CFUNCTYPE(restype, *argtypes)


class Api(Structure):
    """xbcrypt_api, in the header's order.  Read a field only if has() says so."""
    _fields_ = [
        ("abi_major", c_uint),
        ("struct_size", c_size_t),
        ("version_number", _fn(c_uint)),
        ("version_string", _fn(c_char_p)),
        ("init", _fn(c_status)),
        ("cleanup", _fn(None)),
        ("status_name", _fn(c_char_p, c_status)),
        ("settings_default", _fn(None, POINTER(Settings))),
        ("key_from_file", _fn(c_status, c_char_p, POINTER(_obj), *_msg)),
        ("key_from_fd", _fn(c_status, c_int, POINTER(_obj), *_msg)),
        ("key_from_bytes", _fn(c_status, c_void_p, c_size_t, POINTER(_obj), *_msg)),
        ("key_size", _fn(c_size_t, _obj)),
        ("key_free", _fn(None, _obj)),
        ("encoder_new", _fn(c_status, POINTER(Settings), WRITE_FN, c_void_p, POINTER(_obj),
                            *_msg)),
        ("encoder_feed", _fn(c_status, _obj, c_void_p, c_size_t)),
        ("encoder_finish", _fn(c_status, _obj)),
        ("encoder_free", _fn(None, _obj)),
        ("encoder_status", _fn(c_status, _obj)),
        ("encoder_message", _fn(c_char_p, _obj)),
        ("encoder_stats", _fn(None, _obj, POINTER(Stats))),
        ("decoder_new", _fn(c_status, POINTER(Settings), WRITE_FN, c_void_p, POINTER(_obj),
                            *_msg)),
        ("decoder_feed", _fn(c_status, _obj, c_void_p, c_size_t)),
        ("decoder_finish", _fn(c_status, _obj)),
        ("decoder_free", _fn(None, _obj)),
        ("decoder_status", _fn(c_status, _obj)),
        ("decoder_message", _fn(c_char_p, _obj)),
        ("decoder_stats", _fn(None, _obj, POINTER(Stats))),
        ("extension", _fn(c_void_p, c_char_p)),
        # Appended after `extension`.
        ("encoder_write_error", _fn(c_int, _obj)),
        ("decoder_write_error", _fn(c_int, _obj)),
        ("encoder_buffer", _fn(c_status, _obj, POINTER(c_void_p), POINTER(c_size_t))),
        ("encoder_commit", _fn(c_status, _obj, c_size_t)),
        ("decoder_buffer", _fn(c_status, _obj, POINTER(c_void_p), POINTER(c_size_t))),
        ("decoder_commit", _fn(c_status, _obj, c_size_t)),
        ("decoder_fault", _fn(c_int, _obj, POINTER(ChunkInfo))),
    ]


class EnvelopeV1(Structure):
    """xbcrypt_envelope_v1."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("check_recipients", _fn(c_status, POINTER(c_char_p), c_size_t, *_msg)),
        ("wrap", _fn(c_status, POINTER(c_char_p), c_size_t, POINTER(c_void_p),
                     POINTER(c_size_t), POINTER(_obj), *_msg)),
        ("unwrap", _fn(c_status, c_void_p, c_size_t, POINTER(_obj), *_msg)),
        ("rewrap", _fn(c_status, c_void_p, c_size_t, POINTER(c_char_p), c_size_t,
                       POINTER(c_void_p), POINTER(c_size_t), *_msg)),
        ("wrapped_free", _fn(None, c_void_p)),
    ]


def has(table: Structure, field: str) -> bool:
    """XBCRYPT_API_HAS / XBCRYPT_ENVELOPE_HAS: is `field` inside the engine's table?"""
    desc = getattr(type(table), field)
    return table.struct_size >= desc.offset + desc.size


# settings_default() writes the engine's whole xbcrypt_settings, which a
# newer engine may have made longer than ours: give it room.
_SETTINGS_ROOM = 4096


def settings_default(api: "Api") -> Settings:
    """An xbcrypt_settings filled by the engine's settings_default()."""
    room = (ctypes.c_char * _SETTINGS_ROOM)()
    s = Settings.from_buffer(room)  # keeps `room` alive
    api.settings_default(ctypes.byref(s))
    if s.struct_size > _SETTINGS_ROOM or s.struct_size < ctypes.sizeof(Settings):
        raise OSError(f"the engine's settings are {s.struct_size} bytes; this binding "
                      f"expects {ctypes.sizeof(Settings)} to {_SETTINGS_ROOM}")
    return s


def message_buffer() -> ctypes.Array:
    """A buffer for the functions that take (char *msg, size_t msg_size)."""
    return ctypes.create_string_buffer(512)


def candidate_paths() -> List[str]:
    """Where the plugin is looked for, in order.

    1. ``$XBCRYPT_PLUGIN`` (a path to the shared object);
    2. the ``plugindir`` of pkg-config's ``xbcrypt`` module, when pkg-config
       and the -dev package are there;
    3. the Debian / meson install locations: ``/usr/lib/<triplet>/xbcrypt``,
       ``/usr/local/lib/<triplet>/xbcrypt``, ``/usr/lib/xbcrypt``, ...
    """
    env = os.environ.get("XBCRYPT_PLUGIN")
    if env:
        return [env]
    paths = []
    pkg_config = shutil.which("pkg-config")
    if pkg_config:
        try:
            out = subprocess.run([pkg_config, "--variable=plugindir", "xbcrypt"],
                                 capture_output=True, text=True, timeout=10, check=False)
            if out.returncode == 0 and out.stdout.strip():
                paths.append(os.path.join(out.stdout.strip(), PLUGIN_SONAME))
        except (OSError, subprocess.SubprocessError):
            pass
    triplet = sysconfig.get_config_var("MULTIARCH")
    for prefix in ("/usr", "/usr/local"):
        libdirs = ([f"{prefix}/lib/{triplet}"] if triplet else []) + \
            [f"{prefix}/lib", f"{prefix}/lib64"]
        paths += [os.path.join(d, "xbcrypt", PLUGIN_SONAME) for d in libdirs]
    return list(dict.fromkeys(paths))


class Engine:
    """The loaded shared object, its checked ABI table and the envelope table."""

    def __init__(self, path: str):
        self.path = path
        # RTLD_LOCAL: the engine's libgcrypt must not leak into the process's
        # global symbol namespace.
        self.lib = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        entry = getattr(self.lib, PLUGIN_SYMBOL)
        entry.restype = c_void_p
        entry.argtypes = [c_uint]
        addr = entry(ABI_MAJOR)
        if not addr:
            raise OSError(f"{path} does not implement xbcrypt ABI major {ABI_MAJOR}")
        self.api = Api.from_address(addr)
        if self.api.abi_major != ABI_MAJOR:
            raise OSError(f"{path} returned a table of ABI major {self.api.abi_major}, "
                          f"not {ABI_MAJOR}")
        # Everything up to extension is required; the appended fields are
        # checked where they are used.
        if not has(self.api, "extension"):
            raise OSError(f"{path} is too old: its table stops before extension()")
        status = self.api.init()
        if status != 0:
            raise OSError(f"{path}: init() failed: "
                          f"{self.api.status_name(status).decode(errors='replace')}")
        env = self.api.extension(ENVELOPE_V1)
        self.envelope: Optional[EnvelopeV1] = EnvelopeV1.from_address(env) if env else None

    def has(self, field: str) -> bool:
        return has(self.api, field)


_engine: Optional[Engine] = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """The engine, loaded on first use (thread-safe)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                tried = []
                for path in candidate_paths():
                    if not os.path.exists(path):
                        tried.append(f"{path} (no such file)")
                        continue
                    _engine = Engine(path)
                    break
                else:
                    raise OSError("xbcrypt: cannot find " + PLUGIN_SONAME + "; tried: " +
                                  ", ".join(tried) +
                                  "; set XBCRYPT_PLUGIN to its path or install the "
                                  "xbcrypt-plugin package")
    return _engine


class PyBuffer(Structure):
    """Py_buffer, to hand the engine a pointer into bytes/bytearray/memoryview."""
    _fields_ = [
        ("buf", c_void_p),
        ("obj", c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_char_p),
        ("shape", c_void_p),
        ("strides", c_void_p),
        ("suboffsets", c_void_p),
        ("internal", c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, POINTER(PyBuffer), c_int]
_get_buffer.restype = c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [POINTER(PyBuffer)]
_release_buffer.restype = None


class pinned:
    """``with pinned(data) as (address, length)``: a C pointer to data's bytes.

    The buffer is exported (PyObject_GetBuffer) for the duration, so a
    bytearray cannot be resized under the engine while the GIL is released.
    A non-contiguous memoryview is copied first.
    """

    def __init__(self, data):
        if isinstance(data, memoryview) and not data.c_contiguous:
            data = data.tobytes()
        self._data = data
        self._view = PyBuffer()

    def __enter__(self):
        _get_buffer(self._data, ctypes.byref(self._view), 0)  # PyBUF_SIMPLE
        return self._view.buf, self._view.len

    def __exit__(self, *exc):
        _release_buffer(ctypes.byref(self._view))
        self._data = None
        return False


def string_at(address: int, size: int) -> bytes:
    return ctypes.string_at(address, size) if size else b""


__all__ = ["Api", "ChunkInfo", "Engine", "EnvelopeV1", "Settings", "Stats", "engine",
           "has", "candidate_paths", "message_buffer", "pinned", "settings_default", "WRITE_FN"]
