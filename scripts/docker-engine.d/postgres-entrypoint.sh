#!/bin/sh
# Entrypoint of the locally built postgres:15-local image (see scripts/docker-engine).
#
# It honours what the official image's entrypoint honours for a test run:
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_HOST_AUTH_METHOD,
# POSTGRES_INITDB_ARGS and PGDATA, so that testcontainers' PostgresContainer
# cannot tell the two images apart. It runs as the unprivileged postgres user
# (the image's USER): PostgreSQL refuses to run as root. The interpreter is a
# static busybox, hence plain POSIX sh.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

fail() {
    echo "docker-entrypoint: $*" >&2
    exit 1
}

# Quote $1 as an SQL identifier: double every double quote, then wrap it.
quote_ident() {
    printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"
}

init_cluster() {
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    password=${POSTGRES_PASSWORD:-}

    if [ -z "$password" ] && [ "$method" != trust ]; then
        fail "POSTGRES_PASSWORD is empty; set it, or POSTGRES_HOST_AUTH_METHOD=trust"
    fi

    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    pwfile=$(mktemp)
    printf '%s\n' "$password" >"$pwfile"
    # --no-sync: a test server's files need not survive a power cut.
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as upstream.
    initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=trust --no-sync \
        ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "$pwfile"

    printf 'host all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"
    # The image carries no LLVM, so JIT compilation could never load anyway.
    printf "listen_addresses = '0.0.0.0'\njit = off\n" >>"$PGDATA/postgresql.auto.conf"

    if [ "$db" != postgres ]; then
        # Single-user mode creates the database without a throwaway server start.
        printf 'CREATE DATABASE %s;\n' "$(quote_ident "$db")" |
            postgres --single -j -D "$PGDATA" postgres >/dev/null
    fi
    echo "docker-entrypoint: initialised $PGDATA (user $user, database $db)"
}

# Like the official image: no command, or "-c ..." alone, means "postgres ...".
[ "$#" -gt 0 ] || set -- postgres
case "$1" in
-*) set -- postgres "$@" ;;
esac

if [ "$1" = postgres ]; then
    [ "$(id -u)" != 0 ] || fail "refusing to run PostgreSQL as root"
    [ -s "$PGDATA/PG_VERSION" ] || init_cluster
fi
exec "$@"
