#!/usr/bin/env bash
# Installs, idempotently, what the tests need from Debian: Alertmanager 0.25 with amtool and
# Prometheus 2.42 (the differential-test oracles) and PostgreSQL (the shared store). Safe to
# run again: it only acts on what is missing.
set -euo pipefail

need_packages=()
command -v prometheus-alertmanager >/dev/null 2>&1 || need_packages+=(prometheus-alertmanager)
command -v amtool >/dev/null 2>&1 || need_packages+=(prometheus-alertmanager)
command -v prometheus >/dev/null 2>&1 || need_packages+=(prometheus)
command -v python3 >/dev/null 2>&1 || need_packages+=(python3)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "setup: installing ${need_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_packages[@]}" >/dev/null
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
