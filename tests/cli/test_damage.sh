#!/bin/bash
# Damaged input, wrong keys: a non-zero exit, a message that says what and
# where, and no plaintext byte of an unverified chunk on stdout or on disk.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

SRC=$FIX/det/aes256_p200000.xbcrypt # chunks at 0, 65628, 131256, 196884
PLAIN=$P/p200000.bin

# expect_prefix N: stdout is exactly the first N bytes of the plaintext.
expect_prefix() {
    expect_size "$W/out" "$1"
    head -c "$1" "$PLAIN" >"$W/prefix"
    expect_same "$W/out" "$W/prefix"
}

# damaged NAME OFFSET: decrypt SRC with the byte at OFFSET flipped.
damaged() {
    case_ "$1"
    cp "$SRC" "$W/in.xbcrypt"
    flip "$W/in.xbcrypt" "$2"
    xb -d -a AES256 -f "$K32" -i "$W/in.xbcrypt"
}

case_ "wrong key"
xb -d -a AES256 -f "$KWRONG" <"$SRC"
expect_fail
expect_err '^xbcrypt: error: .*wrong key.*chunk 0'
expect_err '^xbcrypt: hint: .*key'
expect_out_empty
case_ "wrong key, with -o"
xb -d -a AES256 -f "$KWRONG" -i "$SRC" -o "$W/plain"
expect_fail
expect_err 'wrong key'
expect_absent "$W/plain"
expect_dir_only "$W" out err
case_ "wrong key of another size"
xb -d -a AES256 -f "$K16" <"$SRC"
expect_fail
expect_err 'wrong key'
expect_out_empty
case_ "key with a trailing newline"
xb -d -a AES256 -f "$KNL" <"$SRC"
expect_fail
expect_err '^xbcrypt: error: .*newline'
expect_err 'printf %s'
expect_out_empty
case_ "key with a trailing newline, encrypting"
xb -a AES256 -f "$KNL" <"$PLAIN"
expect_fail
expect_err 'newline'
expect_out_empty
case_ "key of 20 bytes"
head -c 20 "$K32" >"$W/k20"
chmod 600 "$W/k20"
xb -d -a AES256 -f "$W/k20" <"$SRC"
expect_fail
expect_err '^xbcrypt: error: .*20 bytes.*16, 24 or 32'
expect_out_empty
case_ "empty key file"
: >"$W/k0"
chmod 600 "$W/k0"
xb -a AES256 -f "$W/k0" <"$PLAIN"
expect_fail
expect_err '^xbcrypt: error: .*empty'
expect_out_empty
case_ "AES file read as NONE"
xb -d -a NONE <"$SRC"
expect_fail
expect_out_empty

# --- one flipped bit ------------------------------------------------------------
damaged "magic byte of chunk 0" 0
expect_fail
expect_err '^xbcrypt: error: .*in\.xbcrypt: .*magic.*chunk 0.*offset 0'
expect_out_empty
damaged "magic byte of chunk 2" 131256
expect_fail
expect_err 'magic.*chunk 2.*offset 131256'
expect_prefix 131072
damaged "high byte of elen of chunk 0" 31
expect_fail
expect_err 'chunk 0'
expect_out_empty
damaged "low byte of elen of chunk 0" 24
expect_fail
expect_err 'chunk 0'
expect_out_empty
damaged "byte of the CRC of chunk 1" $((65628 + 32))
expect_fail
expect_err 'CRC.*chunk 1'
expect_prefix 65536
damaged "ivlen of chunk 0" 36
expect_fail
expect_err 'chunk 0'
expect_out_empty
damaged "IV of chunk 0" 44
expect_fail
expect_err 'chunk 0'
expect_out_empty
damaged "IV of chunk 1" $((65628 + 50))
expect_fail
expect_err 'chunk 1.*offset 65628'
expect_prefix 65536
damaged "payload of chunk 0" 100
expect_fail
expect_err 'CRC.*chunk 0'
expect_out_empty
damaged "last payload byte of chunk 3" $(($(wc -c <"$SRC") - 1))
expect_fail
expect_err 'chunk 3'
expect_prefix 196608
case_ "payload bit flip fixture (Percona's)"
xb -d -a AES256 -f "$K32" <"$FIX/negative/payload_bitflip_chunk1.xbcrypt"
expect_fail
expect_err '^xbcrypt: error: CRC.*chunk 1.*offset 65628'
expect_prefix 65536
# The reserved field is ignored; olen is not checked beyond its limit.
damaged "reserved field" 9
expect_rc 0
expect_out_same "$PLAIN"
damaged "low byte of olen" 16
expect_rc 0
expect_out_same "$PLAIN"

# --- truncation ----------------------------------------------------------------------
case_ "truncated inside chunk 2 (Percona's fixture)"
xb -d -a AES256 -f "$K32" <"$FIX/negative/trunc_150000.xbcrypt"
expect_fail
expect_err '^xbcrypt: error: .*(ends|truncat).*chunk 2'
expect_err '131072 plaintext bytes'
expect_prefix 131072
case_ "truncated inside chunk 2, with -o"
xb -d -a AES256 -f "$K32" -i "$FIX/negative/trunc_150000.xbcrypt" -o "$W/plain"
expect_fail
expect_err 'chunk 2'
expect_err 'nothing was written to .*plain'
expect_absent "$W/plain"
expect_dir_only "$W" out err
for cut in 1 8 30 43 59 60 65627; do
    case_ "truncated at byte $cut"
    head -c "$cut" "$SRC" >"$W/in.xbcrypt"
    xb -d -a AES256 -f "$K32" <"$W/in.xbcrypt"
    expect_fail
    expect_err 'chunk 0'
    expect_out_empty
done
case_ "truncated at a chunk boundary looks complete (format limit)"
head -c 131256 "$SRC" >"$W/in.xbcrypt"
xb -d -a AES256 -f "$K32" <"$W/in.xbcrypt"
expect_rc 0
expect_prefix 131072

# --- not xbcrypt at all ------------------------------------------------------------
case_ "random garbage (Percona's fixture)"
xb -d -a AES256 -f "$K32" <"$FIX/negative/garbage_random4096.bin"
expect_fail
expect_err '^xbcrypt: error: .*not an xbcrypt stream'
expect_err '^xbcrypt: hint: '
expect_out_empty
case_ "plaintext given to --decrypt"
xb -d -a AES256 -f "$K32" -i "$PLAIN"
expect_fail
expect_err "$(basename "$PLAIN"): .*magic"
expect_out_empty
case_ "garbage after a good stream"
cat "$SRC" "$FIX/negative/garbage_random4096.bin" >"$W/in.xbcrypt"
xb -d -a AES256 -f "$K32" <"$W/in.xbcrypt"
expect_fail
expect_err 'chunk 4'
expect_prefix 200000
case_ "garbage, with 4 threads"
xb -d -a AES256 -f "$K32" -t 4 <"$FIX/negative/garbage_random4096.bin"
expect_fail
expect_out_empty

finish
