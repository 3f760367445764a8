// Package chaos owns shoal's fault-injection harness: a cluster of real
// shoal daemons, each in a network and PID namespace of its own (a "host"
// with a private address on a test bridge), the faults injected into those
// hosts (machine death, freeze, partitions, one-way partitions, latency and
// loss, daemon restarts), a recorded client workload, and the checkers of
// the invariants (linearizability of service operations, no lost
// acknowledged write, one leader per term, no write acknowledged by a
// minority, convergence after healing, at most one running task per slot,
// clear errors instead of hangs without quorum).
//
// The quick suite runs as the package's tests (root only); the soak runs
// from cmd/shoal-chaos. See docs/fault-injection.md.
package chaos
