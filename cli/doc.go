// Package cli is shoal's command-line client: the cobra commands with
// Docker's verbs, flags, table columns and messages (`shoal swarm init`,
// `shoal node ls`, `shoal service create`, `shoal info`, ...), one file per
// noun_verb. Service create, update, scale and rollback watch the service
// converge as docker does (progress.go), redrawing lines in place on a
// terminal.
//
// It talks to the daemon only through package client, never through server
// packages, and prints exactly what the docker CLI (28.2) prints for the same
// daemon answers, except that instructions name `shoal` instead of `docker`.
// Errors are rendered as docker renders them ("Error response from daemon:
// <message>" on stderr, exit status 1); Execute turns a command's outcome
// into the process exit status.
package cli
