#!/bin/bash
# A small locked-memory limit, as an unprivileged user.  Before Linux 5.16
# the default RLIMIT_MEMLOCK is 64 KiB, and every mode used to fail there
# with "cannot start the engine".  Run as `nobody` under prlimit:
#  - 64 KiB: -a NONE, --info, encrypt, decrypt and --rekey with a key at
#    -t 1 and -t 4 all work, with no warning (the secure pool is cut to the
#    limit and still locked); a thread count whose key schedules cannot fit
#    fails cleanly, naming the limit and how to raise it;
#  - 8 KiB (below libgcrypt's smallest pool): everything still works, and a
#    run that holds a key prints one warning saying how to raise the limit;
#    -a NONE and --info print none.
# Needs root (to become nobody), setpriv and prlimit; else skipped (77).
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! command -v prlimit >/dev/null; then
    echo "SKIP: needs root, setpriv and prlimit to run as nobody under a memlock limit"
    exit 77
fi
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
# Key files nobody can read, in a directory only nobody can enter.
chmod 711 "$T"
# A build under a private directory (a clone in mktemp -d): run a copy of
# the binary (the engine is linked in) from $T, which nobody can reach.
if ! "${AS_NOBODY[@]}" test -x "$XBCRYPT"; then
    cp "$XBCRYPT" "$T/xbcrypt" && chmod 755 "$T/xbcrypt"
    XBCRYPT=$T/xbcrypt
fi
if ! "${AS_NOBODY[@]}" test -x "$XBCRYPT"; then
    echo "SKIP: nobody cannot run $XBCRYPT (a directory above it is private)"
    exit 77
fi
NB=$T/nb
mkdir "$NB"
cp "$K32" "$NB/k1"
head -c 32 /dev/urandom >"$NB/k2"
chown -R nobody "$NB"
chmod 700 "$NB"
chmod 600 "$NB/k1" "$NB/k2"
PLAIN=$T/plain.bin
gen_plain 300000 "$PLAIN"

# xbn LIMIT ARGS...: xbcrypt as nobody under RLIMIT_MEMLOCK = LIMIT bytes.
xbn() {
    local limit=$1
    shift
    "${AS_NOBODY[@]}" prlimit --memlock="$limit" "$XBCRYPT" "$@" >"$W/out" 2>"$W/err"
    RC=$?
    check_grammar
}

for limit in 65536 8192; do
    # Empty input draws the empty-backup warning, and nothing about memory.
    case_ "$limit: -a NONE, empty input"
    xbn $limit -a NONE </dev/null
    expect_rc 0
    expect_err 'the output is an empty backup'
    expect_no_err 'locked'
    expect_no_err 'memory'

    case_ "$limit: -a NONE round trip"
    xbn $limit -a NONE <"$PLAIN"
    expect_rc 0
    expect_err_empty
    cp "$W/out" "$T/none.$limit"
    xbn $limit -d -a NONE <"$T/none.$limit"
    expect_rc 0
    expect_err_empty
    expect_out_same "$PLAIN"

    case_ "$limit: --info"
    xbn $limit --info <"$FIX/det/aes256_p200000.xbcrypt"
    expect_rc 0
    expect_err_empty

    for t in 1 4; do
        case_ "$limit: encrypt and decrypt -t $t"
        xbn $limit -a AES256 -f "$NB/k1" -t $t <"$PLAIN"
        expect_rc 0
        cp "$W/out" "$T/enc.$limit.$t"
        if [ $limit -ge 65536 ]; then
            expect_err_empty
        else
            # One warning, once, with the way out.
            expect_eq "$(grep -c '^xbcrypt: warning: ' "$W/err")" 1 "warnings"
            expect_err '^xbcrypt: warning: keys are held in memory that may be swapped to disk'
            expect_err 'RLIMIT_MEMLOCK, 8 KiB'
            expect_err 'ulimit -l'
            expect_err 'LimitMEMLOCK='
        fi
        xbn $limit -d -a AES256 -f "$NB/k1" -t $t <"$T/enc.$limit.$t"
        expect_rc 0
        expect_out_same "$PLAIN"
        [ $limit -ge 65536 ] && expect_err_empty

        case_ "$limit: --rekey -t $t"
        xbn $limit --rekey -a AES256 -f "$NB/k1" --new-encrypt-key-file="$NB/k2" -t $t \
            <"$T/enc.$limit.$t"
        expect_rc 0
        [ $limit -ge 65536 ] && expect_err_empty
        cp "$W/out" "$T/rekeyed"
        xbn $limit -d -a AES256 -f "$NB/k2" <"$T/rekeyed"
        expect_rc 0
        expect_out_same "$PLAIN"
    done
done

# More threads than 64 KiB of locked memory holds key schedules for: a clean
# failure that says what to do, no partial stream.
case_ "65536: -t 256 does not fit"
xbn 65536 -a AES256 -f "$NB/k1" -t 256 <"$PLAIN"
expect_fail
expect_err '^xbcrypt: error: out of locked memory for the AES key schedules'
expect_err 'RLIMIT_MEMLOCK, 64 KiB'
expect_err 'fewer threads'
expect_err 'ulimit -l'
expect_out_empty

finish
