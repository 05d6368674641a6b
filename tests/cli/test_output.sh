#!/bin/bash
# Output that never lies: -o never replaces an existing file or follows a
# symlink, writes devices and FIFOs directly, and leaves nothing at the
# target (and no temporary beside it) when anything fails.  Inputs must be
# regular files; write errors end in a non-zero exit with a message.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

IN=$FIX/det/aes256_p200000.xbcrypt
PLAIN=$P/p200000.bin

# --- targets that are refused ----------------------------------------------------
case_ "-o an existing file is refused and left alone"
echo keep >"$W/target"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/target"
expect_fail
expect_err '^xbcrypt: error: .*target.*File exists'
expect_err '^xbcrypt: hint: '
expect_eq "$(cat "$W/target")" keep "content of the existing file"
expect_out_empty
expect_dir_only "$W" err out target
case_ "-o an existing empty file is refused"
: >"$W/target"
xb -a AES256 -f "$K32" -i "$PLAIN" -o "$W/target"
expect_fail
expect_err 'File exists'
expect_size "$W/target" 0
case_ "-o a symlink to a file is refused, the file untouched"
echo keep >"$W/real"
ln -s real "$W/link"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/link"
expect_fail
expect_err 'link.*File exists'
expect_eq "$(cat "$W/real")" keep "content behind the symlink"
expect_dir_only "$W" err link out real
case_ "-o a dangling symlink is refused, nothing created"
ln -s nowhere "$W/link"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/link"
expect_fail
expect_err 'File exists'
expect_absent "$W/nowhere"
case_ "-o a symlink to /dev/null is refused (O_NOFOLLOW)"
ln -s /dev/null "$W/link"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/link"
expect_fail
expect_err 'File exists'
case_ "-o a directory"
mkdir "$W/dir"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/dir"
expect_fail
expect_err '^xbcrypt: error: .*dir.*directory'
expect_dir_only "$W/dir"
case_ "-o with a trailing slash"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/new/"
expect_fail
expect_err 'directory'
expect_absent "$W/new"
case_ "-o in a missing directory"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/missing/plain"
expect_fail
expect_err '^xbcrypt: error: .*missing.*No such file'
expect_absent "$W/missing"
case_ "-o in a read-only directory"
mkdir "$W/ro"
chmod 555 "$W/ro"
if touch "$W/ro/probe" 2>/dev/null; then
    rm -f "$W/ro/probe"
    ok # root writes anywhere: nothing to check
else
    xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/ro/plain"
    expect_fail
    expect_err 'Permission denied'
    expect_dir_only "$W/ro"
fi
case_ "an existing file is refused before the key is read"
echo keep >"$W/target"
mkfifo "$W/key.fifo" # reading it would block
xb -d -a AES256 -f "$W/key.fifo" -i "$IN" -o "$W/target"
expect_fail
expect_err 'File exists'

# --- targets that are written ---------------------------------------------------------
new_file_cases "-o" xb
case_ "-o a relative name in the working directory"
(cd "$W" && "$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" -o plain) 2>"$W/err"
RC=$?
expect_rc 0
expect_same "$W/plain" "$PLAIN"
expect_dir_only "$W" err plain
case_ "-o a long file name"
long=$(printf 'x%.0s' $(seq 250))
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/$long"
expect_rc 0
expect_same "$W/$long" "$PLAIN"
expect_dir_only "$W" err out "$long"
case_ "-o /dev/null"
xb -d -a AES256 -f "$K32" -i "$IN" -o /dev/null
expect_rc 0
expect_err_empty
expect_out_empty
case_ "-o a named pipe"
mkfifo "$W/pipe"
cat "$W/pipe" >"$W/got" &
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/pipe"
wait
expect_rc 0
expect_same "$W/got" "$PLAIN"
case_ "empty input to -o gives an empty file"
xb -d -a AES256 -f "$K32" -i "$FIX/det/aes256_p0.xbcrypt" -o "$W/plain"
expect_rc 0
expect_present "$W/plain"
expect_size "$W/plain" 0
case_ "empty input from stdin to -o"
xb -a AES256 -f "$K32" -o "$W/enc" </dev/null
expect_rc 0
expect_size "$W/enc" 0

# --- failures leave nothing ---------------------------------------------------------------
for f in negative/trunc_150000.xbcrypt negative/payload_bitflip_chunk1.xbcrypt \
    negative/garbage_random4096.bin; do
    case_ "$f to -o leaves nothing"
    xb -d -a AES256 -f "$K32" -i "$FIX/$f" -o "$W/plain"
    expect_fail
    expect_err "nothing was written to .*plain"
    expect_absent "$W/plain"
    expect_dir_only "$W" err out
