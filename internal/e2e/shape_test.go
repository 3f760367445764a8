package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// engineSock is the real Docker engine the shapes are compared with.
const engineSock = "/var/run/docker.sock"

// shapeAPI is the API version both the engine (20.10) and shoal speak.
const shapeAPI = "/v1.41"

// shapeCall bounds one raw API request.
const shapeCall = 10 * time.Second

// allowedShapeDifferences are the differences between the engine's answers
// and shoal's that remain on purpose (path → reason). Paths are those the
// comparison prints; "[]" stands for the elements of an array. The list is
// mirrored, with the same reasons, in docs/shape-differences.md.
var allowedShapeDifferences = map[string]string{
	"node.Description.Engine.Plugins": "shoal has no volume, network or log plugins to list; the key is left out " +
		"(node inspect --pretty then prints no Plugins section)",
	"service.Spec.EndpointSpec": "shoal has no service networking and always shows Docker's default endpoint spec " +
		`{"Mode":"vip"}, which the docker CLI sends anyway; Docker echoes a spec posted without one as it came`,
	"service.Endpoint.Spec.Mode": "the same default: shoal shows \"vip\" where Docker shows the empty endpoint spec it was given",
	"tasks[].Volumes": "shoal answers with the API 1.50 task type, which always has Volumes " +
		"(null without cluster volumes, as Docker 23+ sends it); Docker 20.10 predates the field",
	"task.Volumes": "as for the task list: the API 1.50 task type always has Volumes",
}

// enumFields are the string (and bool) fields whose value, not only its
// type, must match: enumerations the CLI and SDK switch on.
var enumFields = map[string]bool{
	"State": true, "DesiredState": true, "Role": true, "Availability": true,
	"Reachability": true, "LocalNodeState": true, "Condition": true,
	"FailureAction": true, "Order": true, "Mode": true, "Protocol": true,
	"PublishMode": true, "Isolation": true, "OS": true, "Architecture": true,
	"Leader": true, "ControlAvailable": true, "AutoLockManagers": true,
}

// dynamicMaps are objects whose keys are data, not schema: only their type
// is compared.
var dynamicMaps = map[string]bool{"Labels": true}

// TestJSONShapesMatchDocker makes the same API calls on this machine's Docker
// engine, put in swarm mode for the test, and on a one-node shoal swarm, and
// compares the JSON answers field by field: the keys at each path, the JSON
// type of each value, and the value of enumerations. Differences not listed
// in allowedShapeDifferences fail the test, and so do listed ones that no
// longer occur.
func TestJSONShapesMatchDocker(t *testing.T) {
	engine := &apiEndpoint{name: "docker", sock: engineSock}
	prepareEngineSwarm(t, engine)
	image := sleepImage(t)
	initEngineSwarm(t, engine)

	c := newSwarm(t, 1, 0)
	shoal := &apiEndpoint{name: "shoal", sock: c.nodes[0].sock}

	var diffs shapeDiffs
	compare := func(label, method, path, body string, want int) (map[string]any, map[string]any) {
		t.Helper()
		d := engine.mustCall(t, method, path, body, want)
		s := shoal.mustCall(t, method, path, body, want)
		diffs.compare(label, d, s)
		dm, _ := d.(map[string]any)
		sm, _ := s.(map[string]any)
		return dm, sm
	}

	dInfo, sInfo := engine.mustCall(t, "GET", "/info", "", 200), shoal.mustCall(t, "GET", "/info", "", 200)
	diffs.compare("info.Swarm", field(dInfo, "Swarm"), field(sInfo, "Swarm"))
	compare("swarm", "GET", "/swarm", "", 200)
	dNodes, sNodes := engine.mustCall(t, "GET", "/nodes", "", 200), shoal.mustCall(t, "GET", "/nodes", "", 200)
	diffs.compare("node", first(dNodes), first(sNodes))

	name := fmt.Sprintf("shoal-shape-%d", time.Now().UnixNano())
	spec := fmt.Sprintf(`{"Name":%q,"TaskTemplate":{"ContainerSpec":{"Image":%q,"Command":["sleep","1000"]}},"Mode":{"Replicated":{"Replicas":1}}}`, name, image)
	dCreated, sCreated := compare("service-create", "POST", "/services/create", spec, 201)
	dID, sID := str(dCreated, "ID"), str(sCreated, "ID")
	t.Cleanup(func() { removeEngineService(t, engine, dID) })
	if dID == "" || sID == "" {
		t.Fatalf("service create returned IDs %q (docker) and %q (shoal)", dID, sID)
	}
	diffs.compare("service", engine.mustCall(t, "GET", "/services/"+dID, "", 200), shoal.mustCall(t, "GET", "/services/"+sID, "", 200))

	dTasks, dTask := runningTask(t, engine, dID)
	sTasks, sTask := runningTask(t, shoal, sID)
	diffs.compare("tasks[]", first(dTasks), first(sTasks))
	diffs.compare("task", engine.mustCall(t, "GET", "/tasks/"+dTask, "", 200), shoal.mustCall(t, "GET", "/tasks/"+sTask, "", 200))

	errCases := []struct{ label, method, path, body string }{
		{"error.node-nosuch", "GET", "/nodes/nosuch", ""},
		{"error.service-nosuch", "GET", "/services/nosuch", ""},
		{"error.create-malformed", "POST", "/services/create", `{"Name":`},
		{"error.create-conflict", "POST", "/services/create", spec},
	}
	for _, ec := range errCases {
		dCode, dBody := engine.call(t, ec.method, ec.path, ec.body)
		sCode, sBody := shoal.call(t, ec.method, ec.path, ec.body)
		t.Logf("%s %s: docker %d %s, shoal %d %s", ec.method, ec.path, dCode, bytes.TrimSpace(dBody), sCode, bytes.TrimSpace(sBody))
		diffs.compareErrors(ec.label, dCode, dBody, sCode, sBody)
	}

	checkNegotiation(t, c.nodes[0], shoal)
	diffs.check(t)
}

