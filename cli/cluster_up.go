package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

type clusterUpOptions struct {
	managers, workers int
	subnet            string
	sample            bool
}

func newClusterUpCommand(dir *string) *cobra.Command {
	var opts clusterUpOptions
	cmd := &cobra.Command{
		Use:   "up [OPTIONS]",
		Short: "Start a local cluster: one daemon per node, each on its own loopback address",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClusterUp(cmd.Context(), cmd.OutOrStdout(), *dir, opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.managers, "managers", 3, "Number of managers")
	f.IntVar(&opts.workers, "workers", 0, "Number of workers")
	f.StringVar(&opts.subnet, "subnet", "127.0.1", "First three octets of the loopback addresses (node N gets .N)")
	f.BoolVar(&opts.sample, "sample-service", true, "Start the sample service \"hello\" (one replica per node)")
	return cmd
}

func runClusterUp(ctx context.Context, out io.Writer, dir string, opts clusterUpOptions) error {
	if opts.managers < 1 || opts.managers+opts.workers > 250 {
		return fmt.Errorf("a local cluster needs 1 to 250 nodes and at least one manager")
	}
	if p, err := loadPlayground(dir); err == nil {
		for _, n := range p.Nodes {
			if n.alive() {
				return fmt.Errorf("a local cluster already runs in %s: `shoal cluster down` first", dir)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p := &playground{Dir: dir}
	for i := 1; i <= opts.managers+opts.workers; i++ {
		p.Nodes = append(p.Nodes, &playNode{
			Name: fmt.Sprintf("node%02d", i), Addr: fmt.Sprintf("%s.%d:2377", opts.subnet, i), Manager: i <= opts.managers,
		})
	}
	for _, n := range p.Nodes {
		if err := startPlayNode(ctx, p, n); err != nil {
			return err
		}
	}
	if err := p.save(); err != nil {
		return err
	}
	if err := formPlayground(ctx, p); err != nil {
		return fmt.Errorf("forming the swarm: %w (logs in %s/*/daemon.log)", err, dir)
	}
	if opts.sample {
		if err := createSample(ctx, p, len(p.Nodes)); err != nil {
			return fmt.Errorf("creating the sample service: %w", err)
		}
	}
	fmt.Fprintf(out, "Local cluster up in %s: %d managers, %d workers.\n\n", dir, opts.managers, opts.workers)
	if opts.sample {
		fmt.Fprintf(out, "Sample service \"hello\": %d replicas, each printing where it runs (shoal service ps hello; shoal service logs hello).\n\n", len(p.Nodes))
	}
	fmt.Fprintf(out, "Point the CLI at it (it fails over between the managers by itself):\n\n    export SHOAL_HOST=%s\n\n", p.managerHosts())
	fmt.Fprintf(out, "or use docker:  docker -H %s node ls\n\n", p.Nodes[0].host(p))
	fmt.Fprintf(out, "Then: shoal node ls; shoal cluster kill node01; shoal cluster start node01; shoal cluster down\n")
	return nil
}

// startPlayNode starts a node's daemon in its own process group, detached
// from this command, and waits until its API answers.
func startPlayNode(ctx context.Context, p *playground, n *playNode) error {
	if err := os.MkdirAll(n.dir(p), 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(n.dir(p), "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, "daemon", "--data-root", filepath.Join(n.dir(p), "data"),
		"--host", n.host(p), "--node-name", n.Name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	n.PID = cmd.Process.Pid
	_ = cmd.Process.Release()
	return waitPing(ctx, n.host(p), 15*time.Second)
}

func waitPing(ctx context.Context, host string, within time.Duration) error {
	api, err := client.New([]string{host})
	if err != nil {
		return err
	}
	defer api.Close()
	deadline := time.Now().Add(within)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := api.Ping(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("daemon at %s did not come up: %w", host, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// formPlayground inits the swarm on the first node and joins the others.
func formPlayground(ctx context.Context, p *playground) error {
	first := p.Nodes[0]
	api, err := client.New([]string{first.host(p)})
	if err != nil {
		return err
	}
	defer api.Close()
	if _, err := api.SwarmInit(ctx, swarm.InitRequest{ListenAddr: first.Addr, AdvertiseAddr: first.Addr}); err != nil {
		return err
	}
	sw, err := api.SwarmInspect(ctx)
	if err != nil {
		return err
	}
	for _, n := range p.Nodes[1:] {
		tok := sw.JoinTokens.Worker
		if n.Manager {
			tok = sw.JoinTokens.Manager
		}
		if err := joinPlayNode(ctx, p, n, tok, first.Addr); err != nil {
			return err
		}
	}
	return nil
}

func joinPlayNode(ctx context.Context, p *playground, n *playNode, token, remote string) error {
	api, err := client.New([]string{n.host(p)})
	if err != nil {
		return err
	}
	defer api.Close()
	return api.SwarmJoin(ctx, swarm.JoinRequest{ListenAddr: n.Addr, AdvertiseAddr: n.Addr, RemoteAddrs: []string{remote}, JoinToken: token})
}

// createSample starts a small service whose tasks say which node they run on.
func createSample(ctx context.Context, p *playground, replicas int) error {
	api, err := client.New([]string{p.Nodes[0].host(p)})
	if err != nil {
		return err
	}
	defer api.Close()
	n := uint64(replicas)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "hello"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
			Image: "busybox",
			Env:   []string{"NODE={{.Node.Hostname}}", "SLOT={{.Task.Slot}}"},
			Args:  []string{"sh", "-c", "while true; do echo \"hello from slot $SLOT on $NODE\"; sleep 5; done"},
		}},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}},
	}
	_, _, err = api.ServiceCreate(ctx, spec, client.ServiceCreateOptions{})
	return err
}
