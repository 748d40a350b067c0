// Package model holds credres's domain types and their JSON: directory
// snapshots, authentication methods as Microsoft Graph returns them,
// dependencies, assessments, decisions and method-change events normalised
// from Entra audit records.
//
// The package imports no SDK. Adapters (Graph, Event Hubs, stores, queues)
// translate to and from these types at their edge.
package model
