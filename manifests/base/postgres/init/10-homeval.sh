#!/bin/bash
# Runs once, on the first start with an empty data directory (docker-entrypoint-initdb.d).
# Creates the databases of MLflow and Airflow, homeval's schemas, and a read-only role for
# Grafana. Passwords come from the environment (Secrets), never from this file.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v grafana_password="$GRAFANA_DB_PASSWORD" <<'SQL'
CREATE DATABASE mlflow;
CREATE DATABASE airflow;
CREATE SCHEMA IF NOT EXISTS rawdata;
CREATE SCHEMA IF NOT EXISTS cleandata;
CREATE SCHEMA IF NOT EXISTS trainlogs;
CREATE ROLE grafana_reader LOGIN PASSWORD :'grafana_password';
GRANT USAGE ON SCHEMA rawdata, trainlogs TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA rawdata, trainlogs TO grafana_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA rawdata, trainlogs GRANT SELECT ON TABLES TO grafana_reader;
SQL
