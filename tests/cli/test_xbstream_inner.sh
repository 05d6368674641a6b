#!/bin/bash
# The inner check (issue 11): -d and --verify without --xbstream follow the
# archive inside a whole stream when it starts with XBSTCK01.  A whole stream
# whose archive is cut short -- at an XBCRYPT chunk boundary, which the XBCRYPT
# format cannot see, or leaving members unclosed -- fails with exit 1 after
# writing what verified; files that are not archives are unaffected.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

X=$FIX/xbstream
TOOL="python3 $HERE/xbstream_tool.py"
PLAIN=$X/percona_plain.xbstream
WHOLE=$X/whole_aes256.xbstream.xbcrypt
A=$T/archives
mkdir -p "$A"

case_ "inner check: the complete whole-stream file decrypts and verifies"
xb -d -a AES256 -f "$K32" -i "$WHOLE"
expect_rc 0
expect_err_empty
expect_out_same "$PLAIN"
xb --verify -f "$K32" -t 2 -i "$WHOLE"
expect_rc 0
expect_err '^xbcrypt: checked: the archive inside: 8 members, all closed, xtrabackup_checkpoints present, backup_type = full-backuped$'

# --- the inner check: whole-stream encryption cut short --------------------------------
# Percona's whole-stream file cut at the end of its last-but-one XBCRYPT chunk:
# a valid XBCRYPT stream, an archive that stops inside db1/t2.ibd's payload.
ends=$($TOOL xbcrypt-ends "$WHOLE")
read -r cut plain_len < <(echo "$ends" | tail -2 | head -1)
head -c "$cut" "$WHOLE" >"$A/whole_cut.xbcrypt"
head -c "$plain_len" "$PLAIN" >"$A/whole_cut.plain"

case_ "inner check: -d of a whole stream cut at an XBCRYPT chunk boundary fails"
xb -d -a AES256 -f "$K32" -i "$A/whole_cut.xbcrypt"
expect_rc 1
expect_err '^xbcrypt: error: .*(cut|ends inside).*db1/t2\.ibd'
expect_out_same "$A/whole_cut.plain" # everything that verified was written
case_ "inner check: --verify of the same fails"
xb --verify -f "$K32" -i "$A/whole_cut.xbcrypt"
expect_rc 1
expect_err '^xbcrypt: error: .*(cut|ends inside).*db1/t2\.ibd'
expect_out_empty
case_ "inner check: -d -o of the same leaves no file"
xb -d -a AES256 -f "$K32" -t 2 -i "$A/whole_cut.xbcrypt" -o "$W/o"
expect_rc 1
expect_absent "$W/o"

# An archive cut at a chunk boundary (ibdata1 never closed), encrypted whole:
# every byte is there, the archive says it is not complete.
eof=$($TOOL list "$PLAIN" | awk '$2 == "E" && $4 == "ibdata1" { print $1 }')
head -c "$eof" "$PLAIN" >"$A/cut_at_chunk.xbs"
"$XBCRYPT" -a AES256 -f "$K32" -i "$A/cut_at_chunk.xbs" -o "$A/unclosed.xbcrypt" 2>/dev/null ||
    fail "cannot encrypt the cut archive"
case_ "inner check: -d of a whole stream whose archive leaves a member unclosed"
xb -d -a AES256 -f "$K32" -i "$A/unclosed.xbcrypt"
expect_rc 1
expect_err '^xbcrypt: error: .*((closed|end).*ibdata1|ibdata1.*(closed|end))'
expect_out_same "$A/cut_at_chunk.xbs"
case_ "inner check: --verify of the same"
xb --verify -f "$K32" -i "$A/unclosed.xbcrypt"
expect_rc 1
expect_err '^xbcrypt: error: .*ibdata1'
expect_err '^xbcrypt: verify failed: all [0-9]+ chunks passed, the archive inside did not'

case_ "inner check: without the key there is no plaintext to follow"
xb --verify -i "$A/unclosed.xbcrypt"
expect_rc 0
expect_no_err 'archive'

