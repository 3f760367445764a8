// Package apiserver serves the swarm subset of the Docker Engine HTTP API, so
// that the unmodified docker CLI and the Docker Go SDK can drive shoal.
//
// It owns the HTTP side only: routing (every route both unversioned and under
// /v{major}.{minor}/), API version checks, the headers Docker clients read
// (Api-Version, Ostype, Server, and the /_ping set), decoding requests and
// encoding answers through package dockerapi, and writing errors with the
// status of their class (writeError, through swarm.HTTPStatus: the one table,
// shared with the cluster-port RPCs). What a request means is decided
// elsewhere: node-local requests go to the Backend, cluster requests to the
// leader's Control, or are forwarded to the leader untouched.
//
// Handlers are small and alike: validate the query, find the Control (or
// forward), decode the body, call, encode.
package apiserver
