// Package model holds credres's domain types and their JSON: directory
// snapshots, authentication methods as Microsoft Graph returns them,
// dependencies, assessments, decisions and method-change events normalised
// from Entra audit records.
//
// ParseAudit normalises Entra audit records (Event Hubs bodies, diagnostic
// records, Graph directoryAudit objects and lists) into MethodChangeEvents;
// its doc comment lists exactly what it accepts and docs/AUDIT.md explains
// which records matter and why.
//
// The package imports no SDK. Adapters (Graph, Event Hubs, stores, queues)
// translate to and from these types at their edge.
package model
