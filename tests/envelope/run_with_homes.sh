#!/usr/bin/env bash
# run_with_homes.sh PROGRAM [ARGS...]: makes the throwaway GnuPG homes of
# gpg_homes.sh (agents started here, killed on exit), a few hand-made
# wrapped keys that are not what xbcrypt makes, and runs PROGRAM with all of
# it in the environment (see test_envelope_plugin.c).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=gpg_homes.sh
. "$HERE/gpg_homes.sh"
trap gpg_homes_teardown EXIT
gpg_homes_setup || {
    echo "run_with_homes: cannot make the GnuPG homes" >&2
    exit 99
}

# Literal data (gpg --store): an OpenPGP message that is not encrypted.
head -c 32 /dev/urandom >"$G/k32" && _g "$HOME_A" --armor --store -o "$G/literal.asc" "$G/k32" &&
    head -c 16 /dev/urandom >"$G/k16" &&
    _g "$HOME_A" --armor --trust-model always -r "$FPR_A" -o "$G/short.asc" -e "$G/k16" &&
    head -c 100 /dev/urandom >"$G/k100" &&
    _g "$HOME_A" --armor --trust-model always -r "$FPR_A" -o "$G/long.asc" -e "$G/k100" || {
    echo "run_with_homes: cannot make the test messages" >&2
    exit 99
}
export WRAPPED_LITERAL=$G/literal.asc WRAPPED_SHORT=$G/short.asc WRAPPED_LONG=$G/long.asc

"$@"
