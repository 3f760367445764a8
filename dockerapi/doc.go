// Package dockerapi converts between shoal's domain model (package swarm) and
// the Docker Engine API wire types of github.com/moby/moby/api (types/swarm),
// so that the JSON shoal serves and reads is exactly what the docker CLI and
// the Docker Go SDK expect.
//
// It is serialisation only: no validation, no defaults beyond "absent on the
// wire keeps the base value" (and Docker's one replica for a replicated
// service that names no count), no I/O. Reading a service spec fails only on
// shapes shoal's model cannot hold (jobs, a template without a container).
// Times are emitted in UTC (the JSON is RFC 3339), object versions are
// Version.Index, durations are nanoseconds, and byte fields are base64 as
// encoding/json writes them.
//
// The package imports swarm and the moby API types only; callers that hold
// richer views (the control API's NodeView, the API server's Info) pass the
// pieces as arguments or in the small input structs declared here.
package dockerapi
