#!/bin/bash
# The progress line: on a terminal (a pseudo-terminal here) one line
# redrawn with '\r' and ended with a newline; nothing of it on stderr that
# is a file unless --progress; nothing with --no-progress; -v keeps its
# lines and they never mix with the progress line.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

# on_pty SLOW ARGS...: runs xbcrypt with stderr on a pseudo-terminal, stdin
# from $W/in (through a pipe that delivers 64 KiB per 0.15 s when SLOW is
# 1, else the file itself), stdout to $W/out (or to the terminal too when
# SLOW is "tty"; through a pipe drained at 256 KiB per 0.1 s when SLOW is
# "slowout", which holds back the reading of a file of known size).  What the terminal showed goes
# to $W/tty, the status to $RC.
on_pty() {
    local slow=$1
    shift
    python3 - "$slow" "$W" "$XBCRYPT" "$@" <<'EOF'
import os, pty, subprocess, sys, threading, time
slow, w, argv = sys.argv[1] == '1', sys.argv[2], sys.argv[3:]
both = sys.argv[1] == 'tty'
slowout = sys.argv[1] == 'slowout'
master, slave = pty.openpty()
src = open(os.path.join(w, 'in'), 'rb')
out = open(os.path.join(w, 'out'), 'wb')
child = subprocess.Popen(argv, stdin=subprocess.PIPE if slow else src,
                         stdout=slave if both else subprocess.PIPE if slowout else out,
                         stderr=slave, close_fds=True)
os.close(slave)
if slow:
    def feed():
        while True:
            block = src.read(65536)
            if not block:
                break
            child.stdin.write(block)
            child.stdin.flush()
            time.sleep(0.15)
        child.stdin.close()
    threading.Thread(target=feed, daemon=True).start()
drain = None
if slowout:
    def drain_out():
        while True:
            block = child.stdout.read(262144)
            if not block:
                break
            out.write(block)
            time.sleep(0.1)
    drain = threading.Thread(target=drain_out)
    drain.start()
seen = b''
while True:
    try:
        data = os.read(master, 4096)
    except OSError:  # EIO: the child closed the terminal
        break
    if not data:
        break
    seen += data
rc = child.wait()
if drain:
    drain.join()
out.close()
open(os.path.join(w, 'tty'), 'wb').write(seen)
sys.exit(rc)
EOF
    RC=$?
}

# tty_has REGEX / tty_lacks REGEX: what the terminal showed (with \r as \r).
tty_has() {
    if python3 -c 'import re,sys; sys.exit(0 if re.search(sys.argv[2].encode(), open(sys.argv[1],"rb").read()) else 1)' "$W/tty" "$1"; then ok; else
        fail "the terminal did not show /$1/: $(od -c "$W/tty" | head -5)"
    fi
}
tty_lacks() {
    if python3 -c 'import re,sys; sys.exit(1 if re.search(sys.argv[2].encode(), open(sys.argv[1],"rb").read()) else 0)' "$W/tty" "$1"; then ok; else
        fail "the terminal showed /$1/ and must not"
    fi
}
# redraws: how many times the line was redrawn in place.
redraws() { tr -cd '\r' <"$W/tty" | wc -c; }

SRC=$FIX/det/aes256_p200000.xbcrypt

case_ "terminal, input of known size"
cp "$SRC" "$W/in"
on_pty 0 -d -a AES256 -f "$K32"
expect_rc 0
expect_out_same "$P/p200000.bin"
# A first redraw with the percentage but no time left (no rate is known
# yet on the first bytes), then the final line.
tty_has '^xbcrypt: [0-9.]+ (B|KiB|MiB) of 195\.7 KiB \([0-9]+%\), [0-9.]+ MB/s *\r'
tty_lacks 'left'
tty_has 'xbcrypt: 195\.7 KiB of 195\.7 KiB \(100%\), [0-9.]+ MB/s, [0-9.]+ s\r?\n$'

case_ "terminal, a slow run of known size: the time left once a rate is known"
# 8 MiB, read as fast as the output drains (2.5 MB/s): about 3 s.
head -c $((8 << 20)) /dev/zero | "$XBCRYPT" -a AES256 -f "$K32" >"$W/in"
on_pty slowout -d -a AES256 -f "$K32"
expect_rc 0
expect_size "$W/out" $((8 << 20))
# The first redraw has none; a later one (after a second) has it.
first=$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read().split(b"\r")[0].decode())' "$W/tty")
case $first in
*left*) fail "the first redraw shows a time left: '$first'" ;;
"xbcrypt: "*" of 8.0 MiB ("*"%), "*" MB/s"*) ok ;;
*) fail "the first redraw is '$first'" ;;
esac
tty_has '\rxbcrypt: [0-9.]+ (KiB|MiB) of 8\.0 MiB \([0-9]+%\), [0-9.]+ MB/s, 0:00:0[0-9] left *\r'
tty_has 'xbcrypt: 8\.0 MiB of 8\.0 MiB \(100%\), [0-9.]+ MB/s, [0-9.]+ s *\r?\n$'
tty_lacks 'error|warning'

