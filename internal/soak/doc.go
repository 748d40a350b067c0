// Package soak holds the fault-injection soak: the proof that the pipeline
// loses nothing and does nothing twice. Its test drives the real stages
// (ingest, evaluate, nudge, ticket, sweep) against DynamoDB Local and the
// SQS server through a seeded storm of audit events, while an injector
// fails a share of every outside call and kills handlers between their
// steps, and checks the final state against an oracle computed from the
// directory snapshots alone (docs/TESTING.md, The soak).
//
// The package has no code of its own beyond this comment. `make soak` runs
// a short storm (SOAK_FLAGS=-soak.full the full one); `make test` skips it
// while a seed that still finds a defect is open (docs/TESTING.md).
package soak
