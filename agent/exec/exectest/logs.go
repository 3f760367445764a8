package exectest

import (
	"context"
	"sync"

	"github.com/shoal-project/shoal/agent/exec"
)

// LogCollector is an exec.LogWriter that keeps what it gets, for tests of
// a runtime's ControllerLogs.
type LogCollector struct {
	// Ch, if set, also receives each message as it is written.
	Ch chan exec.LogMessage

	mu   sync.Mutex
	msgs []exec.LogMessage
}

// WriteLog keeps m (and sends it on Ch, if set).
func (c *LogCollector) WriteLog(ctx context.Context, m exec.LogMessage) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	if c.Ch != nil {
		select {
		case c.Ch <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Messages returns a copy of the messages kept so far.
func (c *LogCollector) Messages() []exec.LogMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]exec.LogMessage(nil), c.msgs...)
}

// Lines returns the lines of one stream (0: all streams).
func (c *LogCollector) Lines(stream exec.LogStream) []string {
	var out []string
	for _, m := range c.Messages() {
		if stream == 0 || m.Stream == stream {
			out = append(out, string(m.Line))
		}
	}
	return out
}
