package ca

import (
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// A node renews its certificate at a random point between these fractions
// of the certificate's lifetime, as swarmkit does (its
// CertLowerRotationRange and CertUpperRotationRange): late enough that a
// node does not renew all the time, early enough that a node whose
// renewal fails (no leader for a while) has a fifth of the lifetime left
// to retry, and spread so that the nodes of a swarm created together do not
// all renew at the same moment.
const (
	renewFrom = 0.5
	renewBy   = 0.8
)

// Issued is when the certificate was signed. Its NotBefore is earlier by
// backdate (an allowance for peers whose clock is behind the signer's),
// which is no part of its lifetime: counting from NotBefore, a certificate
// issued for an hour (swarmkit's minimum) would be due for renewal the
// moment it was issued.
func (id Identity) Issued() time.Time { return id.NotBefore.Add(backdate) }

// RenewAt is when a node should renew this certificate: at the point
// between 50 and 80 % of its lifetime (Issued to NotAfter) that r, in
// [0, 1), picks; draw r at random. A time already past means at once: a
// node that starts after a long stop, past 80 %, renews before anything
// else can fail.
func (id Identity) RenewAt(r float64) time.Time {
	issued := id.Issued()
	life := id.NotAfter.Sub(issued)
	if life <= 0 {
		return issued
	}
	r = min(max(r, 0), 1)
	return issued.Add(time.Duration(float64(life) * (renewFrom + (renewBy-renewFrom)*r)))
}

// CertIdentity reads the identity in a PEM node certificate without
// verifying it: e.g. to tell the user when a certificate that no longer
// verifies expired.
func CertIdentity(certPEM []byte) (Identity, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return Identity{}, swarm.Errorf(swarm.ErrInvalidArgument, "invalid node certificate: %w", err)
	}
	return IdentityOf(cert)
}