done
case_ "wrong key from stdin to -o leaves nothing"
xb -d -a AES256 -f "$KWRONG" -o "$W/plain" <"$IN"
expect_fail
expect_absent "$W/plain"
expect_dir_only "$W" err out
case_ "bad key file leaves nothing"
xb -d -a AES256 -f "$KNL" -i "$IN" -o "$W/plain"
expect_fail
expect_absent "$W/plain"
expect_dir_only "$W" err out

# wait_output PID: waits (10 s at most) until process PID has its output
# open in $W, named or unnamed ("$W/#123 (deleted)"); 1 if it never does.
wait_output() {
    local fd
    for _ in $(seq 200); do
        for fd in /proc/"$1"/fd/*; do
            case $(readlink "$fd" 2>/dev/null) in
            "$W/err" | "$W/in" | "$W/out" | "") ;;
            "$W"/*) return 0 ;;
            esac
        done
        sleep 0.05
    done
    return 1
}

for sig in TERM KILL; do
    case_ "SIG$sig during a slow -o write leaves no file at all"
    mkfifo "$W/in"
    exec 7<>"$W/in" # held open: xbcrypt waits for more input
    "$XBCRYPT" -a AES256 -f "$K32" -o "$W/enc" <"$W/in" 2>"$W/err" 7>&- &
    pid=$!
    head -c 100000 "$PLAIN" >&7
    if wait_output "$pid"; then ok; else fail "xbcrypt never opened its output"; fi
    # Written so far, yet under no name: nothing to leave behind, however
    # the process dies.
    expect_dir_only "$W" err in
    kill -"$sig" "$pid"
    { wait "$pid"; } 2>/dev/null # no "Killed" line from the shell
    RC=$?
    exec 7>&-
    expect_eq "$RC" $((128 + $(kill -l "$sig"))) "exit status after SIG$sig"
    expect_absent "$W/enc"
    expect_dir_only "$W" err in
done

case_ "a file appearing at the target meanwhile is not replaced"
mkfifo "$W/in"
exec 7<>"$W/in"
"$XBCRYPT" -a AES256 -f "$K32" -o "$W/enc" <"$W/in" 2>"$W/err" 7>&- &
pid=$!
head -c 1000 "$PLAIN" >&7
if wait_output "$pid"; then ok; else fail "xbcrypt never opened its output"; fi
expect_not_replaced "$pid"

# --- write errors -----------------------------------------------------------------------
case_ "stdout is /dev/full"
"$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" >/dev/full 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err '^xbcrypt: error: writing standard output: No space left on device'
case_ "-o /dev/full"
xb -a AES256 -f "$K32" -i "$PLAIN" -o /dev/full
expect_fail
expect_err '^xbcrypt: error: writing /dev/full: No space left on device'
case_ "ulimit -f: a clean error naming the file and the byte, nothing left"
(ulimit -f 100 && exec "$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" -o "$W/plain") \
    >"$W/out" 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err "^xbcrypt: error: writing $W/plain: file too large"
expect_err "^xbcrypt: hint: the write stopped at byte 102400 of $W/plain: the file size limit of this process \(ulimit -f\) is 102400 bytes"
expect_err "nothing was written to $W/plain"
expect_dir_only "$W" err out
case_ "ulimit -f on standard output: the same error, the byte written"
(ulimit -f 100 && exec "$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN") >"$W/plain" 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err '^xbcrypt: error: writing standard output: file too large'
expect_err '^xbcrypt: 102400 plaintext bytes were written to standard output before the error'
expect_err 'the write stopped at byte 102400 of standard output'
expect_size "$W/plain" 102400
case_ "closed pipe on stdout is a clean error, not a signal death"
"$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" 2>"$W/err" | head -c 10 >"$W/out"
RC=${PIPESTATUS[0]}
check_grammar
expect_fail
expect_err 'Broken pipe'
expect_size "$W/out" 10
case_ "stdout closed"
"$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" >&- 2>"$W/err"
RC=$?
expect_fail
expect_err '^xbcrypt: error: standard output is closed'
case_ "stdin closed"
"$XBCRYPT" -a AES256 -f "$K32" <&- >"$W/out" 2>"$W/err"
RC=$?
expect_fail
expect_err '^xbcrypt: error: standard input is closed'
expect_out_empty
case_ "stdout closed, with -o"
"$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" -o "$W/plain" >&- 2>"$W/err"
RC=$?
expect_rc 0
expect_same "$W/plain" "$PLAIN"
case_ "stderr closed: failure still shows in the exit status"
"$XBCRYPT" -d -a AES256 -f "$KWRONG" -i "$IN" >"$W/out" 2>&-
RC=$?
expect_fail
expect_out_empty

# --- inputs ----------------------------------------------------------------------------------
case_ "-i a directory"
xb -d -a AES256 -f "$K32" -i "$W"
expect_fail
expect_err '^xbcrypt: error: .*directory'
expect_out_empty
case_ "-i a named pipe is refused without blocking"
mkfifo "$W/in"
timeout 10 "$XBCRYPT" -d -a AES256 -f "$K32" -i "$W/in" >"$W/out" 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err '^xbcrypt: error: .*in.*regular file'
expect_err '^xbcrypt: hint: .*<'
case_ "-i a character device"
xb -a AES256 -f "$K32" -i /dev/zero
expect_fail
expect_err 'regular file'
expect_out_empty
case_ "-i missing"
xb -d -a AES256 -f "$K32" -i "$W/none"
expect_fail
expect_err '^xbcrypt: error: cannot open .*none: No such file'
expect_out_empty
case_ "-i a directory with -o leaves nothing"
xb -d -a AES256 -f "$K32" -i "$T" -o "$W/plain"
expect_fail
expect_absent "$W/plain"
case_ "-i F -o F: refused up front, F untouched"
cp "$PLAIN" "$W/f"
xb -a AES256 -f "$K32" -i "$W/f" -o "$W/f"
expect_fail
expect_err "^xbcrypt: error: $W/f is both the input and the output \($W/f\)"
expect_same "$W/f" "$PLAIN"
expect_dir_only "$W" err f out
case_ "-i F -o a hard link to F: refused up front"
cp "$PLAIN" "$W/f"
ln "$W/f" "$W/g"
xb -a AES256 -f "$K32" -i "$W/f" -o "$W/g"
expect_fail
expect_err "both the input and the output"
expect_same "$W/f" "$PLAIN"
case_ "-i F >> F: refused up front, F untouched"
cp "$PLAIN" "$W/f"
timeout 20 "$XBCRYPT" -a AES256 -f "$K32" -i "$W/f" >>"$W/f" 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err "^xbcrypt: error: $W/f is both the input and the output \(standard output\)"
expect_err '^xbcrypt: hint: write to another file'
expect_same "$W/f" "$PLAIN"
case_ "< F >> F: refused up front too"
cp "$PLAIN" "$W/f"
timeout 20 "$XBCRYPT" -a NONE <"$W/f" >>"$W/f" 2>"$W/err"
RC=$?
expect_fail
expect_err "standard input is both the input and the output \(standard output\)"
expect_same "$W/f" "$PLAIN"
case_ "--verify -i F with stdout F is fine (it writes nothing there)"
cp "$FIX/det/aes256_p200000.xbcrypt" "$W/f"
"$XBCRYPT" --verify -a AES256 -f "$K32" -i "$W/f" >>"$W/f" 2>"$W/err"
RC=$?
expect_rc 0

# shrink_while_read ARGS...: runs xbcrypt ARGS -i $W/big -o $W/pipe (a pipe
# of our own that is not read at first, so xbcrypt stops on a full pipe),
# truncates $W/big to 1000 bytes once xbcrypt has read some of it, then
# drains the pipe into $W/got.  Status in RC.
shrink_while_read() {
    mkfifo "$W/pipe"
    "$XBCRYPT" "$@" -i "$W/big" -o "$W/pipe" 2>"$W/err" &
    local pid=$! pos=0 last=-1
    exec 8<"$W/pipe"
    # Until it blocks on the full pipe: the writing thread sleeps in the
    # pipe's write, or (read() input) the read position stops moving.
    for _ in $(seq 100); do
        grep -q pipe_write /proc/"$pid"/wchan 2>/dev/null && break
        pos=$(awk '$1 == "pos:" { print $2 }' /proc/"$pid"/fdinfo/3 2>/dev/null)
        [ "${pos:-0}" -gt 0 ] && [ "$pos" = "$last" ] && break
        last=${pos:-0}
        sleep 0.1
    done
    truncate -s 1000 "$W/big"
    cat <&8 >"$W/got"
    exec 8<&-
    wait "$pid"
    RC=$?
    check_grammar
}
case_ "-i a file truncated while it is read: an error, not a short success"
head -c $((48 << 20)) /dev/urandom >"$W/big"
shrink_while_read -a NONE
expect_fail
expect_err "^xbcrypt: error: $W/big shrank while it was read: it had 50331648 bytes to read when reading began, and it ended after [0-9]+; the output is incomplete"
expect_err '^xbcrypt: hint: something truncated or rewrote the file'
case_ "-d -i a file truncated while it is read: said so, not taken for a damaged stream"
head -c $((48 << 20)) /dev/zero | "$XBCRYPT" -a AES256 -f "$K32" >"$W/big" 2>/dev/null
shrink_while_read -d -a AES256 -f "$K32"
expect_fail
expect_err "shrank while it was read"
# With as many threads as CPUs the input is mapped and lent to the
# workers (xbc_mapped.c): a truncation is then a SIGBUS in a worker, which
# the guard turns into the same error, with nothing made of the lost
# pages written.
NCPU=$(nproc)
case_ "-i a mapped file truncated while it is read (-t $NCPU): the same error"
head -c $((48 << 20)) /dev/urandom >"$W/orig"
cp "$W/orig" "$W/big"
shrink_while_read -a NONE --encrypt-threads="$NCPU"
expect_fail
expect_err "^xbcrypt: error: $W/big shrank while it was read: it had 50331648 bytes to read when reading began, and it ended after 1000; the output is incomplete"
expect_err '^xbcrypt: hint: something truncated or rewrote the file'
# NONE output is deterministic: what was written must be a prefix of the
# whole file's, i.e. holds none of the zeros mapped over the lost pages.
"$XBCRYPT" -a NONE -i "$W/orig" -o "$W/want" 2>/dev/null
if [ -s "$W/got" ] && cmp -s -n "$(stat -c %s "$W/got")" "$W/got" "$W/want"; then
    ok
else
    fail "what was written ($(stat -c %s "$W/got") bytes) is not a prefix of the file's encoding"
fi
case_ "-d -i a mapped file truncated while it is read (-t $NCPU): said so, nothing unverified out"
head -c $((48 << 20)) /dev/urandom >"$W/plain"
"$XBCRYPT" -a AES256 -f "$K32" -i "$W/plain" -o "$W/big" 2>/dev/null
shrink_while_read -d -a AES256 -f "$K32" --encrypt-threads="$NCPU"
expect_fail
expect_err "shrank while it was read"
expect_no_err "CRC-32 mismatch"
if cmp -s -n "$(stat -c %s "$W/got")" "$W/got" "$W/plain"; then
    ok
else
    fail "what was written is not a prefix of the plaintext"
fi
case_ "--xbstream -i a mapped archive truncated while it is read (-t $NCPU): the same error"
python3 "$(dirname "${BASH_SOURCE[0]}")/xbstream_tool.py" gen "$W/big" $((48 << 20)) 4 65536
size=$(stat -c %s "$W/big")
shrink_while_read --xbstream -a AES256 -f "$K32" --encrypt-threads="$NCPU"
expect_fail
expect_err "^xbcrypt: error: $W/big shrank while it was read: it had $size bytes to read when reading began, and it ended after 1000; the output is incomplete"
expect_no_err "damaged|magic"
case_ "-i a mapped file cut inside its last page (-t $NCPU): an error, no zeros taken for data"
head -c $((8 << 20)) /dev/urandom >"$W/f"
mkfifo "$W/pipe2"
"$XBCRYPT" -a NONE --encrypt-threads="$NCPU" -i "$W/f" -o "$W/pipe2" 2>"$W/err" &
pid=$!
exec 8<"$W/pipe2"
for _ in $(seq 100); do
    grep -q pipe_write /proc/"$pid"/wchan 2>/dev/null && break
    sleep 0.1
done
truncate -s $(((8 << 20) - 100)) "$W/f"
cat <&8 >/dev/null
exec 8<&-
wait "$pid"
RC=$?
check_grammar
expect_fail
expect_err "^xbcrypt: error: $W/f shrank while it was read: it had 8388608 bytes to read when reading began, and it ended after 8388508"
rm -f "$W/pipe2"

case_ "-i a file that grows while read: all processed, with a warning"
head -c $((48 << 20)) /dev/urandom >"$W/f"
mkfifo "$W/pipe"
"$XBCRYPT" -a NONE -i "$W/f" -o "$W/pipe" 2>"$W/err" &
pid=$!
exec 8<"$W/pipe" # not read yet: xbcrypt stops on the full pipe, far from the end
sleep 0.3
head -c 1000 /dev/urandom >>"$W/f"
cat <&8 >"$W/got"
exec 8<&-
wait "$pid"
RC=$?
check_grammar
expect_rc 0
"$XBCRYPT" -d -a NONE -i "$W/got" -o "$W/back" 2>/dev/null
expect_same "$W/back" "$W/f"
expect_err "^xbcrypt: warning: $W/f grew while it was read: 50331648 bytes when reading began, 50332648 read to its end, all of them processed"

case_ "stdin a directory"
xb -a AES256 -f "$K32" <"$T"
expect_fail
expect_err '^xbcrypt: error: reading standard input at byte 0: Is a directory'
expect_out_empty

finish
