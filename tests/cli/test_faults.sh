#!/bin/bash
# I/O faults injected under the binary by fault_shim.so (LD_PRELOAD, path in
# FAULT_SHIM): reads and writes interrupted by EINTR and cut short must not
# change a byte of the output; a read or write that fails must end in a
# clean error that names the file, with nothing left at an -o target.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

[ -f "${FAULT_SHIM:-}" ] || { echo "FAULT_SHIM not set" >&2; exit 99; }
PLAIN=$P/p200000.bin

# faulty VAR=VALUE... -- ARGS: xb with the shim and the given settings.
faulty() {
    local vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    env LD_PRELOAD="$FAULT_SHIM" "${vars[@]}" "$XBCRYPT" "$@" >"$W/out" 2>"$W/err"
    RC=$?
    check_grammar
}

for t in 1 4; do
    case_ "EINTR and short transfers, -t $t, files"
    faulty XB_FAULT_EINTR=3 XB_FAULT_SHORT=777 -- -a AES256 -f "$K32" -t "$t" -s 1024 \
        -i "$PLAIN" -o "$W/enc"
    expect_rc 0
    faulty XB_FAULT_EINTR=2 XB_FAULT_SHORT=100 -- -d -a AES256 -f "$K32" -t "$t" \
        -i "$W/enc" -o "$W/dec"
    expect_rc 0
    expect_same "$W/dec" "$PLAIN"

    case_ "EINTR and short transfers, -t $t, pipes"
    faulty XB_FAULT_EINTR=5 XB_FAULT_SHORT=4000 -- -a AES256 -f "$K32" -t "$t" <"$PLAIN"
    expect_rc 0
    mv "$W/out" "$W/enc"
    faulty XB_FAULT_EINTR=4 XB_FAULT_SHORT=333 -- -d -a AES256 -f "$K32" -t "$t" <"$W/enc"
    expect_rc 0
    expect_out_same "$PLAIN"
done

case_ "a fixture decrypts through interrupted one-byte reads"
faulty XB_FAULT_EINTR=2 XB_FAULT_SHORT=1 -- -d -a AES256 -f "$K32" \
    -i "$FIX/det/aes256_p65537.xbcrypt"
expect_rc 0
expect_out_same "$P/p65537.bin"

case_ "disk full while encrypting to -o"
faulty XB_FAULT_WRITE_ERR=3:28 -- -a AES256 -f "$K32" -i "$PLAIN" -o "$W/enc"
expect_fail
expect_err "^xbcrypt: error: writing $W/enc: no space left on device \(chunk [0-9]+, byte [0-9]+ of the encrypted stream\)"
expect_absent "$W/enc"
expect_dir_only "$W" out err

case_ "disk full while decrypting to stdout"
faulty XB_FAULT_WRITE_ERR=2:28 -- -d -a AES256 -f "$K32" -i "$FIX/det/aes256_p200000.xbcrypt"
expect_fail
expect_err 'no space left on device'
expect_err 'bytes were written to standard output before the error|nothing was written'

case_ "input read fails mid-file (EIO)"
faulty XB_FAULT_READ_ERR=5:5 -- -a AES256 -f "$K32" -i "$PLAIN" -o "$W/enc"
expect_fail
expect_err "^xbcrypt: error: reading $PLAIN at byte [0-9]+: input/output error"
expect_absent "$W/enc"
expect_dir_only "$W" out err

case_ "input read fails mid-stream while decrypting (EIO)"
faulty XB_FAULT_READ_ERR=6:5 -- -d -a AES256 -f "$K32" -i "$FIX/det/aes256_p200000.xbcrypt" \
    -o "$W/dec"
expect_fail
expect_err 'input/output error'
expect_absent "$W/dec"
expect_dir_only "$W" out err

finish
