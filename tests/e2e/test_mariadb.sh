#!/usr/bin/env bash
# test_mariadb.sh - xbcrypt on real MariaDB backups, end to end.
#
# Usage: bash test_mariadb.sh XBCRYPT_BINARY
#
# Makes a throwaway MariaDB server (e2e_lib.sh: own datadir and socket in a
# temporary directory, no TCP, stopped by PID), loads about 220 MB of InnoDB,
# Aria and MyISAM data, and then:
#   whole-*   mariabackup --stream=xbstream | xbcrypt, --verify, xbcrypt -d |
#             mbstream -x, mariabackup --prepare, a second server on the
#             restored datadir: CHECKSUM TABLE ... EXTENDED of every table
#             equal to the original's;
#   cut-*     that backup cut at XBCRYPT chunk boundaries (a complete-looking
#             XBCRYPT stream over an unfinished archive): --verify and -d
#             exit 1 (the inner check);
#   member-*  the same round trip with --xbstream (each member encrypted on
#             its own), and the member archive extracted by mbstream -x and
#             decrypted one file at a time with xbcrypt -d: the same tree;
#             and that archive cut at an archive chunk boundary fails
#             --xbstream --verify and --xbstream -d with exit 1.
# Each step prints "ok: NAME" or "FAIL: NAME"; a step whose input a failed
# step should have made fails as "not run".  Exit 0 only when every step
# passed, 99 when the MariaDB tools are missing.

set -u
set -o pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 XBCRYPT_BINARY" >&2
    exit 99
fi
XBCRYPT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=e2e_lib.sh
. "$HERE/e2e_lib.sh"
T0=${EPOCHREALTIME/./}

# The MariaDB programs (mariadbd lives in /usr/sbin, off a user's PATH).
tool() {
    local p
    p=$(PATH=$PATH:/usr/sbin:/usr/libexec command -v "$1") || {
        echo "test_mariadb.sh: $1 not found: install mariadb-server and" \
            "mariadb-backup (scripts/deps.sh does)" >&2
        exit 99
    }
    echo "$p"
}
MARIADBD=$(tool mariadbd) || exit 99
MARIADB_INSTALL_DB=$(tool mariadb-install-db) || exit 99
MARIADB=$(tool mariadb) || exit 99
MARIADB_ADMIN=$(tool mariadb-admin) || exit 99
MARIABACKUP=$(tool mariabackup) || exit 99
MBSTREAM=$(tool mbstream) || exit 99
PYTHON=$(tool python3) || exit 99

