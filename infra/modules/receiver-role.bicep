// Makes a service principal Azure Event Hubs Data Receiver on the audit log
// hub alone (not the namespace), for the Entra mode of the ingest function.

@description('Event Hubs namespace name.')
param namespaceName string

@description('Hub name.')
param hubName string

@description('Object id of the service principal (not the application id).')
param principalId string

// Built-in role "Azure Event Hubs Data Receiver".
var dataReceiverRoleId = 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: namespaceName
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  parent: namespace
  name: hubName
}

resource receiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hub
  name: guid(hub.id, principalId, dataReceiverRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiverRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'credres ingest reads Entra audit logs'
  }
}
