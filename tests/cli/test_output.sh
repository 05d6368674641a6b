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
case_ "-o a new file, decrypting: complete, mode 0600"
xb -d -a AES256 -f "$K32" -i "$IN" -o "$W/plain"
expect_rc 0
expect_err_empty
expect_out_empty
expect_same "$W/plain" "$PLAIN"
expect_eq "$(stat -c %a "$W/plain")" 600 "mode of the plaintext"
expect_dir_only "$W" err out plain
case_ "-o a new file, encrypting: mode from the umask"
xb -a AES256 -f "$K32" -i "$PLAIN" -o "$W/enc"
expect_rc 0
expect_eq "$(stat -c %a "$W/enc")" 644 "mode of the encrypted file (umask 022)"
"$XBCRYPT" -d -a AES256 -f "$K32" -i "$W/enc" -o "$W/back" 2>/dev/null
expect_same "$W/back" "$PLAIN"
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

case_ "interrupted run leaves no temporary"
mkfifo "$W/in"
exec 7<>"$W/in" # held open: xbcrypt waits for more input
"$XBCRYPT" -a AES256 -f "$K32" -o "$W/enc" <"$W/in" 2>"$W/err" 7>&- &
pid=$!
head -c 100000 "$PLAIN" >&7
tmp=""
for _ in $(seq 200); do
    tmp=$(cd "$W" && ls -A | grep '^\.enc\.' || true)
    [ -n "$tmp" ] && break
    sleep 0.05
done
expect_eq "${tmp:+found}" found "a temporary while running"
kill -TERM "$pid"
wait "$pid"
RC=$?
exec 7>&-
expect_eq "$RC" 143 "exit status after SIGTERM"
expect_absent "$W/enc"
expect_dir_only "$W" err in

case_ "a file appearing at the target meanwhile is not replaced"
mkfifo "$W/in"
exec 7<>"$W/in"
"$XBCRYPT" -a AES256 -f "$K32" -o "$W/enc" <"$W/in" 2>"$W/err" 7>&- &
pid=$!
head -c 1000 "$PLAIN" >&7
for _ in $(seq 200); do
    [ -n "$(cd "$W" && ls -A | grep '^\.enc\.')" ] && break
    sleep 0.05
done
echo other >"$W/enc"
exec 7>&- # end of input: xbcrypt finishes and tries to move into place
wait "$pid"
RC=$?
check_grammar
expect_fail
expect_err '^xbcrypt: error: .*enc appeared while xbcrypt was writing'
expect_eq "$(cat "$W/enc")" other "content of the file that appeared"
expect_dir_only "$W" enc err in

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
case_ "stdin a directory"
xb -a AES256 -f "$K32" <"$T"
expect_fail
expect_err '^xbcrypt: error: reading standard input at byte 0: Is a directory'
expect_out_empty

finish
