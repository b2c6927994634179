#!/bin/sh
# Run once by the postgres image on a new data volume: the two roles the
# service uses and its database. The owner migrates and seeds; the service
# role owns nothing, gets its rights from the owner at every start, and
# reads and writes under row-level security.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE kpss_owner LOGIN NOSUPERUSER PASSWORD '${KPSS_OWNER_PASSWORD}';
CREATE ROLE kpss_service LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${KPSS_SERVICE_PASSWORD}';
CREATE DATABASE kpss OWNER kpss_owner;
SQL
# Standbys (the `replicas` profile) stream from this server as the
# superuser over the compose network.
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
