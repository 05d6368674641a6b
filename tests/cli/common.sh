# common.sh - sourced by every tests/cli script.
#
# Usage of a script: bash test_X.sh XBCRYPT_BINARY FIXTURES_DIR
#
# Each check prints "ok"/"FAIL" with the case name; the script exits 1 when
# any check failed (meson counts the test as failed), 0 otherwise.  Every
# case runs in its own scratch directory under one mktemp -d, removed on
# exit.

set -u

if [ $# -lt 2 ] || [ ! -x "$1" ] || [ ! -d "$2" ]; then
    echo "usage: $0 XBCRYPT_BINARY FIXTURES_DIR" >&2
    exit 99 # meson: hard error, not a test failure
fi
XBCRYPT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
FIX=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

T=$(mktemp -d "${TMPDIR:-/tmp}/xbcrypt-cli.XXXXXX") || exit 99
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
umask 022

FAILS=0
CHECKS=0
CASE=setup

# Private copies of the keys (the fixtures are world-readable, which draws a
# warning on every run).
mkdir -p "$T/k"
for k in key16 key24 key32 key32_newline key32_wrong; do
    cp "$FIX/keys/$k.bin" "$T/k/$k.bin"
    chmod 600 "$T/k/$k.bin"
done
K16=$T/k/key16.bin
K24=$T/k/key24.bin
K32=$T/k/key32.bin
KNL=$T/k/key32_newline.bin
KWRONG=$T/k/key32_wrong.bin
P=$FIX/plain

# Starts a case: a fresh working directory $W.
case_() {
    CASE=$1
    W=$T/case.$((CHECKS + FAILS)).$RANDOM
    mkdir -p "$W"
}

ok() { CHECKS=$((CHECKS + 1)); }
fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $CASE: $*"
    if [ -s "$W/err" ]; then
        echo "  stderr was:"
        sed 's/^/    /' "$W/err" | head -20
    fi
}

# xb ARGS...: runs xbcrypt with stdout in $W/out, stderr in $W/err, the
# status in $RC.  Redirect stdin on the call: xb -d ... < FILE.
xb() {
    "$XBCRYPT" "$@" >"$W/out" 2>"$W/err"
    RC=$?
    check_grammar
}

# Every stderr line follows the one grammar: "xbcrypt: [error|warning|hint: ]
# text", text not starting with a capitalised word, no final period.
check_grammar() {
    local bad
    bad=$(grep -vE '^xbcrypt: ((error|warning|hint): )?[^ ]' "$W/err" |
        head -3)
    bad+=$(grep -E '^xbcrypt: ((error|warning|hint): )?[A-Z][a-z]|\.$' "$W/err" | head -3)
    if [ -n "$bad" ]; then
        fail "stderr line outside the message grammar: $bad"
    else
        ok
    fi
}

