//go:build !linux

package node

import "context"

// ReapOrphans does nothing: the process runtime, whose tasks leave
// orphans, runs on Linux only.
func (n *Node) ReapOrphans(ctx context.Context) {}
