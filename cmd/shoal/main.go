// Command shoal is the node daemon (shoal daemon) and the command-line
// client (every other command). It only dispatches: the daemon lives in
// package node, the client commands in package cli.
package main

import (
	"os"

	"github.com/shoal-project/shoal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	cli.Version = version
	root := cli.NewRootCommand()
	root.AddCommand(newDaemonCommand())
	os.Exit(cli.Execute(root))
}
