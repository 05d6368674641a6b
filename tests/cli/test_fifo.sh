#!/bin/bash
# A named pipe at -o is written only when it belongs to the user running
# xbcrypt (as fs.protected_fifos has it): another user's pipe, planted in
# a shared sticky directory, would hand the plaintext of a restore to its
# reader, or make the restore wait forever in open() with no reader.  The
# other user is `nobody`, so this script needs root (CI runs as root);
# elsewhere meson reports it skipped (77), never passed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

if [ "$(id -u)" -ne 0 ]; then
    echo "test_fifo.sh: needs root, to make files as the user nobody"
    exit 77
fi
# "${as_nobody[@]}" CMD...: CMD as nobody:nogroup, no supplementary groups
# (an array, not a function: "CMD &" then gives the command's own pid).
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
"${as_nobody[@]}" true || { echo "cannot run commands as nobody" >&2; exit 99; }
chmod 711 "$T" # nobody may pass through to the shared directories, no more

IN=$FIX/det/aes256_p200000.xbcrypt
PLAIN=$P/p200000.bin

# shared_dir: a fresh sticky, world-writable directory $S in $W (like /tmp).
shared_dir() {
    S=$W/shared
    mkdir -m 1777 "$S"
    chmod 755 "$W"
}

# await_reader FIFO: waits until someone has FIFO open for reading (a
# writer's non-blocking open then succeeds); 1 if no one does in 10 s.
await_reader() {
    for _ in $(seq 200); do
        python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK))' \
            "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# steal: as nobody, makes the FIFO $S/restore.bin and a reader that copies
# it to $S/stolen and holds it open for writing too (so that its cat never
# sees an end while nobody writes).  $reader is its pid.
steal() {
    "${as_nobody[@]}" mkfifo -m 0622 "$S/restore.bin"
    "${as_nobody[@]}" sh -c 'exec 3<>"$1"; exec cat "$1" >"$2"' sh "$S/restore.bin" "$S/stolen" &
    reader=$!
    await_reader "$S/restore.bin" || fail "the reader never opened the pipe"
}
# stolen_nothing: stops the reader; it must have received nothing.
stolen_nothing() {
    sleep 0.2
    kill "$reader" 2>/dev/null
    wait "$reader" 2>/dev/null
    expect_size "$S/stolen" 0
}

case_ "another user's FIFO, its reader waiting in open(): refused, it gets nothing"
shared_dir
"${as_nobody[@]}" mkfifo -m 0622 "$S/restore.bin"
"${as_nobody[@]}" sh -c 'exec cat "$1" >"$2"' sh "$S/restore.bin" "$S/stolen" &
reader=$!
for _ in $(seq 100); do [ -e "$S/stolen" ] && break; sleep 0.05; done
timeout -s KILL 20 "$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" -o "$S/restore.bin" >"$W/out" 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err "^xbcrypt: error: cannot write $S/restore.bin: it is a named pipe that belongs to another user \(uid 65534\), and its reader would receive the output"
expect_err '^xbcrypt: hint: a named pipe at --output must belong to the user running xbcrypt'
expect_no_err 'bytes were written'
stolen_nothing

case_ "another user's FIFO, its reader holding it open: refused, it gets nothing"
shared_dir
steal
timeout -s KILL 20 "$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" -o "$S/restore.bin" >"$W/out" 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err 'belongs to another user'
stolen_nothing

case_ "another user's FIFO without a reader: refused at once, no wait in open()"
shared_dir
"${as_nobody[@]}" mkfifo -m 0622 "$S/restore.bin"
timeout -s KILL 20 "$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" -o "$S/restore.bin" >"$W/out" 2>"$W/err"
RC=$?
check_grammar
expect_fail # timeout's 124 is not a clean failure
expect_err "cannot write $S/restore.bin: it is a named pipe that belongs to another user"

