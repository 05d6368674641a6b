#!/bin/bash
# -o on a file system without O_TMPFILE (fault_shim.so, path in FAULT_SHIM,
# makes open(O_TMPFILE) fail with EOPNOTSUPP): the named temporary
# ".NAME.XXXXXX" beside the target takes its place, is renamed into place
# without replacing anything (RENAME_NOREPLACE), and is removed on failure
# and on SIGTERM.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

[ -f "${FAULT_SHIM:-}" ] || { echo "FAULT_SHIM not set" >&2; exit 99; }
IN=$FIX/det/aes256_p200000.xbcrypt
PLAIN=$P/p200000.bin
export XB_FAULT_NO_TMPFILE=1

# shimmed ARGS...: xb with the shim.
shimmed() {
    LD_PRELOAD=$FAULT_SHIM "$XBCRYPT" "$@" >"$W/out" 2>"$W/err"
    RC=$?
    check_grammar
}
# temporaries: the names of temporaries in $W.
temporaries() { (cd "$W" && ls -A | grep '^\.enc\.' || true); }
# slow_start: xbcrypt encrypting the FIFO $W/in (held open on fd 7) to
# $W/enc; $pid; returns once its named temporary exists.
slow_start() {
    mkfifo "$W/in"
    exec 7<>"$W/in"
    LD_PRELOAD=$FAULT_SHIM "$XBCRYPT" -a AES256 -f "$K32" -o "$W/enc" <"$W/in" 2>"$W/err" 7>&- &
    pid=$!
    head -c 100000 "$PLAIN" >&7
    local tmp=""
    for _ in $(seq 200); do
        tmp=$(temporaries)
        [ -n "$tmp" ] && break
        sleep 0.05
    done
    expect_eq "${tmp:+found}" found "a named temporary while running"
}

new_file_cases "no O_TMPFILE" shimmed
case_ "no O_TMPFILE: a damaged input leaves nothing"
shimmed -d -a AES256 -f "$K32" -i "$FIX/negative/payload_bitflip_chunk1.xbcrypt" -o "$W/plain"
expect_fail
expect_err 'nothing was written to .*plain'
expect_dir_only "$W" err out

case_ "no O_TMPFILE: SIGTERM removes the named temporary"
slow_start
kill -TERM "$pid"
wait "$pid"
RC=$?
exec 7>&-
expect_eq "$RC" 143 "exit status after SIGTERM"
expect_dir_only "$W" err in

case_ "no O_TMPFILE: a file appearing at the target meanwhile is not replaced"
slow_start
expect_not_replaced "$pid"

case_ "no O_TMPFILE: the run completes when nothing appears"
slow_start
tail -c +100001 "$PLAIN" >&7
exec 7>&-
wait "$pid"
RC=$?
expect_rc 0
"$XBCRYPT" -d -a AES256 -f "$K32" -i "$W/enc" -o "$W/back" 2>/dev/null
expect_same "$W/back" "$PLAIN"
expect_dir_only "$W" back enc err in

finish