// ---------------------------------------------------------------------------
// The engine's swarm.

// prepareEngineSwarm skips the test unless the engine answers and is out of
// swarm mode: a swarm the test did not create is never touched.
func prepareEngineSwarm(t *testing.T, engine *apiEndpoint) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not on PATH: skipping the shape comparison with Docker")
	}
	code, body, err := engine.do("GET", "/info", "")
	if err != nil || code != http.StatusOK {
		t.Skipf("no Docker engine answers on %s (%d, %v): skipping the shape comparison", engineSock, code, err)
	}
	var info struct {
		Swarm struct{ LocalNodeState string }
	}
	if err := json.Unmarshal(body, &info); err != nil {
		t.Skipf("the engine's /info is not JSON (%v): skipping", err)
	}
	if st := info.Swarm.LocalNodeState; st != "inactive" {
		t.Skipf("the Docker engine is already in swarm state %q: not touching a swarm this test did not create", st)
	}
}

// initEngineSwarm puts the engine in swarm mode on loopback (or on the
// host's first non-loopback address if loopback is refused) and makes it
// leave when the test ends.
func initEngineSwarm(t *testing.T, engine *apiEndpoint) {
	t.Helper()
	env := engineEnv()
	var errs []error
	for _, addr := range []string{"127.0.0.1", hostAddr()} {
		if addr == "" {
			continue
		}
		r := run(cliTimeout, env, "docker", "swarm", "init", "--advertise-addr", addr)
		if r.ok() == nil {
			t.Cleanup(func() {
				if err := run(cliTimeout, env, "docker", "swarm", "leave", "--force").ok(); err != nil {
					t.Errorf("leave the engine's swarm: %v", err)
				}
			})
			return
		}
		errs = append(errs, r.ok())
	}
	t.Fatalf("docker swarm init: %v", errors.Join(errs...))
}

// engineEnv is the docker CLI environment for the local engine.
func engineEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "DOCKER_HOST" && k != "DOCKER_CONTEXT" && k != "DOCKER_API_VERSION" {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_HOST=unix://"+engineSock, "DOCKER_CLI_HINTS=false")
}

// hostAddr is the first non-loopback IPv4 address of this machine, or "".
func hostAddr() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	return ""
}

