#!/usr/bin/env bash
# Creates (or updates) the Entra diagnostic setting that streams the
# AuditLogs category to the credres hub, through the Azure Resource Manager
# REST API: the same setting as infra/entra-diagnostic-setting.bicep, without
# the tenant-root rights a tenant-scope deployment needs.
#
#   infra/entra-diagnostic-setting.sh --rule-id <diagnosticsRuleId> [--hub <hub>] [--name <setting>]
#                                     [--arm-url URL] [--dry-run]
#
# --rule-id is the diagnosticsRuleId output of infra/main.bicep: the
# namespace's authorization rule with Manage, Send and Listen. Run it signed
# in with `az login` as an Entra Security Administrator who may also list
# the rule's keys (Contributor on its resource group). The tenant needs
# Entra ID P1 or P2. Azure Resource Manager is the one of the Azure CLI's
# cloud (`az cloud set` for a national cloud); --arm-url names another.
set -euo pipefail

readonly API_VERSION=2017-04-01
rule_id=""
hub="insights-logs-auditlogs"
name="credres-auditlogs"
arm_url=""
dry_run=0

usage_lines=2,15
# shellcheck source=infra/cli.sh
. "$(dirname "$0")/cli.sh"
parse_options --rule-id=rule_id --hub=hub --name=name --arm-url=arm_url --dry-run=dry_run! -- "$@"
[[ -n "$rule_id" ]] || { echo "--rule-id is required" >&2; usage; }
case "$rule_id" in
  /subscriptions/*/providers/Microsoft.EventHub/namespaces/*/authorizationRules/* | \
  /subscriptions/*/providers/Microsoft.EventHub/namespaces/*/authorizationrules/*) ;;
  *) echo "--rule-id must be a namespace authorization rule's resource id" >&2; exit 2 ;;
esac

if [[ -z "$arm_url" ]]; then
  command -v az >/dev/null || { echo "the Azure CLI (az) is required (or give --arm-url)" >&2; exit 1; }
  # management.azure.com, management.usgovcloudapi.net, ...
  arm_url=$(az cloud show --query endpoints.resourceManager -o tsv)
fi
arm_url="${arm_url%/}"
url="$arm_url/providers/microsoft.aadiam/diagnosticSettings/$name?api-version=$API_VERSION"
body=$(printf '{"properties":{"eventHubAuthorizationRuleId":"%s","eventHubName":"%s","logs":[{"category":"AuditLogs","enabled":true}]}}' "$rule_id" "$hub")

printf '+ az rest --method put --url %q --body %q\n' "$url" "$body" >&2
if ((dry_run)); then
  exit 0
fi
command -v az >/dev/null || { echo "the Azure CLI (az) is required" >&2; exit 1; }
az rest --method put --url "$url" --headers Content-Type=application/json --body "$body" --output none
# Read it back: the categories and the hub Entra will stream to.
az rest --method get --url "$url" \
  --query "{name: name, hub: properties.eventHubName, logs: properties.logs[?enabled].category}" -o jsonc
