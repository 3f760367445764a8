package cli

import (
	"errors"
	"fmt"
	"github.com/shoal-project/shoal/dockerapi"
	"io"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"github.com/spf13/cobra"
)

func newInfoCommand(s *session) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd, func(c *call) error { return runInfo(c, format) })
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Format output using a custom template: 'json' or a Go template`)
	return cmd
}

// infoView is what `info --format` templates see: the server's answer with
// the client's own section, as docker lays it out.
type infoView struct {
	*system.Info `json:",omitempty"`
	ServerErrors []string    `json:",omitempty"`
	ClientInfo   *clientInfo `json:",omitempty"`
}

type clientInfo struct {
	Version string
	Context string
	Debug   bool
}

func newClientInfo() *clientInfo { return &clientInfo{Version: Version, Context: "default"} }

func runInfo(c *call, format string) error {
	info, err := c.api.Info(c.ctx)
	if format != "" {
		return formatInfo(c, format, info, err)
	}
	printClientInfo(c.out, newClientInfo())
	fmt.Fprintln(c.out)
	fmt.Fprintln(c.out, "Server:")
	if err != nil {
		fmt.Fprintln(c.err, "ERROR:", describe(err))
		return errors.New("errors pretty printing info")
	}
	if errs := printServerInfo(c.out, &info); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(c.err, "ERROR:", e)
		}
		return errors.New("errors pretty printing info")
	}
	for _, w := range info.Warnings {
		fmt.Fprintln(c.err, w)
	}
	return nil
}

func formatInfo(c *call, format string, info system.Info, infoErr error) error {
	view := infoView{Info: &info, ClientInfo: newClientInfo()}
	if infoErr != nil {
		view.ServerErrors = []string{describe(infoErr)}
		fmt.Fprintln(c.err, describe(infoErr))
	}
	if format == formatJSON {
		format = "{{json .}}"
	}
	tmpl, err := parseTemplate(format)
	if err != nil {
		return &statusError{code: exitBadFormat, msg: err.Error()}
	}
	err = tmpl.Execute(c.out, view)
	fmt.Fprintln(c.out)
	return err
}

func printClientInfo(w io.Writer, ci *clientInfo) {
	fmt.Fprintln(w, "Client:")
	printIfSet(w, " Version:   ", ci.Version)
	fmt.Fprintln(w, " Context:   ", ci.Context)
	fmt.Fprintln(w, " Debug Mode:", ci.Debug)
}

// printIfSet prints "label value" unless value is empty.
func printIfSet(w io.Writer, label, value string) {
	if value != "" {
		fmt.Fprintln(w, label, value)
	}
}

// printServerInfo prints the Server section of `info` in docker's layout,
// each line only as far as the server filled it in.
func printServerInfo(w io.Writer, info *system.Info) []error {
	printContainerInfo(w, info)
	printPluginInfo(w, info)
	fmt.Fprintln(w, " Swarm:", info.Swarm.LocalNodeState)
	printSwarmInfo(w, info.Swarm)
	printRuntimeInfo(w, info)
	errs := printSecurityInfo(w, info)
	printHostInfo(w, info)
	printRegistryInfo(w, info)
	fmt.Fprintln(w, " Live Restore Enabled:", info.LiveRestoreEnabled)
	if info.ProductLicense != "" {
		fmt.Fprintln(w, " Product License:", info.ProductLicense)
	}
	if len(info.DefaultAddressPools) > 0 {
		fmt.Fprintln(w, " Default Address Pools:")
		for _, p := range info.DefaultAddressPools {
			fmt.Fprintf(w, "   Base: %s, Size: %d\n", p.Base, p.Size)
		}
	}
	fmt.Fprintln(w)
	return errs
}

func printContainerInfo(w io.Writer, info *system.Info) {
	fmt.Fprintln(w, " Containers:", info.Containers)
	fmt.Fprintln(w, "  Running:", info.ContainersRunning)
	fmt.Fprintln(w, "  Paused:", info.ContainersPaused)
	fmt.Fprintln(w, "  Stopped:", info.ContainersStopped)
	fmt.Fprintln(w, " Images:", info.Images)
	printIfSet(w, " Server Version:", info.ServerVersion)
	printIfSet(w, " Storage Driver:", info.Driver)
	for _, kv := range info.DriverStatus {
		fmt.Fprintf(w, "  %s: %s\n", kv[0], kv[1])
	}
	for _, kv := range info.SystemStatus {
		fmt.Fprintf(w, " %s: %s\n", kv[0], kv[1])
	}
	printIfSet(w, " Logging Driver:", info.LoggingDriver)
	printIfSet(w, " Cgroup Driver:", info.CgroupDriver)
	printIfSet(w, " Cgroup Version:", info.CgroupVersion)
}

func printPluginInfo(w io.Writer, info *system.Info) {
	fmt.Fprintln(w, " Plugins:")
	fmt.Fprintln(w, "  Volume:", strings.Join(info.Plugins.Volume, " "))
	fmt.Fprintln(w, "  Network:", strings.Join(info.Plugins.Network, " "))
	if len(info.Plugins.Authorization) > 0 {
		fmt.Fprintln(w, "  Authorization:", strings.Join(info.Plugins.Authorization, " "))
	}
	fmt.Fprintln(w, "  Log:", strings.Join(info.Plugins.Log, " "))
	if len(info.CDISpecDirs) > 0 {
		fmt.Fprintln(w, " CDI spec directories:")
		for _, dir := range info.CDISpecDirs {
			fmt.Fprintf(w, "  %s\n", dir)
		}
	}
}

// printSwarmInfo prints the lines under "Swarm:". A node outside a swarm (or
// locked) prints none; a worker prints its identity and managers only; a
// manager adds the cluster and its settings.
func printSwarmInfo(w io.Writer, sw swarm.Info) {
	if sw.LocalNodeState == swarm.LocalNodeStateInactive || sw.LocalNodeState == swarm.LocalNodeStateLocked {
		return
	}
	fmt.Fprintln(w, "  NodeID:", sw.NodeID)
	if sw.Error != "" {
		fmt.Fprintln(w, "  Error:", sw.Error)
	}
	fmt.Fprintln(w, "  Is Manager:", sw.ControlAvailable)
	if sw.Cluster != nil && sw.ControlAvailable && sw.Error == "" && sw.LocalNodeState != swarm.LocalNodeStateError {
		printClusterInfo(w, sw)
	}
	fmt.Fprintln(w, "  Node Address:", sw.NodeAddr)
	if len(sw.RemoteManagers) > 0 {
		addrs := make([]string, 0, len(sw.RemoteManagers))
		for _, m := range sw.RemoteManagers {
			addrs = append(addrs, m.Addr)
		}
		slices.Sort(addrs)
		fmt.Fprintln(w, "  Manager Addresses:")
		for _, a := range addrs {
			fmt.Fprintf(w, "   %s\n", a)
		}
	}
}

func printClusterInfo(w io.Writer, sw swarm.Info) {
	cl := sw.Cluster
	fmt.Fprintln(w, "  ClusterID:", cl.ID)
	fmt.Fprintln(w, "  Managers:", sw.Managers)
	fmt.Fprintln(w, "  Nodes:", sw.Nodes)
	if cl.DefaultAddrPool != nil {
		var pools strings.Builder
		for _, p := range cl.DefaultAddrPool {
			pools.WriteString(p.String() + "  ")
		}
		fmt.Fprintln(w, "  Default Address Pool:", pools.String())
		fmt.Fprintln(w, "  SubnetSize:", cl.SubnetSize)
	}
	if cl.DataPathPort > 0 {
		fmt.Fprintln(w, "  Data Path Port:", cl.DataPathPort)
	}
	printClusterSpec(w, cl.Spec)
	fmt.Fprintln(w, "  Root Rotation In Progress:", cl.RootRotationInProgress)
}

func printClusterSpec(w io.Writer, spec swarm.Spec) {
	var retention int64
	if spec.Orchestration.TaskHistoryRetentionLimit != nil {
		retention = *spec.Orchestration.TaskHistoryRetentionLimit
	}
	fmt.Fprintln(w, "  Orchestration:")
	fmt.Fprintln(w, "   Task History Retention Limit:", retention)
	fmt.Fprintln(w, "  Raft:")
	fmt.Fprintln(w, "   Snapshot Interval:", spec.Raft.SnapshotInterval)
	if spec.Raft.KeepOldSnapshots != nil {
		fmt.Fprintf(w, "   Number of Old Snapshots to Retain: %d\n", *spec.Raft.KeepOldSnapshots)
	}
	fmt.Fprintln(w, "   Heartbeat Tick:", spec.Raft.HeartbeatTick)
	fmt.Fprintln(w, "   Election Tick:", spec.Raft.ElectionTick)
	fmt.Fprintln(w, "  Dispatcher:")
	fmt.Fprintln(w, "   Heartbeat Period:", units.HumanDuration(spec.Dispatcher.HeartbeatPeriod))
	if grace, err := time.ParseDuration(spec.Labels[dockerapi.LabelNodeDownGrace]); err == nil {
		fmt.Fprintln(w, "   Node Down Grace:", units.HumanDuration(grace)) // shoal's own setting
	}
	fmt.Fprintln(w, "  CA Configuration:")
	fmt.Fprintln(w, "   Expiry Duration:", units.HumanDuration(spec.CAConfig.NodeCertExpiry))
	fmt.Fprintln(w, "   Force Rotate:", spec.CAConfig.ForceRotate)
	if cert := strings.TrimSpace(spec.CAConfig.SigningCACert); cert != "" {
		fmt.Fprintf(w, "   Signing CA Certificate: \n%s\n\n", cert)
	}
	if len(spec.CAConfig.ExternalCAs) > 0 {
		fmt.Fprintln(w, "   External CAs:")
		for _, ca := range spec.CAConfig.ExternalCAs {
			fmt.Fprintf(w, "     %s: %s\n", ca.Protocol, ca.URL)
		}
	}
	fmt.Fprintln(w, "  Autolock Managers:", spec.EncryptionConfig.AutoLockManagers)
}

func printRuntimeInfo(w io.Writer, info *system.Info) {
	if len(info.Runtimes) == 0 {
		return
	}
	names := make([]string, 0, len(info.Runtimes))
	for name := range info.Runtimes {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintln(w, " Runtimes:", strings.Join(names, " "))
	fmt.Fprintln(w, " Default Runtime:", info.DefaultRuntime)
}

// printSecurityInfo prints the Linux-only lines: init binary, component
// versions and security options.
func printSecurityInfo(w io.Writer, info *system.Info) []error {
	if info.OSType == "windows" {
		fmt.Fprintln(w, " Default Isolation:", info.Isolation)
	}
	if info.OSType != "linux" {
		return nil
	}
	fmt.Fprintln(w, " Init Binary:", info.InitBinary)
	fmt.Fprintln(w, " containerd version:", info.ContainerdCommit.ID)
	fmt.Fprintln(w, " runc version:", info.RuncCommit.ID)
	fmt.Fprintln(w, " init version:", info.InitCommit.ID)
	if len(info.SecurityOptions) == 0 {
		return nil
	}
	opts, err := decodeSecurityOptions(info.SecurityOptions)
	if err != nil {
		return []error{err}
	}
	fmt.Fprintln(w, " Security Options:")
	for _, o := range opts {
		fmt.Fprintln(w, "  "+o.name)
		if o.profile != "" {
			fmt.Fprintln(w, "   Profile:", o.profile)
		}
	}
	return nil
}

type securityOption struct{ name, profile string }

// decodeSecurityOptions reads "name=seccomp,profile=builtin" entries.
func decodeSecurityOptions(raw []string) ([]securityOption, error) {
	var out []securityOption
	for _, entry := range raw {
		var o securityOption
		for field := range strings.SplitSeq(entry, ",") {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				return nil, fmt.Errorf("invalid security option %q", field)
			}
			switch k {
			case "name":
				o.name = v
			case "profile":
				o.profile = v
			}
		}
		if o.name == "" {
			return nil, fmt.Errorf("invalid security option %q", entry)
		}
		out = append(out, o)
	}
	return out, nil
}

func printHostInfo(w io.Writer, info *system.Info) {
	printIfSet(w, " Kernel Version:", info.KernelVersion)
	printIfSet(w, " Operating System:", info.OperatingSystem)
	printIfSet(w, " OSType:", info.OSType)
	printIfSet(w, " Architecture:", info.Architecture)
	fmt.Fprintln(w, " CPUs:", info.NCPU)
	fmt.Fprintln(w, " Total Memory:", units.BytesSize(float64(info.MemTotal)))
	printIfSet(w, " Name:", info.Name)
	printIfSet(w, " ID:", info.ID)
	fmt.Fprintln(w, " Docker Root Dir:", info.DockerRootDir)
	fmt.Fprintln(w, " Debug Mode:", info.Debug)
	if info.Debug {
		fmt.Fprintln(w, "  File Descriptors:", info.NFd)
		fmt.Fprintln(w, "  Goroutines:", info.NGoroutines)
		fmt.Fprintln(w, "  System Time:", info.SystemTime)
		fmt.Fprintln(w, "  EventsListeners:", info.NEventsListener)
	}
	printIfSet(w, " HTTP Proxy:", info.HTTPProxy)
	printIfSet(w, " HTTPS Proxy:", info.HTTPSProxy)
	printIfSet(w, " No Proxy:", info.NoProxy)
	if len(info.Labels) > 0 {
		fmt.Fprintln(w, " Labels:")
		for _, l := range info.Labels {
			fmt.Fprintln(w, "  "+l)
		}
	}
	fmt.Fprintln(w, " Experimental:", info.ExperimentalBuild)
}

func printRegistryInfo(w io.Writer, info *system.Info) {
	rc := info.RegistryConfig
	if rc == nil {
		return
	}
	if len(rc.InsecureRegistryCIDRs) > 0 || len(rc.IndexConfigs) > 0 {
		fmt.Fprintln(w, " Insecure Registries:")
		names := make([]string, 0, len(rc.IndexConfigs))
		for _, idx := range rc.IndexConfigs {
			if idx != nil && !idx.Secure {
				names = append(names, idx.Name)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintln(w, "  "+n)
		}
		for _, cidr := range rc.InsecureRegistryCIDRs {
			fmt.Fprintf(w, "  %s\n", cidr)
		}
	}
	if len(rc.Mirrors) > 0 {
		fmt.Fprintln(w, " Registry Mirrors:")
		for _, m := range rc.Mirrors {
			fmt.Fprintln(w, "  "+m)
		}
	}
}
