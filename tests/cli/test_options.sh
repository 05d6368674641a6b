#!/bin/bash
# Every spelling of the CLI spec (/work/shared/spec/xbcrypt-cli.md,
# "Spellings the parser accepts"), each checked by its effect: the chunk
# layout of the output, the thread count that -v reports, or a round trip.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

N=65537
chunks_for() { # chunks_for CHUNK_SIZE: expected layout of p65537
    local c=$1 n=$N out=""
    while [ "$n" -gt 0 ]; do
        if [ "$n" -ge "$c" ]; then out+="$c "; n=$((n - c)); else out+="$n "; n=0; fi
    done
    echo "${out% }"
}

# enc_layout NAME EXPECTED_LAYOUT ARGS...: encrypt p65537 with ARGS, check
# success, the layout, and that it decrypts back.
enc_layout() {
    local name=$1 want=$2
    shift 2
    case_ "$name"
    xb "$@" <"$P/p65537.bin"
    expect_rc 0
    expect_eq "$(chunk_sizes "$W/out")" "$want" "chunk layout"
    "$XBCRYPT" -d -a AES256 -f "$K32" <"$W/out" >"$W/back" 2>/dev/null
    expect_same "$W/back" "$P/p65537.bin"
}

# --- chunk size: every spelling ---------------------------------------------
L2K=$(chunks_for 2048)
for spell in "-s 2048" "-s2048" "--encrypt-chunk-size=2048" "--encrypt-chunk-size 2048" \
    "--encrypt_chunk_size=2048" "--encrypt_chunk-size 2048" "--loose-encrypt-chunk-size=2048" \
    "--loose_encrypt_chunk_size 2048" "-s 2k" "-s 2K" "-s2K" "--encrypt-chunk-size=2k"; do
    # shellcheck disable=SC2086  # word splitting is the point
    enc_layout "chunk size '$spell'" "$L2K" -a AES256 -f "$K32" $spell
    expect_err_empty
done
enc_layout "chunk size 1M" "65537" -a AES256 -f "$K32" -s 1M
enc_layout "chunk size 1m" "65537" -a AES256 -f "$K32" -s 1m
enc_layout "chunk size 1G" "65537" -a AES256 -f "$K32" --encrypt-chunk-size=1g
enc_layout "default chunk size" "65536 1" -a AES256 -f "$K32"
enc_layout "last option wins" "$L2K" -a AES256 -f "$K32" -s 4096 -s 2048

# Under the minimum: raised to 1024 with a warning.
enc_layout "chunk size under minimum" "$(chunks_for 1024)" -a AES256 -f "$K32" -s 100
expect_err '^xbcrypt: warning: .*encrypt-chunk-size.*minimum.*1024'
enc_layout "chunk size 0" "$(chunks_for 1024)" -a AES256 -f "$K32" --encrypt-chunk-size=0
expect_err '^xbcrypt: warning: .*minimum'

# Not numbers / too large: errors, nothing written.
for bad in abc 12x 1.5M -5 "" " 12" 0x10 1KB 2T; do
    case_ "chunk size '$bad' is an error"
    xb -a AES256 -f "$K32" -s "$bad" <"$P/p1023.bin"
    expect_fail
    expect_err '^xbcrypt: error: .*encrypt-chunk-size.*number'
    expect_out_empty
done
case_ "chunk size over the format's limit"
xb -a AES256 -f "$K32" -s 3G <"$P/p1023.bin"
expect_fail
expect_err '^xbcrypt: error: .*encrypt-chunk-size.*too large'
expect_out_empty
case_ "chunk size that overflows 64 bits"
xb -a AES256 -f "$K32" -s 99999999999999999999999 <"$P/p1023.bin"
expect_fail
expect_err 'too large'
expect_out_empty

# --- read buffer size: chunking restarts every N bytes ------------------------
for spell in "-r 100000" "-r100000" "--read-buffer-size=100000" "--read-buffer-size 100000" \
    "--read_buffer_size 100000" "--loose-read-buffer-size=100000"; do
    case_ "read buffer '$spell'"
    # shellcheck disable=SC2086
    xb -a AES256 -f "$K32" $spell <"$P/p200000.bin"
    expect_rc 0
    expect_eq "$(chunk_sizes "$W/out")" "65536 34464 65536 34464" "chunk layout"
    expect_size "$W/out" "$(wc -c <"$FIX/det/aes256_r100000_p200000.xbcrypt")"
