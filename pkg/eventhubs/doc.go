// Package eventhubs reads Entra audit logs from Azure Event Hubs for the
// scheduled ingest function.
//
// The Entra diagnostic setting streams the AuditLogs category into a hub
// (named insights-logs-auditlogs by Azure Monitor). Every minute the ingest
// function drains it within a time budget: Receivers.Open claims the hub's
// partitions, opens one receiver per partition at the partition's
// checkpoint, and each receiver hands out event bodies until a receive
// comes back empty (drained for now), the budget runs out, or its claim on
// the partition is half spent. Commit stores the position of the last event
// handed out, so delivery is at least once: anything read but not committed
// is read again by the next run, and the evaluation queue drops the repeats
// by audit record id.
//
// Checkpoints and partition claims live in DynamoDB (DynamoDBCheckpointStore,
// an azeventhubs.CheckpointStore with ETag compare-and-swap through
// conditional writes). A claim keeps a second, overlapping invocation off a
// partition that a live run is reading; a run that dies without releasing
// its claims holds those partitions until the claims expire.
//
// The SDK stays behind two small interfaces (hub and partitionSource), so
// the logic above is tested against an in-memory hub and a local DynamoDB;
// docs/EVENTHUBS.md describes the operator's side.
package eventhubs
