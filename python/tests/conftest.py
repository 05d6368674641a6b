"""Shared fixtures of the binding's tests.

Environment (meson's `python` suite sets all of them; debian/tests sets
them to the installed files):
  XBCRYPT_PLUGIN    the shared object under test (else the binding's search)
  XBCRYPT_CLI       the xbcrypt command to compare against (else `xbcrypt` in PATH)
  XBCRYPT_FIXTURES  the repository's fixtures/ (else ../../fixtures)
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# Sanitizer builds start this interpreter with the ASan runtime preloaded
# (python/meson.build): only Python children that load the plugin need it
# again (python_env); gpg, cc and the rest must run without it.
SANITIZER_PRELOAD = os.environ.pop("LD_PRELOAD", None)
if "xbcrypt" not in sys.modules and os.environ.get("XBCRYPT_PYTHONPATH_SELF", "1") == "1":
    sys.path.insert(0, os.path.dirname(HERE))  # python/, unless testing an installed copy


@pytest.fixture(scope="session")
def fixtures():
    path = os.environ.get("XBCRYPT_FIXTURES") or os.path.join(HERE, "..", "..", "fixtures")
    path = os.path.abspath(path)
    if not os.path.isfile(os.path.join(path, "manifest.json")):
        pytest.fail(f"no fixtures at {path} (set XBCRYPT_FIXTURES)")
    return path


@pytest.fixture(scope="session")
def manifest(fixtures):
    with open(os.path.join(fixtures, "manifest.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("XBCRYPT_CLI") or shutil.which("xbcrypt")
    if not path:
        pytest.fail("no xbcrypt command (set XBCRYPT_CLI)")
    return path


@pytest.fixture(scope="session")
def run_cli(cli):
    def run(args, data=b"", check=True):
        p = subprocess.run([cli, *args], input=data, capture_output=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"xbcrypt {args} exited {p.returncode}: "
                                 f"{p.stderr.decode(errors='replace')}")
        return p
    return run


@pytest.fixture(scope="session")
def python_env():
    """The environment for a Python child that imports this binding."""
    import xbcrypt
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(xbcrypt.__file__)))
    if SANITIZER_PRELOAD:
        env["LD_PRELOAD"] = SANITIZER_PRELOAD
    return env


@pytest.fixture(scope="session")
def key32(fixtures):
    return os.path.join(fixtures, "keys", "key32.bin")


@pytest.fixture(scope="session")
def plain(fixtures):
    def read(name):
        with open(os.path.join(fixtures, "plain", name), "rb") as f:
            return f.read()
    return read
