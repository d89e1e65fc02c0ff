#!/usr/bin/env bash
# Installs (if missing) and starts a private PostgreSQL cluster for the
# projector's PostgreSQL tests, then writes the DSN for the caller to source.
#
#   bash .ci/postgres.sh            # prints the DSN, writes $SAMPAN_PG_ENV
#   . "${SAMPAN_PG_ENV:-/tmp/sampan-pg/env}"   # exports SAMPAN_PG_DSN
#
# Idempotent and fast on a second run: nothing is installed or initialised
# twice, and an already running cluster is reused. The cluster is our own
# (initdb into $SAMPAN_PG_DIR, our own port, listening on 127.0.0.1 only), so
# it never touches the machine's default cluster or another engineer's.
#
# Settings (environment):
#   SAMPAN_PG_DIR   cluster and state directory   (default /tmp/sampan-pg)
#   SAMPAN_PG_PORT  TCP port on 127.0.0.1         (default 54329)
#   SAMPAN_PG_ENV   file the export line goes to  (default $SAMPAN_PG_DIR/env)
set -euo pipefail

dir="${SAMPAN_PG_DIR:-/tmp/sampan-pg}"
port="${SAMPAN_PG_PORT:-54329}"
envfile="${SAMPAN_PG_ENV:-$dir/env}"
db=sampan
user=sampan
pass=sampan

# 1. Debian's postgresql, unless a server binary is already there.
find_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}
if ! bindir="$(find_bindir)"; then
	echo "postgres.sh: installing Debian's postgresql" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends postgresql >/dev/null
	bindir="$(find_bindir)"
fi

# PostgreSQL refuses to run as root: the cluster belongs to the postgres
# user (created by the Debian package).
run_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

data="$dir/data"
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi

# 2. A cluster of our own, initialised once. Durability settings are relaxed
# because this cluster only ever holds test data: the projector's own
# guarantees come from transactions, which fsync does not change.
if [ ! -f "$data/PG_VERSION" ]; then
	run_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 64MB
EOF
fi

# 3. Start it unless it is already running.
if ! run_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
	run_pg "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$dir/server.log" >&2; exit 1; }
fi

# 4. The role and database, created once.
psql_su() { run_pg psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }
if [ "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
	psql_su -d postgres -c "CREATE ROLE $user LOGIN PASSWORD '$pass'"
fi
if [ "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
	psql_su -d postgres -c "CREATE DATABASE $db OWNER $user"
fi

dsn="postgres://$user:$pass@127.0.0.1:$port/$db?sslmode=disable"
mkdir -p "$(dirname "$envfile")"
printf 'export SAMPAN_PG_DSN=%q\n' "$dsn" >"$envfile"
echo "postgres.sh: PostgreSQL ($("$bindir/postgres" --version)) on 127.0.0.1:$port; source $envfile" >&2
echo "$dsn"
