#!/bin/sh
# run-bounded.sh BUILDDIR SECONDS - run each libFuzzer harness for a bounded
# time over its seed corpus (for CI).
#
# BUILDDIR must be configured with -Dfuzzing_engine=libfuzzer (CC=clang),
# normally with -Db_sanitize=address,undefined -Db_lundef=false.  Each
# harness runs for SECONDS of wall time, one after the other, starting from
# fixtures/fuzz/<name>/; inputs it finds go to a temporary directory, so the
# repository's corpus is never modified.  A crash, leak, timeout, sanitizer
# report or broken invariant stops that harness; its input is saved under
# $FUZZ_ARTIFACTS (default BUILDDIR/fuzz-artifacts)/<name>/ and the script
# exits 1 after trying the other harnesses.  Exit 2: usage or setup error.
#
#   tests/fuzz/run-bounded.sh build-fuzz 60
#   # reproduce a finding:
#   build-fuzz/tests/fuzz/fuzz_decoder build-fuzz/fuzz-artifacts/decoder/crash-...
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILDDIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
case $seconds in
    '' | *[!0-9]*)
        echo "$0: SECONDS must be a whole number, not '$seconds'" >&2
        exit 2
        ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
corpus_root=$(cd "$here/../../fixtures/fuzz" && pwd) || exit 2
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}

# Sanitizers report and stop; UBSan would otherwise print and go on.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

work=$(mktemp -d "${TMPDIR:-/tmp}/xb-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

status=0
for name in format decoder options xbstream xbstream_transform; do
    bin=$build/tests/fuzz/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "$0: $bin is missing: configure $build with -Dfuzzing_engine=libfuzzer and build it" >&2
        exit 2
    fi
    # A replay-driver build takes "-help=1" for a file it cannot open.
    if ! "$bin" -help=1 >/dev/null 2>&1; then
        echo "$0: $bin is not a libFuzzer binary (-Dfuzzing_engine=none build?)" >&2
        exit 2
    fi
    case $name in
        format) max_len=128 ;;
        options) max_len=512 ;;
        xbstream*) max_len=200000 ;; # seeds hold 64 KiB payload chunks
        *) max_len=16384 ;;
    esac
    mkdir -p "$work/$name" "$artifacts/$name" || exit 2
    log=$work/$name.log
    echo "fuzz_$name: ${seconds}s over $corpus_root/$name"
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/$name/" \
        "$work/$name" "$corpus_root/$name" >"$log" 2>&1
    rc=$?
    # The last status line: runs, coverage, exec/s.
    grep -E '^#[0-9]+' "$log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log"
    if [ "$rc" -ne 0 ]; then
        echo "fuzz_$name: FAILED (exit $rc); its log:" >&2
        tail -n 60 "$log" >&2
        ls -l "$artifacts/$name" >&2
        status=1
    fi
done
exit $status
