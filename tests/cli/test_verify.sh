#!/bin/bash
# --verify: every good fixture passes (with the key: structure, CRC-32 and
# SHA-256; without: structure and CRC-32 only, and it says so); every
# damaged one fails naming the chunk.  Never a byte on stdout, never a file.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

# key_of FILE: the key option for a fixture, from its name.
key_of() {
    case $(basename "$1") in
    none_*) echo "-a NONE" ;;
    *aes128_*) echo "-f $K16" ;;
    *aes192_*) echo "-f $K24" ;;
    *) echo "-f $K32" ;;
    esac
}

# chunks_of FILE: the number of chunks, from the manifest (legacy files are
# not in it: 64 KiB chunks).
chunks_of() {
    python3 - "$FIX" "$1" <<'EOF'
import json, math, os, sys
fix, path = sys.argv[1], sys.argv[2]
rel = os.path.relpath(path, fix)
for e in json.load(open(os.path.join(fix, 'manifest.json'))):
    if e['file'] == rel:
        print(e['chunks'])
        sys.exit(0)
size = {'p1023': 1023, 'p200000': 200000}[rel.split('_')[-1].split('.')[0]]
print(math.ceil(size / 65536))
EOF
}

# in_w CMD...: runs CMD in the case directory (not in a subshell: $RC stays).
in_w() {
    local back=$PWD
    cd "$W" || return
    "$@"
    cd "$back" || return
}

# expect_clean: nothing on stdout, nothing left in the case directory.
expect_clean() {
    expect_out_empty
    expect_dir_only "$W" out err "$@"
}

good=$(cd "$FIX" && ls det/*.xbcrypt legacy/*.xbcrypt random/*.xbcrypt)
[ -n "$good" ] || fail "no fixtures found"
for f in $good; do
    n=$(chunks_of "$FIX/$f")
    [ "$n" = 0 ] && continue # empty: refused, see "empty input" below
    for t in 1 4; do
        case_ "verify $f, -t $t"
        # shellcheck disable=SC2046
        in_w xb --verify $(key_of "$f") -t "$t" -i "$FIX/$f"
        expect_rc 0
        if [ "$n" = 1 ]; then s=""; else s=s; fi
        expect_err "^xbcrypt: verify passed: $n chunk$s( of format version|,)"
        expect_clean
    done
    case "$f" in
    */none_*) ;;
    *)
        case_ "verify $f without a key"
        xb --verify -a AES256 <"$FIX/$f"
        expect_rc 0
        expect_err "^xbcrypt: verify passed: $n chunk"
        if [ "$n" != 0 ]; then
            expect_err '^xbcrypt: checked: structure and CRC-32 only; without --encrypt-key-file'
        fi
        expect_clean
        ;;
    esac
done

case_ "what was checked, with the key"
xb --verify -a AES256 -f "$K32" -i "$FIX/det/aes256_p200000.xbcrypt"
expect_err '^xbcrypt: verify passed: 4 chunks of format version 3, 200000 plaintext bytes, [0-9.]+ s$'
expect_err '^xbcrypt: checked: structure, CRC-32 and SHA-256 of every chunk, under the key$'
case_ "what was checked, legacy"
xb --verify -a AES256 -f "$K32" -i "$FIX/legacy/v2_aes256_p200000.xbcrypt"
expect_err 'format version 2,'
expect_err 'SHA-256 of 0; version-1 and -2 chunks carry no SHA-256'
case_ "what was checked, NONE"
xb --verify -a NONE -i "$FIX/det/none_p65537.xbcrypt"
expect_err 'SHA-256 of every chunk \(NONE'
case_ "mixed versions"
cat "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$FIX/det/aes256_p1.xbcrypt" >"$W/mixed"
xb --verify -f "$K32" -i "$W/mixed"
expect_rc 0
expect_err 'verify passed: 5 chunks of format versions 1 and 3, 200001 plaintext bytes'
expect_no_err 'warning|error'
case_ "three versions, in the order writers moved"
cat "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$FIX/legacy/v2_aes256_p200000.xbcrypt" \
    "$FIX/det/aes256_p1.xbcrypt" >"$W/mixed"
xb --verify -f "$K32" -i "$W/mixed"
expect_rc 0
expect_err 'verify passed: 9 chunks of format versions 1, 2 and 3, 400001 plaintext bytes'
expect_no_err 'warning|error'

# --- an empty input is no backup (what a failed upstream command leaves) ----
for f in "" det/aes256_p0.xbcrypt det/none_p0.xbcrypt; do
    for k in "-f $K32" "-a AES256"; do
        case_ "empty input ${f:-/dev/null}, $k"
        # shellcheck disable=SC2086
        if [ -n "$f" ]; then in_w xb --verify $k -i "$FIX/$f"; else in_w xb --verify $k </dev/null; fi
        expect_rc 1
        expect_err "^xbcrypt: error: (standard input|.*/$(basename "${f:-x}")) is empty \(0 bytes\): an empty stream is not a backup"
        expect_err "^xbcrypt: hint: .*set -o pipefail"
        expect_err '^xbcrypt: verify failed: the stream is empty$'
        expect_no_err 'verify passed'
        expect_clean
    done
