// Package fleet simulates worker nodes for scale tests and benchmarks.
//
// A simulated node is a real node as far as the managers can tell: it joins
// through the join RPC (TLS pinned to the token's CA digest, a CSR signed by
// the cluster), then runs a real agent session with that identity —
// heartbeats, the assignment long poll, batched task status reports. Only
// its runtime is fake: tasks run on the scripted executor of
// agent/exec/exectest, so they start no process. Many such nodes fit in one
// process.
//
// The package also starts shoal daemons as real processes (Daemon), so a
// benchmark or a test can put a fleet in front of real managers.
package fleet