expect_rc() {
    if [ "$RC" -eq "$1" ]; then ok; else fail "exit status $RC, expected $1"; fi
}
expect_fail() {
    if [ "$RC" -ne 0 ] && [ "$RC" -lt 128 ]; then ok; else fail "exit status $RC, expected a clean failure (1..127)"; fi
}
# expect_err REGEX: stderr matches (grep -E, case-insensitive).
expect_err() {
    if grep -qiE -e "$1" "$W/err"; then ok; else fail "stderr does not match /$1/"; fi
}
# expect_no_err REGEX
expect_no_err() {
    if grep -qiE -e "$1" "$W/err"; then fail "stderr matches /$1/ and must not"; else ok; fi
}
expect_err_empty() {
    if [ -s "$W/err" ]; then fail "stderr is not empty"; else ok; fi
}
expect_out_empty() {
    if [ -s "$W/out" ]; then fail "stdout has $(wc -c <"$W/out") bytes, expected none"; else ok; fi
}
# expect_same FILE_A FILE_B
expect_same() {
    if cmp -s "$1" "$2"; then ok; else fail "$1 differs from $2"; fi
}
# expect_out_same FILE: stdout is byte-identical to FILE.
expect_out_same() { expect_same "$W/out" "$1"; }
# expect_sha FILE SHA256
expect_sha() {
    local got
    got=$(sha256sum <"$1" | cut -d' ' -f1)
    if [ "$got" = "$2" ]; then ok; else fail "sha256 of $1 is $got, expected $2"; fi
}
# expect_absent PATH / expect_present PATH
expect_absent() {
    if [ -e "$1" ] || [ -L "$1" ]; then fail "$1 exists and must not"; else ok; fi
}
expect_present() {
    if [ -e "$1" ]; then ok; else fail "$1 does not exist"; fi
}
# expect_secret_hidden STRING: neither stdout nor stderr contains STRING.
expect_secret_hidden() {
    if grep -qF -e "$1" "$W/out" "$W/err"; then fail "the secret '$1' was echoed"; else ok; fi
}
# expect_size FILE BYTES
expect_size() {
    local got
    got=$(wc -c <"$1")
    if [ "$got" -eq "$2" ]; then ok; else fail "$1 has $got bytes, expected $2"; fi
}
# expect_eq GOT WANT WHAT
expect_eq() {
    if [ "$1" = "$2" ]; then ok; else fail "$3: got '$1', expected '$2'"; fi
}
# expect_dir_only DIR NAME...: DIR holds exactly these entries (dot files
# included), so a leftover temporary is caught.
expect_dir_only() {
    local dir=$1
    shift
    local got want
    got=$(cd "$dir" && ls -A | sort | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
    expect_eq "$got" "$want" "entries of $dir"
}

# chunk_sizes FILE: the plaintext size of each chunk of a version-3 stream,
# read from the headers (elen - 32), space-separated.
chunk_sizes() {
    local f=$1 off=0 size magic elen ivlen out=""
    size=$(wc -c <"$f")
    while [ "$off" -lt "$size" ]; do
        magic=$(dd if="$f" bs=1 skip="$off" count=8 2>/dev/null)
        if [ "$magic" != XBCRYP03 ]; then
            echo "bad-magic-at-$off"
            return
        fi
        elen=$(od -An -tu8 -j $((off + 24)) -N8 "$f" | tr -d ' ')
        ivlen=$(od -An -tu8 -j $((off + 36)) -N8 "$f" | tr -d ' ')
        out+="$((elen - 32)) "
        off=$((off + 44 + ivlen + elen))
    done
    echo "${out% }"
}

# flip FILE OFFSET: xor the byte at OFFSET with 0x01, in place.
flip() {
    python3 - "$1" "$2" <<'EOF' || fail "cannot flip byte $2 of $1"
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 1]))
EOF
}

# gen_plain N FILE: the fixtures' plaintext rule, byte i = (i*7) mod 251.
gen_plain() {
    python3 - "$1" "$2" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
period = bytes((i * 7) % 251 for i in range(251))
data = period * (n // 251 + 1)
with open(path, 'wb') as f:
    f.write(data[:n])
EOF
}

# defaulting CMD...: execs CMD with SIGINT, SIGTERM and SIGHUP at their
# default action, whatever this shell ignores (a script's background job
# starts with SIGINT ignored).  Run it in a subshell or as `defaulting ... &`.
defaulting() {
    exec perl -e '$SIG{$_} = "DEFAULT" for qw(INT TERM HUP); exec @ARGV or die "exec: $!"' "$@"
}

# new_file_cases LABEL RUN: a new -o file, decrypting (complete, mode 0600,
# nothing else left) and encrypting (mode from the umask 022), with xbcrypt
# run by RUN (xb, or a function that takes the same arguments).
new_file_cases() {
    local label=$1 run=$2
    case_ "$label: a new file, decrypting: complete, mode 0600"
    "$run" -d -a AES256 -f "$K32" -i "$FIX/det/aes256_p200000.xbcrypt" -o "$W/plain"
    expect_rc 0
    expect_err_empty
    expect_out_empty
    expect_same "$W/plain" "$P/p200000.bin"
    expect_eq "$(stat -c %a "$W/plain")" 600 "mode of the plaintext"
    expect_dir_only "$W" err out plain
    case_ "$label: a new file, encrypting: mode from the umask"
    "$run" -a AES256 -f "$K32" -i "$P/p200000.bin" -o "$W/enc"
    expect_rc 0
    expect_eq "$(stat -c %a "$W/enc")" 644 "mode of the encrypted file (umask 022)"
    "$XBCRYPT" -d -a AES256 -f "$K32" -i "$W/enc" -o "$W/back" 2>/dev/null
    expect_same "$W/back" "$P/p200000.bin"
}

# expect_not_replaced PID: while xbcrypt (PID) writes -o $W/enc from the
# FIFO $W/in held open on fd 7, a file appears at $W/enc; then the input
# ends.  The run must fail saying so and leave that file alone.
expect_not_replaced() {
    echo other >"$W/enc"
    exec 7>&- # end of input: xbcrypt finishes and tries to move into place
    wait "$1"
    RC=$?
    check_grammar
    expect_fail
    expect_err '^xbcrypt: error: .*enc appeared while xbcrypt was writing'
    expect_eq "$(cat "$W/enc")" other "content of the file that appeared"
    expect_dir_only "$W" enc err in
}

finish() {
    echo "$(basename "$0"): $CHECKS checks passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
    exit $?
}
