#!/bin/bash
# Signals: SIGINT, SIGTERM and SIGHUP that were ignored when xbcrypt started
# (nohup, `trap '' SIG`, a script's background job, where the shell ignores
# SIGINT) stay ignored: the run completes.  When not ignored they end the
# run and leave nothing at -o.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

IN=$FIX/det/aes256_p200000.xbcrypt
PLAIN=$P/p200000.bin

# signalled SIG PREFIX...: runs PREFIX... xbcrypt -d ... -o $W/plain with
# its input from a FIFO held open, sends SIG once half the input is in,
# then the rest; status in RC.
signalled() {
    local sig=$1
    shift
    mkfifo "$W/in"
    exec 7<>"$W/in"
    "$@" "$XBCRYPT" -d -a AES256 -f "$K32" -o "$W/plain" <"$W/in" >"$W/out" 2>"$W/err" 7>&- &
    local pid=$!
    head -c 100000 "$IN" >&7
    sleep 1 # under way, its handlers (if any) installed
    kill -"$sig" "$pid" 2>/dev/null
    sleep 0.2
    # The rest only to a live reader (a dead one's pipe fills and blocks;
    # a zombie is dead too).
    if [ -r "/proc/$pid/stat" ] && ! grep -q ') Z ' "/proc/$pid/stat"; then
        timeout 20 tail -c +100001 "$IN" >&7
    fi
    exec 7>&-
    { wait "$pid"; } 2>/dev/null
    RC=$?
    check_grammar
}

# ignoring SIG CMD...: CMD with SIG ignored (as `trap '' SIG` does for what a
# shell runs).
ignoring() {
    local sig=$1
    shift
    trap '' "$sig"
    exec "$@"
}

case_ "nohup: SIGHUP does not end the run"
signalled HUP nohup
expect_rc 0
expect_same "$W/plain" "$PLAIN"
expect_dir_only "$W" err in out plain

for sig in HUP TERM INT; do
    case_ "SIG$sig ignored at start (trap '' $sig): the run completes"
    signalled "$sig" ignoring "$sig"
    expect_rc 0
    expect_err_empty
    expect_same "$W/plain" "$PLAIN"
    expect_dir_only "$W" err in out plain
done

case_ "a script's background job: the shell ignores SIGINT there, and so does xbcrypt"
# bash without job control starts `cmd &` with SIGINT and SIGQUIT ignored;
# signalled() runs xbcrypt just so.
signalled INT env
expect_rc 0
expect_same "$W/plain" "$PLAIN"

for sig in HUP TERM INT; do
    case_ "SIG$sig not ignored: the run ends of it, nothing left"
    signalled "$sig" defaulting
    expect_eq "$RC" $((128 + $(kill -l "$sig"))) "exit status after SIG$sig"
    expect_absent "$W/plain"
    expect_dir_only "$W" err in out
done

finish
