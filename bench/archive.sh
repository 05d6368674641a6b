#!/usr/bin/env bash
# bench/archive.sh - the archive rows of issue 11: member-level (--xbstream)
# encrypt, decrypt and verify of an archive with interleaved members against
# the whole-stream figures at the same -t, the cost of the inner check, and
# peak memory with many members open at once.
#
# Usage: bench/archive.sh [-o FILE] [SIZE_MIB] [BUILD_DIR]
#   SIZE_MIB   archive size (default 1024; 64 with BENCH_QUICK=1)
#   BUILD_DIR  meson build directory holding xbcrypt-compat/xbcrypt (default build)
#   -o FILE    also write the report to FILE (or set BENCH_OUT=FILE)
#
# The archive: BENCH_MEMBERS (default 16) members of equal size, 64 KiB
# payload chunks taken round-robin, as a --parallel backup interleaves files
# (tests/cli/xbstream_tool.py gen): every member is open from the first
# chunks to the last.  For each N in BENCH_THREADS (default "1 2"):
#   encrypt  whole: xbcrypt -a AES256 < archive;  member: --xbstream
#   decrypt  whole: xbcrypt -d of the whole-stream file (the inner check on);
#            member: --xbstream -d of the member-encrypted archive
#   verify   the same two with --verify / --xbstream --verify, under the key
# each to /dev/null, best of BENCH_RUNS (default 3) wall times, MB/s of the
# archive's bytes (10^6/s).  ratio = member MB/s / whole MB/s, target >= 0.90.
# inner: -d of the whole-stream file against -d of the same bytes with the
# first byte changed (not an archive, so no inner check); cost = time with /
# time without - 1, target <= 0.05, judged on CPU time (user +
# system, steadier on a shared machine; "cpu ratio" is whole CPU / member
# CPU for the other rows).  RSS: the peak of the member runs (GNU
# time), against the engine's stated bound for the transform with chunk
# size C = 64 KiB, ((2N+1)B+2 + 1 MiB / (C + 772) + open members + 17) x (C + 672)
# (B = 16 where bench/hwlimit -m finds the multi-buffer kernels, else 1),
# plus the 1 MiB read buffer and 16 MiB for the process; when N is at least
# the number of CPUs the input is mapped (xbcrypt-compat/xbc_mapped.h) and
# two slices of 8 MiB of it count too.
#
# A benchmark for a person to run, not a test.  On a shared machine the
# numbers move; the load average is printed before and after.  Needs bash,
# coreutils, python3 and GNU time (/usr/bin/time).
#
# Environment: BENCH_QUICK=1 (one run, 64 MiB), BENCH_MEMBER=0 (the inner
# check's row only, for a build without --xbstream), BENCH_RUNS, BENCH_THREADS,
# BENCH_MEMBERS, BENCH_OUT, BENCH_XBCRYPT (the binary), TMPDIR (default
# /var/tmp).

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

out=${BENCH_OUT:-}
while getopts ':o:h' opt; do
    case $opt in
    o) out=$OPTARG ;;
    h) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    :) die "-$OPTARG needs an argument" ;;
    *) die "unknown option -$OPTARG (try -h)" ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -le 2 ]] || die "too many arguments (try -h)"

