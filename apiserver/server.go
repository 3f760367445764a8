package apiserver

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// API versions this server speaks. APIVersion is what it reports in the
// Api-Version header; the docker CLI 28 never asks for more than 1.50 and
// downgrades to whatever the server reports.
const (
	APIVersion    = "1.50"
	MinAPIVersion = "1.24"
)

// Config is what New needs.
type Config struct {
	// Backend is the node the server runs in. Required.
	Backend Backend
	// Logger receives one debug record per request and an error record
	// per internal (500) error. Nil discards.
	Logger *slog.Logger
	// Version is shoal's version, shown in the Server header, /version and
	// /info. Empty means "dev".
	Version string
	// Debug serves Go's profiles under /debug/pprof/, as dockerd does in
	// debug mode.
	Debug bool
}

type server struct {
	backend Backend
	log     *slog.Logger
	version string
	// plain serves unversioned paths; versioned serves /v{version}/...
	// paths after ServeHTTP has checked the version. Two muxes because a
	// leading {version} wildcard would conflict with the plain patterns.
	plain     *http.ServeMux
	versioned *http.ServeMux
	nodes     nodeJSON // node list encodings kept between calls
}

// New returns the Docker Engine API handler. It panics if cfg.Backend is nil.
// The handler is safe for concurrent use.
func New(cfg Config) http.Handler {
	if cfg.Backend == nil {
		panic("apiserver: Config.Backend is nil")
	}
	s := &server{
		backend:   cfg.Backend,
		log:       cfg.Logger,
		version:   cfg.Version,
		plain:     http.NewServeMux(),
		versioned: http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.routes()
	if cfg.Debug {
		s.plain.HandleFunc("/debug/pprof/", pprof.Index)
		s.plain.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		s.plain.HandleFunc("/debug/pprof/profile", pprof.Profile)
		s.plain.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		s.plain.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return s
}

func (s *server) routes() {
	s.handle("GET /_ping", s.ping)
	s.handle("GET /version", s.getVersion)
	s.handle("GET /info", s.getInfo)

	s.handle("POST /swarm/init", s.initSwarm)
	s.handle("POST /swarm/join", s.joinSwarm)
	s.handle("POST /swarm/leave", s.leaveSwarm)
	s.handle("GET /swarm", s.inspectSwarm)
	s.handle("POST /swarm/update", s.updateSwarm)
	s.handle("GET /swarm/unlockkey", s.unlockKey)

	s.handle("GET /nodes", s.listNodes)
	s.handle("GET /nodes/{id}", s.inspectNode)
	s.handle("DELETE /nodes/{id}", s.removeNode)
	s.handle("POST /nodes/{id}/update", s.updateNode)

	s.handle("GET /services", s.listServices)
	s.handle("POST /services/create", s.createService)
	s.handle("GET /services/{id}", s.inspectService)
	s.handle("POST /services/{id}/update", s.updateService)
	s.handle("DELETE /services/{id}", s.removeService)
	s.handle("GET /services/{id}/logs", s.serviceLogs)
	s.handle("GET /tasks", s.listTasks)
	s.handle("GET /tasks/{id}", s.inspectTask)
	s.handle("GET /tasks/{id}/logs", s.taskLogs)
	// The image reference is not escaped: {name...} takes the rest of the
	// path, "/json" included (a wildcard cannot be followed by a suffix).
	s.handle("GET /distribution/{name...}", s.inspectDistribution)

	// Docker's other APIs (containers, images, networks, ...) exist in
	// Docker but not here: Docker's not-implemented answer, not a 404 that
	// reads like a typo. The words "not supported" let `docker inspect
	// <ref>` (no --type) go on from containers, images, networks and
	// volumes to the swarm's services, tasks and nodes, as its
	// isErrSkippable does for a daemon without them.
	for _, prefix := range notImplemented {
		h := s.wrap(func(_ http.ResponseWriter, r *http.Request) error {
			return swarm.Errorf(swarm.ErrNotImplemented, "%s %s is not supported: shoal serves the swarm API of the Docker Engine API only", r.Method, r.URL.Path)
		})
		s.plain.Handle("/"+prefix, h)
		s.plain.Handle("/"+prefix+"/", h)
		s.versioned.Handle("/{apiversion}/"+prefix, h)
		s.versioned.Handle("/{apiversion}/"+prefix+"/", h)
	}

	// Everything else, including a known path with another method, is
	// "page not found", as in moby.
	notFound := s.wrap(func(http.ResponseWriter, *http.Request) error { return errPageNotFound })
	s.plain.Handle("/", notFound)
	s.versioned.Handle("/", notFound)
}

// notImplemented are the Docker Engine API's other route trees.
var notImplemented = []string{"containers", "images", "networks", "volumes", "secrets", "configs", "events",
	"plugins", "build", "exec", "system", "session", "auth", "commit", "grpc"}

// handlerFunc is a route handler; a returned error becomes the response.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers h for "METHOD /path" both unversioned and under a version
// prefix. A GET pattern also serves HEAD.
func (s *server) handle(pattern string, h handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.plain.Handle(pattern, s.wrap(h))
	s.versioned.Handle(method+" /{apiversion}"+path, s.wrap(h))
}

func (s *server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// ServeHTTP sets the headers every answer carries, checks the API version of
// a versioned path and routes the request.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	h := rec.Header()
	h.Set("Server", "shoal/"+s.version+" ("+runtime.GOOS+")")
	h.Set("Api-Version", APIVersion)
	h.Set("Ostype", runtime.GOOS)
	h.Set("Docker-Experimental", "false")

	if v, ok := pathAPIVersion(r.URL.Path); !ok {
		s.plain.ServeHTTP(rec, r)
	} else if err := checkAPIVersion(v); err != nil {
		s.writeError(rec, r, err)
	} else {
		s.versioned.ServeHTTP(rec, r)
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "api request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.statusCode()),
		slog.Duration("took", time.Since(start)))
}

// pathAPIVersion returns the version of a path that starts with
// /v{digits and dots}/ (or is exactly /v{version}), as moby's router matches it.
func pathAPIVersion(path string) (string, bool) {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	v, ok := strings.CutPrefix(seg, "v")
	if !ok || v == "" || strings.Trim(v, "0123456789.") != "" {
		return "", false
	}
	return v, true
}

// checkAPIVersion refuses versions outside MinAPIVersion..APIVersion with
// moby's wording.
func checkAPIVersion(v string) error {
	if compareVersions(v, MinAPIVersion) < 0 {
		return swarm.Errorf(swarm.ErrInvalidArgument,
			"client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinAPIVersion)
	}
	if compareVersions(v, APIVersion) > 0 {
		return swarm.Errorf(swarm.ErrInvalidArgument,
			"client version %s is too new. Maximum supported API version is %s", v, APIVersion)
	}
	return nil
}

// compareVersions compares dotted versions numerically, part by part; a
// missing or non-numeric part counts as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		x, y := versionPart(as, i), versionPart(bs, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}

// statusRecorder remembers the status written, for the request log. It
// passes Flush through and unwraps for http.ResponseController, so that a
// forwarded streaming answer still streams.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		if r.status == 0 {
			r.status = http.StatusOK
		}
		f.Flush()
	}
}

// FlushError flushes and reports a failed write to the client, so that a
// stream (logs) notices when its client is gone. http.ResponseController
// prefers it to Flush.
func (r *statusRecorder) FlushError() error {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
