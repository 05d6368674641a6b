#!/usr/bin/env bash
# test_envelope_cli.sh XBCRYPT FIXTURES - the public-key envelope on the
# command line (issue 7), with real gpg in throwaway homes (gpg_homes.sh):
# the backup host has public keys only; A, B and C each hold one secret key.
# shellcheck source=cli_homes.sh
. "$(dirname "${BASH_SOURCE[0]}")/cli_homes.sh"

PLAIN=$T/plain
gen_plain 300000 "$PLAIN"
PLAIN_SHA=$(sha256sum <"$PLAIN" | cut -d' ' -f1)

# A stream and its wrapped key, made on the host, kept for later cases.
case_ "encrypt on the host to A and B"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --recipient "$FPR_B" \
    --wrapped-key-file="$W/key.asc" <"$PLAIN"
expect_rc 0
expect_err_empty
expect_eq "$(head -1 "$W/key.asc")" "-----BEGIN PGP MESSAGE-----" "first line of the wrapped key"
# An ordinary version-3 stream: the chunk headers say so.
cp "$W/out" "$T/ab.xbcrypt"
cp "$W/key.asc" "$T/ab.asc"
sizes=$(chunk_sizes "$T/ab.xbcrypt")
expect_no_bad=$([ "${sizes#*bad}" = "$sizes" ] && echo yes || echo no)
expect_eq "$expect_no_bad" yes "every chunk header is XBCRYP03"
# Nothing but the wrapped key and the (captured) streams in the directory.
expect_dir_only "$W" key.asc out err
AB_SHA=$(sha256sum <"$T/ab.xbcrypt" | cut -d' ' -f1)

for who in A B; do
    home_var=HOME_$who
    case_ "recipient $who decrypts alone"
    as "${!home_var}" -d -a AES256 --wrapped-key-file="$T/ab.asc" <"$T/ab.xbcrypt"
    expect_rc 0
    expect_err_empty
    expect_sha "$W/out" "$PLAIN_SHA"
done

case_ "recipient B decrypts to -o"
as "$HOME_B" -d -a AES256 --wrapped-key-file="$T/ab.asc" -i "$T/ab.xbcrypt" -o "$W/restored"
expect_rc 0
expect_sha "$W/restored" "$PLAIN_SHA"

for who in C HOST; do
    home_var=HOME_$who
    case_ "$who holds no recipient's secret key: a clean failure"
    as "${!home_var}" -d -a AES256 --wrapped-key-file="$T/ab.asc" -i "$T/ab.xbcrypt" \
        -o "$W/restored"
    expect_fail
    expect_err "error: .*ab\.asc: cannot decrypt the wrapped key: no secret key"
    expect_err "hint: "
    expect_out_empty
    expect_absent "$W/restored"
    as "${!home_var}" -d -a AES256 --wrapped-key-file="$T/ab.asc" <"$T/ab.xbcrypt"
    expect_fail
    expect_out_empty
done

case_ "one recipient"
as "$HOME_HOST" -a AES256 --recipient="$FPR_C" --wrapped-key-file="$W/c.asc" -i "$PLAIN" \
    -o "$W/c.xbcrypt"
expect_rc 0
as "$HOME_C" -d -a AES256 --wrapped-key-file="$W/c.asc" <"$W/c.xbcrypt"
expect_rc 0
expect_sha "$W/out" "$PLAIN_SHA"
as "$HOME_A" -d -a AES256 --wrapped-key-file="$W/c.asc" <"$W/c.xbcrypt"
expect_fail
expect_out_empty

case_ "two encryptions never share a data key"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/k2.asc" <"$PLAIN"
expect_rc 0
as "$HOME_A" -d -a AES256 --wrapped-key-file="$W/k2.asc" <"$T/ab.xbcrypt"
expect_fail
expect_out_empty

case_ "--verify and --rekey take the wrapped key"
as "$HOME_A" --verify -a AES256 --wrapped-key-file="$T/ab.asc" -i "$T/ab.xbcrypt"
expect_rc 0
as "$HOME_C" --verify -a AES256 --wrapped-key-file="$T/ab.asc" -i "$T/ab.xbcrypt"
expect_fail
expect_err "no secret key"
(umask 077 && head -c 32 /dev/urandom >"$W/new.key")
as "$HOME_A" --rekey -a AES256 --wrapped-key-file="$T/ab.asc" --new-encrypt-key-file="$W/new.key" \
    -i "$T/ab.xbcrypt" -o "$W/rekeyed"
