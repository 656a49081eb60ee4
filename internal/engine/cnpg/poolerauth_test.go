package cnpg

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// newTestCA makes a CA as CloudNativePG keeps it: PEM certificate and
// EC key.
func newTestCA() (crt, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pg"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

func testCA(t *testing.T) (crt, key []byte) {
	t.Helper()
	crt, key, err := newTestCA()
	if err != nil {
		t.Fatal(err)
	}
	return crt, key
}

func TestClientCert(t *testing.T) {
	t.Parallel()
	caCrt, caKey := testCA(t)
	otherCrt, otherKey := testCA(t)
	now := time.Now()
	crt, key, err := clientCert(lookupRole, caCrt, caKey, now)
	if err != nil {
		t.Fatal(err)
	}
	// What PostgreSQL checks with clientcert=verify-ca and cert: the chain
	// to the cluster's CA, for client authentication.
	cb, _ := pem.Decode(crt)
	c, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := pem.Decode(caCrt)
	ca, _ := x509.ParseCertificate(ab.Bytes)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the certificate does not verify against the CA: %v", err)
	}
	if c.Subject.CommonName != lookupRole {
		t.Errorf("common name %q", c.Subject.CommonName)
	}
	if kb, _ := pem.Decode(key); kb == nil || kb.Type != "EC PRIVATE KEY" {
		t.Error("no EC private key")
	}
	other, _, err := clientCert("someone", caCrt, caKey, now)
	if err != nil {
		t.Fatal(err)
	}
	byOther, _, err := clientCert(lookupRole, otherCrt, otherKey, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		crt  []byte
		at   time.Time
		want bool
	}{
		{"fresh", crt, now, true},
		{"a year later", crt, now.Add(365 * 24 * time.Hour), true},
		{"within a month of its end: made again", crt, now.Add(clientCertValidity - clientCertRenew + time.Hour), false},
		{"signed by another CA (the cluster's CA changed its key)", byOther, now, false},
		{"another user's", other, now, false},
		{"none", nil, now, false},
		{"garbage", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), now, false},
	} {
		if got := clientCertValid(tc.crt, caCrt, tc.at); got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, _, err := clientCert(lookupRole, []byte("no pem"), caKey, now); err == nil {
		t.Error("a CA without a PEM certificate was taken")
	}
}
