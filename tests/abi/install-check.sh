#!/bin/sh
# install-check.sh BUILDDIR SRCDIR PREFIX BINDIR LIBDIR INCLUDEDIR MANDIR
#
# Installs the build into a temporary DESTDIR and checks that a packager and
# a tool author find what they need there: the xbcrypt binary, the shared
# object under LIBDIR/xbcrypt, the public header, a pkg-config file whose
# `plugindir` names the plugin directory, and the man page.  Then builds
# examples/xbcrypt-host.c with nothing but `pkg-config --cflags --libs` and
# runs it on the installed shared object, found through `plugindir`.
#
# Directories may be relative to PREFIX (meson's usual form) or absolute.
set -eu
builddir=$1 srcdir=$2 prefix=$3
under_prefix() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$prefix" "$1" ;;
    esac
}
bindir=$(under_prefix "$4")
libdir=$(under_prefix "$5")
includedir=$(under_prefix "$6")
mandir=$(under_prefix "$7")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xbcrypt-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest

fail() {
    echo "install-check: FAIL: $*" >&2
    exit 1
}
need_file() {
    [ -f "$dest$1" ] || fail "missing $1"
    echo "ok: $1"
}

${MESON:-meson} install -C "$builddir" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install"; }

need_file "$bindir/xbcrypt"
[ -x "$dest$bindir/xbcrypt" ] || fail "$bindir/xbcrypt is not executable"
need_file "$libdir/xbcrypt/xbcrypt-plugin.so"
need_file "$includedir/xbcrypt/xbcrypt.h"
need_file "$libdir/pkgconfig/xbcrypt.pc"
need_file "$mandir/man1/xbcrypt.1"
# Nothing else is installed into the public include directory.
extra=$(cd "$dest$includedir" && find . -type f ! -path ./xbcrypt/xbcrypt.h)
[ -z "$extra" ] || fail "unexpected headers installed: $extra"

# The man page is well-formed (when man's formatter is here to tell).
if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -ww -z "$dest$mandir/man1/xbcrypt.1" 2>&1) || fail "groff: $warnings"
    [ -z "$warnings" ] || fail "man page warnings: $warnings"
    echo "ok: man page formats without warnings"
fi

# pkg-config: the prefix is redirected into DESTDIR; every other path in the
# file is derived from it.
pc() {
    PKG_CONFIG_PATH=$dest$libdir/pkgconfig pkg-config --define-variable=prefix="$dest$prefix" "$@" xbcrypt
}
pc --exists || fail "pkg-config cannot read xbcrypt.pc"
plugindir=$(pc --variable=plugindir)
[ "$plugindir" = "$dest$libdir/xbcrypt" ] || fail "plugindir is $plugindir, want $dest$libdir/xbcrypt"
echo "ok: plugindir=$plugindir"
[ "$(pc --modversion)" = "$(sed -n 's/^#define XBCRYPT_VERSION_MAJOR //p' "$srcdir/include/xbcrypt/xbcrypt.h").$(sed -n 's/^#define XBCRYPT_VERSION_MINOR //p' "$srcdir/include/xbcrypt/xbcrypt.h").$(sed -n 's/^#define XBCRYPT_VERSION_PATCH //p' "$srcdir/include/xbcrypt/xbcrypt.h")" ] ||
    fail "pkg-config version differs from the header's"

# Build the example host as a tool author would: only pkg-config's flags,
# the installed header (not the source tree's), the plugin directory baked in.
# shellcheck disable=SC2086 # CC and pkg-config output are word lists
${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror $(pc --cflags) \
    -DXBCRYPT_HOST_PLUGINDIR="\"$plugindir\"" \
    -o "$tmp/xbcrypt-host" "$srcdir/examples/xbcrypt-host.c" $(pc --libs) ||
    fail "example host does not build against the installed pkg-config file"
echo "ok: example host builds"

# Run it on the installed shared object (no XBCRYPT_PLUGIN: the path comes
# from plugindir), and check the round trip.
head -c 150001 "$srcdir/fixtures/plain/p200000.bin" >"$tmp/in.bin"
env -u XBCRYPT_PLUGIN -u LD_LIBRARY_PATH "$tmp/xbcrypt-host" "$srcdir/fixtures/keys/key32.bin" \
    "$tmp/in.bin" "$tmp/in.xbcrypt" "$tmp/out.bin" || fail "example host failed"
cmp "$tmp/in.bin" "$tmp/out.bin" || fail "round trip through the installed plugin differs"
echo "ok: example host round trip through $plugindir/xbcrypt-plugin.so"

# The installed binary reads what the installed plugin wrote.
"$dest$bindir/xbcrypt" -d -a AES256 -f "$srcdir/fixtures/keys/key32.bin" \
    -i "$tmp/in.xbcrypt" -o "$tmp/cli.bin" || fail "installed xbcrypt cannot decrypt the plugin's output"
cmp "$tmp/in.bin" "$tmp/cli.bin" || fail "installed xbcrypt decrypted to different bytes"
echo "ok: installed xbcrypt decrypts the plugin's output"
echo "install-check: all good"
