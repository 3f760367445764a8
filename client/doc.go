// Package client is a Go client for the swarm subset of the Docker Engine
// API, as the shoal daemon serves it. The CLI and the end-to-end tests use it.
//
// It owns three things:
//
//   - Endpoints and failover. A Client holds an ordered list of daemon
//     endpoints (unix:// or tcp://). Requests go to the current one; when a
//     request fails at the connection level (refused, no socket, reset before
//     any response) the client moves to the next endpoint and retries there.
//     An HTTP answer, even an error status, never causes a failover: the
//     server saw the request and decided.
//   - API version negotiation, the way the docker client does it: a HEAD
//     /_ping (GET on an unexpected status) on first use of an endpoint, then
//     every path is prefixed with /v<min(server, DefaultAPIVersion)>.
//   - The wire: request encoding (filters as {"key":{"value":true}}, query
//     booleans, JSON bodies, the X-Registry-Auth header) and response
//     decoding into the moby API types, for the swarm, node, service, task
//     and distribution endpoints. HTTP errors become *Error, whose text is
//     the daemon's message.
//   - Log streams: ServiceLogs and TaskLogs return a LogStream that splits
//     the daemon's multiplexed frames ([stream, 0, 0, 0, size] + payload)
//     into stdout and stderr lines, or hands out the raw body for TTY
//     services.
//
// The package never imports server packages; the moby API types module is
// the only vocabulary it shares with the daemon.
package client