case_ "terminal, slow pipe: the line is redrawn in place"
# 4 chunks, one per 0.15 s: several redraws at <= 4 per second.
cat "$SRC" "$SRC" "$SRC" >"$W/in"
on_pty 1 --verify -a AES256 -f "$K32"
expect_rc 0
n=$(redraws)
if [ "$n" -ge 2 ]; then ok; else fail "$n redraws, expected at least 2"; fi
secs=$(python3 -c 'import re,sys; print(re.findall(rb"([0-9.]+) s\r?\n", open(sys.argv[1],"rb").read())[0].decode())' "$W/tty" 2>/dev/null)
# At most 4 per second (+1 for the first).
max=$(awk -v s="${secs:-0}" 'BEGIN { printf "%d", s * 4 + 2 }')
if [ "$n" -le "$max" ]; then ok; else fail "$n redraws in $secs s: more than 4 a second"; fi
# Size unknown: no percentage and no time left.
tty_lacks '%|left'
tty_has '^xbcrypt: [0-9.]+ (B|KiB|MiB), [0-9.]+ MB/s *\r'
# The verify summary comes after the finished line, on its own lines.
tty_has '\n(\r)?xbcrypt: verify passed: 12 chunks'

case_ "terminal, --no-progress"
cp "$SRC" "$W/in"
on_pty 0 -d -a AES256 -f "$K32" --no-progress
expect_rc 0
expect_size "$W/tty" 0

case_ "terminal, -v: Percona's lines stay, never inside the progress line"
cp "$SRC" "$W/in"
on_pty 1 -d -v -a AES256 -f "$K32"
expect_rc 0
tty_has '(^|\n)xbcrypt: decrypting standard input to standard output, AES256, 1 thread\r?\n'
tty_has '(^|\n)xbcrypt: decrypted 200368 bytes to 200000 bytes in 4 chunks'
tty_lacks 'MB/s[^\r\n]*xbcrypt: decrypt'

case_ "terminal, an error clears the line"
cp "$FIX/negative/payload_bitflip_chunk1.xbcrypt" "$W/in"
on_pty 1 -d -a AES256 -f "$K32"
expect_fail
tty_has '(\r|\n)xbcrypt: error: CRC-32 mismatch at chunk 1'

case_ "terminal on stdout and stderr: --info's listing has no progress line in it"
cat "$SRC" "$SRC" >"$W/in"
on_pty tty --info -i "$W/in"
expect_rc 2
tty_has '(^|\n)chunk index=7 offset=[0-9]+ version=3 '
tty_lacks 'MB/s'
case_ "terminal on stdout and stderr: --verify still shows it (it writes nothing)"
cp "$SRC" "$W/in"
on_pty tty --verify -f "$K32" -i "$W/in"
expect_rc 0
tty_has 'MB/s'
case_ "terminal on stdout and stderr, --progress: shown as asked"
cp "$SRC" "$W/in"
on_pty tty --info --progress -i "$W/in"
tty_has 'MB/s'

# --- stderr that is not a terminal -------------------------------------------
case_ "stderr is a file: no progress"
xb -d -a AES256 -f "$K32" -i "$SRC"
expect_rc 0
expect_err_empty
case_ "stderr is a file: no progress for --verify and --rekey either"
xb --verify -a AES256 -f "$K32" -i "$SRC"
expect_no_err 'MB/s|%'
printf x >"$W/k2"
head -c 31 /dev/urandom >>"$W/k2"
chmod 600 "$W/k2"
xb --rekey -a AES256 -f "$K32" --new-encrypt-key-file "$W/k2" -i "$SRC" -o /dev/null
expect_rc 0
expect_err_empty
case_ "stderr is a file, --progress: the line is there, ended"
xb -d -a AES256 -f "$K32" -i "$SRC" --progress
expect_rc 0
expect_err '^xbcrypt: [0-9.]+ (B|KiB) of 195\.7 KiB .*\(100%\), [0-9.]+ MB/s, [0-9.]+ s$'
expect_out_same "$P/p200000.bin"
case_ "stderr is a file, --progress then an error: the error starts its own line"
xb -d -a AES256 -f "$K32" -i "$FIX/negative/payload_bitflip_chunk1.xbcrypt" --progress
expect_fail
expect_err '^xbcrypt: error: .*CRC-32 mismatch at chunk 1'
case_ "stderr is a file, --progress --no-progress"
xb -d -a AES256 -f "$K32" -i "$SRC" --progress --no-progress
expect_rc 0
expect_err_empty

finish
