package apiserver_test

import (
	"net/http"
	"testing"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// TestEveryClassOneStatusBothWays: for every error class, the Docker API
// answers the same status as the cluster port (an RPC error, and a Docker
// API request forwarded to the leader, which the manager answers through
// dispatchapi), and it is the status of swarm's table. Out of sequence used
// to be 500 here and 400 on the cluster port.
func TestEveryClassOneStatusBothWays(t *testing.T) {
	for _, class := range swarm.Classes() {
		err := swarm.Errorf(class, "node x: refused")
		want := swarm.HTTPStatus(class)
		if wire := dispatchapi.ErrorOf(err).StatusCode(); wire != want {
			t.Errorf("class %q: %d on the cluster port, %d in swarm's table", class, wire, want)
		}
		h := apiserver.New(apiserver.Config{Backend: apiservertest.NewLeader(leaderID, errorControl(err))})
		wantError(t, serve(t, h, http.MethodGet, "/v1.50/nodes/x", ""), want, err.Error())
	}
}

// TestTwoClassesOneStatus: an error of two classes gets the status of the
// first in swarm's table on every request (here not found before
// unavailable, as moby's httpstatus tests NotFound first).
func TestTwoClassesOneStatus(t *testing.T) {
	err := swarm.Errorf(swarm.ErrUnavailable, "leader lost: %w", swarm.Errorf(swarm.ErrNotFound, "node x not found"))
	h := apiserver.New(apiserver.Config{Backend: apiservertest.NewLeader(leaderID, errorControl(err))})
	for range 100 {
		wantError(t, serve(t, h, http.MethodGet, "/v1.50/nodes/x", ""), http.StatusNotFound, err.Error())
		if t.Failed() {
			return
		}
	}
}
