#!/bin/bash
# The calls of the spec's "How it is called in the field", run as written
# through a shell with this xbcrypt first in PATH (xbstream is stood in for
# by cat, xtrabackup by a loop over a backup directory).
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

mkdir -p "$T/bin" "$T/etc/mysql"
ln -s "$XBCRYPT" "$T/bin/xbcrypt"
cp "$K32" "$T/etc/mysql/backup.key"
KEY=$T/etc/mysql/backup.key
export PATH="$T/bin:$PATH"

# A stream bigger than the 10 MiB read buffer, and a small one.
gen_plain 12595257 "$T/big.bin"
BIGSHA=$(sha256sum <"$T/big.bin" | cut -d' ' -f1)

# sh_ CMD: runs CMD with sh -c in $W, stderr to $W/err, status in RC.
sh_() {
    (cd "$W" && sh -c "$1") 2>"$W/err"
    RC=$?
    check_grammar
}

case_ "xtrabackup --stream | xbcrypt > backup.xbstream.xbcrypt"
cp "$T/big.bin" "$W/stream"
sh_ "cat stream | xbcrypt --encrypt-algo=AES256 --encrypt-key-file=$KEY > backup.xbstream.xbcrypt"
expect_rc 0
expect_err_empty
# From a pipe the chunking still restarts every 10 MiB, as from a file:
# the size Percona's xbcrypt gives from a regular file.
expect_size "$W/backup.xbstream.xbcrypt" 12613013
BIGENC=$W/backup.xbstream.xbcrypt

case_ "xbcrypt -d < backup.xbstream.xbcrypt | xbstream -x"
cp "$BIGENC" "$W/backup.xbstream.xbcrypt"
sh_ "xbcrypt -d --encrypt-algo=AES256 --encrypt-key-file=$KEY < backup.xbstream.xbcrypt | cat > restored"
expect_rc 0
expect_err_empty
expect_sha "$W/restored" "$BIGSHA"

case_ "xbcrypt --decrypt --input=FILE.xbcrypt --output=FILE"
cp "$FIX/det/aes256_p200000.xbcrypt" "$W/ibdata1.xbcrypt"
sh_ "xbcrypt --decrypt --encrypt-algo=AES256 --encrypt-key-file=$KEY --input=ibdata1.xbcrypt --output=ibdata1"
expect_rc 0
expect_err_empty
expect_same "$W/ibdata1" "$P/p200000.bin"
expect_dir_only "$W" err ibdata1 ibdata1.xbcrypt

case_ "cat 'FILE.xbcrypt' | xbcrypt --decrypt ... > 'FILE' (what xtrabackup --decrypt runs)"
cp "$FIX/random/aes256_t4_p200000.xbcrypt" "$W/FILE.xbcrypt"
sh_ "cat 'FILE.xbcrypt' | xbcrypt --decrypt --encrypt-algo=AES256 --encrypt-key-file=$KEY > 'FILE'"
expect_rc 0
expect_err_empty
expect_same "$W/FILE" "$P/p200000.bin"

case_ "xtrabackup --decrypt over a backup directory, in parallel"
mkdir -p "$W/backup/db1"
for f in det/aes256_p0 det/aes256_p1 det/aes256_p65536 det/aes256_p200000 \
    random/aes256_t4_p200000; do
    cp "$FIX/$f.xbcrypt" "$W/backup/db1/$(basename "$f").ibd.xbcrypt"
done
cp "$BIGENC" "$W/backup/ibdata1.xbcrypt"
(
    cd "$W/backup" || exit 1
    for f in $(find . -name '*.xbcrypt'); do
        sh -c "cat '$f' | xbcrypt --decrypt --encrypt-algo=AES256 --encrypt-key-file=$KEY > '${f%.xbcrypt}'" &
    done
    wait
) 2>"$W/err"
expect_err_empty
expect_sha "$W/backup/ibdata1" "$BIGSHA"
expect_same "$W/backup/db1/aes256_p0.ibd" "$P/p0.bin"
expect_same "$W/backup/db1/aes256_p1.ibd" "$P/p1.bin"
expect_same "$W/backup/db1/aes256_p65536.ibd" "$P/p65536.bin"
expect_same "$W/backup/db1/aes256_p200000.ibd" "$P/p200000.bin"
expect_same "$W/backup/db1/aes256_t4_p200000.ibd" "$P/p200000.bin"

case_ "a decrypt failure in the xtrabackup pipeline is seen by the shell"
cp "$FIX/negative/trunc_150000.xbcrypt" "$W/FILE.xbcrypt"
(cd "$W" && bash -o pipefail -c "cat 'FILE.xbcrypt' | xbcrypt --decrypt --encrypt-algo=AES256 --encrypt-key-file=$KEY > 'FILE'") 2>"$W/err"
RC=$?
check_grammar
expect_fail
expect_size "$W/FILE" 131072
expect_err '^xbcrypt: error: .*chunk 2'

case_ "big stream, 8 threads both ways, through pipes"
sh_ "cat $T/big.bin | xbcrypt -a AES256 -f $KEY -t 8 | xbcrypt -d -a AES256 -f $KEY -t 8 | sha256sum > sum"
expect_rc 0
expect_err_empty
expect_eq "$(cut -d' ' -f1 "$W/sum")" "$BIGSHA" "sha256 after the round trip"

case_ "-v reports progress every 100 MiB and a summary"
sh_ "head -c 230686720 /dev/zero | xbcrypt -v -a AES256 -f $KEY -t 4 | xbcrypt -d -a AES256 -f $KEY -t 4 | wc -c > n"
expect_rc 0
expect_eq "$(tr -d ' ' <"$W/n")" 230686720 "bytes after the round trip"
expect_err '^xbcrypt: encrypting standard input to standard output, AES256, 4 threads'
expect_err '^xbcrypt: 100 MiB read'
expect_err '^xbcrypt: 200 MiB read'
expect_no_err '300 MiB'
expect_err '^xbcrypt: encrypted 230686720 bytes into [0-9]+ bytes in 3520 chunks, [0-9.]+ s, [0-9.]+ MB/s'

finish