expect_rc 0
xb -d -a AES256 -f "$W/new.key" <"$W/rekeyed"
expect_rc 0
expect_sha "$W/out" "$PLAIN_SHA"

case_ "--rewrap to a new recipient leaves the data alone"
cp "$T/ab.xbcrypt" "$W/data"
as "$HOME_A" --rewrap --wrapped-key-file="$T/ab.asc" --recipient="$FPR_C" \
    --new-wrapped-key-file="$W/c.asc"
expect_rc 0
expect_err_empty
expect_out_empty
expect_sha "$W/data" "$AB_SHA"
expect_eq "$(head -1 "$W/c.asc")" "-----BEGIN PGP MESSAGE-----" "first line of the new wrapped key"
# C reads the old data with the new file; A, who made it, no longer can.
as "$HOME_C" -d -a AES256 --wrapped-key-file="$W/c.asc" <"$W/data"
expect_rc 0
expect_sha "$W/out" "$PLAIN_SHA"
as "$HOME_A" -d -a AES256 --wrapped-key-file="$W/c.asc" -i "$W/data" -o "$W/restored"
expect_fail
expect_err "no secret key"
expect_absent "$W/restored"
expect_sha "$W/data" "$AB_SHA"
# The old file still opens for A and B: rewrap does not touch it.
as "$HOME_B" -d -a AES256 --wrapped-key-file="$T/ab.asc" <"$W/data"
expect_rc 0

case_ "--rewrap refusals write nothing"
sha_c=$(sha256sum <"$T/ab.asc" | cut -d' ' -f1)
touch "$W/exists"
as "$HOME_A" --rewrap --wrapped-key-file="$T/ab.asc" --recipient="$FPR_C" \
    --new-wrapped-key-file="$W/exists"
expect_fail
expect_err "already exists"
expect_size "$W/exists" 0
# Only the holder of a recipient's secret key can rewrap.
as "$HOME_C" --rewrap --wrapped-key-file="$T/ab.asc" --recipient="$FPR_C" \
    --new-wrapped-key-file="$W/new.asc"
expect_fail
expect_err "no secret key"
expect_absent "$W/new.asc"
# A new recipient that is unusable fails before anything is decrypted.
as "$HOME_A" --rewrap --wrapped-key-file="$T/ab.asc" --recipient="$FPR_B" \
    --new-wrapped-key-file="$W/new.asc"
expect_fail
expect_err "recipient $FPR_B: no such public key"
expect_absent "$W/new.asc"
expect_sha "$T/ab.asc" "$sha_c"

case_ "recovery with stock tools: gpg --decrypt, then -f"
(umask 077 && GNUPGHOME=$HOME_B gpg --batch --quiet --decrypt "$T/ab.asc" >"$W/key") 2>"$W/err"
expect_size "$W/key" 32
xb -d -a AES256 --encrypt-key-file="$W/key" <"$T/ab.xbcrypt"
expect_rc 0
expect_sha "$W/out" "$PLAIN_SHA"
KEY_HEX=$(od -An -tx1 "$W/key" | tr -d ' \n')
KEY_B64=$(base64 -w0 <"$W/key")

case_ "the data key is never printed"
as "$HOME_A" -v -d -a AES256 --wrapped-key-file="$T/ab.asc" -i "$T/ab.xbcrypt" -o "$W/restored"
expect_rc 0
expect_secret_hidden "$KEY_HEX"
expect_secret_hidden "$KEY_B64"
expect_dir_only "$W" out err restored

# Refusals: each exits 1 with a message and writes nothing anywhere.
refused() {
    local what=$1 home=$2
    shift 2
    case_ "refused: $what"
    as "$home" "$@" -i "$PLAIN" -o "$W/data"
    expect_fail
    expect_err "^xbcrypt: error: "
    expect_out_empty
    expect_absent "$W/data"
    expect_absent "$W/new.asc"
    as "$home" "$@" <"$PLAIN"
    expect_fail
    expect_out_empty
    expect_absent "$W/new.asc"
}

UNKNOWN=0123456789ABCDEF0123456789ABCDEF01234567
refused "unknown recipient" "$HOME_HOST" -a AES256 --recipient="$UNKNOWN" \
    --wrapped-key-file="$W/new.asc"
expect_err "recipient $UNKNOWN: no such public key"
refused "one unknown among known recipients" "$HOME_HOST" -a AES256 --recipient="$FPR_A" \
    --recipient="$UNKNOWN" --wrapped-key-file="$W/new.asc"
