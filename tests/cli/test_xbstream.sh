#!/bin/bash
# --xbstream (issue 11): every mode member by member on the archives made by
# Percona's tools (fixtures/xbstream), and interop with MariaDB's mbstream:
# what --xbstream writes, mbstream -x extracts, and every member decrypted by
# the independent path (xbcrypt -d, one file at a time) gives the original
# tree; the tree is always compared with the manifest's hashes.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

MBSTREAM=${MBSTREAM:-$(command -v mbstream)}
if [ -z "$MBSTREAM" ] || [ ! -x "$MBSTREAM" ]; then
    echo "mbstream (MariaDB, package mariadb-backup) is not installed: SKIP"
    exit 77
fi
X=$FIX/xbstream
TOOL="python3 $HERE/xbstream_tool.py"
MEMBERS=$X/percona_members_aes256.xbstream
PLAIN=$X/percona_plain.xbstream
INTER=$X/plain_interleaved.xbstream
WHOLE=$X/whole_aes256.xbstream.xbcrypt
NAMES="backup-my.cnf xtrabackup_checkpoints ibdata1 db1/t1.ibd db1/t2.ibd db1/empty.ibd mysql/user.ibd xtrabackup_logfile"

# expect_tree DIR: DIR holds exactly the manifest's tree, hash for hash.
expect_tree() {
    local diff
    if diff=$($TOOL tree "$1" "$X/manifest.json"); then ok; else fail "tree $1: $diff"; fi
}
# extract ARCHIVE DIR: mbstream -x into a fresh DIR.
extract() {
    rm -rf "$2" && mkdir -p "$2"
    if "$MBSTREAM" -x -C "$2" <"$1" 2>"$W/mb.err"; then ok; else
        fail "mbstream -x of $1 failed: $(head -3 "$W/mb.err")"
    fi
}
# decrypt_each DIR KEY: every *.xbcrypt file in DIR through xbcrypt -d on its
# own (what xtrabackup --decrypt runs), the .xbcrypt file removed after.
decrypt_each() {
    local f n=0
    while IFS= read -r -d '' f; do
        n=$((n + 1))
        if "$XBCRYPT" -d -a AES256 -f "$2" <"$f" >"${f%.xbcrypt}" 2>>"$W/each.err"; then
            ok
            rm -f "$f"
        else
            fail "xbcrypt -d of the member ${f#"$1"/} failed: $(tail -2 "$W/each.err")"
        fi
    done < <(find "$1" -name '*.xbcrypt' -print0)
    expect_eq "$n" 8 "members decrypted one by one"
}
# member_names ARCHIVE: the members' paths in first-seen order, one line.
member_names() {
    $TOOL list "$1" | awk '!seen[$4]++ { printf "%s ", $4 }' | sed 's/ $//'
}

# --- -d: Percona's member-encrypted backup -----------------------------------
for t in 1 2; do
    case_ "--xbstream -d of Percona's --encrypt stream, -t $t, then mbstream -x"
    xb --xbstream -d -a AES256 -f "$K32" -t "$t" -i "$MEMBERS"
    expect_rc 0
    expect_err_empty
    expect_eq "$(member_names "$W/out")" "$NAMES" "member names (suffix dropped, order kept)"
    extract "$W/out" "$W/tree"
    expect_tree "$W/tree"
done

case_ "--xbstream -d from standard input into -o, piped to mbstream"
xb --xbstream --decrypt --encrypt-algo=aes256 --encrypt_key_file="$K32" -o "$W/restored.xbs" <"$MEMBERS"
expect_rc 0
expect_out_empty
extract "$W/restored.xbs" "$W/tree"
expect_tree "$W/tree"

case_ "--xbstream -d passes plain and compressed members unchanged"
mkdir -p "$W/src/db1"
extract "$MEMBERS" "$W/src"
printf 'not encrypted\n' >"$W/src/notes.txt"
head -c 3000 "$P/p200000.bin" >"$W/src/db1/t9.ibd.qp"
$TOOL make "$W/mixed.xbs" "$W/src" --chunk 4096 --interleave
xb --xbstream -d -a AES256 -f "$K32" -i "$W/mixed.xbs"
expect_rc 0
extract "$W/out" "$W/tree"
expect_same "$W/tree/notes.txt" "$W/src/notes.txt"
expect_same "$W/tree/db1/t9.ibd.qp" "$W/src/db1/t9.ibd.qp"
rm -f "$W/tree/notes.txt" "$W/tree/db1/t9.ibd.qp"
expect_tree "$W/tree"

