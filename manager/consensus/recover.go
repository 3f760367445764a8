package consensus

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/shoal-project/shoal/manager/store"
)

// Recover rewrites the Raft state in cfg.Dir so that this member alone
// makes the cluster, at cfg.Addr, keeping everything committed in its log
// and snapshots: `swarm init --force-new-cluster` on a manager that
// survived the loss of the quorum. The member must not be running. Its
// next start elects itself and serves the state it had.
//
// hashicorp/raft's RecoverCluster replays the log into a throwaway store,
// snapshots it and writes the new configuration; entries this member had
// not yet learnt were committed are kept too (the other members are gone,
// so nobody else can have them either).
func Recover(cfg Config) error {
	if _, err := os.Stat(filepath.Join(cfg.Dir, "raft.db")); err != nil {
		return fmt.Errorf("consensus: no raft state to recover from: %w", err)
	}
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(cfg.Dir, "raft.db"))
	if err != nil {
		return fmt.Errorf("consensus: open log: %w", err)
	}
	defer bolt.Close()
	rc := raftConfig(cfg)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, int(cfg.Spec.KeepOldSnapshots)+1, rc.Logger)
	if err != nil {
		return fmt.Errorf("consensus: snapshots: %w", err)
	}
	_, trans := raft.NewInmemTransport(raft.ServerAddress(cfg.Addr))
	defer trans.Close()
	f := &fsm{st: store.New(), log: cfg.Logger}
	conf := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: raft.ServerAddress(cfg.Addr), Suffrage: raft.Voter}}}
	if err := raft.RecoverCluster(rc, f, bolt, bolt, snaps, trans, conf); err != nil {
		return fmt.Errorf("consensus: recover: %w", err)
	}
	return nil
}