case_ "another user's FIFO planted after the first check: refused when opened"
shared_dir
mkfifo "$W/key.fifo"
# The first check sees no file; xbcrypt then waits for its key.
timeout -s KILL 30 "$XBCRYPT" -d -a AES256 -f "$W/key.fifo" -i "$IN" -o "$S/restore.bin" \
    >"$W/out" 2>"$W/err" &
pid=$!
sleep 1
steal
# The key, once xbcrypt opens its FIFO; a slow start (valgrind, a loaded
# machine) may find the planted pipe at the first check and never read the
# key: then nothing is written, and the refusal is checked all the same.
python3 - "$W/key.fifo" "$K32" "$pid" <<'PY'
import os, sys, time
fifo, key, pid = sys.argv[1], open(sys.argv[2], 'rb').read(), sys.argv[3]
def gone():
    try:
        with open('/proc/%s/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return True
for _ in range(600):
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        if gone():
            sys.exit(0)
        time.sleep(0.05)
        continue
    os.set_blocking(fd, True)
    os.write(fd, key)
    os.close(fd)
    sys.exit(0)
PY
wait "$pid"
RC=$?
check_grammar
expect_fail
expect_err 'belongs to another user'
stolen_nothing

case_ "another user's FIFO swapped in between the check and the open: the fd decides"
# fault_shim.so makes lstat() call every FIFO ours, as a FIFO swapped in
# right after the path checks would look: only fstat() of the opened fd
# can refuse it.  (Without the shim, a sanitizer build, this case is not run.)
if [ -n "${FAULT_SHIM:-}" ]; then
    shared_dir
    steal
    LD_PRELOAD=$FAULT_SHIM XB_FAULT_FIFO_MINE=1 timeout -s KILL 20 "$XBCRYPT" -d -a AES256 \
        -f "$K32" -i "$IN" -o "$S/restore.bin" >"$W/out" 2>"$W/err"
    RC=$?
    check_grammar
    expect_fail
    expect_err "^xbcrypt: error: cannot write $S/restore.bin: it is a named pipe that belongs to another user"
    stolen_nothing
else
    echo "test_fifo.sh: FAULT_SHIM not set (sanitizer build): the swapped-FIFO case is not run"
fi

case_ "another user's FIFO at the target of --rekey: refused"
shared_dir
"${as_nobody[@]}" mkfifo -m 0622 "$S/new.xbcrypt"
head -c 32 /dev/urandom >"$W/k2"
chmod 600 "$W/k2"
timeout -s KILL 20 "$XBCRYPT" --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$W/k2" -i "$IN" \
    -o "$S/new.xbcrypt" >"$W/out" 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_err 'belongs to another user'

# --- what keeps working ----------------------------------------------------------
case_ "our own FIFO in the shared directory, reader first"
shared_dir
mkfifo -m 0600 "$S/restore.bin"
cat "$S/restore.bin" >"$W/got" &
reader=$!
xb -d -a AES256 -f "$K32" -i "$IN" -o "$S/restore.bin"
wait "$reader"
expect_rc 0
expect_err_empty
expect_same "$W/got" "$PLAIN"
case_ "our own FIFO, xbcrypt first: it waits for the reader, as before"
shared_dir
mkfifo -m 0600 "$S/restore.bin"
"$XBCRYPT" -d -a AES256 -f "$K32" -i "$IN" -o "$S/restore.bin" >"$W/out" 2>"$W/err" &
pid=$!
sleep 0.5
cat "$S/restore.bin" >"$W/got"
wait "$pid"
RC=$?
expect_rc 0
expect_same "$W/got" "$PLAIN"
case_ "a character device owned by root: /dev/null"
xb -d -a AES256 -f "$K32" -i "$IN" -o /dev/null
expect_rc 0
expect_err_empty
case_ "a new file in the shared directory"
shared_dir
xb -d -a AES256 -f "$K32" -i "$IN" -o "$S/restore.bin"
expect_rc 0
expect_same "$S/restore.bin" "$PLAIN"
expect_eq "$(stat -c %U "$S/restore.bin")" root "owner of the new file"

finish
