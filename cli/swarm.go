package cli

import (
	"fmt"
	"github.com/shoal-project/shoal/dockerapi"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newSwarmCommand(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "swarm",
		Short: "Manage Swarm",
		Args:  noArgs,
		RunE:  showHelp,
	}
	cmd.AddCommand(
		newSwarmInitCommand(s),
		newSwarmJoinCommand(s),
		newSwarmJoinTokenCommand(s),
		newSwarmLeaveCommand(s),
		newSwarmUpdateCommand(s),
	)
	return cmd
}

// Flag names shared by the swarm commands.
const (
	flagListenAddr          = "listen-addr"
	flagAdvertiseAddr       = "advertise-addr"
	flagAvailability        = "availability"
	flagTaskHistoryLimit    = "task-history-limit"
	flagDispatcherHeartbeat = "dispatcher-heartbeat"
	flagCertExpiry          = "cert-expiry"
	flagSnapshotInterval    = "snapshot-interval"
	flagMaxSnapshots        = "max-snapshots"
)

// defaultListenAddr is where a swarm node listens when --listen-addr is not
// given, and what fills in a missing host or port of the flag.
const (
	defaultListenHost = "0.0.0.0"
	defaultListenPort = "2377"
)

// swarmSpecOptions are the cluster settings swarm init and swarm update
// accept. Only the flags the user set change the spec.
type swarmSpecOptions struct {
	taskHistoryLimit    int64
	dispatcherHeartbeat time.Duration
	certExpiry          time.Duration
	snapshotInterval    uint64
	maxSnapshots        uint64
	nodeDownGrace       time.Duration
}

// addFlags declares the cluster setting flags. Their defaults are shown in
// help only (an unset flag changes nothing) and are shoal's cluster
// defaults, which differ from Swarm's for the heartbeat (1s, not 5s).
func (o *swarmSpecOptions) addFlags(flags *pflag.FlagSet) {
	flags.Int64Var(&o.taskHistoryLimit, flagTaskHistoryLimit, 5, "Task history retention limit")
	flags.DurationVar(&o.dispatcherHeartbeat, flagDispatcherHeartbeat, time.Second, "Dispatcher heartbeat period (ns|us|ms|s|m|h)")
	flags.DurationVar(&o.certExpiry, flagCertExpiry, 90*24*time.Hour, "Validity period for node certificates (ns|us|ms|s|m|h)")
	flags.Uint64Var(&o.snapshotInterval, flagSnapshotInterval, 10000, "Number of log entries between Raft snapshots")
	flags.Uint64Var(&o.maxSnapshots, flagMaxSnapshots, 0, "Number of additional Raft snapshots to retain")
	flags.DurationVar(&o.nodeDownGrace, flagNodeDownGrace, 3*time.Second, "How long a silent node may stay Unknown before it is declared Down and its tasks are rescheduled (shoal)")
}

// flagNodeDownGrace is a shoal setting the Docker API has no field for: it
// travels as a cluster label (dockerapi.LabelNodeDownGrace).
const flagNodeDownGrace = "node-down-grace"

// merge writes the flags the user set into spec.
func (o *swarmSpecOptions) merge(spec *swarm.Spec, flags *pflag.FlagSet) {
	if flags.Changed(flagTaskHistoryLimit) {
		limit := o.taskHistoryLimit
		spec.Orchestration.TaskHistoryRetentionLimit = &limit
	}
	if flags.Changed(flagDispatcherHeartbeat) {
		spec.Dispatcher.HeartbeatPeriod = o.dispatcherHeartbeat
	}
	if flags.Changed(flagCertExpiry) {
		spec.CAConfig.NodeCertExpiry = o.certExpiry
	}
	if flags.Changed(flagSnapshotInterval) {
		spec.Raft.SnapshotInterval = o.snapshotInterval
	}
	if flags.Changed(flagMaxSnapshots) {
		keep := o.maxSnapshots
		spec.Raft.KeepOldSnapshots = &keep
	}
	if flags.Changed(flagNodeDownGrace) {
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		spec.Labels[dockerapi.LabelNodeDownGrace] = o.nodeDownGrace.String()
	}
}

// nodeAddr is a --listen-addr value: "<ip|interface>[:port]", completed
// with the default host and port.
type nodeAddr struct{ addr string }

func newListenAddr() nodeAddr {
	return nodeAddr{addr: net.JoinHostPort(defaultListenHost, defaultListenPort)}
}

func (a *nodeAddr) String() string { return a.addr }
func (a *nodeAddr) Type() string   { return "node-addr" }

func (a *nodeAddr) Set(value string) error {
	addr, err := completeAddr(value)
	if err != nil {
		return err
	}
	a.addr = addr
	return nil
}

// completeAddr reads "[tcp://][host][:port]" and fills in what is missing.
func completeAddr(value string) (string, error) {
	if value == "" || value == "tcp://" {
		return net.JoinHostPort(defaultListenHost, defaultListenPort), nil
	}
	rest := strings.TrimPrefix(value, "tcp://")
	if strings.Contains(rest, "://") {
		return "", fmt.Errorf("invalid proto, expected tcp: %s", value)
	}
	u, err := url.Parse("tcp://" + rest)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("invalid bind address format: %s", value)
	}
	host, port := u.Hostname(), u.Port()
	if strings.HasSuffix(u.Host, ":") {
		port = ""
	}
	if host == "" {
		host = defaultListenHost
	}
	if port == "" {
		port = defaultListenPort
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("invalid bind address format: %s", value)
	}
	return net.JoinHostPort(host, port), nil
}

// parseAvailability checks an --availability value (any letter case).
func parseAvailability(value string) (swarm.NodeAvailability, error) {
	a := swarm.NodeAvailability(strings.ToLower(value))
	switch a {
	case swarm.NodeAvailabilityActive, swarm.NodeAvailabilityPause, swarm.NodeAvailabilityDrain:
		return a, nil
	}
	return "", fmt.Errorf("invalid availability %q, only active, pause and drain are supported", value)
}

// printJoinCommand prints how to join the swarm as a worker and/or a
// manager, through the address of node nodeID. A node that is not a manager
// prints nothing, as in docker.
func printJoinCommand(c *call, nodeID string, worker, manager bool) error {
	node, _, err := c.api.NodeInspect(c.ctx, nodeID)
	if err != nil {
		return err
	}
	sw, err := c.api.SwarmInspect(c.ctx)
	if err != nil {
		return err
	}
	if node.ManagerStatus == nil {
		return nil
	}
	if worker {
		printJoinLine(c, "worker", sw.JoinTokens.Worker, node.ManagerStatus.Addr)
	}
	if manager {
		printJoinLine(c, "manager", sw.JoinTokens.Manager, node.ManagerStatus.Addr)
	}
	return nil
}

func printJoinLine(c *call, role, token, addr string) {
	fmt.Fprintf(c.out, "To add a %s to this swarm, run the following command:\n\n    shoal swarm join --token %s %s\n\n", role, token, addr)
}
