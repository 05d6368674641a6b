#!/bin/bash
# Keys come from key files only.  --encrypt-key / -k in any spelling and
# XBCRYPT_ENCRYPTION_KEY are refused before anything is read or written,
# with a message naming --encrypt-key-file and how to make a key file, and
# the secret never appears in any output.  Key files may be FIFOs, symlinks
# or /dev/fd/N; loose permissions draw a warning.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

SECRET=S3cr3t-0123456789abcdef0123456789
IN=$FIX/det/aes256_p1023.xbcrypt

# refused NAME ARGS...: decrypt IN with ARGS and -o; must be refused.
refused() {
    local name=$1
    shift
    case_ "$name"
    xb "$@" -o "$W/plain" <"$IN"
    expect_fail
    expect_err '^xbcrypt: error: .*(encrypt-key|XBCRYPT_ENCRYPTION_KEY).*refused'
    expect_err '^xbcrypt: hint: .*--encrypt-key-file'
    expect_err 'openssl rand -out KEYFILE 32'
    expect_err 'printf %s'
    expect_secret_hidden "$SECRET"
    expect_secret_hidden "${SECRET:4:12}"
    expect_out_empty
    expect_absent "$W/plain"
}

refused "-k SECRET" -d -a AES256 -k "$SECRET"
refused "-kSECRET" -d -a AES256 "-k$SECRET"
refused "--encrypt-key=SECRET" -d -a AES256 "--encrypt-key=$SECRET"
refused "--encrypt-key SECRET" -d -a AES256 --encrypt-key "$SECRET"
refused "--encrypt_key SECRET" -d -a AES256 --encrypt_key "$SECRET"
refused "--encrypt_key=SECRET" -d -a AES256 "--encrypt_key=$SECRET"
refused "--loose-encrypt-key=SECRET" -d -a AES256 "--loose-encrypt-key=$SECRET"
refused "--loose_encrypt_key SECRET" -d -a AES256 --loose_encrypt_key "$SECRET"
refused "-dk bundled" -a AES256 "-dk$SECRET"
refused "-k with a key file too" -d -a AES256 -f "$K32" -k "$SECRET"
refused "-k without -a" -d -k "$SECRET"
refused "-k after an unknown option" --bogus -d -a AES256 -k "$SECRET"
refused "-k before an unknown option" -d -a AES256 -k "$SECRET" --bogus
refused "-k at the end, no value" -d -a AES256 -k
refused "-k with --help" --help -k "$SECRET"

refused_env() {
    local name=$1 value=$2
    shift 2
    case_ "$name"
    XBCRYPT_ENCRYPTION_KEY=$value "$XBCRYPT" "$@" -o "$W/plain" <"$IN" >"$W/out" 2>"$W/err"
    RC=$?
    check_grammar
    expect_fail
    expect_err '^xbcrypt: error: .*XBCRYPT_ENCRYPTION_KEY.*refused'
    expect_err '^xbcrypt: hint: .*--encrypt-key-file'
    expect_err 'openssl rand -out KEYFILE 32'
    [ -n "$value" ] && expect_secret_hidden "$value"
    expect_out_empty
    expect_absent "$W/plain"
}
refused_env "XBCRYPT_ENCRYPTION_KEY set" "$SECRET" -d -a AES256
refused_env "XBCRYPT_ENCRYPTION_KEY set, with a key file" "$SECRET" -d -a AES256 -f "$K32"
refused_env "XBCRYPT_ENCRYPTION_KEY set but empty" "" -d -a AES256 -f "$K32"
refused_env "XBCRYPT_ENCRYPTION_KEY with NONE" "$SECRET" -d -a NONE

case_ "a secret in a misspelt option is not echoed"
xb -d -a AES256 "--encrypt-kye=$SECRET" <"$IN"
expect_fail
expect_err "unknown option '--encrypt-kye'"
expect_secret_hidden "$SECRET"
case_ "a secret in a bad algorithm value is not echoed"
xb -d -a "$SECRET" -f "$K32" <"$IN"
expect_fail
expect_secret_hidden "$SECRET"
case_ "a secret in a bad number is not echoed"
xb -d -a AES256 -f "$K32" -s "$SECRET" <"$IN"
expect_fail
expect_secret_hidden "$SECRET"

