#!/bin/sh
# check-exports.sh NM SHARED_OBJECT
# The shared object's dynamic symbol table must define xbcrypt_plugin_api and
# nothing else.  The linker's own markers (_init, _fini, _edata, _end,
# __bss_start), which some toolchains export from every object, are
# tolerated but reported; the version script is meant to hide them.
set -eu
nm_prog=$1
so=$2
syms=$("$nm_prog" -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | sort -u)
printf 'dynamic symbols defined by %s:\n%s\n' "$so" "$syms"
status=0
found=no
for s in $syms; do
    case $s in
    xbcrypt_plugin_api) found=yes ;;
    _init | _fini | _edata | _end | __bss_start)
        echo "note: linker symbol $s is exported" ;;
    *)
        echo "error: unexpected exported symbol $s"
        status=1 ;;
    esac
done
if [ "$found" != yes ]; then
    echo "error: xbcrypt_plugin_api is not exported"
    status=1
fi
exit $status