case_ "--xbstream -d under the wrong key fails naming the member, no archive on stdout"
xb --xbstream -d -a AES256 -f "$KWRONG" -i "$MEMBERS"
expect_rc 1
expect_err '^xbcrypt: error: .*backup-my\.cnf\.xbcrypt'
expect_err '^xbcrypt: hint: '

# --- --verify ------------------------------------------------------------------
case_ "--xbstream --verify of Percona's --encrypt stream, under the key"
xb --xbstream --verify -f "$K32" -t 2 -i "$MEMBERS"
expect_rc 0
expect_out_empty
expect_err '^xbcrypt: verify passed: 8 members, 8 encrypted \(8 verified under the key\), 16 archive chunks, 10821326 bytes, '
expect_err '^xbcrypt: checked: .*crc-32.*closed.*paths.*under the key'
expect_err 'xtrabackup_checkpoints.*backup_type = full-backuped'
expect_no_err 'error|warning'

case_ "--xbstream --verify without a key says what it could not check"
xb --xbstream --verify -i "$MEMBERS"
expect_rc 0
expect_err '^xbcrypt: verify passed: 8 members, 8 encrypted'
expect_err 'without --encrypt-key-file'

case_ "--xbstream --verify under the wrong key fails naming the member"
xb --xbstream --verify -f "$KWRONG" -i "$MEMBERS"
expect_rc 1
expect_err '^xbcrypt: error: .*backup-my\.cnf\.xbcrypt'
expect_err '^xbcrypt: verify failed'

for a in "$PLAIN" "$INTER"; do
    case_ "--xbstream --verify of $(basename "$a") (no member encrypted)"
    xb --xbstream --verify -i "$a"
    expect_rc 0
    expect_err '^xbcrypt: verify passed: 8 members, 0 encrypted'
    expect_err 'xtrabackup_checkpoints.*full-backuped'
done

case_ "--xbstream --verify of an archive with no xtrabackup_checkpoints warns"
mkdir -p "$W/src"
cp "$P/p1023.bin" "$W/src/a"
$TOOL make "$W/a.xbs" "$W/src"
xb --xbstream --verify -i "$W/a.xbs"
expect_rc 0
expect_err '^xbcrypt: verify passed: 1 member, 0 encrypted'
expect_err '^xbcrypt: warning: .*no xtrabackup_checkpoints.*finish'

# --- --info ----------------------------------------------------------------------
case_ "--xbstream --info of Percona's --encrypt stream"
xb --xbstream --info -i "$MEMBERS"
expect_rc 0
expect_eq "$(grep -c '^member ' "$W/out")" 8 "member lines"
expect_eq "$(grep -c ' encrypted=yes closed=yes' "$W/out")" 8 "encrypted, closed members"
if grep -qx 'member path=ibdata1.xbcrypt bytes=10512917 chunks=2 encrypted=yes closed=yes' "$W/out"; then ok; else
    fail "no ibdata1.xbcrypt line with its bytes and chunks: $(grep ibdata1 "$W/out")"
fi
if grep -qx 'member path=db1/empty.ibd.xbcrypt bytes=0 chunks=0 encrypted=yes closed=yes' "$W/out"; then ok; else
    fail "no line for the empty member: $(grep empty "$W/out")"
fi
expect_eq "$(grep -c '^summary members=8 encrypted=8 unclosed=0 .*checkpoints=yes .*status=ok' "$W/out")" 1 "summary line"

case_ "--xbstream --info of a plain archive reads backup_type"
xb --xbstream --info -i "$PLAIN"
expect_rc 0
expect_eq "$(grep -c '^summary members=8 encrypted=0 unclosed=0 .*checkpoints=yes backup_type=full-backuped status=ok$' "$W/out")" 1 "summary line"
expect_eq "$(head -1 "$W/out")" "# xbcrypt --xbstream --info: member path bytes chunks encrypted closed" "header line"