done
case_ "read buffer with suffix and chunk size"
xb -a AES256 -f "$K32" -r 10k -s 4k <"$P/p65537.bin"
expect_rc 0
# 6 pieces of 10240 (4096 4096 2048) and 4097 (4096 1)
expect_eq "$(chunk_sizes "$W/out")" "$(for _ in 1 2 3 4 5 6; do printf '4096 4096 2048 '; done)4096 1" "chunk layout"
case_ "read buffer 0 is raised to the minimum"
xb -a AES256 -f "$K32" -r 0 <"$P/p1023.bin"
expect_rc 0
expect_err '^xbcrypt: warning: .*read-buffer-size.*minimum'
case_ "read buffer not a number"
xb -a AES256 -f "$K32" --read-buffer-size=lots <"$P/p1023.bin"
expect_fail
expect_err '^xbcrypt: error: .*read-buffer-size.*number'
expect_out_empty

# --- threads: the separated value is taken (Percona drops it) -----------------
for spell in "-t 4" "-t4" "--encrypt-threads=4" "--encrypt-threads 4" "--encrypt_threads 4" \
    "--loose-encrypt-threads=4"; do
    case_ "threads '$spell'"
    # shellcheck disable=SC2086
    xb -v -a AES256 -f "$K32" $spell <"$P/p200000.bin"
    expect_rc 0
    expect_err '^xbcrypt: encrypting .* 4 threads'
    "$XBCRYPT" -d -a AES256 -f "$K32" $spell <"$W/out" >"$W/back" 2>/dev/null
    expect_same "$W/back" "$P/p200000.bin"
done
case_ "threads 0 is raised to 1"
xb -v -a AES256 -f "$K32" -t 0 <"$P/p1023.bin"
expect_rc 0
expect_err '^xbcrypt: warning: .*encrypt-threads.*minimum'
expect_err '1 thread,'
case_ "threads over the cap"
xb -a AES256 -f "$K32" -t 300 <"$P/p1023.bin"
expect_fail
expect_err '^xbcrypt: error: .*encrypt-threads.*at most 256'
expect_out_empty
case_ "threads 64"
xb -v -d -a AES256 -f "$K32" -t 64 <"$FIX/det/aes256_p200000.xbcrypt"
expect_rc 0
expect_err '64 threads'
expect_out_same "$P/p200000.bin"
case_ "threads not a number"
xb -a AES256 -f "$K32" -t four <"$P/p1023.bin"
expect_fail
expect_err 'encrypt-threads.*number'

# --- algorithm -----------------------------------------------------------------
for spell in "-aAES256" "-a AES256" "-a aes256" "-a Aes256" "--encrypt-algo=AES256" \
    "--encrypt-algo aes256" "--encrypt_algo=AES256" "--loose-encrypt-algo=AES256"; do
    case_ "algorithm '$spell'"
    # shellcheck disable=SC2086
    xb -d $spell -f "$K32" <"$FIX/det/aes256_p65537.xbcrypt"
    expect_rc 0
    expect_out_same "$P/p65537.bin"
done
case_ "algorithm aes128 lower case"
xb -d -a aes128 -f "$K16" <"$FIX/det/aes128_p1023.xbcrypt"
expect_rc 0
expect_out_same "$P/p1023.bin"
case_ "algorithm none lower case"
xb -d -a none <"$FIX/det/none_p1023.xbcrypt"
expect_rc 0
expect_out_same "$P/p1023.bin"
case_ "unknown algorithm"
xb -a AES512 -f "$K32" <"$P/p1023.bin"
expect_fail
expect_err '^xbcrypt: error: .*encrypt-algo.*AES256'
expect_out_empty
case_ "no algorithm is refused"
xb -f "$K32" <"$P/p1023.bin"
expect_fail
expect_err '^xbcrypt: error: .*encrypt-algo.*required'
expect_err 'NONE.*(unencrypted|not encrypted)'
expect_err '^xbcrypt: hint: '
expect_out_empty
case_ "no algorithm when decrypting"
xb -d -f "$K32" <"$FIX/det/aes256_p1023.xbcrypt"
expect_fail
expect_err 'required'
expect_out_empty
case_ "AES without a key file"
xb -a AES256 <"$P/p1023.bin"
expect_fail
expect_err '^xbcrypt: error: .*encrypt-key-file'
expect_out_empty

