#!/bin/bash
# --xbstream on damaged, cut, unsafe and odd archives: each fails as
# xbstream-format.md and xbcrypt-cli.md ("Member by member") state, naming the
# member.  The inner check of whole-stream decryption: test_xbstream_inner.sh.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

command -v mbstream >/dev/null || {
    echo "mbstream (MariaDB, package mariadb-backup) is not installed: SKIP"
    exit 77
}
X=$FIX/xbstream
TOOL="python3 $HERE/xbstream_tool.py"
MEMBERS=$X/percona_members_aes256.xbstream
PLAIN=$X/percona_plain.xbstream

# every_mode WHAT REGEX ARCHIVE: --verify, --info, -d and encrypt of ARCHIVE
# all fail with exit 1 and an error matching REGEX.
every_mode() {
    local what=$1 re=$2 a=$3
    case_ "$what: --xbstream --verify"
    xb --xbstream --verify -i "$a"
    expect_rc 1
    expect_err "^xbcrypt: error: .*$re"
    expect_err '^xbcrypt: verify failed'
    case_ "$what: --xbstream --info"
    xb --xbstream --info -i "$a"
    expect_rc 1
    expect_err "^xbcrypt: error: .*$re"
    case_ "$what: --xbstream -d"
    xb --xbstream -d -a AES256 -f "$K32" -i "$a" -o "$W/o"
    expect_rc 1
    expect_err "^xbcrypt: error: .*$re"
    expect_absent "$W/o"
    case_ "$what: --xbstream encrypt"
    xb --xbstream -a AES256 -f "$K32" -i "$a"
    expect_rc 1
    expect_err "^xbcrypt: error: .*$re"
}

# A work directory outside the cases for the archives made once.
A=$T/archives
mkdir -p "$A/src"

# --- damage and cuts ----------------------------------------------------------------
cp "$PLAIN" "$A/flipped.xbs"
W=$A flip "$A/flipped.xbs" 5000000 # inside ibdata1's first payload
every_mode "a payload byte flipped" "(crc.*ibdata1|ibdata1.*crc)" "$A/flipped.xbs"

# At -t = the CPUs the input is mapped and whole chunks are lent to the
# workers, which take the plaintext's CRC themselves (xbs_walk_defer): the
# same error, with the same computed CRC, as when the walker reads it.
case_ "a payload byte flipped: --xbstream encrypt of the mapped input says what -t 1 says"
xb --xbstream -a AES256 -f "$K32" -t 1 -i "$A/flipped.xbs"
expect_rc 1
want=$(grep '^xbcrypt: error:' "$W/err")
xb --xbstream -a AES256 -f "$K32" -t "$(nproc)" -i "$A/flipped.xbs"
expect_rc 1
expect_err '^xbcrypt: error: .*flipped.xbs: CRC-32 mismatch at archive chunk [0-9]+ \(offset [0-9]+\), member .ibdata1.: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}'
expect_eq "$(grep '^xbcrypt: error:' "$W/err")" "$want" "the error"

head -c 5000000 "$PLAIN" >"$A/cut_in_chunk.xbs"
every_mode "cut inside an archive chunk" "ibdata1" "$A/cut_in_chunk.xbs"

# Cut right before ibdata1's EOF chunk: every chunk is whole, ibdata1 never
# closed.
eof=$($TOOL list "$PLAIN" | awk '$2 == "E" && $4 == "ibdata1" { print $1 }')
head -c "$eof" "$PLAIN" >"$A/cut_at_chunk.xbs"
every_mode "cut at an archive chunk boundary" "((closed|end).*ibdata1|ibdata1.*(closed|end))" "$A/cut_at_chunk.xbs"

case_ "--xbstream --info of a cut archive lists the unclosed member"
xb --xbstream --info -i "$A/cut_at_chunk.xbs"
expect_rc 1
if grep -qE '^member path=ibdata1 bytes=10498105 chunks=2 encrypted=no closed=no$' "$W/out"; then ok; else
    fail "no closed=no line for ibdata1: $(grep ibdata1 "$W/out")"
fi
expect_eq "$(grep -c '^summary members=3 encrypted=0 unclosed=1 .* status=error$' "$W/out")" 1 "summary line"

case_ "an empty archive fails --xbstream --verify"
xb --xbstream --verify </dev/null
expect_rc 1
expect_err '^xbcrypt: error: .*empty'

