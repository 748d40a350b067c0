// The Entra diagnostic setting that streams the AuditLogs category to the
// hub of infra/main.bicep. Entra diagnostic settings are tenant-scoped
// (microsoft.aadiam/diagnosticSettings), so this file deploys at tenant
// scope:
//
//   az deployment tenant create --location <region> \
//     --template-file infra/entra-diagnostic-setting.bicep \
//     --parameters eventHubAuthorizationRuleId=<diagnosticsRuleId output> \
//                  eventHubName=insights-logs-auditlogs
//
// A tenant-scope deployment needs Azure RBAC rights at the tenant root
// ("/"), which few administrators hold; infra/entra-diagnostic-setting.sh
// creates the same setting through the REST API with only the Entra
// Security Administrator role (docs/DEPLOY.md). Either way the caller also
// needs listkeys on the authorization rule (Contributor on its resource
// group is enough), and the tenant needs Entra ID P1 or P2.

targetScope = 'tenant'

@description('Name of the diagnostic setting.')
param settingName string = 'credres-auditlogs'

@description('Resource id of the namespace authorization rule with Manage, Send and Listen (main.bicep output diagnosticsRuleId).')
param eventHubAuthorizationRuleId string

@description('The hub to stream to.')
param eventHubName string = 'insights-logs-auditlogs'

resource setting 'Microsoft.AADIAM/diagnosticSettings@2017-04-01' = {
  name: settingName
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    logs: [
      {
        category: 'AuditLogs'
        enabled: true
      }
    ]
  }
}

@description('Resource id of the diagnostic setting.')
output settingId string = setting.id