# --- key sources ----------------------------------------------------------------------
case_ "key file through a symlink"
ln -s "$K32" "$W/key.link"
xb -d -a AES256 -f "$W/key.link" <"$IN"
expect_rc 0
expect_err_empty
expect_out_same "$P/p1023.bin"
case_ "key file as /dev/fd/3"
xb -d -a AES256 -f /dev/fd/3 <"$IN" 3<"$K32"
expect_rc 0
expect_out_same "$P/p1023.bin"
case_ "key from a pipe as /dev/fd/3"
xb -d -a AES256 -f /dev/fd/3 <"$IN" 3< <(cat "$K32")
expect_rc 0
expect_out_same "$P/p1023.bin"
case_ "key file as a named pipe"
mkfifo -m 600 "$W/key.fifo"
cat "$K32" >"$W/key.fifo" &
xb -d -a AES256 -f "$W/key.fifo" <"$IN"
wait
expect_rc 0
expect_err_empty
expect_out_same "$P/p1023.bin"
case_ "key file is a directory"
mkdir "$W/keydir"
xb -d -a AES256 -f "$W/keydir" <"$IN"
expect_fail
expect_err '^xbcrypt: error: .*keydir.*directory'
expect_out_empty
case_ "key file missing"
xb -d -a AES256 -f "$W/nokey" <"$IN"
expect_fail
expect_err '^xbcrypt: error: .*nokey.*No such file'
expect_out_empty
case_ "key file unreadable"
cp "$K32" "$W/key"
chmod 000 "$W/key"
if [ -r "$W/key" ]; then
    ok # root reads anything: nothing to check
else
    xb -d -a AES256 -f "$W/key" <"$IN"
    expect_fail
    expect_err 'Permission denied'
    expect_out_empty
fi

# --- permissions warning ---------------------------------------------------------------
for mode in 640 604 644 440; do
    case_ "key file mode $mode"
    cp "$K32" "$W/key"
    chmod "$mode" "$W/key"
    xb -d -a AES256 -f "$W/key" <"$IN"
    expect_rc 0
    expect_err "^xbcrypt: warning: key file .*key can be read by (its group|every user) \\(mode 0$mode\\)"
    expect_err "^xbcrypt: hint: chmod 600"
    expect_out_same "$P/p1023.bin"
done
for mode in 600 400; do
    case_ "key file mode $mode: no warning"
    cp "$K32" "$W/key"
    chmod "$mode" "$W/key"
    xb -d -a AES256 -f "$W/key" <"$IN"
    expect_rc 0
    expect_err_empty
done

case_ "printable key never appears in messages"
printf %s 0123456789abcdef0123456789abcdefX >"$W/key" # 33 bytes: refused
chmod 644 "$W/key"
xb -d -a AES256 -f "$W/key" <"$IN"
expect_fail
expect_secret_hidden 0123456789abcdef
expect_out_empty

# --- the process holding a key is hardened -----------------------------------------
case_ "no core dump while the key is read"
mkfifo -m 600 "$W/key.fifo"
# Start with core dumps allowed, so that a limit of 0 is xbcrypt's doing.
(ulimit -c unlimited 2>/dev/null || ulimit -c 4096 2>/dev/null
    exec "$XBCRYPT" -d -a AES256 -f "$W/key.fifo" <"$IN" >"$W/out" 2>"$W/err") &
pid=$!
limits=""
for _ in $(seq 200); do
    # Until the key is written xbcrypt waits on the FIFO, after hardening.
    limits=$(grep 'Max core file size' "/proc/$pid/limits" 2>/dev/null)
    echo "$limits" | grep -qE 'size +0 +0' && break
    sleep 0.05
done
cat "$K32" >"$W/key.fifo"
wait "$pid"
RC=$?
expect_rc 0
expect_out_same "$P/p1023.bin"
if echo "$limits" | grep -qE 'Max core file size +0 +0'; then ok; else fail "core limit while reading the key: '$limits'"; fi

finish