case_ "not an archive at all fails --xbstream --verify at byte 0"
xb --xbstream --verify -i "$P/p1023.bin"
expect_rc 1
expect_err '^xbcrypt: error: .*(xbstream|archive)'
case_ "a whole-stream XBCRYPT file given to --xbstream -d: the hint says to drop --xbstream"
xb --xbstream -d -a AES256 -f "$K32" -i "$FIX/xbstream/whole_aes256.xbstream.xbcrypt"
expect_rc 1
expect_err '^xbcrypt: hint: .*without --xbstream'
expect_out_empty

# An XBCRYPT member damaged under a correct archive CRC: only the key finds it.
mkdir -p "$A/x"
mbstream -x -C "$A/x" <"$MEMBERS" 2>/dev/null || fail "mbstream -x of the fixture failed"
W=$A flip "$A/x/db1/t1.ibd.xbcrypt" 70000
$TOOL make "$A/bad_member.xbs" "$A/x"
case_ "a damaged encrypted member: --xbstream --verify under the key names it"
xb --xbstream --verify -f "$K32" -i "$A/bad_member.xbs"
expect_rc 1
expect_err '^xbcrypt: error: .*db1/t1\.ibd\.xbcrypt'
case_ "a damaged encrypted member: --xbstream --verify without a key finds it by its CRC"
xb --xbstream --verify -i "$A/bad_member.xbs"
expect_rc 1
expect_err '^xbcrypt: error: .*db1/t1\.ibd\.xbcrypt.*crc'
case_ "a damaged encrypted member: --xbstream -d names it, -o stays absent"
xb --xbstream -d -a AES256 -f "$K32" -i "$A/bad_member.xbs" -o "$W/o"
expect_rc 1
expect_err '^xbcrypt: error: .*db1/t1\.ibd\.xbcrypt'
expect_absent "$W/o"

# A member closed in the middle of an XBCRYPT chunk.
rm -rf "$A/x" && mkdir -p "$A/x"
mbstream -x -C "$A/x" <"$MEMBERS" 2>/dev/null || fail "mbstream -x of the fixture failed"
truncate -s 100000 "$A/x/db1/t1.ibd.xbcrypt"
$TOOL make "$A/short_member.xbs" "$A/x"
case_ "an encrypted member cut inside an XBCRYPT chunk: --verify -f names it and the chunk"
xb --xbstream --verify -f "$K32" -i "$A/short_member.xbs"
expect_rc 1
expect_err '^xbcrypt: error: .*db1/t1\.ibd\.xbcrypt.*chunk'
case_ "an encrypted member cut inside an XBCRYPT chunk: -d fails"
xb --xbstream -d -a AES256 -f "$K32" -i "$A/short_member.xbs"
expect_rc 1
expect_err '^xbcrypt: error: .*db1/t1\.ibd\.xbcrypt'

# --- unsafe paths and unknown types ----------------------------------------------------
cp "$P/p1023.bin" "$A/src/ok.ibd"
n=0
for bad in '/etc/passwd' '../escape' 'db1/../../escape' '..' 'a/./../../b' 'a\x00b' ''; do
    n=$((n + 1))
    $TOOL make "$A/unsafe$n.xbs" "$A/src" --extra "payload:$bad:x"
    case "$bad" in
    '') re='(empty|unsafe)' ;;
    'a\x00b') re='(nul|unsafe)' ;;
    *) re="unsafe.*$(printf '%s' "$bad" | sed 's/[.]/\\./g')" ;;
    esac
    every_mode "unsafe path '$bad'" "$re" "$A/unsafe$n.xbs"
done
long=$(printf 'd%.0s' $(seq 512))
$TOOL make "$A/long.xbs" "$A/src" --extra "eof:$long"
every_mode "a 512-byte path" "(512|long)" "$A/long.xbs"

$TOOL make "$A/unknown.xbs" "$A/src" --extra "unknown:ok.ibd"
# The engine stops at the chunk's type byte, before its path: the message
# names the archive chunk and offset, not yet the member (reported to
# xbs-engine; when it does, make this "ok\.ibd").
every_mode "an unknown chunk type" "unknown chunk type.*archive chunk 2 \\(offset 1083\\), member 'ok.ibd'" "$A/unknown.xbs"

$TOOL make "$A/ignorable.xbs" "$A/src" --extra "ignorable:ok.ibd"
case_ "an unknown but ignorable chunk is skipped"
xb --xbstream --verify -i "$A/ignorable.xbs"
expect_rc 0
expect_err 'verify passed: 1 member'

finish
