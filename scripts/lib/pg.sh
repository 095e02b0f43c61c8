# Throwaway PostgreSQL 15 servers for tests (sourced, not run).
#   ensure_pg_deps
#   pg_temp_start DIR [PORT]   # exports PG_TEMP_URL
#   url=$(pg_temp_createdb NAME)
#   pg_temp_stop DIR

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# Debian's postgresql-15, unless its binaries are already there.
ensure_pg_deps() {
    [ -x "$PG_BIN/postgres" ] && return 0
    echo "==> apt-get install postgresql-15" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
}

# initdb, pg_ctl and postgres refuse to run as root: as root, they run as an unprivileged
# system user (Debian's `postgres` if the package made one, else `ciel-pg`).
_pg_user() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
    elif id -u postgres >/dev/null 2>&1; then
        echo postgres
    else
        id -u ciel-pg >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin ciel-pg
        echo ciel-pg
    fi
}

_pg_as_user() {
    if [ "$(id -u)" -eq 0 ]; then
        # From /, which that user can enter (initdb warns when it cannot stay in root's cwd).
        (cd / && runuser -u "$(_pg_user)" -- "$@")
    else
        "$@"
    fi
}

pg_temp_start() {
    local dir="${1:?usage: pg_temp_start DIR [PORT]}" port="${2:-55432}"
    mkdir -p "$dir" || return 1
    dir="$(cd "$dir" && pwd)"
    # Another server on the port would answer pg_isready below and be mistaken for ours.
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1; then
        echo "pg_temp_start: something already listens on 127.0.0.1:$port" >&2
        return 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$(_pg_user)" "$dir"
        if ! _pg_as_user test -w "$dir"; then
            echo "pg_temp_start: user $(_pg_user) cannot reach $dir (a parent directory is private)" >&2
            return 1
        fi
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        # C collation: text sorts by bytes, as SQLite's does, so ORDER BY agrees on both.
        if ! _pg_as_user "$PG_BIN/initdb" -D "$dir/data" --no-locale -E UTF8 -A trust -U postgres \
            >"$dir/initdb.log" 2>&1; then
            echo "pg_temp_start: initdb failed, see $dir/initdb.log" >&2
            return 1
        fi
        echo "include_if_exists = 'ciel-test.conf'" >>"$dir/data/postgresql.conf"
    fi
    # Rewritten at every start so a restart may change the port. Durability is pointless for
    # a throwaway server; the connection limit leaves room for parallel test pools.
    local sockdir="${dir//\'/\'\'}"
    cat >"$dir/data/ciel-test.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 128MB
EOF
    if [ "$(id -u)" -eq 0 ]; then chown "$(_pg_user)" "$dir/data/ciel-test.conf"; fi
    if ! _pg_as_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -W start >/dev/null 2>&1; then
        echo "pg_temp_start: pg_ctl start failed, see $dir/postgres.log" >&2
        return 1
    fi
    local i
    for ((i = 0; i < 150; i++)); do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres >/dev/null 2>&1; then
            PG_TEMP_DIR="$dir"
            PG_TEMP_PORT="$port"
            export PG_TEMP_URL="postgres://postgres@127.0.0.1:$port/postgres"
            return 0
        fi
        sleep 0.2
    done
    echo "pg_temp_start: no connection on 127.0.0.1:$port after 30 s; end of $dir/postgres.log:" >&2
    tail -n 20 "$dir/postgres.log" >&2 2>/dev/null
    return 1
}

pg_temp_createdb() {
    local name="${1:?usage: pg_temp_createdb NAME}"
    local port="${PG_TEMP_PORT:?pg_temp_createdb: no server, call pg_temp_start first}"
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name" || return 1
    echo "postgres://postgres@127.0.0.1:$port/$name"
}

pg_temp_stop() {
    local dir="${1:?usage: pg_temp_stop DIR}"
    # Immediate: the data is thrown away, so no checkpoint is worth waiting for.
    if [ -f "$dir/data/postmaster.pid" ]; then
        _pg_as_user "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ "${PG_TEMP_DIR:-}" = "$(cd "$dir" 2>/dev/null && pwd)" ]; then
        unset PG_TEMP_DIR PG_TEMP_PORT PG_TEMP_URL
    fi
    return 0
}

# pg_temp_socket_url DIR NAME [PORT]: database NAME of the server in DIR through its unix
# socket, which also reaches it from inside other network namespaces (the Tempest harness
# and isolated tests run in their own).
pg_temp_socket_url() {
    local dir="${1:?usage: pg_temp_socket_url DIR NAME [PORT]}" name="${2:?}" port="${3:-${PG_TEMP_PORT:-55432}}"
    dir="$(cd "$dir" && pwd)"
    echo "postgres://postgres@localhost:$port/$name?host=$dir"
}
