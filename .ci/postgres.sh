# shellcheck shell=bash
# A throwaway PostgreSQL server for the store test suites.
#
# Usage (from .ci/run, or by hand in a shell):
#     source .ci/postgres.sh
#     pg_start            # installs PostgreSQL if needed, starts it, exports TOTP_ENROLL_PG_URL
#     trap pg_stop EXIT   # stops it and deletes its files, even after a half-done start
#
# pg_start: if `initdb` is not found (on PATH or in /usr/lib/postgresql/*/bin) it installs
# Debian's `postgresql` package. It creates a cluster in a fresh temporary directory owned
# by an unprivileged user (the server refuses to run as root), listening on 127.0.0.1 and
# on a unix socket in that directory, with trust authentication for the `postgres`
# superuser, waits until it accepts connections, and exports
#     TOTP_ENROLL_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
#     TOTP_ENROLL_PG_RESTART=<a script that restarts this server> (for one test)
# Nothing else on the machine is touched: no system service is started or configured.
#
# Settings (environment): PG_PORT (default: a free port from 55432 up), PG_RUN_AS (the
# unprivileged user when running as root; default `postgres` if it exists, else `nobody`),
# PG_FORCE_INSTALL=1 (run the apt-get path even when PostgreSQL is already there),
# PG_FSYNC (default off: a throwaway cluster; `on` for realistic benchmark figures).

_pg_log() { printf '[postgres.sh] %s\n' "$*" >&2; }

# Adds the newest /usr/lib/postgresql/*/bin to PATH if initdb is not already on it.
_pg_find_bin() {
    command -v initdb >/dev/null 2>&1 && return 0
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        PATH="$dir:$PATH"
        export PATH
        return 0
    fi
    return 1
}

_pg_install() {
    _pg_log "installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # On a machine without postgresql-common, tell its scripts not to create and start a
    # system cluster (we start our own); an existing configuration is left alone.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        $sudo mkdir -p /etc/postgresql-common &&
            echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            postgresql >/dev/null
}

# Runs "$@" as the unprivileged server user (or as is, when not root).
_pg_as_user() {
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$PG_RUN_AS" -- "$@"
    else
        su -s /bin/sh "$PG_RUN_AS" -c "$(printf '%q ' "$@")"
    fi
}

