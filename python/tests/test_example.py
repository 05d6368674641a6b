"""python/examples/backup_upload.py runs, cuts parts, and the parts decrypt as one stream."""
import os
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "backup_upload.py")


def test_backup_upload_example(tmp_path, key32, run_cli, python_env):
    src = tmp_path / "fake-backup.xbstream"
    src.write_bytes(os.urandom(1_000_000))
    env = python_env
    p = subprocess.run([sys.executable, EXAMPLE, "--key-file", key32, "--parts-dir",
                        str(tmp_path / "parts"), "--part-size", "256K", "--",
                        "cat", str(src)], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    uploaded = sorted((tmp_path / "parts" / "uploaded").iterdir())
    assert len(uploaded) == 4  # 1000000 bytes + headers in 256 KiB parts
    assert all(f.stat().st_size == 256 * 1024 for f in uploaded[:-1])
    assert not list((tmp_path / "parts").glob("*.partial"))
    stream = b"".join(f.read_bytes() for f in uploaded)
    assert run_cli(["-d", "-a", "AES256", "-f", key32], stream).stdout == src.read_bytes()


def test_backup_upload_example_reports_a_failing_backup(tmp_path, key32, python_env):
    env = python_env
    p = subprocess.run([sys.executable, EXAMPLE, "--key-file", key32, "--parts-dir",
                        str(tmp_path / "parts"), "--", "sh", "-c", "echo partial; exit 3"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "exited with status 3" in p.stderr
