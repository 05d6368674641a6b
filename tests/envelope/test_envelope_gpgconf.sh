#!/usr/bin/env bash
# test_envelope_gpgconf.sh XBCRYPT FIXTURES - what gpg.conf, subkeys and a
# missing gpg-agent must not do to the envelope (issue 10, item 2): a
# "group" named after a recipient's fingerprint must not redirect the data
# key, a subkey named by its fingerprint is taken exactly (refused when it
# has expired), and with no agent the error says so instead of "no secret
# key".  Real gpg, throwaway homes (gpg_homes.sh).
# shellcheck source=cli_homes.sh
. "$(dirname "${BASH_SOURCE[0]}")/cli_homes.sh"

PLAIN=$T/plain
gen_plain 100000 "$PLAIN"

# subkeys HOME FPR: the fingerprints of FPR's subkeys, oldest first.
subkeys() {
    _g "$1" --with-colons --list-keys "$2" |
        awk -F: '$1 == "sub" { s = 1; next } $1 == "fpr" && s { print $10; s = 0 }'
}

# wrapped_to FILE: the key IDs the wrapped key's session key packets name,
# sorted, space-separated (listed on the host, which holds no secret key).
wrapped_to() {
    _g "$HOME_HOST" --list-packets "$1" 2>/dev/null |
        sed -n 's/^:pubkey enc packet: .*keyid \([0-9A-F]*\).*/\1/p' | sort | tr '\n' ' '
}

# ids FPR...: the key IDs (last 16 hex digits) of v4 fingerprints, as wrapped_to prints them.
ids() {
    local f
    for f in "$@"; do echo "${f:24}"; done | sort | tr '\n' ' '
}

