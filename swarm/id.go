package swarm

import (
	"crypto/rand"
	"math/big"
)

// NodeID identifies a node for its whole life in a cluster. It is also the
// node's certificate CommonName and its Raft server ID when it is a manager.
type NodeID string

// ClusterID identifies a cluster; it is chosen once, by swarm init.
type ClusterID string

// idLength is the length of generated identifiers, as in Swarm.
const idLength = 25

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewID returns a random 25-character identifier of lower-case letters and
// digits, the shape Docker's CLI expects (it truncates to 12 for display).
func NewID() string {
	b := make([]byte, idLength)
	max := big.NewInt(int64(len(idAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("swarm: no randomness: " + err.Error())
		}
		b[i] = idAlphabet[n.Int64()]
	}
	// An ID that starts with a digit could be mistaken for a number by some
	// tools; Swarm has the same habit of starting with a letter-or-digit, so
	// nothing is changed here.
	return string(b)
}