// removeEngineService removes the service from the engine and waits until
// its containers are gone, so that the swarm leave and the image removal
// that follow find nothing of it.
func removeEngineService(t *testing.T, engine *apiEndpoint, id string) {
	if id == "" {
		return
	}
	if code, body, err := engine.do("DELETE", "/services/"+id, ""); err != nil || code != http.StatusOK {
		t.Errorf("remove the engine's service %s: %d %s %v", id, code, body, err)
	}
	label := "label=com.docker.swarm.service.id=" + id
	err := poll(converge, func() error {
		out, err := exec.Command("docker", "ps", "-aq", "--filter", label).Output()
		if err != nil {
			return err
		}
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			return fmt.Errorf("containers of service %s remain: %v", id, ids)
		}
		return nil
	})
	if err != nil {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", label).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	}
}

// runningTask waits until the service's first task runs on the endpoint and
// returns the task list and that task's ID.
func runningTask(t *testing.T, ep *apiEndpoint, serviceID string) (any, string) {
	t.Helper()
	filter := url.QueryEscape(fmt.Sprintf(`{"service":{%q:true}}`, serviceID))
	var list any
	var id string
	eventually(t, 2*converge, func() error {
		code, body, err := ep.do("GET", "/tasks?filters="+filter, "")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("%s task list: %d %s %v", ep.name, code, body, err)
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return err
		}
		task, _ := first(list).(map[string]any)
		if state := str(field(task, "Status"), "State"); state != "running" {
			return fmt.Errorf("%s: the task is %q, not running: %s", ep.name, state, body)
		}
		id = str(task, "ID")
		return nil
	})
	return list, id
}

// ---------------------------------------------------------------------------
// Version negotiation and endpoints shoal does not serve.

// checkNegotiation runs the docker CLI pinned to API 1.41 against shoal,
// and asks shoal for Docker endpoints it does not implement.
func checkNegotiation(t *testing.T, n *node, shoal *apiEndpoint) {
	t.Helper()
	env := append(cliEnv(n.c.dockerConfig), "DOCKER_API_VERSION=1.41")
	for _, args := range [][]string{{"node", "ls"}, {"service", "ls"}} {
		r := run(cliTimeout, env, "docker", append([]string{"-H", n.host()}, args...)...)
		if err := r.ok(); err != nil {
			t.Errorf("docker %s with DOCKER_API_VERSION=1.41: %v", strings.Join(args, " "), err)
		}
	}
	for _, path := range []string{"/v1.50/containers/json", shapeAPI + "/networks", "/networks"} {
		start := time.Now()
		code, body, err := shoal.doRaw("GET", path, "")
		took := time.Since(start)
		if err != nil {
			t.Errorf("GET %s on shoal: %v", path, err)
			continue
		}
		t.Logf("GET %s on shoal: %d %s in %v", path, code, bytes.TrimSpace(body), took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("GET %s on shoal took %v", path, took)
		}
		if code < 400 || !isMessage(body) {
			t.Errorf(`GET %s on shoal: want an error status with a {"message": ...} body, got %d %s`, path, code, body)
		}
	}
}

// ---------------------------------------------------------------------------
// Raw HTTP on a unix socket.

// apiEndpoint is one Engine API server reached over its unix socket.
type apiEndpoint struct {
	name string
	sock string
}

// do sends a request to shapeAPI+path.
func (e *apiEndpoint) do(method, path, body string) (int, []byte, error) {
	return e.doRaw(method, shapeAPI+path, body)
}

