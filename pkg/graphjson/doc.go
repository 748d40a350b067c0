// Package graphjson decodes Microsoft Graph's JSON into pkg/model's types:
// authenticationMethod objects exactly as Graph returns them (DecodeMethod,
// DecodeMethodList) and directory snapshots, whose users carry their methods
// as those same Graph objects (DecodeDirectory, LoadDirectory).
//
// The package is pure apart from LoadDirectory's reading of one file: the
// Graph adapter (pkg/graph) fetches the bytes and hands them here.
package graphjson
