package node

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
)

// Bounds of the connections to the Docker API sockets. As on the cluster
// port there is no ReadTimeout or WriteTimeout on the whole connection
// (`docker service logs --follow` streams for as long as it is wanted).
const (
	// apiIdleTimeout closes a keep-alive connection left without a request
	// that long: above the idle time of Go's and Docker's clients (90 s),
	// which then close their connections first.
	apiIdleTimeout = 2 * time.Minute
	// bodyReadTimeout bounds reading a request's body (from its handler's
	// start), on the sockets and on the cluster port alike, except for the
	// one request whose body is a stream (a node's session).
	bodyReadTimeout = 30 * time.Second
)

// newAPIServer returns the server of a Docker API socket.
func newAPIServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           boundBodies(h, bodyReadTimeout, nil),
		ReadHeaderTimeout: clusternet.ReadHeaderTimeout,
		IdleTimeout:       apiIdleTimeout,
	}
}

// clusterHandler is the handler of the cluster port's HTTP connections: a
// node's session is the only request whose body is a stream, the others
// must arrive within bodyReadTimeout.
func (n *Node) clusterHandler() http.Handler {
	return boundBodies(http.HandlerFunc(n.serveCluster), bodyReadTimeout, isSession)
}

func isSession(r *http.Request) bool { return r.URL.Path == dispatchapi.PathSession }

// boundBodies gives every request with a body, except those streaming
// says are streams, d to deliver the whole body: a client that sends it
// slowly (a slowloris) has its request fail and, on HTTP/1.1, its
// connection closed. The deadline is lifted once the body is read, so a
// long poll or a followed log goes on after it.
func boundBodies(h http.Handler, d time.Duration, streaming func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || (streaming != nil && streaming(r)) {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			h.ServeHTTP(w, r) // a connection without deadlines (none of ours)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when its body ends. A body not read
// to its end keeps the deadline, which then also bounds what the server
// reads of the rest after the handler.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
