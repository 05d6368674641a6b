"""The binding honours the table's layout, struct_size, and the ABI major."""
import ctypes
import os
import subprocess
import sys

import pytest

import xbcrypt
from xbcrypt import _abi


def test_struct_sizes_match_the_header(tmp_path):
    """Compile a probe against the header: every offset and size equals ctypes'."""
    cc = os.environ.get("CC", "cc")
    inc = os.environ.get("XBCRYPT_INCLUDE") or os.path.join(
        os.path.dirname(__file__), "..", "..", "include")
    checks = []
    for ctype, pytype in [("xbcrypt_api", _abi.Api), ("xbcrypt_settings", _abi.Settings),
                          ("xbcrypt_stats", _abi.Stats), ("xbcrypt_chunk_info", _abi.ChunkInfo),
                          ("xbcrypt_envelope_v1", _abi.EnvelopeV1)]:
        checks.append(f'printf("{ctype} %zu\\n", sizeof({ctype}));')
        for name, *_ in pytype._fields_:
            checks.append(f'printf("{ctype}.{name} %zu\\n", offsetof({ctype}, {name}));')
    src = tmp_path / "probe.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n#include <xbcrypt/xbcrypt.h>\n"
                   "int main(void) {\n" + "\n".join(checks) + "\nreturn 0; }\n")
    exe = tmp_path / "probe"
    subprocess.run([cc, "-std=c11", "-I", inc, str(src), "-o", str(exe)], check=True)
    got = dict(line.split() for line in subprocess.run(
        [str(exe)], check=True, capture_output=True, text=True).stdout.splitlines())
    for ctype, pytype in [("xbcrypt_api", _abi.Api), ("xbcrypt_settings", _abi.Settings),
                          ("xbcrypt_stats", _abi.Stats), ("xbcrypt_chunk_info", _abi.ChunkInfo),
                          ("xbcrypt_envelope_v1", _abi.EnvelopeV1)]:
        assert int(got[ctype]) == ctypes.sizeof(pytype), ctype
        for name, *_ in pytype._fields_:
            assert int(got[f"{ctype}.{name}"]) == getattr(pytype, name).offset, (ctype, name)


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