case_ "--xbstream --info escapes odd bytes of a path"
mkdir -p "$W/src"
printf 'x' >"$W/src/a b=c"
$TOOL make "$W/odd.xbs" "$W/src"
xb --xbstream --info -i "$W/odd.xbs"
expect_rc 0
if grep -qxF 'member path=a\x20b\x3dc bytes=1 chunks=1 encrypted=no closed=yes' "$W/out"; then ok; else
    fail "escaped path line: $(grep '^member' "$W/out")"
fi

case_ "--xbstream -v: a line per member and a summary"
xb --xbstream -v -d -a AES256 -f "$K32" -i "$MEMBERS" -o "$W/o"
expect_rc 0
expect_eq "$(grep -cE '^xbcrypt: member .*\.xbcrypt: [0-9]+ bytes in [0-9]+ archive chunks?, encrypted$' "$W/err")" 8 "member lines"
expect_err '^xbcrypt: decrypted 8 encrypted members of 8; the others passed unchanged$'
expect_err '^xbcrypt: 10821326 archive bytes in, [0-9]+ out, '

case_ "--xbstream --info of the interleaved archive: one line per member"
xb --xbstream --info -i "$INTER"
expect_rc 0
expect_eq "$(grep -c '^member .* encrypted=no closed=yes$' "$W/out")" 8 "plain, closed members"
if grep -q '^member path=ibdata1 bytes=10498105 chunks=161 ' "$W/out"; then ok; else
    fail "ibdata1 line: $(grep ibdata1 "$W/out")"
fi

# --- encrypt: mbstream -x, then xbcrypt -d per file -------------------------------
for a in "$PLAIN" "$INTER"; do
    for t in 1 2; do
        case_ "--xbstream encrypt of $(basename "$a") -t $t, mbstream -x, xbcrypt -d per file"
        xb --xbstream -a AES256 -f "$K32" -t "$t" -i "$a" -o "$W/enc.xbs"
        expect_rc 0
        expect_err_empty
        extract "$W/enc.xbs" "$W/tree"
        expect_present "$W/tree/db1/empty.ibd.xbcrypt"
        expect_size "$W/tree/db1/empty.ibd.xbcrypt" 0
        decrypt_each "$W/tree" "$K32"
        expect_tree "$W/tree"
    done
done

case_ "--xbstream encrypt: -s sets the chunks inside members, and round trips"
xb --xbstream -a AES256 -f "$K32" -s 4096 -i "$PLAIN" -o "$W/enc.xbs"
expect_rc 0
extract "$W/enc.xbs" "$W/tree"
expect_eq "$(chunk_sizes "$W/tree/db1/t2.ibd.xbcrypt" | tr ' ' '\n' | sort -u | tr '\n' ' ')" "1 4096 " "chunk sizes of db1/t2.ibd.xbcrypt"
xb --xbstream --verify -f "$K32" -i "$W/enc.xbs"
expect_rc 0
expect_err 'verify passed: 8 members, 8 encrypted'
xb --xbstream -d -a AES256 -f "$K32" -i "$W/enc.xbs"
expect_rc 0
extract "$W/out" "$W/back"
expect_tree "$W/back"

case_ "--xbstream encrypt writes fresh IVs"
xb --xbstream -a AES256 -f "$K32" -i "$PLAIN" -o "$W/a.xbs"
xb --xbstream -a AES256 -f "$K32" -i "$PLAIN" -o "$W/b.xbs"
if cmp -s "$W/a.xbs" "$W/b.xbs"; then fail "two encryptions are identical"; else ok; fi

case_ "--xbstream encrypt refuses a member already encrypted"
xb --xbstream -a AES256 -f "$K32" -i "$MEMBERS"
expect_rc 1
expect_err '^xbcrypt: error: .*backup-my\.cnf\.xbcrypt'
expect_err '^xbcrypt: hint: .*--rekey'

