#!/bin/sh
# One-shot (temporalio/admin-tools; scripts/cluster.sh runs it too, with the server built into
# .tools/): creates Temporal's two PostgreSQL databases and brings their schemas to the version
# of the server in use (SCHEMA_DIR). Safe to run on every `docker compose up`:
# `create` skips an existing database, `setup-schema -v 0.0` skips a database past 0.0, and
# `update-schema` applies only the versions not yet applied (a server upgrade upgrades the schema).
set -eu
: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${SQL_PASSWORD:?SQL_PASSWORD (the temporal database password) is not set}"
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"   # the schema folder of the server version in use

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  dir=${pair#*:}
  echo "schema of database $db"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned"
done
echo "Temporal schemas are up to date"
