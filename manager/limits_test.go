package manager

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

type readCounter struct {
	r io.Reader
	n int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestDecodeBoundsBodies: an RPC body beyond its limit is refused as too
// large after reading at most the limit (400 MB to /rpc/join raised the
// leader to 1.34 GB), or nothing when its length is announced; the largest
// legitimate task status report (1,000 updates with texts at their limit)
// still fits.
func TestDecodeBoundsBodies(t *testing.T) {
	for _, announced := range []bool{false, true} {
		body := &readCounter{r: io.MultiReader(strings.NewReader(`{"Token":"`), io.LimitReader(repeatByte('a'), 400<<20))}
		r := httptest.NewRequest(http.MethodPost, dispatchapi.PathJoin, body)
		r.ContentLength = -1
		if announced {
			r.ContentLength = 400 << 20
		}
		var req dispatchapi.JoinRequest
		err := decode(httptest.NewRecorder(), r, &req)
		if !errors.Is(err, swarm.ErrTooLarge) || err.Error() != "request body too large: more than 65536 bytes" {
			t.Fatalf("a 400 MB join: %v", err)
		}
		most := int64(maxRPCBody + 64<<10) // the limit, and one read beyond it
		if announced {
			most = 0
		}
		if body.n > most {
			t.Errorf("length announced %v: %d bytes read, want at most %d", announced, body.n, most)
		}
	}

	text := strings.Repeat("e", swarm.MaxStatusTextBytes)
	report := dispatchapi.TaskStatusRequest{Updates: make([]dispatchapi.TaskStatusUpdate, 1000)}
	for i := range report.Updates {
		report.Updates[i] = dispatchapi.TaskStatusUpdate{TaskID: swarm.TaskID(swarm.NewID()), Status: swarm.TaskStatus{
			State: swarm.TaskFailed, Timestamp: time.Now(), Message: text, Err: text, ContainerID: text, ExitCode: 137, PID: 1 << 22}}
	}
	b, _ := json.Marshal(report)
	var got dispatchapi.TaskStatusRequest
	if err := decode(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, dispatchapi.PathTaskStatus, strings.NewReader(string(b))), &got); err != nil {
		t.Fatalf("the largest legitimate report (%d bytes): %v", len(b), err)
	}
	big := strings.NewReader(`{"Updates":[` + strings.Repeat(string(b[12:len(b)-2])+",", 2) + `{}]}`)
	if err := decode(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, dispatchapi.PathTaskStatus, big), &got); !errors.Is(err, swarm.ErrTooLarge) {
		t.Fatalf("a report of twice that: %v", err)
	}
}
