"""The binding honours the table's layout, struct_size, and the ABI major."""
import ctypes
import os
import subprocess
import sys

import pytest

import xbcrypt
from xbcrypt import _abi


STRUCTS = [("xbcrypt_api", _abi.Api), ("xbcrypt_settings", _abi.Settings),
           ("xbcrypt_stats", _abi.Stats), ("xbcrypt_chunk_info", _abi.ChunkInfo),
           ("xbcrypt_envelope_v1", _abi.EnvelopeV1)]


def test_struct_layouts_match_the_header(tmp_path):
    """Compile a probe against the header: every field the binding declares
    sits at the header's offset, and each binding struct is a prefix of the
    header's (the ABI only ever appends, so a binding that knows fewer
    fields stays valid; one that disagrees on any offset is broken)."""
    cc = os.environ.get("CC", "cc").split()
    inc = os.environ.get("XBCRYPT_INCLUDE") or os.path.join(
        os.path.dirname(__file__), "..", "..", "include")
    checks = []
    for ctype, pytype in STRUCTS:
        checks.append(f'printf("{ctype} %zu\\n", sizeof({ctype}));')
        for name, *_ in pytype._fields_:
            checks.append(f'printf("{ctype}.{name} %zu %zu\\n", offsetof({ctype}, {name}), '
                          f'sizeof((({ctype} *)0)->{name}));')
    src = tmp_path / "probe.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n#include <xbcrypt/xbcrypt.h>\n"
                   "int main(void) {\n" + "\n".join(checks) + "\nreturn 0; }\n")
    exe = tmp_path / "probe"
    subprocess.run(cc + ["-std=c11", "-I", inc, str(src), "-o", str(exe)], check=True)
    got = {}
    for line in subprocess.run([str(exe)], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        key, *values = line.split()
        got[key] = [int(v) for v in values]
    for ctype, pytype in STRUCTS:
        end = 0
        for name, *_ in pytype._fields_:
            field = getattr(pytype, name)
            assert got[f"{ctype}.{name}"] == [field.offset, field.size], (ctype, name)
            end = field.offset + field.size
        assert end <= got[ctype][0], f"{ctype}: the binding declares fields the header lacks"


def test_has_reads_only_what_struct_size_covers():
    api = _abi.Api()
    api.struct_size = _abi.Api.decoder_fault.offset  # a table that stops just before it
    assert _abi.has(api, "decoder_commit")
    assert not _abi.has(api, "decoder_fault")
    api.struct_size = ctypes.sizeof(_abi.Api) + 64  # a newer, longer table
    assert _abi.has(api, "decoder_fault")


def test_loaded_table():
    eng = _abi.engine()
    assert eng.api.abi_major == _abi.ABI_MAJOR
    assert eng.has("decoder_fault")
    assert xbcrypt.engine_version().count(".") == 2
    if "XBCRYPT_PLUGIN" in os.environ:
        assert xbcrypt.plugin_path() == os.environ["XBCRYPT_PLUGIN"]


def test_other_abi_major_is_refused(monkeypatch):
    path = _abi.engine().path
    monkeypatch.setattr(_abi, "ABI_MAJOR", 2)
    with pytest.raises(OSError, match="ABI major 2"):
        _abi.Engine(path)


def test_search_order(monkeypatch):
    monkeypatch.setenv("XBCRYPT_PLUGIN", "/x/y.so")
    assert _abi.candidate_paths() == ["/x/y.so"]
    monkeypatch.delenv("XBCRYPT_PLUGIN")
    paths = _abi.candidate_paths()
    triplet = __import__("sysconfig").get_config_var("MULTIARCH")
    if triplet:
        assert f"/usr/lib/{triplet}/xbcrypt/xbcrypt-plugin.so" in paths


def test_missing_plugin_message(python_env):
    code = ("import xbcrypt\ntry:\n    xbcrypt.engine_version()\nexcept OSError as e:\n"
            "    print(e)\nelse:\n    print('loaded')\n")
    env = dict(python_env, XBCRYPT_PLUGIN="/nonexistent/xbcrypt-plugin.so")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert "cannot find xbcrypt-plugin.so" in out and "XBCRYPT_PLUGIN" in out