// doRaw sends a request to path as given and returns status and body.
func (e *apiEndpoint) doRaw(method, path, body string) (int, []byte, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), shapeCall)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+e.name+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s on %s: %w", method, path, e.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// call is do failing the test when no answer comes.
func (e *apiEndpoint) call(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	code, b, err := e.do(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

// mustCall sends a request, requires status want, and decodes the JSON body.
func (e *apiEndpoint) mustCall(t *testing.T, method, path, body string, want int) any {
	t.Helper()
	code, b := e.call(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s on %s: status %d, want %d: %s", method, path, e.name, code, want, b)
	}
	v, err := decodeJSON(b)
	if err != nil {
		t.Fatalf("%s %s on %s: %v: %s", method, path, e.name, err, b)
	}
	return v
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return v, nil
}

// isMessage reports a body that is exactly {"message": "<string>"}.
func isMessage(b []byte) bool {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || len(m) != 1 {
		return false
	}
	s, ok := m["message"].(string)
	return ok && s != ""
}

func field(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
}

func str(v any, key string) string {
	s, _ := field(v, key).(string)
	return s
}

func first(v any) any {
	if a, ok := v.([]any); ok && len(a) > 0 {
		return a[0]
	}
	return nil
}

// ---------------------------------------------------------------------------
// Comparing shapes.

// shapeDiffs collects differences by path.
type shapeDiffs struct {
	values int               // values compared
	byPath map[string]string // path → "docker has X, shoal has Y"
	order  []string
}

func (d *shapeDiffs) add(path, docker, shoal string) {
	if d.byPath == nil {
		d.byPath = map[string]string{}
	}
	if _, seen := d.byPath[path]; !seen {
		d.order = append(d.order, path)
	}
	d.byPath[path] = fmt.Sprintf("docker has %s, shoal has %s", docker, shoal)
}

// compare walks both documents: keys, JSON types and enumeration values.
func (d *shapeDiffs) compare(path string, docker, shoal any) {
	dk, sk := jsonKind(docker), jsonKind(shoal)
	if dk != sk {
		d.add(path, describe(docker), describe(shoal))
		return
	}
	d.values++
	last := path[strings.LastIndexAny(path, ".]")+1:]
	switch dv := docker.(type) {
	case map[string]any:
		if dynamicMaps[last] {
			return
		}
		sv := shoal.(map[string]any)
		for _, k := range unionKeys(dv, sv) {
			dc, din := dv[k]
			sc, sin := sv[k]
			switch {
			case !din:
				d.add(path+"."+k, "no key", describe(sc))
			case !sin:
				d.add(path+"."+k, describe(dc), "no key")
			default:
				d.compare(path+"."+k, dc, sc)
			}
		}
	case []any:
		sv := shoal.([]any)
		switch {
		case len(dv) > 0 && len(sv) > 0:
			d.compare(path+"[]", dv[0], sv[0])
		case len(dv) != len(sv):
			d.add(path, describe(docker), describe(shoal))
		}
	case string, bool:
		if enumFields[last] && docker != shoal {
			d.add(path, describe(docker), describe(shoal))
		}
	}
}

// compareErrors compares two error answers: status code and a body that is
// {"message": "..."} on both sides.
func (d *shapeDiffs) compareErrors(path string, dCode int, dBody []byte, sCode int, sBody []byte) {
	if dCode != sCode {
		d.add(path+".status", fmt.Sprint(dCode), fmt.Sprint(sCode))
	}
	if dm, sm := isMessage(dBody), isMessage(sBody); dm != sm || !dm {
		d.add(path+".body", messageShape(dm, dBody), messageShape(sm, sBody))
	}
}

func messageShape(ok bool, b []byte) string {
	if ok {
		return `{"message": string}`
	}
	return fmt.Sprintf("%q", bytes.TrimSpace(b))
}

// check logs every difference, then fails on each one not allowed and on
// each allowed one that did not occur.
func (d *shapeDiffs) check(t *testing.T) {
	t.Helper()
	t.Logf("compared %d values, %d differences", d.values, len(d.order))
	for _, p := range d.order {
		mark := "NOT ALLOWED"
		if _, ok := allowedShapeDifferences[p]; ok {
			mark = "allowed"
		}
		t.Logf("%s: %s [%s]", p, d.byPath[p], mark)
	}
	for _, p := range d.order {
		if _, ok := allowedShapeDifferences[p]; !ok {
			t.Errorf("shape difference not allowed: %s: %s", p, d.byPath[p])
		}
	}
	var stale []string
	for p := range allowedShapeDifferences {
		if _, ok := d.byPath[p]; !ok {
			stale = append(stale, p)
		}
	}
	slices.Sort(stale)
	for _, p := range stale {
		t.Errorf("allowed shape difference no longer occurs, remove it from allowedShapeDifferences and docs/shape-differences.md: %s", p)
	}
}

func unionKeys(a, b map[string]any) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// jsonKind is the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// describe is a value as a difference shows it: its type, with the value
// of strings and bools, and whether an array is empty.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case []any:
		if len(x) == 0 {
			return "empty array"
		}
		return "array of " + jsonKind(x[0])
	}
	return jsonKind(v)
}
