// Package pki issues the certificates dbaasd makes for the engines: a
// cluster's own certificate authority and the leaf certificates it signs
// (a Galera node's, the pooler's lookup role's). Keys are ECDSA P-256;
// files are PEM, keys PKCS #8. A CA someone else made (CloudNativePG's)
// is read whether its key is PKCS #8 or SEC 1.
package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// backdate is how long before its making a certificate is valid from, for
// clocks a little behind.
const backdate = time.Hour

// CA is a certificate authority: its certificate and key.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	Key     *ecdsa.PrivateKey
}

// NewCA generates a CA named commonName, valid for lifetime from now.
func NewCA(commonName string, now time.Time, lifetime time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"dbaasd"}, CommonName: commonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(lifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	return &CA{Cert: cert, CertPEM: certPEM(der), Key: key}, nil
}

// PEM is the CA's file: its certificate, then its key.
func (ca *CA) PEM() ([]byte, error) {
	k, err := keyPEM(ca.Key)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{}, ca.CertPEM...), k...), nil
}

// ParseCA reads a CA from PEM blocks (one input, or the certificate's and
// the key's files one after the other): its certificate and the matching
// key.
func ParseCA(pemBlocks ...[]byte) (*CA, error) {
	ca := &CA{}
	for rest := bytes.Join(pemBlocks, []byte("\n")); ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("CA certificate: %w", err)
			}
			ca.Cert, ca.CertPEM = cert, pem.EncodeToMemory(blk)
		case "PRIVATE KEY", "EC PRIVATE KEY":
			k, err := parseKey(blk)
			if err != nil {
				return nil, fmt.Errorf("CA key: %w", err)
			}
			ca.Key = k
		}
	}
	if ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("the CA lacks its certificate or key")
	}
	if !ca.Key.PublicKey.Equal(ca.Cert.PublicKey) {
		return nil, errors.New("the CA's key does not match its certificate")
	}
	return ca, nil
}

// Leaf describes a certificate to issue.
type Leaf struct {
	// CommonName is the subject's name (a TLS client's user name, for
	// PostgreSQL's cert authentication and rsync's).
	CommonName string
	// IPs are the addresses a server certificate is valid for.
	IPs []net.IP
	// Usages: server authentication, client authentication or both.
	Usages []x509.ExtKeyUsage
	// Lifetime is how long it is valid from now.
	Lifetime time.Duration
}

// Issue makes a key and a certificate of l signed by the CA: PEM
// certificate and PEM key.
func (ca *CA) Issue(l Leaf, now time.Time) (crtPEM, keyPEMBytes []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"dbaasd"}, CommonName: l.CommonName},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(l.Lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  l.Usages,
		IPAddresses:  l.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate: %w", err)
	}
	k, err := keyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return certPEM(der), k, nil
}

// Valid reports whether crtPEM and keyPEMBytes are a certificate of l's
// common name and usages and its key, that the CA's key signed and that
// is still valid at until. Only the certificate's own end
// counts, not the CA's: an operator renews its CA with the same key, so a
// renewal needs no new leaves.
func (ca *CA) Valid(crtPEM, keyPEMBytes []byte, l Leaf, until time.Time) bool {
	cb, _ := pem.Decode(crtPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return false
	}
	crt, err := x509.ParseCertificate(cb.Bytes)
	if err != nil || crt.Subject.CommonName != l.CommonName || crt.CheckSignatureFrom(ca.Cert) != nil ||
		!until.Before(crt.NotAfter) {
		return false
	}
	for _, u := range l.Usages {
		if !slices.Contains(crt.ExtKeyUsage, u) {
			return false
		}
	}
	kb, _ := pem.Decode(keyPEMBytes)
	if kb == nil {
		return false
	}
	key, err := parseKey(kb)
	return err == nil && key.PublicKey.Equal(crt.PublicKey)
}

func parseKey(blk *pem.Block) (*ecdsa.PrivateKey, error) {
	if blk.Type == "EC PRIVATE KEY" {
		return x509.ParseECPrivateKey(blk.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	return ek, nil
}

func keyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n, nil
}
