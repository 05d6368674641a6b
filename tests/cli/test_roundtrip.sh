#!/bin/bash
# What the CLI encrypts decrypts back, with every algorithm and fixture key,
# and has the chunk layout the options ask for: each chunk is a 60-byte
# header (with its 16-byte IV), the plaintext, and a 32-byte SHA-256.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

for combo in AES128:$K16 AES192:$K24 AES256:$K32 AES128:$K32 AES256:$K16 NONE:; do
    algo=${combo%%:*}
    key=${combo#*:}
    kargs=()
    [ -n "$key" ] && kargs=(-f "$key")
    for p in p0 p1 p1023 p1024 p65536 p65537 p200000; do
        case_ "round trip $algo key=$(basename "${key:-none}") $p"
        xb -a "$algo" "${kargs[@]}" -i "$P/$p.bin"
        expect_rc 0
        if [ $p = p0 ]; then expect_err 'warning: the input was empty'; else expect_err_empty; fi
        cp "$W/out" "$W/enc"
        n=$(wc -c <"$P/$p.bin")
        chunks=$(((n + 65535) / 65536))
        if [ "$algo" = NONE ]; then
            # NONE: 44-byte header, IV size 0.
            expect_size "$W/enc" $((n + chunks * (44 + 32)))
        else
            expect_size "$W/enc" $((n + chunks * (60 + 32)))
        fi
        xb -d -a "$algo" "${kargs[@]}" <"$W/enc"
        expect_rc 0
        expect_out_same "$P/$p.bin"
    done
done

case_ "AES output does not carry the plaintext"
xb -a AES256 -f "$K32" <"$P/p65536.bin"
expect_rc 0
if grep -qF "$(head -c 64 "$P/p65536.bin" | od -An -tx1 | tr -d ' \n')" <(od -An -tx1 "$W/out" | tr -d ' \n'); then
    fail "plaintext found in the AES output"
else ok; fi
case_ "NONE output carries the plaintext in clear"
xb -a NONE <"$P/p1023.bin"
expect_rc 0
expect_eq "$(tail -c +45 "$W/out" | head -c 1023 | sha256sum)" "$(sha256sum <"$P/p1023.bin")" "NONE payload"

case_ "two encryptions differ (fresh IVs)"
xb -a AES256 -f "$K32" <"$P/p1023.bin"
cp "$W/out" "$W/one"
xb -a AES256 -f "$K32" <"$P/p1023.bin"
if cmp -s "$W/one" "$W/out"; then fail "same ciphertext twice"; else ok; fi

# Percona's exit status and output, and a warning: an empty backup is what
# a failed upstream command leaves in a pipeline without pipefail.
case_ "empty input, encrypt"
xb -a AES256 -f "$K32" </dev/null
expect_rc 0
expect_out_empty
expect_err '^xbcrypt: warning: the input was empty \(0 bytes\): the output is an empty backup, a stream of 0 chunks$'
expect_err '^xbcrypt: hint: .*set -o pipefail'
expect_eq "$(wc -l <"$W/err")" 2 "lines on stderr"
case_ "empty input, decrypt"
xb -d -a AES256 -f "$K32" </dev/null
expect_rc 0
expect_out_empty
expect_err_empty

# --- chunk layout -------------------------------------------------------------------
layout() { # layout NAME INPUT EXPECTED ARGS...
    local name=$1 in=$2 want=$3
    shift 3
    case_ "$name"
    xb -a AES256 -f "$K32" "$@" -i "$in"
    expect_rc 0
    local got sum=0
    got=$(chunk_sizes "$W/out")
    expect_eq "$got" "$want" "chunk layout"
    for c in $got; do sum=$((sum + 60 + c + 32)); done
    expect_size "$W/out" "$sum"
    "$XBCRYPT" -d -a AES256 -f "$K32" <"$W/out" >"$W/back" 2>/dev/null
    expect_same "$W/back" "$in"
}
layout "default layout" "$P/p200000.bin" "65536 65536 65536 3392"
layout "-s 1024 (as det/aes256_s1024_p200000)" "$P/p200000.bin" \
    "$(for _ in $(seq 195); do printf '1024 '; done)320" -s 1024
expect_size "$W/out" "$(wc -c <"$FIX/det/aes256_s1024_p200000.xbcrypt")"
layout "-r 100000 (as det/aes256_r100000_p200000)" "$P/p200000.bin" "65536 34464 65536 34464" -r 100000
layout "-s 4096 -r 10000" "$P/p65537.bin" \
    "$(for _ in 1 2 3 4 5 6; do printf '4096 4096 1808 '; done)4096 1441" -s 4096 -r 10000
layout "-r 1000 under the chunk size" "$P/p1024.bin" "1000 24" -r 1000
layout "-s 1M -r 1M" "$P/p200000.bin" "200000" -s 1M -r 1M
layout "-s 64k -t 4 -r 100000" "$P/p200000.bin" "65536 34464 65536 34464" -s 64k -t 4 -r 100000
layout "-s 1024 -t 8" "$P/p65537.bin" "$(for _ in $(seq 64); do printf '1024 '; done)1" -s 1024 -t 8
layout "standard input has the same layout" /dev/stdin "65536 65536 65536 3392" <"$P/p200000.bin"

finish
