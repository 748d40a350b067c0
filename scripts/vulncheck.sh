#!/usr/bin/env bash
# Reports known vulnerabilities that credres's code can reach, in its modules and in the Go
# standard library of the toolchain that builds it.
#
# govulncheck normally reads vuln.go.dev, which CI cannot reach. The same database is
# published as the Go module golang.org/x/vulndb, whose data/osv folder holds every
# report as an OSV file; govulncheck reads such a folder directly (-db file://...). Both
# are fetched through the Go module proxy at pinned versions, so a run is repeatable: move
# VULNDB_VERSION forward to learn of newer advisories.
#
# Exit status: 0 when nothing reachable is found, 3 when something is (govulncheck's own).
set -euo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK_VERSION="v1.9.0"
VULNDB_VERSION="v0.0.0-20261105234957-e22db6528018" # the database as of 2026-11-05

go_cmd="${GO:-go}"
vulndb_dir=$("$go_cmd" mod download -json "golang.org/x/vulndb@${VULNDB_VERSION}" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ ! -d "$vulndb_dir/data/osv" ]; then
  echo "vulncheck: golang.org/x/vulndb@${VULNDB_VERSION} has no data/osv folder (got '${vulndb_dir}')" >&2
  exit 1
fi
echo "vulncheck: $("$go_cmd" env GOVERSION), database golang.org/x/vulndb@${VULNDB_VERSION}" >&2
exec "$go_cmd" run "golang.org/x/vuln/cmd/govulncheck@${GOVULNCHECK_VERSION}" \
  -db "file://${vulndb_dir}/data/osv" "$@" ./...