SUB_A=$(subkeys "$HOME_HOST" "$FPR_A")
SUB_B=$(subkeys "$HOME_HOST" "$FPR_B")
SUB_C=$(subkeys "$HOME_HOST" "$FPR_C")
[ ${#SUB_A} -eq 40 ] && [ ${#SUB_B} -eq 40 ] && [ ${#SUB_C} -eq 40 ] || {
    echo "cannot read the subkeys" >&2
    exit 99
}
HOST_CONF=$HOME_HOST/gpg.conf

# encrypt_to_a WHAT: encrypts on the host to --recipient=FPR_A with $HOST_CONF
# as the case set it up; the wrapped key is $W/key.asc.
encrypt_to_a() {
    as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/key.asc" \
        -i "$PLAIN" -o "$W/data"
}

# --- a gpg.conf group does not redirect the data key ---------------------------
for group in "$FPR_A = $FPR_B" "$FPR_A = $FPR_A $FPR_B" "$SUB_A = $FPR_B" \
    "${FPR_A,,} = $FPR_B"; do
    case_ "gpg.conf 'group $group': the data key goes to A exactly"
    echo "group $group" >"$HOST_CONF"
    encrypt_to_a
    expect_rc 0
    expect_eq "$(wrapped_to "$W/key.asc")" "$(ids "$SUB_A")" "key IDs of the wrapped key"
    as "$HOME_A" -d -a AES256 --wrapped-key-file="$W/key.asc" -i "$W/data"
    expect_rc 0
    expect_sha "$W/out" "$(sha256sum <"$PLAIN" | cut -d' ' -f1)"
    as "$HOME_B" -d -a AES256 --wrapped-key-file="$W/key.asc" -i "$W/data"
    expect_fail
done

# gpg takes "SUBKEY!" as a group name too: then the check of what gpg wrote
# (the session key packets' key IDs) is what refuses it.
for group in "$SUB_A! = $FPR_B" "$SUB_A! = $FPR_A $FPR_B" "$SUB_A! = $SUB_A! $FPR_B"; do
    case_ "gpg.conf 'group $group': refused, nothing left"
    echo "group $group" >"$HOST_CONF"
    encrypt_to_a
    expect_fail
    expect_err "^xbcrypt: error: gpg encrypted the data key to key ID ${SUB_B:24}, which is no recipient named \\(a \"group\" or \"encrypt-to\" in gpg.conf\\?\\)$"
    expect_out_empty
    expect_dir_only "$W" out err
done
case_ "gpg.conf 'group $SUB_A! = $FPR_C': two named, one replaced"
echo "group $SUB_A! = $FPR_C" >"$HOST_CONF"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --recipient="$FPR_C" \
    --wrapped-key-file="$W/key.asc" -i "$PLAIN" -o "$W/data"
expect_fail
expect_err "^xbcrypt: error: gpg did not encrypt the data key to recipient $FPR_A \\(its subkey ${SUB_A:24}\\)"
expect_dir_only "$W" out err

case_ "gpg.conf throw-keyids: whom gpg encrypted to cannot be checked, refused"
echo "throw-keyids" >"$HOST_CONF"
encrypt_to_a
expect_fail
expect_err "^xbcrypt: error: gpg hid the key IDs of the recipient keys \\(throw-keyids"
expect_dir_only "$W" out err

case_ "gpg.conf encrypt-to and a group together, two recipients"
printf 'encrypt-to %s\ngroup %s = %s\n' "$FPR_C" "$FPR_B" "$FPR_C" >"$HOST_CONF"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --recipient="$FPR_B" \
    --wrapped-key-file="$W/key.asc" -i "$PLAIN" -o "$W/data"
expect_rc 0
expect_eq "$(wrapped_to "$W/key.asc")" "$(ids "$SUB_A" "$SUB_B")" "key IDs of the wrapped key"
: >"$HOST_CONF"

case_ "--rewrap: a group on the restore host does not redirect either"
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$W/a.asc" -i "$PLAIN" \
    -o "$W/data"
expect_rc 0
echo "group $FPR_C = $FPR_A" >"$HOME_A/gpg.conf"
as "$HOME_A" --rewrap --wrapped-key-file="$W/a.asc" --recipient="$FPR_C" \
    --new-wrapped-key-file="$W/c.asc"
expect_rc 0
expect_eq "$(wrapped_to "$W/c.asc")" "$(ids "$SUB_C")" "key IDs of the rewrapped key"
as "$HOME_C" -d -a AES256 --wrapped-key-file="$W/c.asc" -i "$W/data"
expect_rc 0
: >"$HOME_A/gpg.conf"

# --- subkeys: the one named, or refused ---------------------------------------
# E: made in 2020 with a never-expiring encryption subkey (E1), then one that
# expired two days later (E2), and today a newer one (E3).
HOME_E=$G/e
mkdir -m 700 "$HOME_E" && GPG_HOMES+=("$HOME_E")
_g "$HOME_E" --faked-system-time 20200101T000000! \
    --quick-gen-key "eve <eve@test.invalid>" future-default default never >/dev/null 2>&1
FPR_E=$(_g "$HOME_E" --with-colons --list-keys eve@test.invalid | awk -F: '$1 == "fpr" { print $10; exit }')
_g "$HOME_E" --faked-system-time 20200102T000000! --quick-add-key "$FPR_E" cv25519 encr 2d \
    >/dev/null 2>&1
_g "$HOME_E" --quick-add-key "$FPR_E" cv25519 encr never >/dev/null 2>&1
_g "$HOME_E" --export "$FPR_E" >"$G/e.pub" && _g "$HOME_HOST" --import "$G/e.pub" 2>/dev/null
mapfile -t SUB_E < <(subkeys "$HOME_HOST" "$FPR_E")
case_ "setup: E has three subkeys, the second expired"
expect_eq "${#SUB_E[@]}" 3 "subkeys of E"
expect_eq "$(_g "$HOME_HOST" --with-colons --list-keys "$FPR_E" | awk -F: '$1 == "sub" { print ($2 == "e") }' | tr '\n' ' ')" "0 1 0 " "expired subkeys of E"

case_ "an expired subkey named by its fingerprint is refused, not replaced"
as "$HOME_HOST" -a AES256 --recipient="${SUB_E[1]}" --wrapped-key-file="$W/key.asc" \
    -i "$PLAIN" -o "$W/data"
expect_fail
expect_err "^xbcrypt: error: recipient ${SUB_E[1]} names a subkey of key $FPR_E, and that subkey has expired: no other subkey is used in its place"
expect_dir_only "$W" out err
for i in 0 2; do
    case_ "subkey E$((i + 1)) named by its fingerprint: exactly that subkey"
    as "$HOME_HOST" -a AES256 --recipient="${SUB_E[$i]}" --wrapped-key-file="$W/key.asc" \
        -i "$PLAIN" -o "$W/data"
    expect_rc 0
    expect_eq "$(wrapped_to "$W/key.asc")" "$(ids "${SUB_E[$i]}")" "key IDs of the wrapped key"
    as "$HOME_E" -d -a AES256 --wrapped-key-file="$W/key.asc" -i "$W/data"
    expect_rc 0
done
case_ "E's primary fingerprint: its newest valid encryption subkey, as gpg picks"
as "$HOME_HOST" -a AES256 --recipient="$FPR_E" --wrapped-key-file="$W/key.asc" -i "$PLAIN" \
    -o "$W/data"
expect_rc 0
expect_eq "$(wrapped_to "$W/key.asc")" "$(ids "${SUB_E[2]}")" "key IDs of the wrapped key"

# --- no gpg-agent --------------------------------------------------------------
as "$HOME_HOST" -a AES256 --recipient="$FPR_A" --wrapped-key-file="$T/a.asc" -i "$PLAIN" \
    -o "$T/a.xbcrypt"
for conf in no-autostart "agent-program /bin/false"; do
    case_ "no gpg-agent ($conf): said, not 'no secret key'"
    GNUPGHOME=$HOME_A gpgconf --kill gpg-agent
    echo "$conf" >"$HOME_A/gpg.conf"
    as "$HOME_A" -d -a AES256 --wrapped-key-file="$T/a.asc" -i "$T/a.xbcrypt" -o "$W/plain"
    expect_fail
    expect_err "^xbcrypt: error: .*a\\.asc: cannot decrypt the wrapped key: no gpg-agent answers for this GnuPG home"
    expect_err "^xbcrypt: hint: start it with: gpgconf --launch gpg-agent"
    expect_no_err "no secret key"
    expect_absent "$W/plain"
    as "$HOME_A" --rewrap --wrapped-key-file="$T/a.asc" --recipient="$FPR_C" \
        --new-wrapped-key-file="$W/c.asc"
    expect_fail
    expect_err "no gpg-agent answers"
    expect_absent "$W/c.asc"
done
case_ "the agent back: the same file decrypts"
: >"$HOME_A/gpg.conf"
as "$HOME_A" -d -a AES256 --wrapped-key-file="$T/a.asc" -i "$T/a.xbcrypt"
expect_rc 0
expect_sha "$W/out" "$(sha256sum <"$PLAIN" | cut -d' ' -f1)"
case_ "an agent, and no secret key: still 'no secret key'"
as "$HOME_B" -d -a AES256 --wrapped-key-file="$T/a.asc" -i "$T/a.xbcrypt"
expect_fail
expect_err "no secret key for any of its recipients"
expect_no_err "gpg-agent"

finish
