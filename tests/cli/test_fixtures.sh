#!/bin/bash
# Every file made by Percona's xbcrypt decrypts to its plaintext: the sha256
# of the output must be manifest.json's plaintext_sha256.  Each is read three
# ways: --input, standard input from a pipe, and with 4 threads.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

# file algo key_file plaintext_sha256, one line per shipped fixture.
python3 - "$FIX/manifest.json" >"$T/list" <<'EOF'
import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["file"], e["algo_option"], e["key_file"], e["plaintext_sha256"])
EOF
if [ ! -s "$T/list" ]; then
    echo "FAIL: manifest.json lists nothing"
    exit 1
fi

n=0
while read -r file algo key sha; do
    [ -f "$FIX/$file" ] || continue # the 12 MB one is not shipped
    n=$((n + 1))
    k=$T/k/$(basename "$key")
    case_ "$file with --input"
    xb -d -a "$algo" -f "$k" -i "$FIX/$file"
    expect_rc 0
    expect_err_empty
    expect_sha "$W/out" "$sha"

    case_ "$file through a pipe"
    cat "$FIX/$file" | "$XBCRYPT" --decrypt --encrypt-algo="$algo" --encrypt-key-file="$k" >"$W/out" 2>"$W/err"
    RC=${PIPESTATUS[1]}
    expect_rc 0
    expect_sha "$W/out" "$sha"

    case_ "$file with 4 threads"
    xb -d -a "$algo" -f "$k" -t 4 <"$FIX/$file"
    expect_rc 0
    expect_sha "$W/out" "$sha"
done <"$T/list"
case_ "fixture count"
if [ "$n" -ge 27 ]; then ok; else fail "only $n fixtures found"; fi

# Legacy versions 1 and 2 (not in the manifest): plaintexts from plain/.
for f in v1_aes128_p1023:AES128:key16:p1023 v1_aes256_p200000:AES256:key32:p200000 \
    v2_aes256_p200000:AES256:key32:p200000; do
    IFS=: read -r name algo key plain <<<"$f"
    case_ "legacy $name"
    xb -d -a "$algo" -f "$T/k/$key.bin" <"$FIX/legacy/$name.xbcrypt"
    expect_rc 0
    expect_out_same "$P/$plain.bin"
done

# The AES key size is the key's length whatever the name (as libgcrypt).
case_ "AES128 file read under the name AES256"
xb -d -a AES256 -f "$K16" <"$FIX/det/aes128_p65537.xbcrypt"
expect_rc 0
expect_out_same "$P/p65537.bin"
case_ "AES256 file read under the name AES128"
xb -d -a AES128 -f "$K32" <"$FIX/det/aes256_p65537.xbcrypt"
expect_rc 0
expect_out_same "$P/p65537.bin"

# NONE needs no key, and ignores one.
case_ "NONE without a key file"
xb -d -a NONE <"$FIX/det/none_p65537.xbcrypt"
expect_rc 0
expect_out_same "$P/p65537.bin"
case_ "NONE with a key file"
xb -d -a NONE -f "$K32" <"$FIX/det/none_p1023.xbcrypt"
expect_rc 0
expect_out_same "$P/p1023.bin"

finish
