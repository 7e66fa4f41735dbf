#!/usr/bin/env bash
# Installs, idempotently, what the tests need from Debian: Alertmanager 0.25 with amtool and
# Prometheus 2.42 (the differential-test oracles) and PostgreSQL (the shared store). Safe to
# run again: it only acts on what is missing.
set -euo pipefail

need_packages=()
command -v prometheus-alertmanager >/dev/null 2>&1 || need_packages+=(prometheus-alertmanager)
command -v amtool >/dev/null 2>&1 || need_packages+=(prometheus-alertmanager)
command -v prometheus >/dev/null 2>&1 || need_packages+=(prometheus)
command -v promtool >/dev/null 2>&1 || need_packages+=(prometheus)
command -v python3 >/dev/null 2>&1 || need_packages+=(python3)
# `ip netns`: the partition test puts cluster nodes in network namespaces.
command -v ip >/dev/null 2>&1 || need_packages+=(iproute2)
# htpasswd makes the bcrypt hash of the basic-auth Prometheus in the datasources test.
command -v htpasswd >/dev/null 2>&1 || need_packages+=(apache2-utils)
# Time-interval locations are read from the system zone database, as Alertmanager reads them.
[ -f /usr/share/zoneinfo/Europe/Berlin ] || need_packages+=(tzdata)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "setup: installing ${need_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

# PostgreSQL: the store's second backend, tested against a real server on 127.0.0.1:5432
# (trust authentication on loopback, user postgres, database test).
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "setup: installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
pg_conf_dir=/etc/postgresql/$pg_version/main
if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$pg_conf_dir/pg_hba.conf"; then
  # Tests connect without a password; only loopback is trusted.
  sed -i '1i host all all 127.0.0.1/32 trust' "$pg_conf_dir/pg_hba.conf"
  if pg_isready -h 127.0.0.1 -q; then
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
fi
if ! pg_isready -h 127.0.0.1 -q; then
  echo "setup: starting PostgreSQL $pg_version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
  for _ in $(seq 1 50); do
    pg_isready -h 127.0.0.1 -q && break
    sleep 0.2
  done
  pg_isready -h 127.0.0.1
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
  echo "setup: creating database test" >&2
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test"
fi

# aiosmtpd: the SMTP server the email tests deliver to (and capture from) on loopback.
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "setup: installing aiosmtpd" >&2
  python3 -m pip install -q --break-system-packages aiosmtpd 2>/dev/null \
    || python3 -m pip install -q aiosmtpd
fi

if ! command -v cargo-nextest >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest" >&2
  cargo install cargo-nextest --locked
fi

# The packages' own services are not what the tests use (they start their own processes on
# 127.0.0.x ports), so make sure nothing holds the default ports by accident.
for name in prometheus-alertmanager prometheus; do
  if pgrep -x "$name" >/dev/null 2>&1; then
    echo "setup: note: a system $name is running; tests use their own ports" >&2
  fi
done
