// Package e2e holds the end-to-end tests of shoal: real `shoal daemon`
// processes, each with its own data root, unix socket and loopback address
// (127.0.1.N), driven through the shoal CLI, the unmodified docker CLI and the
// Go client, and killed with SIGKILL to play the death of a machine.
//
// The package has no non-test code. TestMain builds the binary once; the
// cluster harness lives in harness_test.go, the scenarios in the other
// *_test.go files, and BenchmarkLeaderFailover in bench_test.go.
//
// Knobs: SHOAL_E2E_DEBUG=1 runs the daemons with --debug; a failed test
// prints the last 40 lines of every node's log (SHOAL_E2E_LOG_LINES=N for
// more); SHOAL_E2E_RACE=1 builds the daemon with the race detector and fails
// a test whose daemons report a data race; SHOAL_E2E_BIN=/path/to/shoal
// tests a prebuilt binary instead of building ./cmd/shoal.
package e2e
