package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newClusterDownCommand(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every node of the local cluster and delete it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPlayground(*dir)
			if err != nil {
				return err
			}
			for _, n := range p.Nodes {
				stopPlayNode(cmd.Context(), n, syscall.SIGTERM)
			}
			if err := os.RemoveAll(p.Dir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Local cluster in %s removed.\n", p.Dir)
			return nil
		},
	}
}

// stopPlayNode signals a node's process group and waits for it to end,
// killing it if SIGTERM is not enough.
func stopPlayNode(ctx context.Context, n *playNode, sig syscall.Signal) {
	if !n.alive() {
		return
	}
	_ = syscall.Kill(-n.PID, sig)
	deadline := time.Now().Add(10 * time.Second)
	for n.alive() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond) // polling a foreign process: there is no event to wait on
	}
	if n.alive() {
		_ = syscall.Kill(-n.PID, syscall.SIGKILL)
	}
}

func newClusterNodeCommand(dir *string, verb, short string, sig syscall.Signal) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NODE",
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPlayNode(cmd, *dir, args[0], func(p *playground, n *playNode) error {
				if !n.alive() {
					return fmt.Errorf("node %s is not running", n.Name)
				}
				stopPlayNode(cmd.Context(), n, sig)
				return nil
			})
		},
	}
}

func newClusterStartCommand(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "start NODE",
		Short: "Start a stopped or killed node again, with its data intact",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPlayNode(cmd, *dir, args[0], func(p *playground, n *playNode) error {
				if n.alive() {
					return fmt.Errorf("node %s is already running", n.Name)
				}
				if err := startPlayNode(cmd.Context(), p, n); err != nil {
					return err
				}
				return p.save()
			})
		},
	}
}

func newClusterLsCommand(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the nodes of the local cluster and whether they run",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPlayground(*dir)
			if err != nil {
				return err
			}
			printPlayground(cmd.OutOrStdout(), p)
			return nil
		},
	}
}

func printPlayground(out io.Writer, p *playground) {
	w := tabwriter.NewWriter(out, 0, 1, 3, ' ', 0)
	fmt.Fprintln(w, "NODE\tADDRESS\tROLE\tPROCESS\tHOST")
	for _, n := range p.Nodes {
		role, state := "worker", "dead"
		if n.Manager {
			role = "manager"
		}
		if n.alive() {
			state = fmt.Sprintf("running (%d)", n.PID)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Addr, role, state, n.host(p))
	}
	w.Flush()
}

// withPlayNode runs fn on one node of the local cluster and prints its name.
func withPlayNode(cmd *cobra.Command, dir, name string, fn func(*playground, *playNode) error) error {
	p, err := loadPlayground(dir)
	if err != nil {
		return err
	}
	n, err := p.node(name)
	if err != nil {
		return err
	}
	if err := fn(p, n); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), n.Name)
	return nil
}
