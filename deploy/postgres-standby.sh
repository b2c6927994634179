#!/bin/sh
# A hot standby of the `db` service (the `replicas` profile): on a new
# volume, a base backup of the primary with its recovery settings
# (`pg_basebackup -R`); then PostgreSQL as a standby that serves reads.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h db -U postgres -q; do sleep 1; done
    pg_basebackup -h db -U postgres -D "$PGDATA" -R -X stream --checkpoint=fast
    chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
