# cli_homes.sh - sourced by the envelope's command-line tests
# (test_envelope_*.sh XBCRYPT FIXTURES): the checks of tests/cli/common.sh,
# the throwaway GnuPG homes of gpg_homes.sh (removed on exit, agents
# killed), and as().
ENVELOPE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cli/common.sh
. "$ENVELOPE_DIR/../cli/common.sh"
# shellcheck source=gpg_homes.sh
. "$ENVELOPE_DIR/gpg_homes.sh"
trap 'gpg_homes_teardown; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
gpg_homes_setup || {
    echo "cannot make the GnuPG homes" >&2
    exit 99
}

# as HOME ARGS...: xb with GNUPGHOME=HOME.
as() {
    local h=$1
    shift
    GNUPGHOME=$h xb "$@"
}
