#!/bin/sh
# Installs the dependencies, builds with warnings as errors, and runs every
# test suite.  Usage: scripts/test.sh [BUILD_DIR] [extra meson setup args...]
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-test}
[ $# -gt 0 ] && shift

"$here/scripts/deps.sh"
cd "$here"
if [ -d "$build" ]; then
    meson setup --reconfigure "$build" --werror "$@"
else
    meson setup "$build" --werror "$@"
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
