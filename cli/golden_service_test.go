package cli

import "net/http"

// The service, task and node ps cases of TestGolden (and of
// TestGoldenMatchesDockerCLI): the fixture swarm with the service fixtures.
func init() { goldenCases = append(goldenCases, serviceGoldenCases...) }

// withFixtureServices loads the service fixtures, then applies more.
func withFixtureServices(more ...func(*fakeDaemon)) func(*fakeDaemon) {
	return func(fd *fakeDaemon) {
		withServices(fd)
		for _, f := range more {
			f(fd)
		}
	}
}

func distributionFails(fd *fakeDaemon) {
	fd.svc.distributionErr = &apiFailure{http.StatusNotFound, "manifest unknown"}
}

func distributionPins(fd *fakeDaemon) {
	fd.svc.distribution = map[string]any{
		"Descriptor": map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digestAlpine, "size": 9218},
		"Platforms": []map[string]any{
			{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux", "variant": "v8"},
			{"architecture": "arm", "os": "linux", "variant": "v7"},
		},
	}
}

// ttyService makes ping and its tasks run with a TTY.
func ttyService(fd *fakeDaemon) {
	fd.svc.services[1].Spec.TaskTemplate.ContainerSpec.TTY = true
	for i := range fd.svc.tasks {
		if fd.svc.tasks[i].ServiceID == idPing {
			fd.svc.tasks[i].Spec.ContainerSpec.TTY = true
		}
	}
}