done
case_ "empty input, the pipeline that makes one"
(false | cat) | "$XBCRYPT" --verify -f "$K32" >"$W/out" 2>"$W/err"
RC=$?
expect_rc 1
expect_err 'is empty'

# --- failures: the chunk is named, nothing is written -----------------------
# verify_fails NAME FILE CHUNK_REGEX [KEY OPTIONS]
verify_fails() {
    local name=$1 file=$2 what=$3
    shift 3
    for t in 1 4; do
        case_ "$name, -t $t"
        cp "$file" "$W/in"
        in_w xb --verify -t "$t" "$@" -i "$W/in"
        expect_fail
        expect_err "^xbcrypt: error: .*$what"
        expect_err '^xbcrypt: verify failed: '
        expect_no_err 'verify passed'
        expect_clean in
    done
}
verify_fails "negative/payload_bitflip_chunk1" "$FIX/negative/payload_bitflip_chunk1.xbcrypt" \
    'CRC-32 mismatch at chunk 1 \(offset 65628\)' -f "$K32"
verify_fails "negative/payload_bitflip_chunk1 without a key" \
    "$FIX/negative/payload_bitflip_chunk1.xbcrypt" 'CRC-32 mismatch at chunk 1 \(offset 65628\)'
verify_fails "negative/trunc_150000" "$FIX/negative/trunc_150000.xbcrypt" \
    'ends inside .*chunk 2 \(offset 131256\)' -f "$K32"
verify_fails "negative/garbage_random4096" "$FIX/negative/garbage_random4096.bin" \
    'not an xbcrypt stream.*chunk 0 \(offset 0\)' -f "$K32"
verify_fails "wrong key" "$FIX/det/aes256_p200000.xbcrypt" 'wrong key: chunk 0 \(offset 0\)' \
    -f "$KWRONG"

# Own damage: a flipped bit in each chunk of a 4-chunk file.
for spec in "0 100" "1 65728" "2 131356" "3 196984" "2 131256" "3 196908"; do
    set -- $spec
    cp "$FIX/det/aes256_p200000.xbcrypt" "$T/flip.$1.$2"
    flip "$T/flip.$1.$2" "$2"
    verify_fails "bit flipped at byte $2" "$T/flip.$1.$2" "chunk $1 " -f "$K32"
done
case_ "a flip in chunk 2 reports the chunks before it"
cp "$T/flip.2.131356" "$W/in"
xb --verify -f "$K32" -i "$W/in"
expect_err 'verify failed: 2 chunks passed before the error'

# A payload bit flipped and the CRC fixed: only the SHA-256 under the key
# can see it.  Without the key, --verify passes and says what it did not check.
python3 - "$FIX/det/aes256_p200000.xbcrypt" "$T/rehashed" <<'EOF'
import sys, zlib
data = bytearray(open(sys.argv[1], 'rb').read())
off = 65628                     # chunk 1
elen = int.from_bytes(data[off + 24:off + 32], 'little')
start = off + 44 + 16
data[start + 10] ^= 0x01
data[off + 32:off + 36] = zlib.crc32(bytes(data[start:start + elen])).to_bytes(4, 'little')
open(sys.argv[2], 'wb').write(data)
EOF
verify_fails "payload changed, CRC fixed" "$T/rehashed" 'SHA-256 mismatch at chunk 1 \(offset 65628\)' \
    -f "$K32"
case_ "payload changed, CRC fixed, no key"
xb --verify -i "$T/rehashed"
expect_rc 0
expect_err 'structure and CRC-32 only'
expect_out_empty

