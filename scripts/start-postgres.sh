#!/usr/bin/env bash
# Start a local PostgreSQL for the test suite, best effort: this script never fails.
#
# On success it creates the login role `siklus` (password `siklus`) and the database
# `siklus_test` when missing, writes the SQLAlchemy URL to .ci/postgres-url (read by
# `make test`) and prints `export SIKLUS_TEST_POSTGRES_URL=...`. Otherwise it says why
# and the PostgreSQL tests are skipped.
#
# Debian/Ubuntu clusters (pg_lsclusters / pg_ctlcluster): cluster 15/main when present,
# else the first one listed. PostgreSQL is installed with apt-get only when running as
# root on a machine that has apt-get (CI).

set -u

ROLE=siklus
PASSWORD=siklus
DATABASE=siklus_test
URL_FILE="$(cd "$(dirname "$0")/.." && pwd)/.ci/postgres-url"

note() { echo "start-postgres: $*" >&2; }
give_up() {
    note "$*"
    note "PostgreSQL tests will be skipped (set SIKLUS_TEST_POSTGRES_URL to use a server of yours)."
    exit 0
}

rm -f "$URL_FILE"

is_root() { [ "$(id -u)" = 0 ]; }

# Run a command as the postgres OS user (from / so it never complains about the cwd).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        (cd / && "$@")
    elif is_root && command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u postgres -- "$@")
    elif is_root; then
        (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        (cd / && sudo -n -u postgres "$@")
    else
        return 1
    fi
}

if ! command -v pg_lsclusters >/dev/null 2>&1; then
    if is_root && command -v apt-get >/dev/null 2>&1; then
        note "PostgreSQL is not installed; installing it with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -q postgresql >&2; then
            apt-get update -q >&2 && apt-get install -y -q postgresql >&2 ||
                give_up "apt-get install postgresql failed."
        fi
    else
        give_up "PostgreSQL is not installed (pg_lsclusters not found); install it, e.g. apt-get install postgresql."
    fi
fi
command -v pg_lsclusters >/dev/null 2>&1 || give_up "pg_lsclusters is still missing after installing PostgreSQL."

# Pick the cluster: 15/main when present, else the first one; create one if there is none.
read -r VERSION CLUSTER PORT STATUS _ < <(pg_lsclusters --no-header 2>/dev/null | awk '$1 == "15" && $2 == "main"')
if [ -z "${VERSION:-}" ]; then
    read -r VERSION CLUSTER PORT STATUS _ < <(pg_lsclusters --no-header 2>/dev/null | head -n 1)
fi
if [ -z "${VERSION:-}" ]; then
    newest="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$newest" ] && is_root || give_up "no PostgreSQL cluster exists and none can be created (needs root)."
    note "creating cluster $newest/main"
    pg_createcluster "$newest" main >&2 || give_up "pg_createcluster $newest main failed."
    read -r VERSION CLUSTER PORT STATUS _ < <(pg_lsclusters --no-header | awk -v v="$newest" '$1 == v && $2 == "main"')
fi

cluster_online() {
    pg_lsclusters --no-header 2>/dev/null |
        awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c && $4 == "online" { ok = 1 } END { exit !ok }'
}

if [ "$STATUS" != "online" ]; then
    note "starting cluster $VERSION/$CLUSTER (port $PORT)"
    if is_root; then
        pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
    else
        as_postgres pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
    fi
    # "already running" (started meanwhile) also exits non-zero: judge by the state.
    cluster_online ||
        give_up "could not start cluster $VERSION/$CLUSTER (try: sudo pg_ctlcluster $VERSION $CLUSTER start)."
fi

for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || give_up "cluster $VERSION/$CLUSTER does not accept connections on 127.0.0.1:$PORT."

psql_admin() { as_postgres psql -X -q -p "$PORT" -v ON_ERROR_STOP=1 -tA "$@"; }

if psql_admin -c "SELECT 1" >/dev/null 2>&1; then
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
        note "creating role $ROLE"
        psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2 ||
            give_up "could not create role $ROLE."
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
        note "creating database $DATABASE"
        psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2 ||
            give_up "could not create database $DATABASE."
    fi
else
    note "cannot run psql as the postgres user; assuming role $ROLE and database $DATABASE exist"
fi

URL="postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
PGPASSWORD="$PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DATABASE" -tAc "SELECT 1" >/dev/null 2>&1 ||
    give_up "cannot log in as $ROLE to $DATABASE on 127.0.0.1:$PORT (check pg_hba.conf allows password logins)."

mkdir -p "$(dirname "$URL_FILE")"
echo "$URL" >"$URL_FILE"
note "PostgreSQL $VERSION/$CLUSTER is ready"
echo "export SIKLUS_TEST_POSTGRES_URL=$URL"
