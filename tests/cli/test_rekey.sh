#!/bin/bash
# --rekey: version 1, 2 and 3 input, 1 and 4 threads; the output is a
# version-3 stream that decrypts under the new key to the original bytes
# and fails under the old one.  Equal keys, wrong keys, damaged input and
# refused outputs leave nothing behind.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

NEW=$T/k/new.bin
head -c 32 /dev/urandom >"$NEW"
chmod 600 "$NEW"

in_w() {
    local back=$PWD
    cd "$W" || return
    "$@"
    cd "$back" || return
}

# versions_of FILE: the summary's versions= field of --info.
versions_of() {
    "$XBCRYPT" --info -i "$1" 2>/dev/null | sed -n 's/^summary .* versions=\([^ ]*\) .*/\1/p'
}

# rekeyed NAME SRC OLDKEY PLAIN THREADS: rekey SRC to -o, then check it.
rekeyed() {
    local name=$1 src=$2 old=$3 plain=$4 t=$5
    case_ "$name, -t $t, to a file"
    in_w xb --rekey -a AES256 -f "$old" --new-encrypt-key-file "$NEW" -t "$t" -i "$src" -o "$W/re"
    expect_rc 0
    expect_out_empty
    expect_dir_only "$W" out err re
    expect_eq "$(versions_of "$W/re")" 3 "versions in the output"
    case "$src" in
    */legacy/*) expect_err '^xbcrypt: warning: the input has version-1 or -2 chunks' ;;
    *) expect_err_empty ;;
    esac
    cp "$W/re" "$W/re.keep"
    xb -d -a AES256 -f "$NEW" -t "$t" -i "$W/re.keep"
    expect_rc 0
    expect_out_same "$plain"
    xb -d -a AES256 -f "$old" -i "$W/re.keep"
    expect_fail
    expect_err 'wrong key: chunk 0'
    expect_out_empty
    xb --verify -f "$NEW" -i "$W/re.keep"
    expect_rc 0

    case_ "$name, -t $t, to stdout"
    xb --rekey -a AES256 -f "$old" --new-encrypt-key-file="$NEW" --encrypt-threads="$t" <"$src"
    expect_rc 0
    mv "$W/out" "$W/re"
    xb -d -a AES256 -f "$NEW" -i "$W/re"
    expect_out_same "$plain"
}

for t in 1 4; do
    rekeyed "v3 input" "$FIX/det/aes256_p200000.xbcrypt" "$K32" "$P/p200000.bin" "$t"
    rekeyed "v3 input, random IVs" "$FIX/random/aes256_t4_p200000.xbcrypt" "$K32" \
        "$P/p200000.bin" "$t"
    rekeyed "v2 input" "$FIX/legacy/v2_aes256_p200000.xbcrypt" "$K32" "$P/p200000.bin" "$t"
    rekeyed "v1 input" "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$K32" "$P/p200000.bin" "$t"
    rekeyed "v1 input, AES-128 key" "$FIX/legacy/v1_aes128_p1023.xbcrypt" "$K16" "$P/p1023.bin" "$t"
    rekeyed "v3 input, 1 KiB chunks" "$FIX/det/aes256_s1024_p200000.xbcrypt" "$K32" \
        "$P/p200000.bin" "$t"
done

case_ "empty input gives empty output"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" -t 4 -i "$FIX/det/aes256_p0.xbcrypt" \
    -o "$W/re"
expect_rc 0
expect_size "$W/re" 0

case_ "mixed versions in one stream"
cat "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$FIX/legacy/v2_aes256_p200000.xbcrypt" \
    "$FIX/det/aes256_p200000.xbcrypt" >"$W/mixed"
cat "$P/p200000.bin" "$P/p200000.bin" "$P/p200000.bin" >"$W/plain"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" -t 4 -i "$W/mixed" -o "$W/re"
expect_rc 0
xb -d -a AES256 -f "$NEW" -i "$W/re"
expect_out_same "$W/plain"

case_ "new algorithm and chunk size"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$K16" --new-encrypt-algo aes128 -s 1K \
    -i "$FIX/det/aes256_p65537.xbcrypt" -o "$W/re"
expect_rc 0
expect_eq "$(chunk_sizes "$W/re" | wc -w)" 65 "chunks of 1 KiB"
xb -d -a AES128 -f "$K16" -i "$W/re"
expect_out_same "$P/p65537.bin"

case_ "NONE to AES256"
xb --rekey -a NONE --new-encrypt-algo=AES256 --new-encrypt-key-file "$NEW" \
    -i "$FIX/det/none_p65537.xbcrypt" -o "$W/re"
expect_rc 0
xb -d -a AES256 -f "$NEW" -i "$W/re"
expect_out_same "$P/p65537.bin"

case_ "-v keeps Percona's kind of lines"
xb --rekey -v -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" -t 2 \
    -i "$FIX/det/aes256_p200000.xbcrypt" -o "$W/re"
expect_rc 0
expect_err '^xbcrypt: re-encrypting .* AES256 to AES256, 2 threads each way'
expect_err '^xbcrypt: re-encrypted 4 chunks \(format version 3\) into 4 version-3 chunks'

# --- refusals: nothing is written --------------------------------------------
# refused NAME REGEX ARGS...: fails with REGEX, no output file, empty stdout.
refused() {
    local name=$1 re=$2
    shift 2
    case_ "$name"
    in_w xb --rekey "$@" -o "$W/re" <"$FIX/det/aes256_p200000.xbcrypt"
    expect_fail
    expect_err "$re"
    expect_out_empty
    expect_dir_only "$W" out err
}
refused "equal keys (same file)" \
    '^xbcrypt: error: --new-encrypt-key-file .* holds the same key as --encrypt-key-file' \
    -a AES256 -f "$K32" --new-encrypt-key-file "$K32"
cp "$K32" "$T/k/copy.bin"
refused "equal keys (two files)" 'same key' -a AES256 -f "$K32" --new-encrypt-key-file "$T/k/copy.bin"
case_ "equal keys: hint"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$K32" <"$FIX/det/aes256_p1.xbcrypt"
expect_err '^xbcrypt: hint: make a new key'
expect_out_empty
refused "wrong old key" 'wrong key: chunk 0 \(offset 0\)' \
    -a AES256 -f "$KWRONG" --new-encrypt-key-file "$NEW"
refused "new key of a bad length" 'newline' \
    -a AES256 -f "$K32" --new-encrypt-key-file "$KNL"
refused "no new key" '--new-encrypt-key-file is missing' -a AES256 -f "$K32"
refused "new algorithm NONE" 'unencrypted' -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" \
    --new-encrypt-algo NONE
refused "no old algorithm" 'encrypt-algo.*required' -f "$K32" --new-encrypt-key-file "$NEW"
refused "--rekey with --info" 'cannot be combined' -a AES256 -f "$K32" \
    --new-encrypt-key-file "$NEW" --info

case_ "damaged input: no output file"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" -t 4 \
    -i "$FIX/negative/payload_bitflip_chunk1.xbcrypt" -o "$W/re"
expect_fail
expect_err 'CRC-32 mismatch at chunk 1'
expect_err '^xbcrypt: nothing was written to '
expect_dir_only "$W" out err
case_ "truncated input: no output file"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" \
    -i "$FIX/negative/trunc_150000.xbcrypt" -o "$W/re"
expect_fail
expect_err 'chunk 2'
expect_dir_only "$W" out err
case_ "existing output is not replaced"
echo keep >"$W/re"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" \
    -i "$FIX/det/aes256_p1.xbcrypt" -o "$W/re"
expect_fail
expect_err 'File exists'
expect_eq "$(cat "$W/re")" keep "the existing file"
case_ "output to a full device"
if [ -w /dev/full ]; then
    xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$NEW" \
        -i "$FIX/det/aes256_p200000.xbcrypt" -o /dev/full
    expect_fail
    expect_err '^xbcrypt: error: writing /dev/full: No space left'
fi

finish
