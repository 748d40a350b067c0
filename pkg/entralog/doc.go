// Package entralog normalises Entra ID log records into the method-change
// events of pkg/model.
//
// ParseAudit normalises Entra audit records (Event Hubs bodies, diagnostic
// records, Graph directoryAudit objects and lists) into MethodChangeEvents;
// its doc comment lists exactly what it accepts and docs/AUDIT.md explains
// which records matter and why. The work is in three steps, one file each:
// decode.go reads the records whatever their layout, classify.go decides from
// the activity whether a record matters, and changes.go reads which methods
// changed from the record's modified properties and result reason.
// onepass.go reads each record in one walk over its bytes when the record
// is plain, as nearly all are, and hands the rest to encoding/json.
//
// Parse takes audit and sign-in records mixed, as one Event Hub receives them
// when the diagnostic setting also sends SignInLogs: sign-in records become
// SignIns, the methods each sign-in's steps used (signin.go, with the mapping
// table of docs/USAGE.md in signin_methods.go), and every other record goes
// to the audit normalisation.
//
// The package is pure: it reads bytes and returns values, with no I/O.
package entralog
