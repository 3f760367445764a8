package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shoal-project/shoal/cli"
	"github.com/shoal-project/shoal/node"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newDaemonCommand() *cobra.Command {
	var cfg node.Config
	var debug bool
	cmd := &cobra.Command{
		Use:   "daemon [OPTIONS]",
		Short: "Run a shoal node in the foreground",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			cfg.RaftLog = os.Stderr
			cfg.Debug = debug
			cfg.Version = version
			// --host is the root command's persistent flag (-H for the
			// client); for the daemon it lists the sockets to serve.
			cfg.Hosts, _ = cmd.Flags().GetStringArray("host")
			if len(cfg.Hosts) == 0 {
				cfg.Hosts = []string{"unix:///var/run/shoal.sock"}
			}
			cfg.APITLS = daemonTLS(cmd.Flags())
			n, err := node.New(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			// What tasks leave behind is reaped here, not left <defunct>
			// (the daemon may be PID 1 of a container).
			reapCtx, stopReaping := context.WithCancel(ctx)
			reaped := make(chan struct{})
			go func() { defer close(reaped); n.ReapOrphans(reapCtx) }()
			defer func() { stopReaping(); <-reaped }()
			return n.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataRoot, "data-root", "/var/lib/shoal", "Root directory of persistent shoal state")
	f.StringVar(&cfg.Name, "node-name", "", "Node name (defaults to the hostname)")
	f.StringVar(&cfg.Runtime, "runtime", "process", "Task runtime: process or docker")
	f.BoolVar(&debug, "debug", false, "Enable debug logging and profiles at /debug/pprof/ on the API sockets")
	return cmd
}

// daemonTLS reads the root's TLS flags with dockerd's meaning: --tlsverify,
// given at all, turns TLS on (--tlsverify=false: TLS without client
// certificates); --tls alone also requires client certificates, unless
// --tlsverify=false says otherwise. Unlike the client, the daemon does not
// take --tlsverify from $SHOAL_TLS_VERIFY: only its flags turn TLS on.
func daemonTLS(f *pflag.FlagSet) node.APITLS {
	o := node.APITLS{
		Explicit: f.Changed(cli.FlagTLS) || f.Changed(cli.FlagTLSVerify),
	}
	o.TLS, _ = f.GetBool(cli.FlagTLS)
	o.Verify = o.TLS
	if f.Changed(cli.FlagTLSVerify) {
		o.Verify, _ = f.GetBool(cli.FlagTLSVerify)
		o.TLS = true
	}
	o.CAFile, _ = f.GetString(cli.FlagTLSCACert)
	o.CertFile, _ = f.GetString(cli.FlagTLSCert)
	o.KeyFile, _ = f.GetString(cli.FlagTLSKey)
	return o
}
