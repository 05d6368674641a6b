#!/bin/sh
# Installs what building and testing xbcrypt-compat needs, from Debian 12's
# own packages.  Run as root, or as a user with sudo.
set -eu

packages="gcc libc6-dev pkg-config meson ninja-build python3
libgcrypt20-dev libgpg-error-dev libgpgme-dev gnupg check
valgrind openssl"

# The e2e suite (tests/e2e): a throwaway MariaDB server (mariadbd,
# mariadb-install-db and the mariadb client come with mariadb-server) and
# mariabackup and mbstream (mariadb-backup).  The suite starts its own server
# on a temporary datadir and socket without TCP, so whether the package's
# postinst started the system service or not does not matter; it never
# touches that service.
packages="$packages mariadb-server mariadb-backup"
# Debian packaging and the Python binding (issue 13): dpkg-buildpackage and
# debhelper with pybuild for debian/, lintian, pytest for the `python`
# suite, and bash-completion's pkg-config file (where the completion goes).
packages="$packages debhelper dh-python pybuild-plugin-pyproject python3-setuptools
python3-all python3-pytest lintian fakeroot dpkg-dev bash-completion"
# libipsec-mb (Intel's multi-buffer crypto library): SHA-256 of 16 chunks at
# once in AVX-512 lanes and a faster CRC-32 (-Dipsec_mb, on when found).
packages="$packages libipsec-mb-dev"

# Extra packages a caller may ask for (CI adds clang for the fuzzers).
packages="$packages ${XBCRYPT_EXTRA_PACKAGES:-}"

# The envelope test that traces open() (tests/envelope/test_envelope_interrupted.sh)
# to see the wrapped-key file written through a temporary.
packages="$packages strace"

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
else
    as_root="sudo"
fi

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi
echo "deps: installing$missing"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086  # word splitting is the point
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
