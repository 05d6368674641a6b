#!/bin/sh
# The main job on a generated sample: make a key file, encrypt a sample
# with 2 threads, decrypt it back, check it is identical, print sizes and
# speed.  Usage: scripts/demo.sh [BUILD_DIR] [SIZE_MIB]
set -eu

build=${1:-build}
size_mib=${2:-256}
xbcrypt="$build/xbcrypt-compat/xbcrypt"
[ -x "$xbcrypt" ] || { echo "demo: $xbcrypt not built (meson compile -C $build)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/xbcrypt-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# A 32-byte raw key, readable by its owner only: the whole file is the key.
(umask 077 && head -c 32 /dev/urandom > "$work/backup.key")

# A sample that compresses like a database page file would not: random
# bytes interleaved with runs of zeros.
python3 - "$work/sample.bin" "$size_mib" <<'PY'
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    for _ in range(mib * 4):
        f.write(os.urandom(192 * 1024))
        f.write(bytes(64 * 1024))
PY

now() { python3 -c 'import time; print(time.monotonic())'; }
rate() { python3 -c "import sys; b,t0,t1=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print('%.0f MB/s (%.2f s)' % (b/(t1-t0)/1e6, t1-t0))" "$@"; }

bytes=$(wc -c < "$work/sample.bin")
echo "xbcrypt $("$xbcrypt" --version | head -n 1)"
echo "sample:    $bytes bytes"

t0=$(now)
"$xbcrypt" --encrypt-algo=AES256 --encrypt-key-file="$work/backup.key" --encrypt-threads=2 \
    --input="$work/sample.bin" --output="$work/sample.bin.xbcrypt"
t1=$(now)
echo "encrypted: $(wc -c < "$work/sample.bin.xbcrypt") bytes, $(rate "$bytes" "$t0" "$t1")"

t0=$(now)
"$xbcrypt" --decrypt --encrypt-algo=AES256 --encrypt-key-file="$work/backup.key" \
    --encrypt-threads=2 < "$work/sample.bin.xbcrypt" > "$work/sample.out"
t1=$(now)
echo "decrypted: $(wc -c < "$work/sample.out") bytes, $(rate "$bytes" "$t0" "$t1")"

if cmp -s "$work/sample.bin" "$work/sample.out"; then
    echo "round trip: identical"
else
    echo "round trip: MISMATCH" >&2
    exit 1
fi
