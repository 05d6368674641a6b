#!/usr/bin/env bash
# test_envelope_interrupted.sh XBCRYPT FIXTURES - the wrapped-key file of an
# envelope encryption that is interrupted (SIGINT, SIGTERM, SIGHUP) is
# removed with the rest, so that the same command can simply be run again;
# it is written through a temporary, so it never appears partial.
# shellcheck source=cli_homes.sh
. "$(dirname "${BASH_SOURCE[0]}")/cli_homes.sh"

PLAIN=$T/plain
gen_plain 300000 "$PLAIN"

# interrupted SIG ARGS...: an envelope encryption to A, wrapped key in
# $W/key.asc, input from a FIFO held open; SIG once the wrapped-key file
# exists.  Status in RC.
interrupted() {
    local sig=$1 pid
    shift
    mkfifo "$W/in"
    exec 7<>"$W/in"
    GNUPGHOME=$HOME_HOST defaulting "$XBCRYPT" -a AES256 --recipient="$FPR_A" \
        --wrapped-key-file="$W/key.asc" "$@" <"$W/in" >"$W/out" 2>"$W/err" 7>&- &
    pid=$!
    head -c 100000 "$PLAIN" >&7
    for _ in $(seq 300); do
        [ -e "$W/key.asc" ] && break
        sleep 0.05
    done
    expect_present "$W/key.asc"
    sleep 0.2
    kill -"$sig" "$pid"
    { wait "$pid"; } 2>/dev/null
    RC=$?
    exec 7>&-
    rm -f "$W/in"
    check_grammar
    expect_eq "$RC" $((128 + $(kill -l "$sig"))) "exit status after SIG$sig"
}

# rerun ARGS...: the same encryption again, now whole; it must work.
rerun() {
    as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/key.asc" "$@" \
        <"$PLAIN"
    expect_rc 0
    expect_present "$W/key.asc"
}

for sig in INT TERM HUP; do
    case_ "SIG$sig during an envelope encryption to -o: nothing left, a rerun works"
    interrupted "$sig" -o "$W/data"
    expect_absent "$W/key.asc"
    expect_absent "$W/data"
    expect_dir_only "$W" err out
    rerun -o "$W/data"
    as "$HOME_A" -d -a AES256 --wrapped-key-file="$W/key.asc" -i "$W/data"
    expect_rc 0
    expect_out_same "$PLAIN"
done

case_ "SIGINT during an envelope encryption to standard output: the wrapped key goes too"
interrupted INT
expect_absent "$W/key.asc"
rerun
cp "$W/out" "$W/data"
as "$HOME_A" -d -a AES256 --wrapped-key-file="$W/key.asc" -i "$W/data"
expect_rc 0
expect_out_same "$PLAIN"

case_ "the wrapped-key file appears whole: never under its name while written"
# Run under strace when there is one: the wrapped key is written to an
# unnamed or dot-named temporary, never to an fd opened at its own name.
if command -v strace >/dev/null; then
    # (LeakSanitizer cannot run under ptrace: no leak check in this one run.)
    GNUPGHOME=$HOME_HOST ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -e trace=openat,open -o "$W/trace" "$XBCRYPT" -a AES256 \
        --recipient="$FPR_A" --wrapped-key-file="$W/key.asc" -o "$W/data" <"$PLAIN" \
        >"$W/out" 2>"$W/err"
    RC=$?
    expect_rc 0
    if grep -q "\"$W/key.asc\".*O_CREAT" "$W/trace"; then
        fail "the wrapped-key file was created under its own name: $(grep "$W/key.asc" "$W/trace")"
    else
        ok
    fi
    if grep -qE "\"$W\".*O_TMPFILE|\"$W/\.key\.asc\." "$W/trace"; then ok; else
        fail "no temporary for the wrapped-key file in the trace"
    fi
else
    fail "strace is needed for this check (scripts/deps.sh installs it)"
fi

finish
