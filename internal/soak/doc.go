// Package soak holds the fault-injection soak: the proof that the pipeline
// loses nothing and does nothing twice. Its test drives the real stages
// (ingest, evaluate, nudge, ticket, sweep) against DynamoDB Local and the
// SQS server through a seeded storm of audit events, while an injector
// fails a share of every outside call and kills handlers between their
// steps, and checks the final state against an oracle computed from the
// directory snapshots alone (docs/TESTING.md, The soak).
//
// The package has no code of its own beyond this comment. `make test` plays
// two short storms (40 users, 400 events, fixed seeds); `make soak` plays
// the storm its flags describe (150 users and 1 500 events by default,
// SOAK_FLAGS=-soak.full for 5 000 users and 50 000 events; docs/TESTING.md).
package soak