# --- key file, input, output: every spelling ------------------------------------
for spell in "-f $K32" "-f$K32" "--encrypt-key-file=$K32" "--encrypt-key-file $K32" \
    "--encrypt_key_file $K32" "--loose-encrypt-key-file=$K32"; do
    case_ "key file '$spell'"
    # shellcheck disable=SC2086
    xb -d -a AES256 $spell <"$FIX/det/aes256_p1023.xbcrypt"
    expect_rc 0
    expect_out_same "$P/p1023.bin"
done
IN=$FIX/det/aes256_p1023.xbcrypt
for spell in "-i $IN" "-i$IN" "--input=$IN" "--input $IN" "--loose-input=$IN"; do
    case_ "input '$spell'"
    # shellcheck disable=SC2086
    xb -d -a AES256 -f "$K32" $spell </dev/null
    expect_rc 0
    expect_out_same "$P/p1023.bin"
done
n=0
for spell in "-o" "-o=" "--output=" "--output " "--loose_output="; do
    n=$((n + 1))
    case_ "output '$spell'"
    case $spell in
    "-o") xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/o$n" ;;
    "-o=") xb -d -a AES256 -f "$K32" -i "$IN" "-o$W/o$n" ;;
    "--output ") xb -d -a AES256 -f "$K32" -i "$IN" --output "$W/o$n" ;;
    *) xb -d -a AES256 -f "$K32" -i "$IN" "$spell$W/o$n" ;;
    esac
    expect_rc 0
    expect_out_empty
    expect_same "$W/o$n" "$P/p1023.bin"
done

# --- flags, bundling, decrypt ------------------------------------------------------
for spell in "-d" "--decrypt" "--loose-decrypt"; do
    case_ "decrypt '$spell'"
    xb "$spell" -a AES256 -f "$K32" <"$IN"
    expect_rc 0
    expect_out_same "$P/p1023.bin"
done
case_ "bundled flags -dv"
xb -dv -a AES256 -f "$K32" <"$IN"
expect_rc 0
expect_out_same "$P/p1023.bin"
expect_err '^xbcrypt: decrypted '
case_ "bundled flags with a value -dvaAES256"
xb -dvaAES256 -f "$K32" <"$IN"
expect_rc 0
expect_out_same "$P/p1023.bin"
case_ "bundled flags with a separated value -dva AES256"
xb -dva AES256 -f "$K32" <"$IN"
expect_rc 0
expect_out_same "$P/p1023.bin"
case_ "--verbose"
xb --verbose -d -a AES256 -f "$K32" <"$IN"
expect_rc 0
expect_err '^xbcrypt: decrypted 1115 bytes to 1023 bytes in 1 chunks'
case_ "a flag given a value"
xb --decrypt=1 -a AES256 -f "$K32" <"$IN"
expect_fail
expect_err "^xbcrypt: error: --decrypt takes no value"
expect_out_empty

