// Package graph is credres's adapter for Microsoft Graph: it reads users,
// their authentication methods, directory roles and groups, and the
// authentication-methods registration report, and sends mail, returning
// pkg/model values. No Graph SDK type leaves the package.
//
// The hard part is Graph's budget for authentication-method and report
// reads: 5 requests per 10 seconds per app per tenant, each $batch item
// counting on its own. credres keeps inside it by design:
//
//   - a Pacer per tenant and throttling class, shared by the whole process,
//     grants requests only when they fit the budget, counting each from its
//     grant until one window after its response (Graph may have counted it
//     at any moment in between);
//   - reads of several users, and concurrent reads of one user, are gathered
//     into $batch requests of up to 20 items, as full as the budget allows;
//     a user asked for again before their read left is read once;
//   - only the failed items of a $batch are retried: after a 429 the class
//     waits out Retry-After (fractional seconds too), after a 503/504 the
//     item backs off exponentially with jitter; every wait and retry is
//     logged with its reason, and none outlasts the caller's deadline;
//   - sweeps read the registration report and then only the users whose row
//     changed since the caller's previous view.
//
// Methods are decoded from the bytes Graph sent by graphjson.DecodeMethodList,
// the snapshot format's own decoder, so a live read and an exported
// snapshot assess identically. docs/GRAPH.md lists the permissions and how
// to grant them; graphtest is a Graph-compatible server for tests.
package graph
