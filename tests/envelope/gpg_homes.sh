# gpg_homes.sh - sourced by the envelope tests: throwaway GnuPG homes, keys
# without a passphrase, and one gpg-agent per home, started here and
# stopped on exit.
#
# After `gpg_homes_setup`:
#   $G             the directory holding every home (short, under /tmp: the
#                  agent's socket path must stay under ~100 characters)
#   $HOME_A/B/C    each holds the secret key of one person (A, B, C), as a
#                  restore machine or a smartcard would; A also has C's
#                  public key (to rewrap to C)
#   $HOME_HOST     the backup host: public keys only (A, B, C, a signing-only
#                  key S, a revoked key R); no secret key at all
#   $FPR_A/B/C/S/R the fingerprints
# and `gpg_homes_teardown` (already on the EXIT trap of the caller through
# gpg_homes_trap) kills every agent and removes $G.

G=
GPG_HOMES=()

gpg_homes_teardown() {
    local h
    # Every home under $G too: _home runs in a command substitution, so its
    # GPG_HOMES+= never reaches the caller, and a test may start agents in
    # homes of its own.
    for h in "${GPG_HOMES[@]}" ${G:+"$G"/*/}; do
        [ -d "$h" ] && GNUPGHOME=${h%/} gpgconf --kill gpg-agent >/dev/null 2>&1
    done
    [ -n "$G" ] && rm -rf "$G"
}

# _g HOME ARGS...: gpg in HOME, batch mode, no passphrase prompts.
_g() {
    local h=$1
    shift
    GNUPGHOME=$h gpg --batch --no-tty --quiet --pinentry-mode loopback --passphrase '' "$@"
}

_home() {
    local h=$G/$1
    mkdir -m 700 "$h"
    GPG_HOMES+=("$h")
    # Started here, so that the trap's --kill stops exactly this agent.
    GNUPGHOME=$h gpgconf --launch gpg-agent || return 1
    printf '%s' "$h"
}

# _newkey HOME NAME ALGO USAGE: prints the new primary key's fingerprint.
_newkey() {
    _g "$1" --quick-gen-key "$2 <$2@test.invalid>" "$3" "$4" never >/dev/null 2>&1 || return 1
    _g "$1" --with-colons --list-keys "$2@test.invalid" | awk -F: '$1 == "fpr" { print $10; exit }'
}

gpg_homes_setup() {
    command -v gpg >/dev/null && command -v gpgconf >/dev/null || {
        echo "gpg and gpgconf are needed (apt-get install gnupg)" >&2
        return 1
    }
    G=$(mktemp -d /tmp/xbe.XXXXXX) || return 1
    HOME_A=$(_home a) && HOME_B=$(_home b) && HOME_C=$(_home c) &&
        HOME_HOST=$(_home host) && local scratch && scratch=$(_home x) || return 1
    # ed25519 primary key + cv25519 encryption subkey: fast to make.
    FPR_A=$(_newkey "$HOME_A" alice future-default default) &&
        FPR_B=$(_newkey "$HOME_B" bob future-default default) &&
        FPR_C=$(_newkey "$HOME_C" carol future-default default) &&
        FPR_S=$(_newkey "$scratch" signer ed25519 sign) &&
        FPR_R=$(_newkey "$scratch" revoked future-default default) || return 1
    [ ${#FPR_A} -eq 40 ] && [ ${#FPR_S} -eq 40 ] && [ ${#FPR_R} -eq 40 ] || return 1
    # R: apply the revocation certificate gpg made with the key.
    sed 's/^:-----/-----/' "$scratch/openpgp-revocs.d/$FPR_R.rev" >"$G/r.rev" &&
        _g "$scratch" --import "$G/r.rev" 2>/dev/null || return 1
    local f
    for f in "$HOME_A:$FPR_A" "$HOME_B:$FPR_B" "$HOME_C:$FPR_C" "$scratch:$FPR_S" \
        "$scratch:$FPR_R"; do
        _g "${f%%:*}" --export "${f##*:}" >"$G/pub" && _g "$HOME_HOST" --import "$G/pub" \
            2>/dev/null || return 1
    done
    # A's restore machine also knows C's public key, to rewrap to C.
    _g "$HOME_C" --export "$FPR_C" >"$G/pub" && _g "$HOME_A" --import "$G/pub" 2>/dev/null ||
        return 1
    rm -f "$G/pub" "$G/r.rev"
    export FPR_A FPR_B FPR_C FPR_S FPR_R HOME_A HOME_B HOME_C HOME_HOST
}
