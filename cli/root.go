package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Build information, set at link time with -ldflags "-X ...".
var (
	Version   = "0.0.0-dev"
	GitCommit = ""
	BuildTime = ""
)

// session is what every command of one root shares: the global flags.
type session struct {
	hosts []string // -H/--host values, each possibly comma separated
	tls   *tlsFlags
	flags *pflag.FlagSet // the root's persistent flags, to see which were given
}

// call is one command invocation's view of the world: where to write and
// the API client to use. The client is closed when the command returns.
type call struct {
	ctx context.Context
	api *client.Client
	out io.Writer
	err io.Writer
}

// run builds the API client from the global flags (or $SHOAL_HOST, and the
// TLS flags or their $SHOAL_TLS_VERIFY / $SHOAL_CERT_PATH defaults) and runs
// fn with it.
func (s *session) run(cmd *cobra.Command, fn func(*call) error) error {
	opts := []client.Option{client.WithUserAgent(userAgent())}
	tlsConfig, err := s.tls.clientConfig(s.flags)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		opts = append(opts, client.WithTLSConfig(tlsConfig))
	}
	api, err := client.New(client.ResolveHosts(s.hosts), opts...)
	if err != nil {
		return err
	}
	defer api.Close()
	return fn(&call{ctx: cmd.Context(), api: api, out: cmd.OutOrStdout(), err: cmd.ErrOrStderr()})
}

func userAgent() string { return "shoal/" + Version + " (" + runtime.GOOS + ")" }

// NewRootCommand returns the `shoal` command with every CLI subcommand; main
// adds `daemon` itself.
func NewRootCommand() *cobra.Command {
	s := &session{}
	root := &cobra.Command{
		Use:           "shoal [OPTIONS] COMMAND",
		Short:         "A self-sufficient orchestrator speaking the Docker swarm API",
		Args:          noArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          showHelp,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(flagError)
	root.PersistentFlags().StringArrayVarP(&s.hosts, "host", "H", nil,
		"Daemon socket(s) to connect to; repeat or separate with commas (default $"+client.HostEnv+" or "+client.DefaultHost+")")
	s.tls = addTLSFlags(root.PersistentFlags())
	s.flags = root.PersistentFlags()
	root.AddCommand(
		newInfoCommand(s),
		newVersionCommand(s),
		newSwarmCommand(s),
		newNodeCommand(s),
		newServiceCommand(s),
		newClusterCommand(),
	)
	setHelpTemplates(root)
	return root
}

// Execute runs root with the process arguments and returns the exit status:
// 0 on success, 1 on a failed command, 125 on a flag error, 64 on a bad
// info/version template. The error, if any, is printed to root's stderr the
// docker way. SIGINT and SIGTERM cancel the commands' context (cmd.Context()),
// which a long-running subcommand such as daemon can wait on.
func Execute(root *cobra.Command) int {
	prepare(root)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return report(root.ErrOrStderr(), root.ExecuteContext(ctx))
}

// prepare applies the docker conventions to every command, including those
// added after NewRootCommand (e.g. daemon).
func prepare(cmd *cobra.Command) {
	cmd.DisableFlagsInUseLine = true
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	for _, c := range cmd.Commands() {
		prepare(c)
	}
}

// showHelp prints a command group's help on stderr, as docker does for
// `docker node` without a subcommand.
func showHelp(cmd *cobra.Command, args []string) error {
	cmd.SetOut(cmd.ErrOrStderr())
	cmd.HelpFunc()(cmd, args)
	return nil
}
