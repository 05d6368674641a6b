#!/usr/bin/env python3
"""test_key_residue.py XBCRYPT_BINARY

No half of a key outside locked memory in a running xbcrypt.  For each of
encrypt, decrypt and --rekey at 1 and 4 threads, xbcrypt is stopped halfway
through its input (it waits on standard input), and every readable private
mapping of the process is read through /proc/PID/mem and searched for the
16-byte halves of its keys.  Mappings that are wholly locked (smaps
"Locked:" equal to their size: libgcrypt's secure pool) are left out; there
must be at least one.  So are mappings over 1 GiB: a sanitizer's shadow
memory (a plain build has none).  As a control, the same scan must find a marker that
is on the process's stack (in argv).  The run then completes and must
succeed.

Reading another process's memory needs ptrace rights over it, and xbcrypt
makes itself non-dumpable: without them (not root) the test is skipped
(exit 77), never passed.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

XB = sys.argv[1]
PIECE = 16 << 20
MAPPING_MAX = 1 << 30
PLAIN = os.urandom(4 << 20)
FAILS = []


def locked_starts(pid):
    """Start addresses of the mappings that are locked in full."""
    out, start, size = set(), None, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                start, size = int(m.group(1), 16), int(m.group(2), 16) - int(m.group(1), 16)
                continue
            m = re.match(r"Locked:\s+(\d+) kB", line)
            if m and size and int(m.group(1)) * 1024 == size:
                out.add(start)
    return out


def scan(pid, needles):
    """{name: [where, ...]} of every needle found; the number of locked
    mappings left out."""
    locked = locked_starts(pid)
    found = {name: [] for name in needles}
    skipped = 0
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read().splitlines()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms, name = parts[1], (parts[5] if len(parts) > 5 else "[anonymous]")
            if perms[0] != "r" or perms[3] != "p" or name.startswith("[vvar") or name == "[vsyscall]":
                continue
            if lo in locked:
                skipped += 1
                continue
            if hi - lo > MAPPING_MAX:  # a sanitizer's shadow: terabytes, never the engine's
                continue
            for at in range(lo, hi, PIECE):
                try:
                    mem.seek(at)
                    # Pieces overlap by 15 bytes so that no needle straddles two.
                    data = mem.read(min(PIECE + 15, hi - at))
                except OSError:
                    continue
                for key, needle in needles.items():
                    i = data.find(needle)
                    while i >= 0:
                        if i < PIECE:
                            found[key].append(f"{at + i:#x} in {name}")
                        i = data.find(needle, i + 1)
    return found, skipped


def settle(path, proc):
    """Waits until the output stops growing (xbcrypt is waiting for input)."""
    last, stable = -1, 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        size = os.path.getsize(path)
        stable = stable + 1 if size == last else 0
        if stable >= 6 and size > 0:
            return
        last = size
        time.sleep(0.05)


def run_case(name, args, data, keys, marker, tmp):
    out = os.path.join(tmp, "out")
    with open(out, "wb") as sink:
        proc = subprocess.Popen([XB] + args, stdin=subprocess.PIPE, stdout=sink,
                                stderr=subprocess.PIPE)
        half = len(data) // 2
        proc.stdin.write(data[:half])
        proc.stdin.flush()
        settle(out, proc)
        needles = {"marker": marker}
        for kname, key in keys.items():
            needles[kname + "[0:16]"] = key[:16]
            needles[kname + "[16:32]"] = key[16:]
        try:
            found, skipped = scan(proc.pid, needles)
        except PermissionError:
            proc.kill()
            proc.wait()
            print(f"SKIP: cannot read the memory of xbcrypt (pid {proc.pid}): not root")
            sys.exit(77)
        proc.stdin.write(data[half:])
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait()
    problems = []
    if rc != 0:
        problems.append(f"exit status {rc}: {err.strip()}")
    if not found.pop("marker"):
        problems.append("the control marker on the stack (argv) was not found: the scan is blind")
    if skipped == 0:
        problems.append("no locked mapping: the secure pool is not locked")
    for kname, where in found.items():
        if where:
            problems.append(f"{kname} found at " + ", ".join(where))
    if problems:
        FAILS.append(name)
        print(f"FAIL: {name}")
        for p in problems:
            print(f"  {p}")
    else:
        print(f"ok: {name} ({skipped} locked mapping(s) left out)")
    return out


def main():
    with tempfile.TemporaryDirectory(prefix="xbcrypt-residue.") as tmp:
        # A random directory name: its bytes sit in argv, on the stack.
        token = os.urandom(8).hex()
        d = os.path.join(tmp, token)
        os.mkdir(d)
        marker = token.encode()
        k1, k2 = os.urandom(32), os.urandom(32)
        for path, key in (("k1", k1), ("k2", k2)):
            with open(os.path.join(d, path), "wb") as f:
                f.write(key)
            os.chmod(os.path.join(d, path), 0o600)
        f1, f2 = os.path.join(d, "k1"), os.path.join(d, "k2")
        enc = subprocess.run([XB, "-a", "AES256", "-f", f1], input=PLAIN, capture_output=True,
                             check=True).stdout
        for t in ("1", "4"):
            run_case(f"encrypt -t {t}", ["-a", "AES256", "-f", f1, "-t", t], PLAIN, {"key": k1},
                     marker, tmp)
            run_case(f"decrypt -t {t}", ["-d", "-a", "AES256", "-f", f1, "-t", t], enc,
                     {"key": k1}, marker, tmp)
            run_case(f"rekey -t {t}", ["--rekey", "-a", "AES256", "-f", f1,
                                       "--new-encrypt-key-file=" + f2, "-t", t], enc,
                     {"old key": k1, "new key": k2}, marker, tmp)
    if FAILS:
        print(f"{len(FAILS)} case(s) failed: " + ", ".join(FAILS))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