expect_err "$UNKNOWN"
refused "revoked recipient" "$HOME_HOST" -a AES256 --recipient="$FPR_R" \
    --wrapped-key-file="$W/new.asc"
expect_err "recipient $FPR_R: the key is revoked"
refused "signing-only recipient" "$HOME_HOST" -a AES256 --recipient="$FPR_S" \
    --wrapped-key-file="$W/new.asc"
expect_err "recipient $FPR_S: .*no usable encryption subkey"
refused "an address is not a fingerprint" "$HOME_HOST" -a AES256 \
    --recipient=alice@test.invalid --wrapped-key-file="$W/new.asc"
expect_err "full fingerprint"
refused "a key ID is not a fingerprint" "$HOME_HOST" -a AES256 \
    --recipient="${FPR_A:24}" --wrapped-key-file="$W/new.asc"
expect_err "full fingerprint"
refused "missing wrapped-key file on decrypt" "$HOME_A" -d -a AES256 \
    --wrapped-key-file="$W/nonexistent.asc"
expect_err "cannot open the wrapped-key file .*nonexistent.asc: no such file"
refused "a wrapped-key file that is not one" "$HOME_A" -d -a AES256 \
    --wrapped-key-file="$PLAIN"
expect_err "larger than 1 MiB|not an encrypted OpenPGP message"
head -c -40 "$T/ab.asc" >"$T/cut.asc"
refused "a wrapped-key file cut short" "$HOME_A" -d -a AES256 --wrapped-key-file="$T/cut.asc"
expect_err "damaged or incomplete"
expect_no_err "no secret key for any"
refused "-f with --wrapped-key-file" "$HOME_HOST" -a AES256 -f "$K32" \
    --wrapped-key-file="$W/new.asc"
expect_err "cannot be combined"
refused "--recipient without --wrapped-key-file" "$HOME_HOST" -a AES256 --recipient="$FPR_A"
expect_err "--recipient needs --wrapped-key-file"
refused "--wrapped-key-file without --recipient on encrypt" "$HOME_HOST" -a AES256 \
    --wrapped-key-file="$W/new.asc"
expect_err "needs at least one --recipient"
refused "--recipient on decrypt" "$HOME_A" -d -a AES256 --recipient="$FPR_A" \
    --wrapped-key-file="$T/ab.asc"
expect_err "--recipient is for encrypting"
refused "AES128 with recipients" "$HOME_HOST" -a AES128 --recipient="$FPR_A" \
    --wrapped-key-file="$W/new.asc"
expect_err "AES256"
refused "NONE with a wrapped key" "$HOME_HOST" -a NONE --recipient="$FPR_A" \
    --wrapped-key-file="$W/new.asc"
refused "--new-wrapped-key-file without --rewrap" "$HOME_HOST" -a AES256 --recipient="$FPR_A" \
    --wrapped-key-file="$W/x.asc" --new-wrapped-key-file="$W/new.asc"
expect_absent "$W/x.asc"

case_ "refused: --rewrap with data options"
as "$HOME_A" --rewrap --wrapped-key-file="$T/ab.asc" --recipient="$FPR_C" \
    --new-wrapped-key-file="$W/new.asc" -o "$W/data"
expect_fail
expect_err "touches no data"
expect_absent "$W/new.asc"
as "$HOME_A" --rewrap --wrapped-key-file="$T/ab.asc" --new-wrapped-key-file="$W/new.asc"
expect_fail
expect_err "needs the new recipients"
expect_absent "$W/new.asc"

case_ "refused: an existing wrapped-key file is never replaced"
cp "$T/ab.asc" "$W/key.asc"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/key.asc" -i "$PLAIN" \
    -o "$W/data"
expect_fail
expect_err "already exists, and it is never replaced"
expect_absent "$W/data"
expect_same "$W/key.asc" "$T/ab.asc"
ln -s "$W/elsewhere" "$W/link.asc"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/link.asc" <"$PLAIN"
expect_fail
expect_out_empty
expect_absent "$W/elsewhere"

case_ "a failed encryption removes the wrapped-key file it made"
# Standard input is a directory: the read fails after the file was made.
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/key.asc" -o "$W/data" \
    <"$W"
expect_fail
expect_err "removed the wrapped-key file"
expect_absent "$W/key.asc"
expect_absent "$W/data"

case_ "an output that cannot be written: nothing is left"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/key.asc" \
    -o "$W/no/such/dir/data" <"$PLAIN"
expect_fail
expect_absent "$W/key.asc"

finish
