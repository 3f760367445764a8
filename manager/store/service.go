package store

import (
	"reflect"
	"sort"
	"strings"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/shoal-project/shoal/swarm"
)

// serviceNameIndex indexes services by lower-case name, so that names are
// unique whatever their case.
type serviceNameIndex struct{}

func (serviceNameIndex) FromObject(obj any) (bool, []byte, error) {
	s := obj.(*swarm.Service)
	return true, []byte(strings.ToLower(s.Spec.Name) + "\x00"), nil
}

func (serviceNameIndex) FromArgs(args ...any) ([]byte, error) {
	return []byte(strings.ToLower(args[0].(string)) + "\x00"), nil
}

// GetService returns the service with exactly this ID, or swarm.ErrNotFound.
func GetService(tx ReadTxn, id swarm.ServiceID) (*swarm.Service, error) {
	return getService(tx.txn, id)
}

func getService(tx *memdb.Txn, id swarm.ServiceID) (*swarm.Service, error) {
	obj, err := tx.First(tableService, indexID, string(id))
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, swarm.Errorf(swarm.ErrNotFound, "service %s not found", id)
	}
	return obj.(*swarm.Service), nil
}

// GetServiceByName returns the service with this name (any case).
func GetServiceByName(tx ReadTxn, name string) (*swarm.Service, error) {
	obj, err := tx.txn.First(tableService, indexName, name)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, swarm.Errorf(swarm.ErrNotFound, "service %s not found", name)
	}
	return obj.(*swarm.Service), nil
}

// ListServices returns every service, ordered by ID.
func ListServices(tx ReadTxn) ([]*swarm.Service, error) {
	it, err := tx.txn.Get(tableService, indexID)
	if err != nil {
		return nil, err
	}
	var out []*swarm.Service
	for obj := it.Next(); obj != nil; obj = it.Next() {
		out = append(out, obj.(*swarm.Service))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func createService(tx *memdb.Txn, index uint64, cmd *Command) error {
	if cmd.Service == nil || cmd.Service.ID == "" {
		return swarm.Errorf(swarm.ErrInvalidArgument, "create-service without a service")
	}
	if old, _ := getService(tx, cmd.Service.ID); old != nil {
		return swarm.Errorf(swarm.ErrAlreadyExists, "service %s already exists", old.ID)
	}
	if err := checkServiceName(tx, cmd.Service); err != nil {
		return err
	}
	s := cmd.Service.Copy()
	s.Version, s.SpecVersion, s.CreatedAt, s.UpdatedAt = index, index, cmd.Time, cmd.Time
	return tx.Insert(tableService, s)
}

func checkServiceName(tx *memdb.Txn, s *swarm.Service) error {
	obj, err := tx.First(tableService, indexName, s.Spec.Name)
	if err != nil {
		return err
	}
	if other, ok := obj.(*swarm.Service); ok && other.ID != s.ID {
		return swarm.Errorf(swarm.ErrAlreadyExists,
			"rpc error: code = AlreadyExists desc = name conflicts with an existing object: service %s already exists", s.Spec.Name)
	}
	return nil
}

func updateService(tx *memdb.Txn, index uint64, cmd *Command) error {
	if cmd.Service == nil {
		return swarm.Errorf(swarm.ErrInvalidArgument, "update-service without a service")
	}
	old, err := getService(tx, cmd.Service.ID)
	if err != nil {
		return err
	}
	if cmd.ExpectVersion != 0 && cmd.ExpectVersion != old.Version {
		return swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence")
	}
	if err := checkServiceName(tx, cmd.Service); err != nil {
		return err
	}
	s := cmd.Service.Copy()
	s.CreatedAt, s.SpecVersion = old.CreatedAt, old.SpecVersion
	// Only the task template makes tasks out of date: a change of labels,
	// replicas or update settings leaves every task as it is (each used to
	// rewrite all of the service's tasks: 10,000 writes for a label).
	if !reflect.DeepEqual(old.Spec.Task, s.Spec.Task) {
		s.SpecVersion = index
	}
	s.Version, s.UpdatedAt = index, cmd.Time
	return tx.Insert(tableService, s)
}

func removeService(tx *memdb.Txn, cmd *Command) error {
	s, err := getService(tx, cmd.ServiceID)
	if err != nil {
		return err
	}
	return tx.Delete(tableService, s)
}
