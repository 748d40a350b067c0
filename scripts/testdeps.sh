#!/usr/bin/env bash
# Installs the Debian packages the tests need and a fresh machine lacks:
# Chromium, which renders the HTML report in a test. It does nothing when
# they are there already, so `make test` stays fast on a warm machine.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)
# scripts/testservers.sh compiles a small launcher for DynamoDB Local.
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "testdeps: missing ${missing[*]}; install them (apt-get install -y ${missing[*]}) or run as root" >&2
  exit 1
fi
echo "testdeps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
