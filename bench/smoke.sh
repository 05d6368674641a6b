#!/usr/bin/env bash
# bench/smoke.sh RUN_SH BUILD_DIR - the 'bench-smoke' test: run.sh on a
# 16 MiB file in quick mode must exit 0 and print a well-formed row for every
# direction (encrypt, decrypt, verify, rekey; the last two with their ratio
# to decrypt and its target), chunk size and thread count, each with its
# limit, ratio and one-stream limit, and the openssl
# line if openssl is there.  No speed is asserted: MB/s, limit and ratio only have to be numbers.
set -uo pipefail
export LC_ALL=C

run_sh=${1:?usage: smoke.sh RUN_SH BUILD_DIR}
build=${2:?usage: smoke.sh RUN_SH BUILD_DIR}
report=$(mktemp "${TMPDIR:-/var/tmp}/xbcrypt-bench-smoke.XXXXXX") || exit 1
trap 'rm -f -- "$report"' EXIT

BENCH_QUICK=1 bash "$run_sh" -o "$report" 16 "$build"
rc=$?
if [[ $rc != 0 ]]; then
    echo "FAIL: run.sh exited $rc" >&2
    exit 1
fi

fail=0
num='[0-9]+\.[0-9]+'
for n in $(printf '%s\n' 1 2 "$(nproc)" | sort -n -u); do
    for direction in encrypt decrypt verify rekey; do
        for chunk in 64K 1M; do
            row="^$direction +$chunk +$n +$num +$num +$num +$num +$num +$num +(OK|OVER)"
            case $direction in
            verify) row+=" +$num +0\\.90 +(met|LOW)\$" ;;
            rekey) row+=" +$num +0\\.45 +(met|LOW)\$" ;;
            *) row+="\$" ;;
            esac
            count=$(grep -cE "$row" "$report")
            if [[ $count != 1 ]]; then
                echo "FAIL: $count rows for $direction, chunk $chunk, N=$n (want 1)" >&2
                fail=1
            fi
        done
    done
done
rows=$(grep -cE '^(encrypt|decrypt|verify|rekey) ' "$report")
want=$((8 * $(printf '%s\n' 1 2 "$(nproc)" | sort -n -u | wc -l)))
if [[ $rows != "$want" ]]; then
    echo "FAIL: $rows table rows, want $want" >&2
    fail=1
fi
if command -v openssl >/dev/null && ! grep -qE "^reference: openssl .*: $num MB/s" "$report"; then
    echo "FAIL: no openssl reference line" >&2
    fail=1
fi
for field in '^machine: ' '^xbcrypt: +xbcrypt ' '^limit: '; do
    grep -qE "$field" "$report" || { echo "FAIL: no line matching '$field'" >&2; fail=1; }
done
[[ $fail == 0 ]] && echo "bench smoke: $rows rows, all well-formed"
exit $fail
