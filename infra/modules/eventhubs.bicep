// The Event Hubs namespace (Standard, one throughput unit, no auto-inflate),
// the audit log hub with its credres consumer group, and two shared access
// policies: one on the namespace for Azure Monitor to send with, and a
// Listen-only one on the hub for credres to read with.

@description('Event Hubs namespace name, globally unique.')
param namespaceName string

@description('Azure region.')
param location string

@description('Hub name.')
param hubName string

@description('Partition count of the hub.')
param partitionCount int

@description('Consumer group credres reads.')
param consumerGroupName string

@description('Create the hub\'s Listen-only policy.')
param createListenRule bool

@description('Tags.')
param tags object

var listenRuleName = 'credres-listen'

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    isAutoInflateEnabled: false
    minimumTlsVersion: '1.2'
    // Azure Monitor sends through a shared access policy, so local (SAS)
    // authentication stays on.
    disableLocalAuth: false
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: {
    // Seven days, the Standard tier's most: ingest drains every minute, but
    // when it stops (a broken credential on a Friday evening) the hub keeps
    // a week of audit events for it to catch up on. The daily sweep catches
    // what a longer outage would lose. Retention costs nothing extra on
    // Standard.
    messageRetentionInDays: 7
    partitionCount: partitionCount
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
  properties: {
    userMetadata: 'credres ingest'
  }
}

// Azure Monitor needs Manage, Send and Listen on the policy a diagnostic
// setting names; it is a namespace-level policy.
resource diagnosticsRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: namespace
  name: 'entra-diagnostics'
  properties: {
    rights: [
      'Manage'
      'Send'
      'Listen'
    ]
  }
}

// credres only reads: Listen on this hub alone. Its connection string
// carries EntityPath=<hub>, which the ingest function accepts.
resource listenRule 'Microsoft.EventHub/namespaces/eventhubs/authorizationRules@2024-01-01' = if (createListenRule) {
  parent: hub
  name: listenRuleName
  properties: {
    rights: [
      'Listen'
    ]
  }
}

// The namespace's own endpoint (https://<name>.servicebus.windows.net:443/
// in the public cloud), so that national clouds get their own host name.
@description('The fully qualified namespace host name.')
output namespaceHost string = split(split(namespace.properties.serviceBusEndpoint, '://')[1], ':')[0]

@description('Resource id of the namespace policy for the diagnostic setting.')
output diagnosticsRuleId string = diagnosticsRule.id

@description('Name of the hub\'s Listen-only policy, empty when not created.')
output listenRuleName string = createListenRule ? listenRuleName : ''
