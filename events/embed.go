// Package events embeds the sample inputs: the sample tenant, the example
// policy, sample Entra audit events and sample sign-ins (Event Hubs bodies
// and a Graph page). They are the defaults of `credres demo` and fixtures
// for tests.
package events

import "embed"

// Files holds tenant.json, policy-example.yaml, audit/*.json and
// signin/*.json.
//
//go:embed tenant.json policy-example.yaml audit/*.json signin/*.json
var Files embed.FS
