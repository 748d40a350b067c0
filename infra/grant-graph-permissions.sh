#!/usr/bin/env bash
# Gives the credres app registration the Microsoft Graph application
# permissions it reads the tenant with, and grants them (admin consent).
#
#   infra/grant-graph-permissions.sh --app-id <application id> [--graph-url URL] [--dry-run]
#   infra/grant-graph-permissions.sh --create <display name>   [--graph-url URL] [--dry-run]
#
# Run it signed in with `az login` as a Global Administrator or Privileged
# Role Administrator of the tenant (granting Graph application permissions
# needs one of them). --dry-run prints every change instead of making it;
# look-ups still run. It is safe to run again: granted permissions are
# skipped. Graph is the one of the Azure CLI's cloud (`az cloud set` for a
# national cloud); --graph-url names another service root.
#
# The permissions are the least-privileged set of docs/GRAPH.md, all
# application permissions and read-only (pkg/graph/graphperm lists them; a
# test keeps this script, docs/GRAPH.md and docs/DEPLOY.md in step with it):
#   UserAuthenticationMethod.Read.All  users' methods
#   AuditLog.Read.All                  the authentication methods registration report (one
#                                      user's row by id needs it; no other permission does)
#   User.Read.All                      profiles, transitive memberships (policy tiers) and
#                                      the lists of users' registered and owned devices
#   RoleManagement.Read.Directory      directory role names in those memberships, and the
#                                      roles users are eligible for (Privileged Identity Management)
#   Device.Read.All                    those devices' operating system and trust type
#   Policy.Read.All                    the tenant's Conditional Access policies (and its
#                                      authentication methods policy and strengths)
# Mail.Send is deliberately not granted here: in Entra it would let the app
# send as any mailbox. Grant it in Exchange Online with RBAC for
# Applications, scoped to the sender mailbox (docs/GRAPH.md).
set -euo pipefail

readonly GRAPH_APP_ID=00000003-0000-0000-c000-000000000000
readonly PERMISSIONS=(UserAuthenticationMethod.Read.All AuditLog.Read.All User.Read.All RoleManagement.Read.Directory Device.Read.All Policy.Read.All)

app_id=""
create_name=""
graph_url=""
dry_run=0

usage_lines=2,14
# shellcheck source=infra/cli.sh
. "$(dirname "$0")/cli.sh"
parse_options --app-id=app_id --create=create_name --graph-url=graph_url --dry-run=dry_run! -- "$@"
if [[ -z "$app_id" && -z "$create_name" ]] || [[ -n "$app_id" && -n "$create_name" ]]; then
  echo "give exactly one of --app-id and --create" >&2
  usage
fi

# change prints a command that changes the tenant, and runs it unless this
# is a dry run.
change() {
  printf '+ %q' "$1" >&2
  printf ' %q' "${@:2}" >&2
  printf '\n' >&2
  if ((dry_run == 0)); then
    "$@"
  fi
}

command -v az >/dev/null || { echo "the Azure CLI (az) is required" >&2; exit 1; }
tenant_id=$(az account show --query tenantId -o tsv)
echo "tenant: $tenant_id" >&2
if [[ -z "$graph_url" ]]; then
  # The Graph of the CLI's cloud: graph.microsoft.com, graph.microsoft.us,
  # microsoftgraph.chinacloudapi.cn, ...
  graph_url="$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv)"
  graph_url="${graph_url%/}/v1.0"
fi
graph_url="${graph_url%/}"
echo "graph: $graph_url" >&2

# The application and its service principal.
if [[ -n "$create_name" ]]; then
  app_id=$(change az ad app create --display-name "$create_name" --sign-in-audience AzureADMyOrg --query appId -o tsv)
  app_id=${app_id:-"<new application id>"}
else
  az ad app show --id "$app_id" --query appId -o tsv >/dev/null
fi
sp_id=$(az ad sp show --id "$app_id" --query id -o tsv 2>/dev/null || true)
if [[ -z "$sp_id" ]]; then
  sp_id=$(change az ad sp create --id "$app_id" --query id -o tsv)
  sp_id=${sp_id:-"<new service principal object id>"}
fi
graph_sp_id=$(az ad sp show --id "$GRAPH_APP_ID" --query id -o tsv)

granted=""
if ((dry_run == 0)) || [[ "$sp_id" != "<"* ]]; then
  granted=$(az rest --method get \
    --url "$graph_url/servicePrincipals/$sp_id/appRoleAssignments" \
    --query "value[?resourceId=='$graph_sp_id'].appRoleId" -o tsv 2>/dev/null || true)
fi

for permission in "${PERMISSIONS[@]}"; do
  role_id=$(az ad sp show --id "$GRAPH_APP_ID" \
    --query "appRoles[?value=='$permission' && contains(allowedMemberTypes, 'Application')].id | [0]" -o tsv)
  if [[ -z "$role_id" ]]; then
    echo "Microsoft Graph has no application permission $permission" >&2
    exit 1
  fi
  # Declared on the app registration, so that the portal shows what credres needs ...
  change az ad app permission add --id "$app_id" --api "$GRAPH_APP_ID" --api-permissions "$role_id=Role"
  # ... and granted to its service principal: this is the admin consent.
  if grep -qx "$role_id" <<<"$granted"; then
    echo "$permission: already granted" >&2
    continue
  fi
  change az rest --method post \
    --url "$graph_url/servicePrincipals/$sp_id/appRoleAssignments" \
    --headers Content-Type=application/json \
    --body "{\"principalId\":\"$sp_id\",\"resourceId\":\"$graph_sp_id\",\"appRoleId\":\"$role_id\"}" \
    --output none
  if ((dry_run)); then
    echo "$permission: would be granted" >&2
  else
    echo "$permission: granted" >&2
  fi
done

cat >&2 <<SUMMARY

Done.
  tenant id (TenantId parameter)          $tenant_id
  application id (ClientId parameter)     $app_id
  service principal object id             $sp_id
    (not for receiverPrincipalId: ingest reads Event Hubs with a connection
    string or an app registration of its own, docs/DEPLOY.md, A5)
Next: give the app a credential and store it in AWS Secrets Manager (docs/DEPLOY.md, step A4).
SUMMARY