# --- rekey -----------------------------------------------------------------------
case_ "--xbstream --rekey of Percona's --encrypt stream, then -d under the new key"
xb --xbstream --rekey -a AES256 -f "$K32" --new-encrypt-key-file="$KWRONG" -t 2 -i "$MEMBERS" -o "$W/rk.xbs"
expect_rc 0
expect_eq "$(member_names "$W/rk.xbs" | tr ' ' '\n' | grep -vc '\.xbcrypt$')" 0 "members not named .xbcrypt"
xb --xbstream -d -a AES256 -f "$KWRONG" -i "$W/rk.xbs"
expect_rc 0
extract "$W/out" "$W/tree"
expect_tree "$W/tree"
xb --xbstream --verify -f "$K32" -i "$W/rk.xbs"
expect_rc 1
extract "$W/rk.xbs" "$W/each"
decrypt_each "$W/each" "$KWRONG"
expect_tree "$W/each"

case_ "--xbstream --rekey passes plain members unchanged"
mkdir -p "$W/src"
extract "$MEMBERS" "$W/src"
printf 'plain\n' >"$W/src/notes.txt"
$TOOL make "$W/mixed.xbs" "$W/src"
xb --xbstream --rekey -a AES256 -f "$K32" --new-encrypt-key-file="$KWRONG" -i "$W/mixed.xbs" -o "$W/rk.xbs"
expect_rc 0
extract "$W/rk.xbs" "$W/tree"
expect_same "$W/tree/notes.txt" "$W/src/notes.txt"

case_ "--xbstream --rekey to the same key is refused, nothing written"
xb --xbstream --rekey -a AES256 -f "$K32" --new-encrypt-key-file="$K32" -i "$MEMBERS" -o "$W/rk.xbs"
expect_rc 1
expect_absent "$W/rk.xbs"

case_ "--xbstream with a version-1/-2 member (old XtraBackup): decrypts, and says the key was not checked"
mkdir -p "$W/src/db"
cp "$FIX/legacy/v2_aes256_p200000.xbcrypt" "$W/src/db/t.ibd.xbcrypt"
cp "$FIX/legacy/v1_aes256_p200000.xbcrypt" "$W/src/db/u.ibd.xbcrypt"
$TOOL make "$W/old.xbs" "$W/src"
xb --xbstream -d -a AES256 -f "$K32" -i "$W/old.xbs" -o "$W/plain.xbs"
expect_rc 0
extract "$W/plain.xbs" "$W/tree"
expect_same "$W/tree/db/t.ibd" "$P/p200000.bin"
expect_same "$W/tree/db/u.ibd" "$P/p200000.bin"
xb --xbstream --verify -f "$K32" -i "$W/old.xbs"
expect_rc 0
expect_err '^xbcrypt: warning: [0-9]+ XBCRYPT chunks of version 1 or 2 carry no SHA-256'
xb --xbstream --rekey -a AES256 -f "$K32" --new-encrypt-key-file="$KWRONG" -i "$W/old.xbs" -o "$W/rk.xbs"
expect_rc 0
expect_err '^xbcrypt: warning: .*version-1 or -2'
xb --xbstream --verify -f "$KWRONG" -i "$W/rk.xbs"
expect_rc 0
expect_no_err 'version 1 or 2'

# --- the whole-stream pipeline, for comparison --------------------------------------
case_ "whole stream: -d of Percona's whole-stream file gives percona_plain.xbstream"
xb -d -a AES256 -f "$K32" -i "$WHOLE"
expect_rc 0
expect_err_empty
expect_same "$W/out" "$PLAIN"
extract "$W/out" "$W/tree"
expect_tree "$W/tree"

case_ "whole stream: --verify follows the archive inside"
xb --verify -f "$K32" -i "$WHOLE"
expect_rc 0
expect_err '^xbcrypt: verify passed: '
expect_err '^xbcrypt: checked: the archive inside: 8 members, all closed'

case_ "whole stream: our own encryption of the interleaved archive, -d | mbstream -x"
xb -a AES256 -f "$K32" -t 2 -i "$INTER" -o "$W/whole.xbcrypt"
expect_rc 0
xb -d -a AES256 -f "$K32" -i "$W/whole.xbcrypt"
expect_rc 0
expect_err_empty
extract "$W/out" "$W/tree"
expect_tree "$W/tree"

finish
