package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// The local playground: several daemons of this very binary on this
// machine, each with its own data root, socket and loopback address
// (127.0.1.N), forming one swarm. Its layout lives under one directory:
//
//	<dir>/cluster.json        the nodes, their addresses and processes
//	<dir>/<node>/data         the node's --data-root
//	<dir>/<node>/shoal.sock   its Docker API socket
//	<dir>/<node>/daemon.log   its log
const playgroundFile = "cluster.json"

// defaultPlaygroundDir is where `shoal cluster` keeps its nodes.
func defaultPlaygroundDir() string {
	if d := os.Getenv("SHOAL_PLAYGROUND"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".shoal", "playground")
	}
	return filepath.Join(os.TempDir(), "shoal-playground")
}

// playground is the saved description of a local cluster.
type playground struct {
	Dir   string
	Nodes []*playNode
}

// playNode is one daemon of the playground.
type playNode struct {
	Name    string
	Addr    string // cluster address, 127.0.1.N:2377
	Manager bool
	PID     int
}

func (n *playNode) dir(p *playground) string    { return filepath.Join(p.Dir, n.Name) }
func (n *playNode) socket(p *playground) string { return filepath.Join(n.dir(p), "shoal.sock") }
func (n *playNode) host(p *playground) string   { return "unix://" + n.socket(p) }

// alive reports whether the node's daemon process runs.
func (n *playNode) alive() bool {
	return n.PID > 0 && syscall.Kill(n.PID, 0) == nil
}

func loadPlayground(dir string) (*playground, error) {
	b, err := os.ReadFile(filepath.Join(dir, playgroundFile))
	if err != nil {
		return nil, fmt.Errorf("no local cluster in %s (start one with `shoal cluster up`): %w", dir, err)
	}
	var p playground
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("corrupt %s: %w", playgroundFile, err)
	}
	p.Dir = dir
	return &p, nil
}

func (p *playground) save() error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.Dir, playgroundFile), b, 0o644)
}

func (p *playground) node(name string) (*playNode, error) {
	for _, n := range p.Nodes {
		if n.Name == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no node %s in the local cluster", name)
}

// managerHosts is the value for SHOAL_HOST: every manager's socket.
func (p *playground) managerHosts() string {
	s := ""
	for _, n := range p.Nodes {
		if n.Manager {
			if s != "" {
				s += ","
			}
			s += n.host(p)
		}
	}
	return s
}

func newClusterCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a local multi-node cluster on this machine (playground)",
		Args:  noArgs,
		RunE:  showHelp,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", defaultPlaygroundDir(), "Directory holding the local cluster (default $SHOAL_PLAYGROUND)")
	cmd.AddCommand(
		newClusterUpCommand(&dir),
		newClusterDownCommand(&dir),
		newClusterLsCommand(&dir),
		newClusterNodeCommand(&dir, "kill", "Kill a node like a machine death (SIGKILL to its process group)", syscall.SIGKILL),
		newClusterNodeCommand(&dir, "stop", "Stop a node cleanly (SIGTERM)", syscall.SIGTERM),
		newClusterStartCommand(&dir),
	)
	return cmd
}
