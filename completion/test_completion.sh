#!/bin/bash
# test_completion.sh FILE [XBCRYPT]: sources the bash completion and checks
# what it offers for typical command lines (options in each spelling, -a
# values, files for -i/-o/-f and the key-file options).  Given the binary,
# every long option its --help lists must be offered, so that an option added
# to the CLI but not to the completion fails here.
set -u
file=$1
xbcrypt_bin=${2:+$(realpath "$2")}
# shellcheck source=/dev/null
. "$file" || { echo "FAIL: cannot source $file"; exit 1; }
complete -p xbcrypt | grep -q _xbcrypt || { echo "FAIL: xbcrypt has no completion"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xbcomp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/dir"
touch "$tmp/dir/backup.key" "$tmp/dir/backup.xbcrypt" "$tmp/dir/other"
mkdir "$tmp/dir/sp"
touch "$tmp/dir/sp/my backup.key"
cd "$tmp/dir" || exit 1

failures=0 checks=0
# comp EXPECTED WORD...: completes the last WORD of "xbcrypt WORD..." and
# compares the sorted candidates, one line each, with EXPECTED.
comp() {
    local expected=$1
    shift
    COMP_WORDS=(xbcrypt "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _xbcrypt
    local got
    got=$(printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | sed '/^$/d' | tr '\n' ' ')
    got=${got% }
    checks=$((checks + 1))
    if [ "$got" = "$expected" ]; then
        echo "ok: xbcrypt $*"
    else
        echo "FAIL: xbcrypt $*: got [$got], want [$expected]"
        failures=$((failures + 1))
    fi
}

algos="AES128 AES192 AES256 NONE"
comp "$algos" -a ""
comp "AES256" -a AES25
comp "AES128 AES192" -a aes1      # any case, as the parser takes it
comp "AES256" -a aes2
comp "$algos" --encrypt-algo ""
comp "$algos" --encrypt-algo = ""
comp "AES128 AES192" --encrypt-algo = AES1
comp "$algos" --encrypt_algo ""
comp "$algos" --loose-encrypt-algo = ""
comp "$algos" --new-encrypt-algo ""
comp "--encrypt-algo=AES128 --encrypt-algo=AES192" --encrypt-algo=AES1   # '=' not a word break
comp "-aAES256" -aAES2
comp "backup.key backup.xbcrypt" -f back
comp "backup.key" --encrypt-key-file = backup.k
comp "backup.key" --encrypt_key_file backup.k
comp "backup.key backup.xbcrypt" --new-encrypt-key-file back
comp "backup.key backup.xbcrypt" --wrapped-key-file back
comp "backup.key backup.xbcrypt other sp" -i ""
comp "sp/my backup.key" -f sp/my   # one candidate, space and all (split: "backup.key sp/my")
comp "backup.xbcrypt" -o backup.x
comp "backup.xbcrypt" --input = backup.x
comp "--output=backup.xbcrypt" --output=backup.x
comp "-fbackup.key" -fbackup.k
comp "" -k ""                       # the key never goes on the command line
comp "" -t ""
comp "--decrypt" --decr
comp "--encrypt-algo= --encrypt-chunk-size= --encrypt-key-file= --encrypt-key= --encrypt-threads=" --encrypt
comp "--encrypt_algo= --encrypt_chunk_size= --encrypt_key= --encrypt_key_file= --encrypt_threads=" --encrypt_
comp "--loose-decrypt" --loose-dec
comp "--new-encrypt-algo= --new-encrypt-key-file= --new-wrapped-key-file= --no-progress" --n
comp "--verbose --verify --version" --ver
comp "-d" -d
comp "" backup.xbcrypt               # no operands
# Every option of --help is offered.
opts="help version decrypt input output encrypt-algo encrypt-key-file encrypt-key
    encrypt-chunk-size encrypt-threads read-buffer-size verbose progress no-progress verify
    rekey info new-encrypt-key-file new-encrypt-algo recipient wrapped-key-file rewrap
    new-wrapped-key-file xbstream"
if [ -n "$xbcrypt_bin" ]; then
    opts=$("$xbcrypt_bin" --help | grep -oE '^ {2,6}(-[^ ,], )?--[a-z][a-z-]*' | sed 's/.*--//' | sort -u)
    [ "$(printf '%s\n' "$opts" | wc -l)" -ge 20 ] ||
        { echo "FAIL: found only these options in $xbcrypt_bin --help: $opts"; exit 1; }
fi
for opt in $opts; do
    COMP_WORDS=(xbcrypt --) COMP_CWORD=1 COMPREPLY=()
    _xbcrypt
    checks=$((checks + 1))
    if printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "--$opt=\?"; then :; else
        echo "FAIL: --$opt not offered"
        failures=$((failures + 1))
    fi
done
echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
