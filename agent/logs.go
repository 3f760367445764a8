package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// maxLogsRequest bounds a logs request's body (a task ID and options: a
// few hundred bytes).
const maxLogsRequest = 64 << 10

// ServeLogs answers a manager's request for one task's log lines with a
// stream of JSON dispatchapi.LogLine objects, flushed one by one. The caller
// must have checked that the peer is a manager.
func (a *Agent) ServeLogs(w http.ResponseWriter, r *http.Request) {
	// The whole body is the request: read, then unmarshalled, as every
	// RPC is (a json.Decoder would ignore whatever follows the first value).
	var req dispatchapi.LogsRequest
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLogsRequest))
	if err == nil {
		err = json.Unmarshal(b, &req)
	}
	if err != nil {
		writeError(w, swarm.Errorf(swarm.ErrInvalidArgument, "malformed logs request: %v", err))
		return
	}
	t := a.task(req.TaskID)
	if t == nil || a.cfg.Executor == nil {
		writeError(w, swarm.Errorf(swarm.ErrNotFound, "task %s is not on this node", req.TaskID))
		return
	}
	ctlr, err := a.cfg.Executor.Controller(t)
	if err != nil {
		writeError(w, err)
		return
	}
	defer ctlr.Close()
	logs, ok := ctlr.(exec.ControllerLogs)
	if !ok {
		writeError(w, swarm.Errorf(swarm.ErrFailedPrecondition, "this node's runtime keeps no logs"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	opts := exec.LogOptions{Follow: req.Follow, Since: req.Since, Stdout: req.Stdout, Stderr: req.Stderr, Tail: req.Tail}
	switch {
	case req.Tail < 0:
		opts.Tail = 0 // all
	case req.Tail == 0:
		opts.Tail = exec.NoTail
	}
	_ = logs.Logs(r.Context(), opts, exec.LogWriterFunc(func(ctx context.Context, m exec.LogMessage) error {
		if err := enc.Encode(dispatchapi.LogLine{Stream: int(m.Stream), Timestamp: m.Time, Line: m.Line}); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}))
}

func writeError(w http.ResponseWriter, err error) {
	e := dispatchapi.ErrorOf(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.StatusCode())
	_ = json.NewEncoder(w).Encode(e)
}
