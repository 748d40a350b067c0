// Package model holds credres's domain types: directory snapshots, users and
// their authentication methods, dependencies, assessments, decisions,
// method-change events, and the records that flow between the pipeline's
// stages, the stores and the queues.
//
// Decoding of outside wire formats lives elsewhere: pkg/entralog normalises
// Entra audit records into MethodChangeEvents and pkg/graphjson decodes
// Microsoft Graph authentication methods and directory snapshots. A Method
// encodes itself back as the Graph object it was decoded from.
//
// The package imports no SDK. Adapters (Graph, Event Hubs, stores, queues)
// translate to and from these types at their edge.
package model