# --- unknown, loose, missing, stray ----------------------------------------------
case_ "unknown long option"
xb --bogus -a AES256 -f "$K32" <"$P/p1023.bin"
expect_fail
expect_err "^xbcrypt: error: unknown option '--bogus'"
expect_out_empty
case_ "unknown long option with a value is not echoed"
xb --bogus=hunter2 -a AES256 -f "$K32" <"$P/p1023.bin"
expect_fail
expect_err "unknown option '--bogus'"
expect_secret_hidden hunter2
case_ "unknown short option"
xb -x -a AES256 -f "$K32" <"$P/p1023.bin"
expect_fail
expect_err "^xbcrypt: error: unknown option '-x'"
expect_out_empty
case_ "unknown short option in a bundle"
xb -dz -a AES256 -f "$K32" <"$IN"
expect_fail
expect_err "unknown option '-z'"
expect_out_empty
case_ "unknown loose option is ignored with a warning"
xb --loose-bogus=3 --loose_other -d -a AES256 -f "$K32" <"$IN"
expect_rc 0
expect_err "^xbcrypt: warning: ignoring unknown option '--loose-bogus'"
expect_err "^xbcrypt: warning: ignoring unknown option '--loose-other'"
expect_out_same "$P/p1023.bin"
case_ "option missing its value at the end"
xb -a AES256 -f "$K32" -i
expect_fail
expect_err "^xbcrypt: error: .*--input.*needs a value"
case_ "empty file name"
xb -a AES256 -f "$K32" --input= </dev/null
expect_fail
expect_err "input needs a file name"
case_ "stray argument"
xb -a AES256 -f "$K32" hunter2 <"$P/p1023.bin"
expect_fail
expect_err "^xbcrypt: error: unexpected argument"
expect_secret_hidden hunter2
expect_out_empty
case_ "-- ends the options"
xb -a AES256 -f "$K32" -- -d <"$P/p1023.bin"
expect_fail
expect_err "unexpected argument"

# --- --xbstream (issue 11): spellings by their effect, refusals -------------------
A=$FIX/xbstream/percona_plain.xbstream
for spell in "--xbstream" "--loose-xbstream" "--loose_xbstream"; do
    case_ "xbstream '$spell' --info lists members"
    xb $spell --info -i "$A"
    expect_rc 0
    expect_eq "$(grep -c '^member path=' "$W/out")" 8 "member lines"
    case_ "xbstream '$spell' with -d, after the other options"
    xb -a AES256 -f "$K32" -d -i "$FIX/xbstream/percona_members_aes256.xbstream" $spell
    expect_rc 0
    expect_eq "$(head -c 8 "$W/out")" XBSTCK01 "start of the output"
done
case_ "--xbstream takes no value"
xb --xbstream=yes --info -i "$A"
expect_rc 1
expect_err '^xbcrypt: error: --xbstream takes no value'
expect_out_empty
case_ "--xbstream refuses to encrypt with NONE"
xb --xbstream -a NONE -i "$A"
expect_rc 1
expect_err '^xbcrypt: error: --xbstream with --encrypt-algo=NONE'
expect_err '^xbcrypt: hint: '
expect_out_empty
case_ "--xbstream with --rewrap is refused"
xb --xbstream --rewrap --wrapped-key-file=w --new-wrapped-key-file=n --recipient=F
expect_rc 1
expect_err '--xbstream is not used with it'
case_ "--xbstream --verify refuses -o as --verify does"
xb --xbstream --verify -o "$W/o" -i "$A"
expect_rc 1
expect_absent "$W/o"
case_ "--xbstream still refuses -k before anything"
xb --xbstream -d -a AES256 -k hunter2 -i "$A"
expect_rc 1
expect_secret_hidden hunter2
expect_out_empty

# --- help and version -------------------------------------------------------------
for spell in --help -? --loose-help "--help -a AES256"; do
    case_ "help '$spell'"
    # shellcheck disable=SC2086
    xb $spell
    expect_rc 0
    expect_err_empty
    if grep -q '^Usage: xbcrypt' "$W/out" && grep -q -- '--encrypt-key-file' "$W/out"; then ok; else fail "no usage on stdout"; fi
    if grep -q -- '--xbstream ' "$W/out"; then ok; else fail "--help does not describe --xbstream"; fi
done
for spell in --version -V; do
    case_ "version '$spell'"
    xb $spell
    expect_rc 0
    expect_err_empty
    expect_eq "$(wc -l <"$W/out")" 1 "lines of --version"
    if grep -qE '^xbcrypt .*[0-9]+\.[0-9]+\.[0-9]+' "$W/out"; then ok; else fail "no version number"; fi
done
case_ "help to a full device fails"
"$XBCRYPT" --help >/dev/full 2>"$W/err"
RC=$?
expect_fail

finish
