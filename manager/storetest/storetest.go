// Package storetest gives tests a store without Raft: a Proposer that
// applies each command at once with an incrementing index, as a one-member
// Raft would.
package storetest

import (
	"context"
	"sync"

	"github.com/shoal-project/shoal/manager/store"
)

// Proposer applies commands straight to a store, through the log encoding.
type Proposer struct {
	Store *store.Store

	mu    sync.Mutex
	index uint64
	// Calls counts proposals.
	Calls int
}

// NewProposer returns a proposer over a new, empty store.
func NewProposer() *Proposer { return &Proposer{Store: store.New()} }

// Propose encodes, decodes and applies cmd.
func (p *Proposer) Propose(ctx context.Context, cmd *store.Command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := cmd.Encode()
	if err != nil {
		return err
	}
	dec, err := store.Decode(b)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index++
	p.Calls++
	return p.Store.Apply(p.index, dec)
}
