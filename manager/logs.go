package manager

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// logSource reads task logs from the agents of the nodes that run them.
type logSource struct{ m *Manager }

// TaskLogs asks t's node for its log lines and passes them to out.
func (s logSource) TaskLogs(ctx context.Context, t *swarm.Task, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
	n, err := store.GetNode(s.m.store.ReadTxn(), t.NodeID)
	if err != nil || n.Status.ClusterAddr == "" || n.Status.State == swarm.NodeStateDown {
		return nil // the node is gone: its lines are not reachable
	}
	tail := opts.Tail
	body, _ := json.Marshal(dispatchapi.LogsRequest{TaskID: t.ID, Follow: opts.Follow, Tail: tail, Since: opts.Since, Stdout: opts.Stdout, Stderr: opts.Stderr})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+n.Status.ClusterAddr+dispatchapi.PathLogs, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := s.m.client.Do(req)
	if err != nil {
		s.m.log.Debug("logs from node failed", "node", n.ID, "err", err)
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil // e.g. the task was already removed from the node
	}
	// One record a line, as the agent writes them, each bounded: a
	// json.Decoder would buffer whatever one value a node sends.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4<<10), maxLogRecord)
	for sc.Scan() {
		var l dispatchapi.LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("logs from node %s: %w", n.ID, err)
		}
		msg := controlapi.LogMessage{Stream: l.Stream, Timestamp: l.Timestamp, NodeID: t.NodeID, ServiceID: t.ServiceID, TaskID: t.ID,
			Line: append(l.Line, '\n')}
		if err := out(msg); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs from node %s: %w", n.ID, err)
	}
	return nil
}

// maxLogRecord bounds one record of a node's log stream. A record holds
// one line of a task's output, at most 16 KiB (both runtimes split longer
// lines), base64 in JSON: about 22 KiB with its other fields.
const maxLogRecord = 256 << 10
