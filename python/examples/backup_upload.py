#!/usr/bin/env python3
"""A backup tool: encrypt mariabackup's stream and hand it over in parts to an uploader thread.

    backup_upload.py --key-file /etc/mysql/backup.key --parts-dir /var/backups/parts \\
        [--part-size 64M] [--threads 2] [-- mariabackup --backup --stream=xbstream ...]

The main thread reads the backup command's standard output and feeds it to an
xbcrypt.Encoder; the encoder's write callback fills part files of
--part-size bytes; every finished part goes on a queue, where a second
thread "uploads" it (here: moves it into --parts-dir/uploaded/ and prints a
line; put your S3/GCS/SFTP client there).  The queue is bounded, so a slow
upload slows the backup instead of filling the disk.  While the encoder
encrypts, the GIL is released, so the uploader thread runs at the same time.

Restore: cat the parts in order and decrypt them as one stream:
    cat uploaded/part-*.xbcrypt | xbcrypt -d -a AES256 -f KEY | mbstream -x -C /restore
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
from typing import List, Optional

import xbcrypt

DEFAULT_COMMAND = ["mariabackup", "--backup", "--stream=xbstream", "--target-dir=/tmp"]


def parse_size(text: str) -> int:
    """'64M' -> 67108864 (K, M, G: powers of 1024)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1:].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


class PartWriter:
    """The encoder's write callback: cuts the encrypted stream into part files."""

    def __init__(self, directory: str, part_size: int, ready: "queue.Queue[Optional[str]]"):
        self.directory, self.part_size, self.ready = directory, part_size, ready
        self.index, self.file, self.filled = 0, None, 0

    def __call__(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.file is None:
                path = os.path.join(self.directory, f"part-{self.index:06d}.xbcrypt.partial")
                self.file = open(path, "xb")
                self.filled = 0
            n = min(len(view), self.part_size - self.filled)
            self.file.write(view[:n])
            self.filled += n
            view = view[n:]
            if self.filled == self.part_size:
                self.close_part()

    def close_part(self) -> None:
        if self.file is None:
            return
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        done = self.file.name[:-len(".partial")]
        os.rename(self.file.name, done)
        self.file = None
        self.index += 1
        self.ready.put(done)  # blocks while the uploader is behind


def uploader(ready: "queue.Queue[Optional[str]]", target: str, errors: List[BaseException]) -> None:
    """The second thread: takes finished parts off the queue and 'uploads' them."""
    try:
        os.makedirs(target, exist_ok=True)
        while True:
            path = ready.get()
            if path is None:
                return
            dest = os.path.join(target, os.path.basename(path))
            os.replace(path, dest)  # stand-in for a real upload
            print(f"uploaded {os.path.basename(path)} ({os.path.getsize(dest)} bytes)",
                  file=sys.stderr)
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)
        while ready.get() is not None:  # keep draining so the producer never blocks
            pass


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--key-file", required=True, help="the key file (16, 24 or 32 bytes)")
    ap.add_argument("--parts-dir", required=True, help="where parts are made")
    ap.add_argument("--part-size", default="64M", type=parse_size, help="bytes per part")
    ap.add_argument("--threads", default=2, type=int, help="encryption threads")
    ap.add_argument("command", nargs="*", help="the backup command (default: mariabackup)")
    args = ap.parse_args(argv)
    command = args.command or DEFAULT_COMMAND

    os.makedirs(args.parts_dir, exist_ok=True)
    ready: "queue.Queue[Optional[str]]" = queue.Queue(maxsize=2)
    errors: List[BaseException] = []
    up = threading.Thread(target=uploader,
                          args=(ready, os.path.join(args.parts_dir, "uploaded"), errors))
    up.start()
    parts = PartWriter(args.parts_dir, args.part_size, ready)
    backup = subprocess.Popen(command, stdout=subprocess.PIPE)
    try:
        # The engine reads the key file into secure memory: no key in Python.
        with xbcrypt.Encoder(args.key_file, parts, algo="AES256", threads=args.threads) as enc:
            buf = memoryview(bytearray(1 << 20))
            while True:
                n = backup.stdout.readinto(buf)
                if not n:
                    break
                enc.feed(buf[:n])
        parts.close_part()  # the last, short part
    except xbcrypt.Error as exc:
        print(f"backup_upload: error: {exc}", file=sys.stderr)
        backup.kill()
        return 1
    finally:
        backup.stdout.close()
        rc = backup.wait()
        ready.put(None)
        up.join()
    if rc != 0:
        print(f"backup_upload: error: {command[0]} exited with status {rc}", file=sys.stderr)
        return 1
    if errors:
        print(f"backup_upload: error: upload failed: {errors[0]}", file=sys.stderr)
        return 1
    print(f"backup_upload: {parts.index} parts, {enc.stats().encrypted_bytes} bytes",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
