// Package events embeds the sample inputs: the sample tenant, the example
// policy and sample Entra audit events (Event Hubs bodies). They are the
// defaults of `credres demo` and fixtures for tests.
package events

import "embed"

// Files holds tenant.json, policy-example.yaml and audit/*.json.
//
//go:embed tenant.json policy-example.yaml audit/*.json
var Files embed.FS
