// Command shoal-bench measures a swarm of real manager daemons under a
// simulated fleet of workers (internal/fleet): how long the fleet takes to
// show Ready, how fast a large service converges, how quick node ls is and
// what the idle leader costs. It prints one line per figure, "name value
// unit".
//
//	go run ./cmd/shoal-bench --managers 3 --nodes 100 --tasks 1000
package main
