# shellcheck shell=bash
# e2e_lib.sh - sourced by tests/e2e/test_mariadb.sh: named steps, and
# throwaway MariaDB servers.
#
# A server here is mariadbd started from this shell with --no-defaults (no
# /etc/mysql option file is read), its own datadir, socket and pid file under
# the suite's temporary directory, and --skip-networking (no TCP port), so it
# neither sees nor disturbs a system server that mariadb-server's postinst
# may have started.  It is stopped by its PID, never through the service.

# ---- steps ---------------------------------------------------------------
#
# step NAME NEEDS FUNCTION [ARGS...]: runs FUNCTION unless one of the steps
# named in NEEDS (space-separated, may be empty) did not pass, in which case
# NAME fails as "not run".  FUNCTION reports problems with `bad MESSAGE` and
# returns non-zero when the step failed.  Every step ends with one line,
# "ok: NAME (S s)" or "FAIL: NAME ...", so a log shows which step broke.

declare -A STEP_STATUS
STEPS_OK=0
STEPS_FAILED=0
STEP=setup

bad() { echo "  $STEP: $*"; }

step() {
    local name=$1 needs=$2 fn=$3 dep t0 t1 rc
    shift 3
    STEP=$name
    for dep in $needs; do
        if [ "${STEP_STATUS[$dep]:-}" != ok ]; then
            STEP_STATUS[$name]=failed
            STEPS_FAILED=$((STEPS_FAILED + 1))
            echo "FAIL: $name (not run: it needs step '$dep', which did not pass)"
            return 0
        fi
    done
    echo "---- $name"
    t0=${EPOCHREALTIME/./}
    "$fn" "$@"
    rc=$?
    t1=${EPOCHREALTIME/./}
    if [ "$rc" -eq 0 ]; then
        STEP_STATUS[$name]=ok
        STEPS_OK=$((STEPS_OK + 1))
        echo "ok: $name ($(seconds_since "$t0" "$t1") s)"
    else
        STEP_STATUS[$name]=failed
        STEPS_FAILED=$((STEPS_FAILED + 1))
        echo "FAIL: $name ($(seconds_since "$t0" "$t1") s)"
    fi
    return 0
}

# seconds_since T0 T1: the time between two ${EPOCHREALTIME/./} readings
# (microseconds), as seconds with one decimal.
seconds_since() {
    local d=$((($2 - $1) / 100000))
    echo "$((d / 10)).$((d % 10))"
}

# show_tail FILE: the last lines of a log, indented, for a failure message.
show_tail() {
    [ -s "$1" ] || return 0
    echo "  last lines of $1:"
    tail -n "${2:-15}" "$1" | sed 's/^/    /'
}