# --- forged legacy chunks: a version-3 stream goes back to version 1 or 2 ----
# forge SRC DST AT VERSION: DST is SRC with a CRC-valid legacy chunk of 1000
# random bytes inserted at byte AT (a chunk boundary).
forge() {
    python3 - "$@" <<'EOF'
import os, struct, sys, zlib
src, dst, at, version = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(src, 'rb').read()
payload = os.urandom(1000)
head = b'XBCRYP0%d' % version + struct.pack('<QQQI', 0, len(payload), len(payload),
                                             zlib.crc32(payload))
if version == 2:
    head += struct.pack('<Q', 16) + os.urandom(16)
open(dst, 'wb').write(data[:at] + head + payload + data[at:])
EOF
}
for v in 1 2; do
    for at in 131256 200368; do # between chunks 1 and 2; after the last
        index=$([ $at = 131256 ] && echo 2 || echo 4)
        forge "$FIX/det/aes256_p200000.xbcrypt" "$T/forged.$v.$at" $at $v
        verify_fails "a version-$v chunk spliced at $at" "$T/forged.$v.$at" \
            "chunk $index \(offset $at\) is a version-1 or -2 chunk after version-3 chunks" -f "$K32"
        verify_fails "a version-$v chunk spliced at $at, no key" "$T/forged.$v.$at" \
            "chunk $index \(offset $at\) is a version-1 or -2 chunk after version-3 chunks"
        case_ "a version-$v chunk spliced at $at: -d warns and decrypts"
        xb -d -a AES256 -f "$K32" -i "$T/forged.$v.$at"
        expect_rc 0
        expect_err "^xbcrypt: warning: .*forged\.$v\.$at: chunk $index \(offset $at\) is a version-1 or -2 chunk after version-3 chunks \(1 such chunk\)"
        expect_size "$W/out" 201000
        before=$((index * 65536 < 200000 ? index * 65536 : 200000))
        expect_eq "$(head -c $before "$W/out" | sha256sum)" \
            "$(head -c $before "$P/p200000.bin" | sha256sum)" "plaintext before the forged chunk"
    done
done
case_ "a version-1 chunk spliced in: --rekey warns and re-encrypts"
printf 'another 32-byte key, not the old' >"$W/new.key"
chmod 600 "$W/new.key"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file="$W/new.key" -i "$T/forged.1.131256"
expect_rc 0
expect_err "^xbcrypt: warning: .*forged\.1\.131256: chunk 2 \(offset 131256\) is a version-1 or -2 chunk after version-3 chunks"
case_ "-d of legacy and upgrade-order streams stays silent"
cat "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$FIX/legacy/v2_aes256_p200000.xbcrypt" \
    "$FIX/det/aes256_p200000.xbcrypt" >"$W/up"
xb -d -a AES256 -f "$K32" -i "$W/up"
expect_rc 0
expect_err_empty
expect_size "$W/out" 600000

# --- headers Percona's reader refuses: olen != elen ----------------------------
for t in 1 4; do
    case_ "olen lowered in chunk 2, -t $t"
    cp "$FIX/det/aes256_p200000.xbcrypt" "$W/in"
    python3 - "$W/in" <<'EOF'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(131256 + 16)  # olen of chunk 2: the CRC does not cover it
    f.write(struct.pack('<Q', 65000))
EOF
    for k in "-f $K32" "-a AES256"; do
        # shellcheck disable=SC2086
        xb --verify $k -t $t -i "$W/in"
        expect_rc 2
        expect_err "^xbcrypt: error: .*/in: chunk 2 \(offset 131256\) declares olen 65000 but holds elen 65568 \(1 such chunk\): this xbcrypt restores it, but Percona's xbcrypt, and so xtrabackup --decrypt, refuses it$"
        expect_err "^xbcrypt: verify failed: 4 chunks decrypted and checked here, but not every xbcrypt reader can restore the stream$"
        expect_no_err 'verify passed'
        expect_out_empty
    done
done
case_ "olen raised in chunks 1 and 3"
cp "$FIX/det/aes256_p200000.xbcrypt" "$W/in"
flip "$W/in" $((65628 + 16))
flip "$W/in" $((196884 + 16))
cp "$W/in" "$T/olen2"
xb --verify -f "$K32" <"$W/in"
expect_rc 2
expect_err '^xbcrypt: error: chunk 1 \(offset 65628\) declares olen 65569 but holds elen 65568 \(2 such chunks\)'
case_ "olen differs and a legacy chunk follows: the downgrade decides (1)"
forge "$T/olen2" "$W/both" 200368 1
xb --verify -f "$K32" -i "$W/both"
expect_rc 1
expect_err 'declares olen'
expect_err 'after version-3 chunks'

# --- usage -------------------------------------------------------------------
case_ "--verify with --output"
in_w xb --verify -f "$K32" -o "$W/x" <"$FIX/det/aes256_p1.xbcrypt"
expect_fail
expect_err '^xbcrypt: error: --verify writes no output'
expect_clean
case_ "--verify with --rekey"
xb --verify --rekey -a AES256 -f "$K32" <"$FIX/det/aes256_p1.xbcrypt"
expect_fail
expect_err 'cannot be combined'
case_ "--verify -v keeps Percona's lines"
xb --verify -v -f "$K32" -t 2 <"$FIX/det/aes256_p200000.xbcrypt"
expect_rc 0
expect_err '^xbcrypt: verifying standard input, with the key, 2 threads$'
case_ "--verify draws no progress line in a file"
xb --verify -f "$K32" <"$FIX/det/aes256_p200000.xbcrypt"
expect_no_err 'MB/s'

finish
