#!/bin/bash
# --info: the chunk layout of every fixture, exactly as manifest.json says
# (v3 elen = plaintext + 32; offsets cumulative with 44 + 16 header bytes
# for AES, 44 for NONE, 36 for version 1), the IVs with -v, and the flags:
# repeated IV, size field over INT_MAX, olen != elen, trailing bytes.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

# expected FILE [iv]: the chunk lines --info must print for a fixture,
# computed from the manifest (or, for legacy/, from the fixtures README:
# 64 KiB chunks, olen = elen = plaintext).
expected() {
    python3 - "$FIX" "$1" "${2:-}" <<'EOF'
import json, os, sys
fix, path, want_iv = sys.argv[1], sys.argv[2], sys.argv[3] == 'iv'
rel = os.path.relpath(path, fix)
entry = next((e for e in json.load(open(os.path.join(fix, 'manifest.json')))
              if e['file'] == rel), None)
name = os.path.basename(rel)
if entry:
    sizes = entry['chunk_plaintext_sizes']
    if not isinstance(sizes, list):  # "196 chunks (see xbinfo)": -s 1024
        n = entry['plaintext_size']
        sizes = [1024] * (n // 1024) + ([n % 1024] if n % 1024 else [])
    ivs = entry['ivs_hex']
    version, none = 3, entry['algo_option'] == 'NONE'
else:
    n = int(name.split('_p')[1].split('.')[0])
    sizes = [65536] * (n // 65536) + ([n % 65536] if n % 65536 else [])
    ivs, version, none = [], int(name[1]), False
off = 0
for i, p in enumerate(sizes):
    elen = p + 32 if version == 3 else p
    ivlen = 0 if version == 1 or none else 16
    line = 'chunk index=%d offset=%d version=%d olen=%d elen=%d ivlen=%d' % (
        i, off, version, elen, elen, ivlen)
    if want_iv:
        if version == 3 and ivlen:
            iv = ivs[i] if i < len(ivs) and ivs[i] != '...' else None
            if iv is None and 'det/' in rel:  # the deterministic rule
                iv = bytes((16 * i + k) & 0xff for k in range(16)).hex()
            line += ' iv=' + (iv or '?')
        elif ivlen:
            line += ' iv=?'
        else:
            line += ' iv=-'
    print(line)
    off += (36 if version == 1 else 44) + ivlen + elen
EOF
}

for f in $(cd "$FIX" && ls det/*.xbcrypt legacy/*.xbcrypt random/*.xbcrypt); do
    # det/ IVs repeat every 16 chunks: only the 196-chunk file has more.
    flags=0 status=ok rc=0
    case $f in */aes256_s1024_*) flags=180 status=flagged rc=2 ;; esac
    case_ "info $f"
    xb --info -i "$FIX/$f"
    expect_rc $rc
    expected "$FIX/$f" >"$W/want"
    grep '^chunk ' "$W/out" >"$W/got"
    expect_same "$W/got" "$W/want"
    n=$(wc -l <"$W/want")
    size=$(wc -c <"$FIX/$f")
    expect_eq "$(grep -c '^summary chunks='"$n"' stream_bytes='"$size"' .* flags='$flags' checked=structure,crc status='$status'$' "$W/out")" 1 "summary line"
    expect_eq "$(grep -cvE '^(#|chunk |summary |flag repeated-iv )' "$W/out")" 0 "lines besides chunks, flags and summary"
    expect_eq "$(grep -c '^flag ' "$W/out")" $flags "flags"

    case_ "info -v $f (IVs)"
    xb --info -v -t 2 <"$FIX/$f"
    expect_rc $rc
    expected "$FIX/$f" iv >"$W/want"
    grep '^chunk ' "$W/out" >"$W/got"
    # The IVs the manifest does not list (random/ past the third, v2's
    # ignored ones) are whatever the file holds: compare the rest.
    while IFS= read -r want && IFS= read -r got <&3; do
        case $want in
        *' iv=?') want=${want% iv=?} got=${got% iv=*} ;;
        esac
        [ "$want" = "$got" ] || { fail "got '$got', expected '$want'"; break; }
    done <"$W/want" 3<"$W/got"
    ok
done

case_ "legacy v1: 36-byte headers"
xb --info -i "$FIX/legacy/v1_aes256_p200000.xbcrypt"
expect_eq "$(sed -n 's/^chunk index=1 offset=\([0-9]*\) .*/\1/p' "$W/out")" $((36 + 65536)) "offset of chunk 1"
expect_eq "$(grep -c 'versions=1 ' "$W/out")" 1 "versions"
# The summary stays name=value whatever the number of versions.
case_ "versions: two and three"
cat "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$FIX/det/aes256_p1.xbcrypt" >"$W/two"
cat "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$FIX/legacy/v2_aes256_p200000.xbcrypt" \
    "$FIX/det/aes256_p1.xbcrypt" >"$W/three"
xb --info -i "$W/two"
expect_rc 0
expect_eq "$(grep -c '^summary chunks=5 stream_bytes=[0-9]* plaintext_bytes=200001 versions=1,3 size_mismatches=0 ' "$W/out")" 1 "two versions"
xb --info -i "$W/three"
expect_rc 0
expect_eq "$(grep -c '^summary chunks=9 stream_bytes=[0-9]* plaintext_bytes=400001 versions=1,2,3 size_mismatches=0 ' "$W/out")" 1 "three versions"
expect_eq "$(grep '^summary ' "$W/out" | tr ' ' '\n' | grep -cv '^[a-z_]*=[^=]*$')" 1 "summary fields that are not name=value (only 'summary')"
expect_err_empty

# --- flags -------------------------------------------------------------------
case_ "repeated IVs: a det file twice"
cat "$FIX/det/aes256_p200000.xbcrypt" "$FIX/det/aes256_p200000.xbcrypt" >"$W/twice"
xb --info -i "$W/twice"
expect_rc 2
for i in 0 1 2 3; do
    expect_eq "$(grep -cE "^flag repeated-iv index=$((i + 4)) offset=[0-9]+ first=$i iv=[0-9a-f]{32}\$" "$W/out")" 1 "repeated IV of chunk $((i + 4))"
done
expect_eq "$(grep -c '^chunk ' "$W/out")" 8 "chunks listed"
expect_eq "$(grep -c ' repeated_ivs=4 flags=4 .*status=flagged$' "$W/out")" 1 "summary"
expect_err '^xbcrypt: warning: 4 odd things flagged'
case_ "repeated IVs: det/aes256_s1024 repeats every 16 chunks"
xb --info -i "$FIX/det/aes256_s1024_p200000.xbcrypt"
expect_rc 2
expect_eq "$(grep -c '^flag repeated-iv ' "$W/out")" $((196 - 16)) "repeated IVs"
expect_eq "$(grep -c '^flag repeated-iv index=16 offset=[0-9]* first=0 ' "$W/out")" 1 "chunk 16 repeats chunk 0"
case_ "no repeated IV across random IVs"
cat "$FIX/random/aes256_t4_p200000.xbcrypt" "$FIX/det/aes256_p200000.xbcrypt" >"$W/two"
xb --info -i "$W/two"
expect_rc 0
case_ "legacy IVs are not counted (they are not used)"
cat "$FIX/legacy/v2_aes256_p200000.xbcrypt" "$FIX/legacy/v2_aes256_p200000.xbcrypt" >"$W/two"
xb --info -i "$W/two"
expect_rc 0

case_ "trailing bytes"
cat "$FIX/det/aes256_p65537.xbcrypt" >"$W/in"
printf 'not a chunk, but trailing garbage of some length' >>"$W/in"
size=$(wc -c <"$FIX/det/aes256_p65537.xbcrypt")
xb --info <"$W/in"
expect_rc 2
expect_eq "$(grep -c '^chunk ' "$W/out")" 2 "chunks listed"
expect_eq "$(grep -c "^flag trailing-bytes offset=$size length=48\$" "$W/out")" 1 "trailing-bytes flag"
expect_err "^xbcrypt: warning: trailing bytes at offset $size \\(48 bytes after chunk 1\\)"
expect_no_err 'error'
cp "$W/in" "$T/trailing"
case_ "trailing bytes through a pipe: the offset, the length unknown"
cat "$T/trailing" | "$XBCRYPT" --info >"$W/out" 2>"$W/err"
RC=$?
expect_rc 2
expect_eq "$(grep -c "^flag trailing-bytes offset=$size length=-\$" "$W/out")" 1 "trailing-bytes flag"
expect_err "^xbcrypt: warning: trailing bytes at offset $size \\(after chunk 1\\): .*the rest of the input was not read"
case_ "endless input: stops at the first bad bytes, the listing first"
size=$(wc -c <"$FIX/det/aes256_p200000.xbcrypt")
(cat "$FIX/det/aes256_p200000.xbcrypt"; cat /dev/zero) |
    timeout 60 "$XBCRYPT" --info -t 2 >"$W/all" 2>&1
RC=$?
expect_rc 2
expected "$FIX/det/aes256_p200000.xbcrypt" >"$W/want"
grep '^chunk ' "$W/all" >"$W/got"
expect_same "$W/got" "$W/want"
expect_eq "$(grep -c "^flag trailing-bytes offset=$size length=-\$" "$W/all")" 1 "trailing-bytes flag"
expect_eq "$(grep -c '^summary chunks=4 .* flags=1 .*status=flagged$' "$W/all")" 1 "summary"
# Every line of the listing comes before the first message.
expect_eq "$(grep -n '' "$W/all" | grep -m1 '^[0-9]*:xbcrypt: ' | cut -d: -f1)" 7 "line of the first message"
case_ "trailing bytes, longer than a read"
cat "$FIX/det/aes256_p1.xbcrypt" "$FIX/negative/garbage_random4096.bin" "$P/p200000.bin" >"$W/in"
xb --info -t 3 -i "$W/in"
expect_rc 2
expect_eq "$(grep -c "^flag trailing-bytes offset=93 length=$((4096 + 200000))\$" "$W/out")" 1 "trailing-bytes flag"

for lim in olen-over-int-max elen-over-int-max-v3 elen-over-int-max-v1 ivlen-over-int-max-v2 elen-u64-max-v2; do
    case_ "size over INT_MAX: $lim"
    tail -c +2 "$FIX/fuzz/decoder/limit-$lim-after-chunk" >"$W/in"
    xb --info -i "$W/in"
    expect_rc 2
    expect_eq "$(grep -c '^chunk index=0 ' "$W/out")" 1 "the good chunk"
    expect_eq "$(grep -cE '^flag size-over-int-max index=1 offset=93 field=(olen|elen|ivlen) olen=[0-9]+ elen=[0-9]+ ivlen=[0-9]+$' "$W/out")" 1 "flag"
    expect_err '^xbcrypt: warning: chunk 1 \(offset 93\) declares [a-z]+ [0-9]+, above INT_MAX'
done

case_ "olen differs from elen"
cp "$FIX/det/aes256_p200000.xbcrypt" "$W/in"
flip "$W/in" $((65628 + 16)) # olen of chunk 1: the CRC does not cover it
xb --info -i "$W/in"
expect_rc 2
expect_eq "$(grep -c '^flag size-mismatch index=1 offset=65628 olen=65569 elen=65568$' "$W/out")" 1 "flag"
expect_eq "$(grep -c ' size_mismatches=1 ' "$W/out")" 1 "summary"
xb --verify -f "$K32" -i "$W/in"
expect_rc 2
expect_err 'error: .*chunk 1 \(offset 65628\) declares olen 65569 but holds elen 65568'

case_ "a version-1 chunk after version-3 chunks: flag downgrade"
cat "$FIX/det/aes256_p1.xbcrypt" "$FIX/legacy/v1_aes256_p200000.xbcrypt" >"$W/in"
xb --info -i "$W/in"
expect_rc 2
expect_eq "$(grep -c '^chunk ' "$W/out")" 5 "chunks listed"
expect_eq "$(grep -c '^flag downgrade index=1 offset=93 chunks=4$' "$W/out")" 1 "flag"
expect_eq "$(grep -c '^summary chunks=5 .* flags=1 .*status=flagged$' "$W/out")" 1 "summary"
expect_err '^xbcrypt: warning: .*/in: chunk 1 \(offset 93\) is a version-1 or -2 chunk after version-3 chunks \(4 such chunks\)'

# --- errors --------------------------------------------------------------------
case_ "CRC error"
xb --info -i "$FIX/negative/payload_bitflip_chunk1.xbcrypt"
expect_rc 1
expect_err '^xbcrypt: error: .*CRC-32 mismatch at chunk 1 \(offset 65628\)'
expect_eq "$(grep -c '^chunk ' "$W/out")" 1 "chunks listed"
expect_eq "$(grep -c 'status=error$' "$W/out")" 1 "summary"
case_ "truncated"
xb --info -i "$FIX/negative/trunc_150000.xbcrypt"
expect_rc 1
expect_err 'chunk 2 \(offset 131256\)'
case_ "not an xbcrypt stream"
xb --info -i "$FIX/negative/garbage_random4096.bin"
expect_rc 1
expect_err 'not an xbcrypt stream'
expect_eq "$(grep -c '^flag' "$W/out")" 0 "flags"
case_ "empty"
xb --info </dev/null
expect_rc 0
expect_eq "$(grep -c '^summary chunks=0 stream_bytes=0 .*versions=- .*status=ok$' "$W/out")" 1 "summary"
case_ "--info takes no key"
xb --info -f "$K32" -i "$FIX/det/aes256_p1.xbcrypt"
expect_fail
expect_err '^xbcrypt: error: --info reads chunk headers'
expect_out_empty
case_ "--info takes no --output"
xb --info -o "$W/x" -i "$FIX/det/aes256_p1.xbcrypt"
expect_fail
expect_absent "$W/x"

finish
