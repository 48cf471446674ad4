#!/usr/bin/env bash
# Upgrade an empty database to head, check the models and migrations agree,
# then check every downgrade runs and the upgrade runs again.
# DB_CHECK_URL names an empty database to use (default: a temporary SQLite file).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export APP_ENV=development FLASK_APP=wsgi
export DATABASE_URL="${DB_CHECK_URL:-sqlite:///$tmp/check.db}"
echo "db-check on ${DATABASE_URL%%:*}"
.venv/bin/flask db upgrade
.venv/bin/flask db check
.venv/bin/flask db downgrade base
.venv/bin/flask db upgrade
echo "db-check passed"