umask 077
T=$(mktemp -d "${TMPDIR:-/tmp}/xbcrypt-e2e.XXXXXX") || exit 99
# XBCRYPT_E2E_KEEP=1 keeps the scratch directory (logs, trees) for a look.
cleanup() {
    server_stop_all
    if [ -n "${XBCRYPT_E2E_KEEP:-}" ]; then
        echo "test_mariadb.sh: kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
# A Unix socket path holds at most 107 bytes.
if [ ${#T} -gt 80 ]; then
    echo "test_mariadb.sh: temporary directory $T is too long for a socket path; set TMPDIR" >&2
    exit 99
fi
mkdir "$T/tmp"
head -c 32 /dev/urandom >"$T/key"
KEY=$T/key
ENC=(-a AES256 -f "$KEY")

echo "xbcrypt: $XBCRYPT ($("$XBCRYPT" --version 2>&1))"
echo "server:  $("$MARIADBD" --version)"
echo "scratch: $T"

# backup_to NAME OUT CMD...: mariabackup --backup --stream=xbstream of the
# original server, piped through CMD (an xbcrypt command) into OUT.
backup_to() {
    local name=$1 out=$2 rc
    shift 2
    "$MARIABACKUP" --no-defaults --backup --stream=xbstream --parallel=2 \
        --socket="$T/orig.sock" --user=root --datadir="$T/db0" \
        --target-dir="$T/$name.target" --tmpdir="$T/tmp" \
        2>"$T/$name.backup.log" |
        "$@" >"$out" 2>"$T/$name.xbcrypt.err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        bad "mariabackup --backup --stream=xbstream | ${*##*/}: exit status $rc (pipefail)"
        show_tail "$T/$name.backup.log" 5
        show_tail "$T/$name.xbcrypt.err" 5
        return 1
    fi
    if ! tail -n 1 "$T/$name.backup.log" | grep -q 'completed OK!'; then
        bad "mariabackup did not say 'completed OK!'"
        show_tail "$T/$name.backup.log"
        return 1
    fi
    echo "  $(wc -c <"$out") bytes in $out"
}

# is_backup_tree DIR: DIR looks like an extracted full backup.
is_backup_tree() {
    local ok=0
    if ! grep -qx 'backup_type = full-backuped' "$1/xtrabackup_checkpoints" 2>/dev/null; then
        bad "$1/xtrabackup_checkpoints is missing or not a full backup's"
        ok=1
    fi
    if [ ! -s "$1/ibdata1" ] || [ ! -s "$1/e2e/orders.ibd" ] ||
        [ ! -s "$1/e2e/events_myisam.MYD" ] || [ ! -s "$1/e2e/log_aria.MAD" ]; then
        bad "$1 lacks ibdata1 or a table file of e2e"
        ok=1
    fi
    return $ok
}

# tree_manifest DIR OUT: "sha256  ./path" of every file under DIR, sorted.
tree_manifest() {
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) >"$2"
}

# ---- the original server ---------------------------------------------------

do_load() {
    local n want got mb
    if ! sql orig <"$HERE/load.sql" >"$T/load.out" 2>&1; then
        bad "load.sql failed"
        show_tail "$T/load.out"
        return 1
    fi
    table_list orig >"$T/tables" || { bad "cannot list the tables"; return 1; }
    for want in $'e2e\tdocs\tInnoDB' $'e2e\tevents_myisam\tMyISAM' \
        $'e2e\tlog_aria\tAria' $'e2e\tnums\tInnoDB' $'e2e\torders\tInnoDB' \
        $'e2e\treadings\tInnoDB'; do
        grep -qxF "$want" "$T/tables" || { bad "table missing: $want"; return 1; }
    done
    for n in orders:250000 docs:2000 readings:100000 events_myisam:200000 log_aria:200000; do
        got=$(sql orig -e "SELECT COUNT(*) FROM e2e.${n%%:*}")
        [ "$got" = "${n#*:}" ] || { bad "e2e.${n%%:*} has '$got' rows, expected ${n#*:}"; return 1; }
    done
    mb=$(du -sm "$T/db0/e2e" | cut -f1)
    if [ "$mb" -lt 150 ]; then
        bad "the e2e table files take $mb MB, expected at least 150"
        return 1
    fi
    echo "  $(wc -l <"$T/tables") tables ($(cut -f3 "$T/tables" | sort | uniq -c |
        awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')), e2e: $mb MB," \
        "datadir: $(du -sm "$T/db0" | cut -f1) MB"
    (cd "$T/db0/e2e" && du -m -- * | sort -rn | head -8 | awk '{ printf "  %5d MB  %s\n", $1, $2 }')
}

# checksums_of NAME OUT: every table's checksum, none NULL, one per table.
checksums_of() {
    if ! checksums "$1" "$T/tables" "$2" 2>"$2.err"; then
        bad "CHECKSUM TABLE on server $1 failed"
        show_tail "$2.err"
        return 1
    fi
    if [ "$(wc -l <"$2")" -ne "$(wc -l <"$T/tables")" ]; then
        bad "CHECKSUM TABLE on server $1 gave $(wc -l <"$2") rows for $(wc -l <"$T/tables") tables"
        return 1
    fi
    if grep -q 'NULL$' "$2"; then
        bad "server $1 could not checksum: $(grep 'NULL$' "$2" | cut -f1 | tr '\n' ' ')"
        return 1
    fi
}

do_original_checksums() {
    checksums_of orig "$T/orig.sum" || return 1
    # The data tables must not checksum to 0 (an empty or unreadable table).
    if grep -E '^e2e\.' "$T/orig.sum" | grep -q $'\t0$'; then
        bad "a data table checksums to 0: $(grep -E '^e2e\.' "$T/orig.sum" | tr '\n' ' ')"
        return 1
    fi
}

do_original_unchanged() {
    checksums_of orig "$T/orig.after.sum" || return 1
    if ! diff "$T/orig.sum" "$T/orig.after.sum" >"$T/orig.diff"; then
        bad "the original server's checksums moved while it was backed up:"
        sed 's/^/    /' "$T/orig.diff" | head -20
        return 1
    fi
}

# ---- restoring -------------------------------------------------------------

# do_prepare DIR
do_prepare() {
    if ! "$MARIABACKUP" --no-defaults --prepare --target-dir="$1" \
        --tmpdir="$T/tmp" >"$1.prepare.log" 2>&1; then
        bad "mariabackup --prepare --target-dir=$1 failed"
        show_tail "$1.prepare.log"
        return 1
    fi
    if ! tail -n 1 "$1.prepare.log" | grep -q 'completed OK!'; then
        bad "mariabackup --prepare did not say 'completed OK!'"
        show_tail "$1.prepare.log"
        return 1
    fi
}

# do_restored_server NAME DIR: a server on the prepared DIR holds the same
# tables with the same CHECKSUM TABLE ... EXTENDED as the original; then it
# shuts down cleanly.
do_restored_server() {
    local name=$1 dir=$2 ok=0
    server_start "$name" "$dir" || return 1
    if ! table_list "$name" >"$T/$name.tables" ||
        ! diff "$T/tables" "$T/$name.tables" >"$T/$name.tables.diff"; then
        bad "the restored server's tables differ from the original's (< original, > restored):"
        sed 's/^/    /' "$T/$name.tables.diff" | head -20
        ok=1
    elif ! checksums_of "$name" "$T/$name.sum"; then
        ok=1
    elif ! diff "$T/orig.sum" "$T/$name.sum" >"$T/$name.sum.diff"; then
        bad "CHECKSUM TABLE ... EXTENDED differs (< original, > restored):"
        sed 's/^/    /' "$T/$name.sum.diff" | head -20
        ok=1
    else
        echo "  $(wc -l <"$T/$name.sum") tables, every checksum equal to the original's"
    fi
    server_stop "$name" || ok=1
    return $ok
}

# ---- whole-stream encryption -----------------------------------------------

do_whole_backup() {
    backup_to whole "$T/whole.xbcrypt" "$XBCRYPT" "${ENC[@]}" -t 2
}

do_whole_verify() {
    "$XBCRYPT" --verify "${ENC[@]}" -i "$T/whole.xbcrypt" 2>"$T/whole.verify.err"
    expect_status $? 0 "xbcrypt --verify" "$T/whole.verify.err" || return 1
    sed 's/^/  /' "$T/whole.verify.err"
}

# Decrypts to mbstream -x, keeping the plaintext archive for the cut steps
# (they need to know where its chunks end).
do_whole_restore() {
    mkdir "$T/whole.tree"
    "$XBCRYPT" -d "${ENC[@]}" -i "$T/whole.xbcrypt" 2>"$T/whole.d.err" |
        tee "$T/whole.xbstream" |
        "$MBSTREAM" -x -C "$T/whole.tree" 2>"$T/whole.mbstream.err"
    expect_status $? 0 "xbcrypt -d | tee | mbstream -x (pipefail)" "$T/whole.d.err" || {
        show_tail "$T/whole.mbstream.err" 5
        return 1
    }
    is_backup_tree "$T/whole.tree"
}

do_whole_prepare() { do_prepare "$T/whole.tree"; }
do_whole_server() {
    do_restored_server whole "$T/whole.tree" || return 1
    rm -rf "$T/whole.tree"
}

# ---- the cut whole-stream backup -------------------------------------------

# Chooses two XBCRYPT chunk boundaries, one near the middle of the stream and
# one near its end, at which the archive inside is unfinished (checked by an
# independent walk of the plaintext archive, e2e_archive.py), and cuts the
# stream there with head -c: $T/cut.middle and $T/cut.end.
do_cut_find() {
    local total n i start pick where
    local -a offs plain
    "$XBCRYPT" --info -i "$T/whole.xbcrypt" >"$T/whole.info" 2>"$T/whole.info.err"
    expect_status $? 0 "xbcrypt --info" "$T/whole.info.err" || return 1
    # chunk k starts at offs[k]; plain[k] plaintext bytes come before it.
    mapfile -t offs < <(sed -n 's/^chunk .* offset=\([0-9]*\) .*/\1/p' "$T/whole.info")
    mapfile -t plain < <(awk '/^chunk / {
        for (i = 1; i <= NF; i++) if ($i ~ /^elen=/) e = substr($i, 6)
        print sum + 0; sum += e - 32 }' "$T/whole.info")
    n=${#offs[@]}
    total=$(wc -c <"$T/whole.xbcrypt")
    if [ "$n" -lt 10 ]; then
        bad "only $n chunks in the backup stream"
        return 1
    fi
    if ! "$PYTHON" "$HERE/e2e_archive.py" "${plain[@]}" <"$T/whole.xbstream" \
        >"$T/whole.walk" 2>"$T/whole.walk.err"; then
        bad "the decrypted backup is not a whole archive"
        show_tail "$T/whole.walk.err"
        return 1
    fi
    echo "  plaintext archive: $(tail -n 1 "$T/whole.walk")"
    for where in middle end; do
        if [ "$where" = middle ]; then start=$((n / 2)); else start=$((n - 1)); fi
        pick=
        for ((i = start; i > 0 && i > start - 50; i--)); do
            if grep -qx "${plain[$i]} cut" "$T/whole.walk"; then
                pick=$i
                break
            fi
        done
        if [ -z "$pick" ]; then
            bad "no chunk boundary near the $where cuts the archive inside"
            return 1
        fi
        head -c "${offs[$pick]}" "$T/whole.xbcrypt" >"$T/cut.$where"
        echo "  cut.$where: the first $pick of $n chunks, ${offs[$pick]} of $total bytes" \
            "(plaintext ${plain[$pick]} bytes)"
        # The XBCRYPT layer alone sees a complete stream: that is the point.
        if ! "$XBCRYPT" --info -i "$T/cut.$where" 2>&1 | grep -q 'status=ok'; then
            bad "cut.$where is not a clean XBCRYPT stream to --info"
            return 1
        fi
    done
}

# do_cut_verify WHERE: --verify with the key exits 1 and says why.
do_cut_verify() {
    local err=$T/cut.$1.verify.err
    "$XBCRYPT" --verify "${ENC[@]}" -i "$T/cut.$1" 2>"$err"
    expect_status $? 1 "xbcrypt --verify of a backup cut at a chunk boundary" "$err" || return 1
    grep -q '^xbcrypt: error: ' "$err" || { bad "no 'xbcrypt: error:' line"; show_tail "$err"; return 1; }
    sed 's/^/  /' "$err" | head -5
}

# do_cut_decrypt WHERE: -d exits 1; what it wrote on stdout is a prefix of
# the real plaintext; with -o no output file is left behind.
do_cut_decrypt() {
    local err=$T/cut.$1.d.err out=$T/cut.$1.d.out size
    "$XBCRYPT" -d "${ENC[@]}" -i "$T/cut.$1" >"$out" 2>"$err"
    expect_status $? 1 "xbcrypt -d of a backup cut at a chunk boundary" "$err" || return 1
    grep -q '^xbcrypt: error: ' "$err" || { bad "no 'xbcrypt: error:' line"; show_tail "$err"; return 1; }
    size=$(wc -c <"$out")
    if ! cmp -s -n "$size" "$out" "$T/whole.xbstream"; then
        bad "the $size bytes written before the error are not the backup's first bytes"
        return 1
    fi
    "$XBCRYPT" -d "${ENC[@]}" -i "$T/cut.$1" -o "$T/cut.$1.o" 2>"$err.o"
    expect_status $? 1 "xbcrypt -d -o FILE of a backup cut at a chunk boundary" "$err.o" || return 1
    if [ -e "$T/cut.$1.o" ]; then
        bad "xbcrypt -d -o left $T/cut.$1.o behind after failing"
        return 1
    fi
    sed 's/^/  /' "$err" | head -3
    rm -f "$out"
}

# ---- member-level encryption (--xbstream) ----------------------------------

do_member_backup() {
    backup_to member "$T/member.xbstream" "$XBCRYPT" --xbstream "${ENC[@]}" -t 2
}

do_member_verify() {
    "$XBCRYPT" --xbstream --verify "${ENC[@]}" -i "$T/member.xbstream" 2>"$T/member.verify.err"
    expect_status $? 0 "xbcrypt --xbstream --verify" "$T/member.verify.err" || return 1
    sed 's/^/  /' "$T/member.verify.err"
}

do_member_restore() {
    local left
    mkdir "$T/member.tree"
    "$XBCRYPT" --xbstream -d "${ENC[@]}" -i "$T/member.xbstream" 2>"$T/member.d.err" |
        "$MBSTREAM" -x -C "$T/member.tree" 2>"$T/member.mbstream.err"
    expect_status $? 0 "xbcrypt --xbstream -d | mbstream -x (pipefail)" "$T/member.d.err" || {
        show_tail "$T/member.mbstream.err" 5
        return 1
    }
    left=$(cd "$T/member.tree" && find . -name '*.xbcrypt' | head -5)
    if [ -n "$left" ]; then
        bad "members still encrypted after --xbstream -d: $left"
        return 1
    fi
    is_backup_tree "$T/member.tree" || return 1
    # Before --prepare changes it: the tree the per-file path must give.
    tree_manifest "$T/member.tree" "$T/member.sha256"
    echo "  $(wc -l <"$T/member.sha256") files"
}

do_member_prepare() { do_prepare "$T/member.tree"; }
do_member_server() {
    do_restored_server member "$T/member.tree" || return 1
    rm -rf "$T/member.tree"
}

# The independent path: MariaDB's own mbstream extracts the member archive
# (every file NAME.xbcrypt), then xbcrypt -d decrypts one file at a time, as
# `xtrabackup --decrypt` does (stdin to stdout, long options).
do_member_extract() {
    local plain
    mkdir "$T/member.enc"
    "$MBSTREAM" -x -C "$T/member.enc" <"$T/member.xbstream" 2>"$T/member.x.err"
    expect_status $? 0 "mbstream -x of the --xbstream output" "$T/member.x.err" || return 1
    plain=$(cd "$T/member.enc" && find . -type f ! -name '*.xbcrypt' | head -5)
    if [ -n "$plain" ]; then
        bad "files not encrypted by --xbstream: $plain"
        return 1
    fi
    if [ ! -s "$T/member.enc/xtrabackup_checkpoints.xbcrypt" ] ||
        [ ! -s "$T/member.enc/e2e/orders.ibd.xbcrypt" ]; then
        bad "the extracted archive lacks xtrabackup_checkpoints.xbcrypt or e2e/orders.ibd.xbcrypt"
        return 1
    fi
    echo "  $(find "$T/member.enc" -type f | wc -l) encrypted files"
}

do_member_per_file() {
    local f dest failed=0
    mkdir "$T/member.files"
    while IFS= read -r -d '' f; do
        dest=$T/member.files/${f%.xbcrypt}
        mkdir -p "$(dirname "$dest")"
        # The call `xtrabackup --decrypt` makes for each file.
        if ! "$XBCRYPT" --decrypt --encrypt-algo=AES256 --encrypt-key-file="$KEY" \
            <"$T/member.enc/$f" >"$dest" 2>"$T/member.file.err"; then
            bad "xbcrypt -d of $f failed"
            show_tail "$T/member.file.err" 5
            failed=1
        fi
    done < <(cd "$T/member.enc" && find . -type f -name '*.xbcrypt' -print0)
    [ "$failed" -eq 0 ] || return 1
    tree_manifest "$T/member.files" "$T/member.files.sha256"
    if ! diff "$T/member.sha256" "$T/member.files.sha256" >"$T/member.files.diff"; then
        bad "the per-file tree differs from --xbstream -d's (< --xbstream -d, > per file):"
        sed 's/^/    /' "$T/member.files.diff" | head -20
        return 1
    fi
    echo "  $(wc -l <"$T/member.files.sha256") files, every SHA-256 equal"
    rm -rf "$T/member.enc" "$T/member.files"
}

# The member archive cut at an archive chunk boundary near its middle, where
# members are open (e2e_archive.py): --xbstream --verify and --xbstream -d
# exit 1, and -d -o leaves no file.
do_member_cut() {
    local -a ends
    local n i pick
    if ! "$PYTHON" "$HERE/e2e_archive.py" --boundaries <"$T/member.xbstream" \
        >"$T/member.walk" 2>"$T/member.walk.err"; then
        bad "the --xbstream output is not a whole archive"
        show_tail "$T/member.walk.err"
        return 1
    fi
    echo "  member archive: $(tail -n 1 "$T/member.walk")"
    mapfile -t ends < <(sed -n 's/^\([0-9]*\) cut$/\1/p' "$T/member.walk")
    n=${#ends[@]}
    if [ "$n" -lt 10 ]; then
        bad "only $n chunk boundaries with open members"
        return 1
    fi
    pick=${ends[$((n / 2))]}
    head -c "$pick" "$T/member.xbstream" >"$T/member.cut"
    echo "  member.cut: the first $pick of $(wc -c <"$T/member.xbstream") bytes"
    "$XBCRYPT" --xbstream --verify "${ENC[@]}" -i "$T/member.cut" 2>"$T/member.cut.verify.err"
    expect_status $? 1 "xbcrypt --xbstream --verify of a cut member archive" \
        "$T/member.cut.verify.err" || return 1
    sed 's/^/  /' "$T/member.cut.verify.err" | head -3
    "$XBCRYPT" --xbstream -d "${ENC[@]}" -i "$T/member.cut" >/dev/null 2>"$T/member.cut.d.err"
    expect_status $? 1 "xbcrypt --xbstream -d of a cut member archive" "$T/member.cut.d.err" || return 1
    "$XBCRYPT" --xbstream -d "${ENC[@]}" -i "$T/member.cut" -o "$T/member.cut.o" 2>"$T/member.cut.o.err"
    expect_status $? 1 "xbcrypt --xbstream -d -o FILE of a cut member archive" \
        "$T/member.cut.o.err" || return 1
    if [ -e "$T/member.cut.o" ]; then
        bad "xbcrypt --xbstream -d -o left $T/member.cut.o behind after failing"
        return 1
    fi
    rm -f "$T/member.cut"
}

# ---- the run -----------------------------------------------------------------

step install "" server_install "$T/db0" "$T/install.log"
step start-original "install" server_start orig "$T/db0"
step load "start-original" do_load
step original-checksums "load" do_original_checksums

step whole-backup "original-checksums" do_whole_backup
step whole-verify "whole-backup" do_whole_verify
step whole-restore "whole-backup" do_whole_restore
step whole-prepare "whole-restore" do_whole_prepare
step whole-checksums "whole-prepare" do_whole_server

step cut-find "whole-restore" do_cut_find
step cut-middle-verify "cut-find" do_cut_verify middle
step cut-middle-decrypt "cut-find" do_cut_decrypt middle
step cut-end-verify "cut-find" do_cut_verify end
step cut-end-decrypt "cut-find" do_cut_decrypt end
rm -f "$T/whole.xbcrypt" "$T/whole.xbstream" "$T"/cut.*

step member-backup "original-checksums" do_member_backup
step member-verify "member-backup" do_member_verify
step member-restore "member-backup" do_member_restore
step member-prepare "member-restore" do_member_prepare
step member-checksums "member-prepare" do_member_server
step member-extract "member-backup" do_member_extract
step member-per-file "member-extract member-restore" do_member_per_file
step member-cut "member-backup" do_member_cut

step original-unchanged "original-checksums" do_original_unchanged
step stop-original "start-original" server_stop orig

echo "test_mariadb.sh: $STEPS_OK steps passed, $STEPS_FAILED failed," \
    "$(seconds_since "$T0" "${EPOCHREALTIME/./}") s"
[ "$STEPS_FAILED" -eq 0 ]
