#!/usr/bin/env bash
# bench/run.sh - xbcrypt throughput and peak memory against the machine's limit.
#
# Usage: bench/run.sh [-o FILE] [SIZE_MIB] [BUILD_DIR]
#   SIZE_MIB   size of the random test file (default 1024; 64 with BENCH_QUICK=1)
#   BUILD_DIR  meson build directory holding xbcrypt-compat/xbcrypt (default build)
#   -o FILE    also write the report to FILE (or set BENCH_OUT=FILE)
#
# For encrypt (plaintext file -> /dev/null) and decrypt (a file encrypted
# with the same chunk size -> /dev/null), chunk sizes 64 KiB and 1 MiB, and
# N = 1, 2 and nproc threads, it prints one row:
#   - MB/s: plaintext bytes (10^6) per second of wall time, best of 3 runs;
#   - limit: what the best kernels the build has can do, bench/hwlimit with
#     the same N and chunk size, run alternately with xbcrypt in the same
#     rounds, best of 3: with libipsec-mb (and an AVX-512 CPU), hwlimit -m,
#     N threads each hashing a batch of B hot chunks at once (multi-buffer
#     SHA-256), then AES-256-CTR (libgcrypt) and CRC-32 per chunk; without
#     it, or where the engine takes one chunk at a time (B = 1), the
#     one-stream limit;
#   - ratio = MB/s / limit;
#   - 1-stream: the one-stream limit, N threads each doing libgcrypt
#     AES-256-CTR + SHA-256 + CRC-32 over one chunk in memory (the limit
#     before the multi-buffer backend), best of 3;
#   - peak RSS (the highest of the runs) against the bound,
#     ((2N+1)B+2) x (chunk + 100) + read buffer (10 MiB) + 16 MiB, where B,
#     the chunks a worker takes at once, is min(16, 4 MiB / chunk) with the
#     multi-buffer backend (1 under 5, and always 1 without it): 2N+3 slots
#     when B = 1, as before; plus, when N is at least the number of CPUs
#     (the CLI then maps the input file and lends it to the workers, see
#     xbcrypt-compat/xbc_mapped.h), two slices of the mapping, whose
#     page-cache pages count in RSS while mapped: slice = max(8 MiB, the
#     ring's bytes + 1 MiB), rounded up to a MiB.
# Right after each decrypt row, the same file and N through --verify (no
# output) and --rekey (decrypt + encrypt under a second key, to /dev/null),
# with two more columns: vs dec = MB/s / the decrypt row's MB/s, and the
# target (verify >= 0.90, rekey >= 0.45) with "met" or "LOW".  For rekey,
# limit is half of hwlimit's (two passes of crypto per byte) and the bound
# counts two rings.
# Then `openssl enc -aes-256-ctr` on the same file as a reference line.
#
# A benchmark for a person to run, not a test: it asserts nothing about
# speed.  On a shared machine the numbers move; the load average is printed
# before and after.  It installs nothing and needs bash, coreutils, awk,
# and GNU time or python3 (for peak RSS); openssl is optional.
#
# Environment:
#   BENCH_QUICK=1   smoke-test mode: 1 run per setting, short hwlimit runs
#   BENCH_RUNS=K    runs per setting (default 3; 1 in quick mode)
#   BENCH_OUT=FILE  as -o FILE
#   BENCH_XBCRYPT, BENCH_HWLIMIT  paths to the binaries (default: BUILD_DIR's)
#   BENCH_BASELINE=XBCRYPT  another xbcrypt binary (say, a build of main) timed
#                   alongside in every encrypt and decrypt round: a table after
#                   the main one gives its MB/s and ours / its
#   BENCH_RSS_TOOL=python  measure RSS with python3 even if GNU time exists
#   TMPDIR          where the test files go (default /var/tmp)

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

