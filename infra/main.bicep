// credres, Azure side: the Event Hubs namespace and hub that the Entra
// diagnostic setting streams AuditLogs into, the consumer group credres
// reads, and the access credres reads it with.
//
// Deploy into a resource group (docs/DEPLOY.md, "Azure side"):
//
//   az deployment group create --resource-group <rg> \
//     --template-file infra/main.bicep \
//     --parameters namespaceName=<globally unique name> [receiverPrincipalId=<object id>]
//
// The Entra diagnostic setting itself is tenant-scoped: deploy
// infra/entra-diagnostic-setting.bicep at tenant scope, or run
// infra/entra-diagnostic-setting.sh, with this deployment's outputs.

targetScope = 'resourceGroup'

@description('Event Hubs namespace name, globally unique (6-50 characters: letters, digits, hyphens; starts with a letter).')
@minLength(6)
@maxLength(50)
param namespaceName string

@description('Azure region of the namespace.')
param location string = resourceGroup().location

@description('The hub Azure Monitor streams the AuditLogs category to; insights-logs-auditlogs is the name it uses by default.')
param hubName string = 'insights-logs-auditlogs'

@description('Partitions of the hub. The ingest function reads them in parallel; two are plenty for one tenant\'s audit log.')
@minValue(1)
@maxValue(32)
param partitionCount int = 2

@description('The consumer group credres reads, so that other readers of the hub keep their own position.')
param consumerGroupName string = 'credres'

@description('Create a Listen-only shared access policy on the hub, for the connection-string mode of the ingest function.')
param createListenRule bool = true

@description('Object id of the service principal of the Event Hubs app registration (its own, never the Graph app) to make Azure Event Hubs Data Receiver on the hub (Entra mode of the ingest function); empty for none.')
param receiverPrincipalId string = ''

@description('Tags for every resource.')
param tags object = {
  application: 'credres'
}

module eventHubs 'modules/eventhubs.bicep' = {
  name: 'credres-eventhubs'
  params: {
    namespaceName: namespaceName
    location: location
    hubName: hubName
    partitionCount: partitionCount
    consumerGroupName: consumerGroupName
    createListenRule: createListenRule
    tags: tags
  }
}

module receiver 'modules/receiver-role.bicep' = if (!empty(receiverPrincipalId)) {
  name: 'credres-eventhubs-receiver'
  params: {
    namespaceName: namespaceName
    hubName: hubName
    principalId: receiverPrincipalId
  }
  dependsOn: [
    eventHubs
  ]
}

@description('CREDRES_EVENTHUB_NAMESPACE: the fully qualified namespace.')
output namespaceHost string = eventHubs.outputs.namespaceHost

@description('CREDRES_EVENTHUB_NAME.')
output hubName string = hubName

@description('CREDRES_EVENTHUB_CONSUMER_GROUP.')
output consumerGroupName string = consumerGroupName

@description('The namespace policy the Entra diagnostic setting sends with (its eventHubAuthorizationRuleId).')
output diagnosticsRuleId string = eventHubs.outputs.diagnosticsRuleId

@description('The hub\'s Listen-only policy, for `az eventhubs eventhub authorization-rule keys list` (empty when not created).')
output listenRuleName string = eventHubs.outputs.listenRuleName