case_ "inner check: an archive stored with NONE is followed too"
"$XBCRYPT" -a NONE -i "$A/cut_at_chunk.xbs" -o "$A/unclosed.none" 2>/dev/null || fail "encrypt NONE"
xb --verify -a NONE -i "$A/unclosed.none"
expect_rc 1
expect_err 'ibdata1'

case_ "inner check: an archive with no xtrabackup_checkpoints verifies, with a warning"
mkdir -p "$W/src"
cp "$P/p1023.bin" "$W/src/a"
$TOOL make "$W/a.xbs" "$W/src"
"$XBCRYPT" -a AES256 -f "$K32" -i "$W/a.xbs" -o "$W/a.xbcrypt" 2>/dev/null || fail "encrypt"
xb --verify -f "$K32" -i "$W/a.xbcrypt"
expect_rc 0
expect_err '^xbcrypt: checked: the archive inside: 1 member, all closed$'
expect_err '^xbcrypt: warning: .*no xtrabackup_checkpoints'
xb -d -a AES256 -f "$K32" -i "$W/a.xbcrypt"
expect_rc 0
expect_err_empty
expect_out_same "$W/a.xbs"

# Archive CRCs: --verify checks them; -d follows the structure only (the
# XBCRYPT layer has checked every byte, and a header walk costs nothing).
case_ "inner check: an archive damaged before it was encrypted fails --verify, not -d"
cp "$PLAIN" "$W/flipped.xbs"
flip "$W/flipped.xbs" 5000000
"$XBCRYPT" -a AES256 -f "$K32" -i "$W/flipped.xbs" -o "$W/f.xbcrypt" 2>/dev/null || fail "encrypt"
xb --verify -f "$K32" -i "$W/f.xbcrypt"
expect_rc 1
expect_err '^xbcrypt: error: .*crc.*ibdata1'
expect_err '^xbcrypt: hint: .*damaged before it was encrypted'
xb -d -a AES256 -f "$K32" -i "$W/f.xbcrypt"
expect_rc 0
expect_err_empty
expect_out_same "$W/flipped.xbs"

case_ "inner check: a whole stream cut inside an XBCRYPT chunk still fails as before"
head -c $((cut + 1000)) "$WHOLE" >"$W/c.xbcrypt"
xb -d -a AES256 -f "$K32" -i "$W/c.xbcrypt"
expect_rc 1
expect_err 'truncated|incomplete|cut'

# Files that are not archives: unaffected.
# unaffected WHAT FILE: FILE encrypted decrypts back with no message, and
# --verify says nothing about an archive.
unaffected() {
    case_ "inner check: $1 decrypts and verifies as before"
    "$XBCRYPT" -a AES256 -f "$K32" -i "$2" -o "$W/e" 2>/dev/null || fail "encrypt $2"
    xb -d -a AES256 -f "$K32" -i "$W/e"
    expect_rc 0
    expect_err_empty
    expect_out_same "$2"
    xb --verify -f "$K32" -i "$W/e"
    expect_rc 0
    expect_no_err 'archive'
}
for f in p1023.bin p200000.bin; do
    unaffected "$f (not an archive)" "$P/$f"
done
# An empty stream is no archive either: -d gives it back empty, and --verify
# refuses it as empty (test_verify.sh), not as a cut archive.
case_ "inner check: an empty stream is refused as empty, not as an archive"
"$XBCRYPT" -a AES256 -f "$K32" -i "$P/p0.bin" -o "$W/e" 2>/dev/null || fail "encrypt p0.bin"
xb -d -a AES256 -f "$K32" -i "$W/e"
expect_rc 0
expect_err_empty
expect_out_empty
xb --verify -f "$K32" -i "$W/e"
expect_rc 1
expect_err 'empty'
expect_no_err 'archive'
printf 'XBSTCK02 and then anything' >"$A/magic2"
unaffected "a file that starts like an archive but is not one (XBSTCK02)" "$A/magic2"
printf 'XBSTCK0' >"$A/magic_short"
unaffected "a stream shorter than the magic" "$A/magic_short"

finish