# expect_status GOT WANT WHAT [STDERR_FILE]
expect_status() {
    if [ "$1" -eq "$2" ]; then
        return 0
    fi
    bad "$3: exit status $1, expected $2"
    [ $# -ge 4 ] && show_tail "$4"
    return 1
}

# ---- servers ---------------------------------------------------------------

# Options every server here runs with.  The InnoDB settings trade durability
# for load speed (a crash only loses this throwaway data); persistent
# statistics are never recalculated in the background, so the mysql schema's
# statistics tables hold still between the original server and a restored one.
SERVER_OPTS=(
    --skip-networking
    --innodb-buffer-pool-size=256M
    --innodb-flush-log-at-trx-commit=0
    --innodb-doublewrite=0
    --innodb-stats-auto-recalc=0
    --skip-log-bin
    --max-connections=20
)
# mariadbd refuses to run as root unless told so; CI runs as root.  Any other
# user runs the server as itself and owns every file it makes.
if [ "$(id -u)" -eq 0 ]; then
    SERVER_OPTS+=(--user=root)
    INSTALL_USER=(--user=root)
else
    INSTALL_USER=()
fi

declare -A SERVER_PID

# server_install DATADIR LOG: a new datadir whose root@localhost logs in
# without a password (the servers never listen on TCP), no test database.
server_install() {
    if ! "$MARIADB_INSTALL_DB" --no-defaults --datadir="$1" "${INSTALL_USER[@]}" \
        --auth-root-authentication-method=normal --skip-test-db \
        --skip-name-resolve >"$2" 2>&1; then
        bad "mariadb-install-db --datadir=$1 failed"
        show_tail "$2"
        return 1
    fi
}

# server_start NAME DATADIR: starts mariadbd on DATADIR with socket
# $T/NAME.sock and waits until it answers (at most 120 s).
server_start() {
    local name=$1 datadir=$2 pid
    local sock=$T/$name.sock log=$T/$name.err
    "$MARIADBD" --no-defaults --datadir="$datadir" --socket="$sock" \
        --pid-file="$T/$name.pid" --log-error="$log" --tmpdir="$T/tmp" \
        "${SERVER_OPTS[@]}" >"$T/$name.out" 2>&1 &
    pid=$!
    SERVER_PID[$name]=$pid
    for _ in $(seq 1 240); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            unset 'SERVER_PID[$name]'
            bad "server $name (datadir $datadir) exited while starting"
            show_tail "$log"
            show_tail "$T/$name.out"
            return 1
        fi
        if [ -S "$sock" ] &&
            "$MARIADB_ADMIN" --no-defaults --socket="$sock" --user=root \
                --connect-timeout=2 ping >/dev/null 2>&1; then
            if [ "$(cat "$T/$name.pid" 2>/dev/null)" != "$pid" ]; then
                bad "server $name: pid file says '$(cat "$T/$name.pid" 2>/dev/null)', started pid $pid"
                return 1
            fi
            return 0
        fi
        sleep 0.5
    done
    bad "server $name did not answer on $sock within 120 s"
    show_tail "$log"
    return 1
}

# server_stop NAME: SIGTERM to its PID (a clean InnoDB shutdown), SIGKILL
# after 60 s.  Returns 1 if the server had to be killed or exited with an
# error.
server_stop() {
    local name=$1 pid rc
    pid=${SERVER_PID[$name]:-}
    [ -n "$pid" ] || return 0
    unset 'SERVER_PID[$name]'
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        bad "server $name (pid $pid) ignored SIGTERM for 60 s and was killed"
        return 1
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$rc" -ne 0 ]; then
        bad "server $name (pid $pid) exited with status $rc"
        show_tail "$T/$name.err"
        return 1
    fi
    return 0
}

server_stop_all() {
    local name
    for name in "${!SERVER_PID[@]}"; do
        server_stop "$name" >/dev/null
    done
}

# sql NAME [mariadb options...]: the mariadb client on server NAME as root,
# batch mode, no column names; the statements on stdin or in -e.
sql() {
    local name=$1
    shift
    "$MARIADB" --no-defaults --socket="$T/$name.sock" --user=root \
        --batch --skip-column-names "$@"
}

# table_list NAME: "schema<TAB>table<TAB>engine" of every base table of every
# schema but the two virtual ones, sorted.
table_list() {
    sql "$1" -e "SELECT table_schema, table_name, engine
        FROM information_schema.tables
        WHERE table_type = 'BASE TABLE'
          AND table_schema NOT IN ('information_schema', 'performance_schema')
        ORDER BY table_schema, table_name"
}

# checksums NAME LIST OUT: CHECKSUM TABLE ... EXTENDED on server NAME of every
# table in LIST (a table_list output) into OUT, "schema.table<TAB>checksum".
# A table the server cannot open gets NULL there (and fails the compare).
checksums() {
    local name=$1 list=$2 out=$3 tables
    tables=$(awk -F'\t' '{ printf "%s`%s`.`%s`", (NR > 1 ? ", " : ""), $1, $2 }' "$list")
    sql "$name" -e "CHECKSUM TABLE $tables EXTENDED" >"$out"
}
