// Command shoal-bench measures a swarm of real manager daemons under a
// simulated fleet of workers (internal/fleet). It prints one line per
// figure, "name value unit", in this order: how long the fleet takes to
// show Ready; how fast a large service converges (tasks placed and reported
// running per second) and the CPU of the leader, the other managers and the
// simulated fleet meanwhile; p50/p99 latency of
// node ls, service ls and service create; the idle leader's CPU and
// resident memory; the time to run again the tasks of 10% of the nodes
// killed at once; leader failover (SIGKILL until another manager accepts a
// write; --failovers times, the dead manager restarting in between, median
// and worst); and the leader's Raft log and snapshot sizes along the way.
//
//	go run ./cmd/shoal-bench                       # quick form: 3 managers, 100 nodes, 1,000 tasks
//	go run ./cmd/shoal-bench --nodes 1000 --tasks 10000
package main
