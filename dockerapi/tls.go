package dockerapi

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"

	wire "github.com/moby/moby/api/types/swarm"
)

// TLSInfoFromPEM describes the certificate authority whose certificate caPEM
// holds: the PEM itself as TrustRoot, and the DER of the certificate's subject
// and of its public key as CertIssuerSubject and CertIssuerPublicKey (the CLI
// prints those two as base64, the way encoding/json writes []byte). An empty
// caPEM gives an empty TLSInfo.
func TLSInfoFromPEM(caPEM []byte) (wire.TLSInfo, error) {
	if len(caPEM) == 0 {
		return wire.TLSInfo{}, nil
	}
	block, _ := pem.Decode(caPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return wire.TLSInfo{}, fmt.Errorf("dockerapi: root CA is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return wire.TLSInfo{}, fmt.Errorf("dockerapi: parse root CA: %w", err)
	}
	return wire.TLSInfo{
		TrustRoot:           string(caPEM),
		CertIssuerSubject:   cert.RawSubject,
		CertIssuerPublicKey: cert.RawSubjectPublicKeyInfo,
	}, nil
}