quick=${BENCH_QUICK:-0}
if [[ $quick == 1 ]]; then size_default=64; else size_default=1024; fi
size_mib=${1:-$size_default}
[[ $size_mib =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive whole number, not '$size_mib'"
if [[ $quick == 1 ]]; then runs=${BENCH_RUNS:-1}; else runs=${BENCH_RUNS:-3}; fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive whole number"
threads=${BENCH_THREADS:-1 2}
members=${BENCH_MEMBERS:-16}
[[ $members =~ ^[1-9][0-9]*$ ]] || die "BENCH_MEMBERS must be a positive whole number"

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${2:-build}
[[ -d $build || $build == /* ]] || build=$src_dir/$build
xbcrypt=${BENCH_XBCRYPT:-$build/xbcrypt-compat/xbcrypt}
# Chunks a worker takes at once (xbcrypt.h, the transform's "Memory"): 16
# at 64 KiB where the multi-buffer kernels run (hwlimit -m exits 3 without).
batch=1
"$build/bench/hwlimit" -m -q -d 0.01 1 65536 >/dev/null 2>&1 && batch=16
[[ -x $xbcrypt ]] || die "no xbcrypt at $xbcrypt (build it: meson setup build && meson compile -C build)"
gtime=/usr/bin/time
[[ -x $gtime ]] || die "GNU time ($gtime) is needed for peak RSS: apt-get install time"
command -v python3 >/dev/null || die "python3 is needed to make the archive"

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/xbcrypt-archive-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
key=$tmp/key
head -c 32 /dev/urandom >"$key"
chmod 600 "$key"

report() { if [[ -n $out ]]; then tee -a "$out"; else cat; fi; }
[[ -z $out ]] || : >"$out"

arc=$tmp/archive.xbstream
note "making a $size_mib MiB archive of $members interleaved members in $tmp"
python3 "$src_dir/tests/cli/xbstream_tool.py" gen "$arc" $((size_mib << 20)) "$members" 65536
bytes=$(stat -c %s "$arc")
# The same bytes, not an archive: no inner check.
{ printf 'Y'; tail -c +2 "$arc"; } >"$tmp/not_archive"

# run_best CMD...: best wall time of $runs runs in $secs (seconds), the
# least CPU time (user + system) in $cpu, peak RSS in KiB of all of them in
# $rss.  The command's stdout goes to /dev/null; a failing run stops the
# benchmark.
run_best() {
    local best="" t0 t1 dt r k c
    rss=0
    cpu=""
    for ((k = 0; k < runs; k++)); do
        t0=$(date +%s%N)
        if ! "$gtime" -f '%M %U %S' -o "$tmp/rss" "$@" >/dev/null 2>"$tmp/err"; then
            cat "$tmp/err" >&2
            die "failed: $*"
        fi
        t1=$(date +%s%N)
        dt=$(((t1 - t0) / 1000))
        read -r r c < <(tail -1 "$tmp/rss" | awk '{ print $1, $2 + $3 }')
        ((r > rss)) && rss=$r
        if [[ -z $cpu ]] || awk -v a="$c" -v b="$cpu" 'BEGIN { exit !(a < b) }'; then cpu=$c; fi
        if [[ -z $best ]] || ((dt < best)); then best=$dt; fi
    done
    secs=$(awk -v us="$best" 'BEGIN { printf "%.6f", us / 1e6 }')
}
mbs() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }

{
    echo "# bench/archive.sh: $size_mib MiB archive, $members interleaved members, 64 KiB payload chunks, best of $runs"
    echo "# $(uname -m), $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-8s %2s %10s %11s %6s %4s %9s %9s %9s %4s\n' mode N "whole MB/s" "member MB/s" ratio want "cpu ratio" "RSS MiB" "bound MiB" RSS
} | report

for n in $threads; do
    whole=$tmp/whole.$n
    member=$tmp/member.$n
    "$xbcrypt" -a AES256 -f "$key" -t "$n" -i "$arc" -o "$whole"
    "$xbcrypt" -a AES256 -f "$key" -t "$n" -i "$tmp/not_archive" -o "$tmp/whole_na.$n"
    [[ ${BENCH_MEMBER:-1} == 0 ]] ||
        "$xbcrypt" --xbstream -a AES256 -f "$key" -t "$n" -i "$arc" -o "$member"
    # The engine's stated bound for the transform (include/xbcrypt/xbcrypt.h,
    # "Memory"), plus the CLI's 1 MiB read buffer and 16 MiB for the process
    # itself (libraries, stacks), as bench/run.sh counts it.
    bound=$(awk -v n="$n" -v m="$members" -v c=65536 -v B="$batch" \
        'BEGIN { b = ((2 * n + 1) * B + 2 + 1048576 / (c + 772) + m + 17) * (c + 672)
                 printf "%.1f", (b + 17 * 1048576) / 1048576 }')
    if ((n >= $(nproc))); then
        bound=$(awk -v b="$bound" -v s="$(awk -v n="$n" 'BEGIN { r = ((2 * n + 1) * 16 + 2) * 65536 + 1048576
            if (r < 8388608) r = 8388608; printf "%d", int((r + 1048575) / 1048576) }')" \
            'BEGIN { printf "%.1f", b + 2 * s }')
    fi
    modes="encrypt decrypt verify"
    [[ ${BENCH_MEMBER:-1} == 0 ]] && modes=""
    for mode in $modes; do
        case $mode in
        encrypt)
            run_best "$xbcrypt" -a AES256 -f "$key" -t "$n" -i "$arc"; tw=$secs; cw=$cpu
            run_best "$xbcrypt" --xbstream -a AES256 -f "$key" -t "$n" -i "$arc"; tm=$secs; cm=$cpu ;;
        decrypt)
            run_best "$xbcrypt" -d -a AES256 -f "$key" -t "$n" -i "$whole"; tw=$secs; cw=$cpu
            run_best "$xbcrypt" --xbstream -d -a AES256 -f "$key" -t "$n" -i "$member"; tm=$secs; cm=$cpu ;;
        verify)
            run_best "$xbcrypt" --verify -f "$key" -t "$n" -i "$whole"; tw=$secs; cw=$cpu
            run_best "$xbcrypt" --xbstream --verify -f "$key" -t "$n" -i "$member"; tm=$secs; cm=$cpu ;;
        esac
        # rss of the member run (the last run_best)
        rss_m=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
        awk -v m="$mode" -v n="$n" -v w="$(mbs "$tw")" -v x="$(mbs "$tm")" -v r="$rss_m" -v b="$bound" \
            -v cw="$cw" -v cm="$cm" \
            'BEGIN { ratio = x / w; printf "%-8s %2d %10.1f %11.1f %6.2f %4s %9.2f %9.1f %9.1f %4s\n",
                     m, n, w, x, ratio, (ratio >= 0.90 ? "met" : "LOW"), (cm > 0 ? cw / cm : 0), r, b,
                     (r <= b ? "OK" : "OVER") }' | report
    done
    run_best "$xbcrypt" -d -a AES256 -f "$key" -t "$n" -i "$whole"; t_on=$secs; c_on=$cpu
    run_best "$xbcrypt" -d -a AES256 -f "$key" -t "$n" -i "$tmp/whole_na.$n"; t_off=$secs; c_off=$cpu
    awk -v n="$n" -v on="$t_on" -v off="$t_off" -v con="$c_on" -v coff="$c_off" -v b="$bytes" \
        'BEGIN { c = on / off - 1; cc = con / coff - 1
                 printf "inner    %2d  -d with the check %.1f MB/s, without %.1f MB/s: cost %+.3f wall, %+.3f cpu (want cpu <= 0.05: %s)\n",
                 n, b / 1e6 / on, b / 1e6 / off, c, cc, (cc <= 0.05 ? "met" : "HIGH") }' | report
    rm -f "$whole" "$member" "$tmp/whole_na.$n"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | report