var serviceGoldenCases = []goldenCase{
	{name: "service_ls", args: []string{"service", "ls"}, setup: withFixtureServices()},
	{name: "service_ls_quiet", args: []string{"service", "ls", "-q"}, setup: withFixtureServices()},
	{name: "service_ls_empty", args: []string{"service", "ls"}},
	{name: "service_ls_format_json", args: []string{"service", "ls", "--format", "json"}, setup: withFixtureServices()},
	{name: "service_ls_format_raw", args: []string{"service", "ls", "--format", "raw"}, setup: withFixtureServices()},
	{name: "service_ls_format_table", args: []string{"service", "ls", "--format", "table {{.Name}}\t{{.Replicas}}\t{{.Ports}}"}, setup: withFixtureServices()},
	{name: "service_ls_filter", args: []string{"service", "ls", "--filter", "name=web"}, setup: withFixtureServices()},
	{name: "service_ls_no_leader", args: []string{"service", "ls"}, setup: failWith("GET /services", http.StatusServiceUnavailable,
		"The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.")},
	{name: "service_ps", args: []string{"service", "ps", "ping"}, setup: withFixtureServices()},
	{name: "service_ps_several", args: []string{"service", "ps", "web", "capped", "nosuch"}, setup: withFixtureServices()},
	{name: "service_ps_not_found", args: []string{"service", "ps", "nosuch", "other"}, setup: withFixtureServices()},
	{name: "service_ps_prefix", args: []string{"service", "ps", "0pp"}, setup: withFixtureServices()},
	{name: "service_ps_no_trunc", args: []string{"service", "ps", "--no-trunc", "ping"}, setup: withFixtureServices()},
	{name: "service_ps_quiet", args: []string{"service", "ps", "-q", "ping", "web"}, setup: withFixtureServices()},
	{name: "service_ps_no_resolve", args: []string{"service", "ps", "--no-resolve", "ping"}, setup: withFixtureServices()},
	{name: "service_ps_filter", args: []string{"service", "ps", "--filter", "desired-state=running", "--filter", "node=self", "ping", "web"}, setup: withFixtureServices()},
	{name: "service_ps_format", args: []string{"service", "ps", "--format", "{{.Name}} {{.Node}} {{.Error}}", "ping"}, setup: withFixtureServices()},
	{name: "service_ps_format_table", args: []string{"service", "ps", "--format", "table {{.Name}}\t{{.CurrentState}}", "ping"}, setup: withFixtureServices()},
	{name: "service_ps_format_json", args: []string{"service", "ps", "--format", "json", "ping"}, setup: withFixtureServices()},
	{name: "service_inspect", args: []string{"service", "inspect", "ping", "web"}, setup: withFixtureServices()},
	{name: "service_inspect_not_found", args: []string{"service", "inspect", "nosuch", "ping"}, setup: withFixtureServices()},
	{name: "service_inspect_format", args: []string{"service", "inspect", "--format", "{{.Spec.Name}} {{.Version.Index}}", "ping", "capped"}, setup: withFixtureServices()},
	{name: "service_inspect_pretty", args: []string{"service", "inspect", "--pretty", "capped", "ping", "web"}, setup: withFixtureServices()},
	{name: "service_inspect_pretty_not_found", args: []string{"service", "inspect", "--pretty", "ping", "nosuch"}, setup: withFixtureServices()},
	{name: "service_inspect_pretty_extra", args: []string{"service", "inspect", "--format", "pretty {{.ID}}", "ping"}, setup: withFixtureServices()},
	{name: "service_inspect_bad_format", args: []string{"service", "inspect", "--format", "{{.Nope", "ping"}, setup: withFixtureServices()},
	{name: "node_ps_self", args: []string{"node", "ps"}, setup: withFixtureServices()},
	{name: "node_ps_node", args: []string{"node", "ps", "worker2"}, setup: withFixtureServices()},
	{name: "node_ps_not_found", args: []string{"node", "ps", "nosuch", "worker2"}, setup: withFixtureServices()},
	{name: "node_ps_filter", args: []string{"node", "ps", "-f", "desired-state=shutdown", "lead"}, setup: withFixtureServices()},
	{name: "service_rm", args: []string{"service", "rm", "web", "nosuch", "capped"}, setup: withFixtureServices()},
	{name: "service_scale", args: []string{"service", "scale", "-d", "ping=3", "web=2", "nosuch=1", "capped=x", "capped=1"}, setup: withFixtureServices()},
	{name: "service_scale_bad_specifier", args: []string{"service", "scale", "ping"}},
	{name: "service_scale_none", args: []string{"service", "scale"}},
	{name: "service_rollback_detached", args: []string{"service", "rollback", "-d", "capped"}, setup: withFixtureServices(func(fd *fakeDaemon) {
		prev := fd.svc.services[2].Spec
		fd.svc.services[2].PreviousSpec = &prev
	})},
	{name: "service_rollback_no_previous", args: []string{"service", "rollback", "-d", "ping"}, setup: withFixtureServices()},
	{name: "service_logs", args: []string{"service", "logs", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_timestamps", args: []string{"service", "logs", "-t", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_no_task_ids", args: []string{"service", "logs", "--no-task-ids", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_raw", args: []string{"service", "logs", "--raw", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_raw_details", args: []string{"service", "logs", "--raw", "--details", "-t", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_details", args: []string{"service", "logs", "--details", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_no_trunc", args: []string{"service", "logs", "--no-trunc", "--no-resolve", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_tail_follow", args: []string{"service", "logs", "--tail", "2", "-f", "ping"}, setup: withFixtureServices()},
	{name: "service_logs_task", args: []string{"service", "logs", "54cz70chspxv"}, setup: withFixtureServices()},
	{name: "service_logs_not_found", args: []string{"service", "logs", "nosuch"}, setup: withFixtureServices()},
	{name: "service_logs_tty", args: []string{"service", "logs", "ping"}, setup: withFixtureServices(ttyService)},
	{name: "service_logs_tty_raw", args: []string{"service", "logs", "--raw", "ping"}, setup: withFixtureServices(ttyService)},
	{name: "service_logs_task_tty", args: []string{"service", "logs", "kx2b"}, setup: withFixtureServices(ttyService)},
	{name: "service_logs_bad_since", args: []string{"service", "logs", "--since", "bogus", "ping"}, setup: withFixtureServices()},
	{name: "service_create_detached", args: []string{"service", "create", "-d", "--name", "pong", "--replicas", "2", "alpine", "ping", "example.com"}, setup: withFixtureServices()},
	{name: "service_create_warnings", args: []string{"service", "create", "-d", "--name", "pong", "alpine"}, setup: withFixtureServices(distributionFails, func(fd *fakeDaemon) {
		fd.svc.createWarnings = []string{"the daemon warns"}
	})},
	{name: "service_create_name_conflict", args: []string{"service", "create", "-d", "--name", "ping", "busybox"}, setup: withFixtureServices()},
	{name: "service_create_global_replicas", args: []string{"service", "create", "--mode", "global", "--replicas", "2", "busybox"}},
	{name: "service_create_global_max_replicas", args: []string{"service", "create", "--mode", "global", "--replicas-max-per-node", "1", "busybox"}},
	{name: "service_create_unknown_mode", args: []string{"service", "create", "--mode", "bogus", "busybox"}},
	{name: "service_create_bad_replicas", args: []string{"service", "create", "--replicas", "-1", "busybox"}},
	{name: "service_create_bad_duration", args: []string{"service", "create", "--update-delay", "xyz", "busybox"}},
	{name: "service_create_bad_memory", args: []string{"service", "create", "--limit-memory", "12q", "busybox"}},
	{name: "service_create_bad_cpu", args: []string{"service", "create", "--limit-cpu", "1.0000000001", "busybox"}},
	{name: "service_create_bad_ratio", args: []string{"service", "create", "--update-max-failure-ratio", "x", "busybox"}},
	{name: "service_create_bad_label", args: []string{"service", "create", "-l", "=x", "busybox"}},
	{name: "service_create_bad_env", args: []string{"service", "create", "-e", "=x", "busybox"}},
	{name: "service_create_no_image", args: []string{"service", "create"}},
	{name: "service_update_detached", args: []string{"service", "update", "-d", "--force", "ping"}, setup: withFixtureServices()},
	{name: "service_update_image_warning", args: []string{"service", "update", "-d", "--image", "busybox", "ping"}, setup: withFixtureServices(distributionFails)},
	{name: "service_update_rollback_with_flags", args: []string{"service", "update", "--rollback", "--force", "ping"}, setup: withFixtureServices()},
	{name: "service_update_replicas_global", args: []string{"service", "update", "-d", "--replicas", "3", "web"}, setup: withFixtureServices()},
	{name: "service_update_not_found", args: []string{"service", "update", "nosuch"}, setup: withFixtureServices()},
	{name: "service_update_out_of_sequence", args: []string{"service", "update", "-d", "--force", "ping"}, setup: withFixtureServices(func(fd *fakeDaemon) {
		fd.fail["POST /services/"+idPing+"/update"] = apiFailure{http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence"}
	})},
	{name: "service_update_paused", args: []string{"service", "update", "--force", "ping"}, setup: withFixtureServices(func(fd *fakeDaemon) {
		fd.svc.pauseUpdates = "update paused due to failure or early termination of task 9ndu0v4r1b3l"
	})},
}