out=${BENCH_OUT:-}
while getopts ':o:h' opt; do
    case $opt in
    o) out=$OPTARG ;;
    h) usage; exit 0 ;;
    :) die "-$OPTARG needs an argument" ;;
    *) die "unknown option -$OPTARG (try -h)" ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -le 2 ]] || die "too many arguments (try -h)"

quick=${BENCH_QUICK:-0}
[[ $quick == 0 || $quick == 1 ]] || die "BENCH_QUICK must be 0 or 1"
if [[ $quick == 1 ]]; then size_default=64; else size_default=1024; fi
size_mib=${1:-$size_default}
[[ $size_mib =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive whole number, not '$size_mib'"
[[ $size_mib -le 64 ]] && quick=1
if [[ $quick == 1 ]]; then runs=${BENCH_RUNS:-1}; hw_secs=0.25; else runs=${BENCH_RUNS:-3}; hw_secs=1.5; fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive whole number"

# BUILD_DIR: as given, else relative to the source tree.
src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${2:-build}
if [[ ! -d $build && $build != /* && -d $src_dir/$build ]]; then
    build=$src_dir/$build
fi

xbcrypt=${BENCH_XBCRYPT:-$build/xbcrypt-compat/xbcrypt}
baseline=${BENCH_BASELINE:-}
[[ -z $baseline || -x $baseline ]] || die "BENCH_BASELINE is not an executable: $baseline"
base_rows=()
[[ -x $xbcrypt ]] || die "no xbcrypt at $xbcrypt (build it: meson setup build && meson compile -C build)"

tmp_base=${TMPDIR:-/var/tmp}
work=$(mktemp -d "$tmp_base/xbcrypt-bench.XXXXXX") || die "cannot make a directory in $tmp_base"
trap 'rm -rf -- "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

hwlimit=${BENCH_HWLIMIT:-$build/bench/hwlimit}
if [[ ! -x $hwlimit ]]; then
    # Not built by meson (bench/ not in the build yet): build it here.
    note "no hwlimit at $hwlimit; compiling bench/hwlimit.c with ${CC:-cc}"
    hwlimit=$work/hwlimit
    # shellcheck disable=SC2046
    "${CC:-cc}" -std=c11 -O2 -D_GNU_SOURCE -o "$hwlimit" "$src_dir/bench/hwlimit.c" \
        $(pkg-config --cflags --libs libgcrypt 2>/dev/null || libgcrypt-config --cflags --libs) \
        -pthread || die "cannot build hwlimit; build the tree with bench/ in it"
fi

# Peak RSS and wall time of one command: prints "SECONDS MAXRSS_KIB".
rss_tool=python
if [[ ${BENCH_RSS_TOOL:-} != python && -x /usr/bin/time ]] &&
    [[ $(/usr/bin/time -f %M true 2>&1 >/dev/null) =~ ^[0-9]+$ ]]; then
    rss_tool=gnu-time
fi
if [[ $rss_tool == python ]] && ! command -v python3 >/dev/null; then
    die "need GNU time (/usr/bin/time) or python3 to measure peak RSS"
fi
# Without GNU time: python3.  Its RUSAGE_CHILDREN ru_maxrss is not enough
# alone: the kernel counts the child's memory before exec, which is
# python's own (~13 MiB), so a smaller peak reads as python's.  Above
# python's own high-water mark ru_maxrss is exact; below it, the peak is
# the child's VmHWM polled every 2 ms (exact unless it grew in the last
# 2 ms), and any bound above python's size is judged right either way.
py_measure='
import resource, subprocess, sys, time
def hwm(pid):
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
t = time.perf_counter()
child = subprocess.Popen(sys.argv[1:])  # returns once the child has exec-ed
polled = 0
while child.poll() is None:
    polled = max(polled, hwm(child.pid))
    time.sleep(0.002)
t = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("%.6f %d" % (t, ru if ru > hwm("self") or not polled else polled))
sys.exit(child.returncode)'
measure() {
    local rc=0
    if [[ $rss_tool == gnu-time ]]; then
        local t0=$EPOCHREALTIME t1
        /usr/bin/time -f %M -o "$work/rss" -- "$@" 2>"$work/err" || rc=$?
        t1=$EPOCHREALTIME
        [[ $rc == 0 ]] || { cat "$work/err" >&2; die "failed (exit $rc): $*"; }
        awk -v a="$t0" -v b="$t1" -v r="$(tail -n 1 "$work/rss")" \
            'BEGIN { printf "%.6f %d\n", b - a, r }'
    else
        python3 -c "$py_measure" "$@" 2>"$work/err" || rc=$?
        [[ $rc == 0 ]] || { cat "$work/err" >&2; die "failed (exit $rc): $*"; }
    fi
}

# The report: on stdout, and in $out if asked.
if [[ -n $out ]]; then
    : >"$out" || die "cannot write $out"
fi
say() {
    printf '%s\n' "$*"
    if [[ -n $out ]]; then printf '%s\n' "$*" >>"$out"; fi
}

bytes=$((size_mib * 1024 * 1024))
need_kib=$((size_mib * 1024 * 21 / 10 + 65536)) # plaintext + one encrypted copy + slack
avail_kib=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
[[ $avail_kib -ge $need_kib ]] ||
    die "$work has $((avail_kib / 1024)) MiB free, needs about $((need_kib / 1024)) MiB (set TMPDIR)"

cores=$(nproc)
threads=$(printf '%s\n' 1 2 "$cores" | sort -n -u | tr '\n' ' ')
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
[[ -n $cpu ]] || cpu=$(uname -m)
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown; }

note "making a $size_mib MiB random file in $work"
plain=$work/plain
key=$work/key
# Written in 1 MiB blocks, as backup tools write (xbstream, our own -o): a file
# written in small pieces (head -c writes 8 KiB at a time) sits in the page
# cache in small folios, and reading it back then costs the kernel about 9 %
# more CPU per byte here, whoever reads it.
head -c "$bytes" /dev/urandom | dd of="$plain" bs=1M iflag=fullblock status=none
key2=$work/key2
head -c 32 /dev/urandom >"$key"
head -c 32 /dev/urandom >"$key2"
chmod 600 "$key" "$key2"
cat "$plain" >/dev/null # in the page cache: the runs read memory, not disk

say "xbcrypt benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
say "machine:  $cores cores ($(nproc --all) present), $cpu, $(uname -sr)"
say "xbcrypt:  $("$xbcrypt" -V 2>&1 | head -n 1)"
say "          $xbcrypt"
# The multi-buffer limit exists where hwlimit -m runs (exit 3: no kernels).
mb=0
if "$hwlimit" -m -q -d 0.01 1 65536 >/dev/null 2>&1; then mb=1; fi
say "limit:    bench/hwlimit, $("$hwlimit" -V)"
if [[ $mb == 1 ]]; then
    say "          multi-buffer limit (hwlimit -m) where the engine batches chunks, else one-stream"
else
    say "          one-stream limit only (no libipsec-mb AVX-512 kernels in this build or CPU)"
fi
say "input:    $size_mib MiB random file in the page cache, output /dev/null"
say "method:   MB/s = 10^6 plaintext bytes per second of wall time; best of $runs runs per"
say "          setting, hwlimit ($hw_secs s) alternating with xbcrypt; peak RSS by $rss_tool"
if [[ $quick == 1 ]]; then say "mode:     QUICK (smoke test): figures are not meaningful"; fi
say "load:     $(load) (1, 5, 15 min) at start"
say ""
hdr=$(printf '%-9s %6s %4s %9s %10s %6s %9s %9s %10s %5s %7s %4s' \
    direction chunk N MB/s 'limit MB/s' ratio '1-stream' 'RSS MiB' 'bound MiB' RSS 'vs dec' want)
say "$hdr"
say "$(printf '%s' "$hdr" | tr -c '\n' '-')"

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
chunk_name() { if (($1 % 1048576 == 0)); then echo "$(($1 / 1048576))M"; else echo "$(($1 / 1024))K"; fi; }

# Chunks a worker takes at once, as plugin/pipeline/xb_stream.c decides
# (XB_BATCH_BYTES 4 MiB over a job of chunk + 192 bytes, at most 16 lanes,
# 1 under the hasher's minimum batch of 5); 1 without the backend.
batch_for() {
    local b=$((4194304 / ($1 + 192)))
    ((b > 16)) && b=16
    if [[ $mb == 0 ]] || ((b < 5)); then b=1; fi
    echo "$b"
}

# The bytes the CLI lends the engine at once from a mapped input
# (xbc_map_slice in xbcrypt-compat/xbc_mapped.c): the ring of N workers at
# CHUNK bytes plus 1 MiB, at least 8 MiB, rounded up to a MiB.
map_slice() {
    local n=$1 chunk=$2 mib=1048576 b
    b=$((4 * mib / chunk))
    ((b > 16)) && b=16
    ((b < 5)) && b=1
    local ring=$((((2 * n + 1) * b + 2) * chunk + mib))
    ((ring < 8 * mib)) && ring=$((8 * mib))
    echo $(((ring + mib - 1) / mib * mib))
}

over=0
# row DIRECTION CHUNK N INPUT: measures one setting (best of $runs, hwlimit
# alternating) and prints its row.  Sets $speed (MB/s).  verify and rekey
# rows add their ratio to $dec_speed, the decrypt row of the same chunk
# size and N measured just before, and whether it meets its target.
row() {
    local direction=$1 chunk=$2 n=$3 input=$4 cmd best_t='' best_hw=0 best_one=0 peak=0 r t rss hw
    local batch
    batch=$(batch_for "$chunk")
    case $direction in
    encrypt) cmd=("$xbcrypt" -a AES256 -f "$key" -s "$chunk" -t "$n" -i "$input" -o /dev/null) ;;
    decrypt) cmd=("$xbcrypt" -a AES256 -f "$key" -d -s "$chunk" -t "$n" -i "$input" -o /dev/null) ;;
    verify) cmd=("$xbcrypt" --verify -a AES256 -f "$key" -t "$n" -i "$input") ;;
    rekey) cmd=("$xbcrypt" --rekey -a AES256 -f "$key" --new-encrypt-key-file "$key2"
        -s "$chunk" -t "$n" -i "$input" -o /dev/null) ;;
    esac
    note "$direction, $(chunk_name "$chunk"), N=$n"
    local base_t='' bt
    for ((r = 0; r < runs; r++)); do
        if [[ -n $baseline && ($direction == encrypt || $direction == decrypt) ]]; then
            read -r bt _ < <(measure "$baseline" "${cmd[@]:1}")
            if [[ -z $base_t ]] || awk -v a="$bt" -v b="$base_t" 'BEGIN { exit !(a < b) }'; then
                base_t=$bt
            fi
        fi
        read -r t rss < <(measure "${cmd[@]}")
        [[ -n $t ]] || die "no measurement for $direction, chunk $chunk, N=$n"
        if [[ -z $best_t ]] || awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then
            best_t=$t
        fi
        ((rss > peak)) && peak=$rss
        hw=$("$hwlimit" -q -d "$hw_secs" "$n" "$chunk") || die "hwlimit failed"
        if awk -v a="$hw" -v b="$best_one" 'BEGIN { exit !(a > b) }'; then best_one=$hw; fi
        if ((batch > 1)); then
            hw=$("$hwlimit" -q -m -l "$batch" -d "$hw_secs" "$n" "$chunk") || die "hwlimit -m failed"
        fi
        if awk -v a="$hw" -v b="$best_hw" 'BEGIN { exit !(a > b) }'; then best_hw=$hw; fi
    done
    speed=$(mbps "$bytes" "$best_t")
    if [[ -n $base_t ]]; then
        base_rows+=("$(awk -v d="$direction" -v c="$(chunk_name "$chunk")" -v n="$n" \
            -v s="$speed" -v b="$(mbps "$bytes" "$base_t")" 'BEGIN {
            printf "%-9s %6s %4d %9.1f %9.1f %7.2f", d, c, n, s, b, (b > 0 ? s / b : 0) }')")
    fi
    local rings=1 target=''
    case $direction in
    verify) target=0.90 ;;
    rekey)
        # Twice the crypto per byte, and two rings (decoder and encoder).
        target=0.45 rings=2
        best_hw=$(awk -v h="$best_hw" 'BEGIN { printf "%.1f", h / 2 }')
        best_one=$(awk -v h="$best_one" 'BEGIN { printf "%.1f", h / 2 }')
        ;;
    esac
    local slots=$(((2 * n + 1) * batch + 2))
    local bound=$((rings * slots * (chunk + 100) + 10 * 1048576 + 16 * 1048576)) verdict
    if ((n >= cores)); then bound=$((bound + 2 * $(map_slice "$n" "$chunk"))); fi
    if ((peak * 1024 <= bound)); then verdict=OK; else verdict=OVER; over=1; fi
    local line
    line=$(awk -v d="$direction" -v c="$(chunk_name "$chunk")" -v n="$n" -v s="$speed" \
        -v l="$best_hw" -v o="$best_one" -v p="$peak" -v b="$bound" -v v="$verdict" 'BEGIN {
            printf "%-9s %6s %4d %9.1f %10.1f %6.2f %9.1f %9.1f %10.1f %5s",
                d, c, n, s, l, (l > 0 ? s / l : 0), o, p / 1024, b / 1048576, v }')
    if [[ -n $target ]]; then
        line+=$(awk -v s="$speed" -v d="$dec_speed" -v t="$target" 'BEGIN {
            x = d > 0 ? s / d : 0
            printf " %7.2f %4s %s", x, t, (x >= t ? "met" : "LOW") }')
    fi
    say "$line"
}

for chunk in 65536 1048576; do
    for n in $threads; do
        row encrypt "$chunk" "$n" "$plain"
    done
done
for chunk in 65536 1048576; do
    input=$work/cipher
    rm -f -- "$input"
    note "encrypting the test file with ${chunk}-byte chunks"
    "$xbcrypt" -a AES256 -f "$key" -s "$chunk" -t "$cores" -i "$plain" -o "$input" ||
        die "cannot encrypt the test file"
    cat "$input" >/dev/null
    for n in $threads; do
        row decrypt "$chunk" "$n" "$input"
        dec_speed=$speed
        row verify "$chunk" "$n" "$input"
        row rekey "$chunk" "$n" "$input"
    done
    rm -f -- "$work/cipher"
done
say ""
if [[ -n $baseline ]]; then
    say "baseline: $baseline, timed in the same rounds"
    say "$(printf '%-9s %6s %4s %9s %9s %7s' direction chunk N MB/s 'base MB/s' 'x base')"
    for line in "${base_rows[@]}"; do say "$line"; done
    say ""
fi

if command -v openssl >/dev/null; then
    k=$(od -An -tx1 -v "$key" | tr -d ' \n')
    iv=$(head -c 16 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
    best_t=''
    for ((r = 0; r < runs; r++)); do
        # A throw-away key on the command line: fine here, never for real data.
        read -r t _ < <(measure openssl enc -aes-256-ctr -K "$k" -iv "$iv" -in "$plain" -out /dev/null)
        if [[ -z $best_t ]] || awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then
            best_t=$t
        fi
    done
    say "reference: openssl enc -aes-256-ctr (AES-CTR only, 1 thread): $(mbps "$bytes" "$best_t") MB/s  [$(openssl version)]"
else
    say "reference: openssl not found, no reference line"
fi
say "load:     $(load) (1, 5, 15 min) at end"
if [[ $over == 1 ]]; then say "note:     peak RSS over the bound at a setting marked OVER"; fi
exit 0
