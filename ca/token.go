package ca

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"strings"

	"github.com/shoal-project/shoal/swarm"
)

const (
	tokenPrefix  = "SWMTKN"
	tokenVersion = "1"
	// secretBytes is the entropy of a token secret; in base 36 it needs
	// ceil(128/log2(36)) = 25 characters.
	secretBytes = 16
	secretLen   = 25
)

// JoinToken is a parsed join token, SWMTKN-1-<digest>-<secret>. Digest pins
// the cluster's root CA (RootCA.Digest); Secret is what the managers check.
// Both are lower-case base 36, 50 and 25 characters long.
type JoinToken struct {
	Digest string
	Secret string
}

// NewJoinToken returns a fresh token for root with a random 128-bit secret.
func NewJoinToken(root *RootCA) string {
	b := make([]byte, secretBytes)
	// crypto/rand.Read never returns an error on supported platforms; it
	// crashes the program itself if the system's source fails.
	_, _ = rand.Read(b)
	secret := fmt.Sprintf("%0*s", secretLen, new(big.Int).SetBytes(b).Text(36))
	return JoinToken{Digest: root.Digest(), Secret: secret}.String()
}

// ParseJoinToken parses s, failing with ErrInvalidJoinToken ("invalid join
// token", class InvalidArgument) if it is not a version 1 Swarm token.
func ParseJoinToken(s string) (JoinToken, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 4 || parts[0] != tokenPrefix || parts[1] != tokenVersion {
		return JoinToken{}, ErrInvalidJoinToken
	}
	t := JoinToken{Digest: parts[2], Secret: parts[3]}
	if !isBase36(t.Digest, digestLen, 256) || !isBase36(t.Secret, secretLen, 8*secretBytes) {
		return JoinToken{}, ErrInvalidJoinToken
	}
	return t, nil
}

// isBase36 reports whether s is n lower-case base-36 digits encoding a number
// of at most bits bits.
func isBase36(s string, n, bits int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	v, ok := new(big.Int).SetString(s, 36)
	return ok && v.BitLen() <= bits
}

// String returns the token in its wire form.
func (t JoinToken) String() string {
	return tokenPrefix + "-" + tokenVersion + "-" + t.Digest + "-" + t.Secret
}

// Matches reports whether other is this token, comparing in constant time
// (for tokens of equal length, which all well-formed tokens are).
func (t JoinToken) Matches(other string) bool {
	return subtle.ConstantTimeCompare([]byte(t.String()), []byte(other)) == 1
}

// RoleForToken returns the role a presented join token admits a node as,
// comparing it in constant time against both of the cluster's tokens. A
// token that is neither gets ErrJoinTokenRejected, in Swarm's words.
func RoleForToken(tokens swarm.JoinTokens, presented string) (swarm.NodeRole, error) {
	// Evaluate both comparisons so that timing does not say which one matched.
	manager := tokens.Manager != "" && subtle.ConstantTimeCompare([]byte(tokens.Manager), []byte(presented)) == 1
	worker := tokens.Worker != "" && subtle.ConstantTimeCompare([]byte(tokens.Worker), []byte(presented)) == 1
	switch {
	case manager:
		return swarm.RoleManager, nil
	case worker:
		return swarm.RoleWorker, nil
	}
	return "", ErrJoinTokenRejected
}
