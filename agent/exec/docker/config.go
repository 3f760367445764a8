package docker

import (
	"log/slog"

	"github.com/shoal-project/shoal/swarm"
)

// Config is the docker runtime's configuration.
type Config struct {
	// Host is the engine's address, e.g. "unix:///var/run/docker.sock" or
	// "tcp://127.0.0.1:2375". Empty means the Docker client's default:
	// DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH) when set,
	// else the local socket.
	Host string
	// NodeID is this node's ID, put on every container (Adopt finds this
	// node's containers by it). Required.
	NodeID swarm.NodeID
	// Logger receives warnings (the engine's warnings on create, containers
	// removed by Adopt). Nil discards them.
	Logger *slog.Logger
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.NodeID == "" {
		return swarm.Errorf(swarm.ErrInvalidArgument, "docker runtime: a node ID is required")
	}
	return nil
}
