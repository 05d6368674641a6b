"""The public-key envelope: encrypt to recipients, decrypt through a wrapped-key file."""
import io
import os
import shutil
import subprocess
import tempfile

import pytest

import xbcrypt


def gpg(home, *args, data=None):
    return subprocess.run(["gpg", "--homedir", home, "--batch", "--no-tty", "--quiet",
                           "--pinentry-mode", "loopback", "--passphrase", "", *args],
                          input=data, capture_output=True, check=True, timeout=120).stdout


@pytest.fixture(scope="module")
def homes():
    """A restore home with a secret key, a backup host with only its public key."""
    if not shutil.which("gpg") or not shutil.which("gpgconf"):
        pytest.fail("gpg and gpgconf are needed (gnupg)")
    base = tempfile.mkdtemp(prefix="xbp.", dir="/tmp")  # agent socket paths stay short
    restore, host = os.path.join(base, "r"), os.path.join(base, "h")
    try:
        for h in (restore, host):
            os.mkdir(h, 0o700)
        gpg(restore, "--quick-gen-key", "alice <alice@test.invalid>", "future-default", "default",
            "never")
        out = gpg(restore, "--with-colons", "--list-keys", "alice@test.invalid").decode()
        fpr = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
        gpg(host, "--import", data=gpg(restore, "--export", fpr))
        yield {"restore": restore, "host": host, "fpr": fpr}
    finally:
        for h in (restore, host):
            subprocess.run(["gpgconf", "--homedir", h, "--kill", "gpg-agent"],
                           capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_encrypt_to_recipient_decrypt_with_wrapped_key(homes, tmp_path, monkeypatch, run_cli):
    assert xbcrypt.envelope_available()
    data = os.urandom(150000)
    wrapped = tmp_path / "backup.key.asc"
    monkeypatch.setenv("GNUPGHOME", homes["host"])
    xbcrypt.check_recipients([homes["fpr"]])
    enc = io.BytesIO()
    xbcrypt.encrypt_stream(io.BytesIO(data), enc, recipients=[homes["fpr"]],
                           wrapped_key_file=wrapped, threads=2)
    assert wrapped.read_bytes().startswith(b"-----BEGIN PGP MESSAGE-----")
    with pytest.raises(FileExistsError):  # never replaced
        xbcrypt.encrypt_stream(io.BytesIO(data), io.BytesIO(), recipients=[homes["fpr"]],
                               wrapped_key_file=wrapped)
    with pytest.raises(xbcrypt.Error) as info:  # the host cannot decrypt its own backup
        xbcrypt.decrypt_stream(io.BytesIO(enc.getvalue()), io.BytesIO(), wrapped_key_file=wrapped)
    assert info.value.status == xbcrypt.Status.E_KEY

    monkeypatch.setenv("GNUPGHOME", homes["restore"])
    out = io.BytesIO()
    xbcrypt.decrypt_stream(io.BytesIO(enc.getvalue()), out, wrapped_key_file=wrapped)
    assert out.getvalue() == data
    # The CLI reads what the binding wrote, and stock gpg recovers the data key.
    got = run_cli(["-d", "-a", "AES256", "--wrapped-key-file", str(wrapped)], enc.getvalue())
    assert got.stdout == data
    key_file = tmp_path / "data.key"
    key_file.write_bytes(gpg(homes["restore"], "--decrypt", str(wrapped)))
    assert key_file.stat().st_size == 32
    out2 = io.BytesIO()
    xbcrypt.decrypt_stream(io.BytesIO(enc.getvalue()), out2, key_file)
    assert out2.getvalue() == data


def test_wrap_unwrap_rewrap_and_refusals(homes, monkeypatch):
    monkeypatch.setenv("GNUPGHOME", homes["host"])
    with pytest.raises(xbcrypt.Error) as info:
        xbcrypt.check_recipients(["alice@test.invalid"])  # not a fingerprint
    assert info.value.status == xbcrypt.Status.E_ARG
    with pytest.raises(xbcrypt.Error) as info:
        xbcrypt.check_recipients(["0" * 40])  # not in the keyring
    assert info.value.status == xbcrypt.Status.E_KEY
    assert "0" * 40 in str(info.value)
    key, wrapped = xbcrypt.wrap([homes["fpr"]])
    with key:
        assert key.size == 32
        parts = []
        with xbcrypt.Encoder(key, parts.append) as enc:
            enc.feed(b"secret rows" * 1000)
    monkeypatch.setenv("GNUPGHOME", homes["restore"])
    rewrapped = xbcrypt.rewrap(wrapped, [homes["fpr"]])
    assert rewrapped != wrapped
    for w in (wrapped, memoryview(rewrapped)):
        with xbcrypt.unwrap(w) as k2:
            out = bytearray()
            with xbcrypt.Decoder(k2, out.extend) as dec:
                dec.feed(b"".join(parts))
            assert bytes(out) == b"secret rows" * 1000