_pg_free_port() {
    local port=${1:-55432}
    while [ "$port" -lt 65000 ]; do
        if ! (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
    done
    return 1
}

# A script that restarts this cluster (fast shutdown, then start with the same options).
_pg_restart_script() {
    local as_user=""
    if [ "$(id -u)" -eq 0 ]; then
        as_user="runuser -u $PG_RUN_AS --"
        command -v runuser >/dev/null 2>&1 || as_user="su -s /bin/sh $PG_RUN_AS -c"
    fi
    printf '#!/bin/sh\n# Restarts the throwaway test cluster in %s.\n' "$PG_DIR"
    printf 'cd %q || exit 1\n' "$PG_DIR"
    if [ "$as_user" = "su -s /bin/sh $PG_RUN_AS -c" ]; then
        printf '%s %q\n' "$as_user" "$(command -v pg_ctl) -D $PG_DIR/data -m fast -w -t 60 restart >/dev/null"
    else
        printf '%s %q -D %q -m fast -w -t 60 restart >/dev/null\n' "$as_user" "$(command -v pg_ctl)" "$PG_DIR/data"
    fi
}

pg_start() {
    local started=$SECONDS
    # PG_FORCE_INSTALL=1 runs the apt path even where PostgreSQL is found (to test it).
    if [ -n "${PG_FORCE_INSTALL:-}" ] || ! _pg_find_bin; then
        _pg_install || { _pg_log "installing postgresql failed"; return 1; }
        _pg_find_bin || { _pg_log "postgresql installed but initdb not found"; return 1; }
        _pg_log "installed in $((SECONDS - started)) s"
    fi
    _pg_log "using $(command -v initdb) ($(initdb --version))"

    if [ "$(id -u)" -eq 0 ]; then
        if [ -z "${PG_RUN_AS:-}" ]; then
            if id postgres >/dev/null 2>&1; then PG_RUN_AS=postgres; else PG_RUN_AS=nobody; fi
        fi
        id "$PG_RUN_AS" >/dev/null 2>&1 || { _pg_log "user $PG_RUN_AS does not exist"; return 1; }
    fi

    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/totp-enroll-pg.XXXXXX") || return 1
    export PG_DIR
    chmod 755 "$PG_DIR"
    mkdir -p "$PG_DIR/data" "$PG_DIR/socket"
    [ "$(id -u)" -ne 0 ] || chown -R "$PG_RUN_AS" "$PG_DIR"
    chmod 700 "$PG_DIR/data"

    PG_PORT=${PG_PORT:-$(_pg_free_port 55432)} || { _pg_log "no free port"; return 1; }
    export PG_PORT

    # initdb and postgres run from a directory the unprivileged user can read.
    (cd "$PG_DIR" && _pg_as_user initdb -D "$PG_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1) ||
        (cd "$PG_DIR" && _pg_as_user initdb -D "$PG_DIR/data" -U postgres --auth=trust \
            --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1) ||
        { _pg_log "initdb failed:"; cat "$PG_DIR/initdb.log" >&2; return 1; }

    # fsync off by default: a throwaway test cluster; the tests check atomicity, not crash
    # safety (PG_FSYNC=on for benchmark figures a production server would see).
    (cd "$PG_DIR" && _pg_as_user pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-k $PG_DIR/socket -h 127.0.0.1 -p $PG_PORT -c fsync=${PG_FSYNC:-off} -c max_connections=200" \
        start >/dev/null) ||
        { _pg_log "the server did not start:"; tail -n 30 "$PG_DIR/server.log" >&2; return 1; }

    local i
    for i in $(seq 1 100); do
        if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -U postgres; then
            TOTP_ENROLL_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
            export TOTP_ENROLL_PG_URL
            # For the test that restarts the server between an engine's load and its write.
            _pg_restart_script >"$PG_DIR/restart.sh"
            TOTP_ENROLL_PG_RESTART="$PG_DIR/restart.sh"
            export TOTP_ENROLL_PG_RESTART
            _pg_log "ready in $((SECONDS - started)) s: TOTP_ENROLL_PG_URL=$TOTP_ENROLL_PG_URL"
            return 0
        fi
        sleep 0.1
    done
    _pg_log "the server is not accepting connections:"
    tail -n 30 "$PG_DIR/server.log" >&2
    return 1
}

# Stops the server and removes its directory. Safe to call more than once, and after a
# start that failed at any point.
pg_stop() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
        if [ "$(id -u)" -eq 0 ] && [ -z "${PG_RUN_AS:-}" ]; then
            PG_RUN_AS=$(stat -c %U "$PG_DIR/data" 2>/dev/null || echo nobody)
        fi
        if [ -f "$PG_DIR/data/postmaster.pid" ] && command -v pg_ctl >/dev/null 2>&1; then
            (cd "$PG_DIR" && _pg_as_user pg_ctl -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1) ||
                _pg_log "pg_ctl stop failed (see $PG_DIR/server.log)"
        fi
        # A server pg_ctl could not stop: end that one process (ours, by its pid file).
        if [ -f "$PG_DIR/data/postmaster.pid" ]; then
            local pid
            pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                kill -INT "$pid" 2>/dev/null || true
                local i
                for i in $(seq 1 100); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 0.1
                done
            fi
        fi
        rm -rf "$PG_DIR"
        _pg_log "stopped and removed $PG_DIR"
    fi
    unset PG_DIR TOTP_ENROLL_PG_URL TOTP_ENROLL_PG_RESTART
}
