package cnpg

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/pki"
)

// newTestCA makes a CA as CloudNativePG keeps it: PEM certificate and
// SEC 1 ("EC PRIVATE KEY") key.
func newTestCA() (crt, key []byte, err error) {
	ca, err := pki.NewCA("pg", time.Now(), 90*24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return nil, nil, err
	}
	return ca.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func testCA(t *testing.T) (crt, key []byte) {
	t.Helper()
	crt, key, err := newTestCA()
	if err != nil {
		t.Fatal(err)
	}
	return crt, key
}

// The lookup role's certificate is what PostgreSQL checks with
// clientcert=verify-ca and cert (a chain to the cluster's CA, for client
// authentication, named after the role), and it is kept until it nears
// its end or the CA signs with another key.
func TestLookupCertificate(t *testing.T) {
	t.Parallel()
	caCrt, caKey := testCA(t)
	otherCrt, otherKey := testCA(t)
	now := time.Now()
	crt, key, err := lookupCertificate(caCrt, caKey, nil, nil, now)
	if err != nil || crt == nil || key == nil {
		t.Fatalf("no certificate: %v", err)
	}
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
	byOther, byOtherKey, err := lookupCertificate(otherCrt, otherKey, nil, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		crt, key []byte
		at       time.Time
		kept     bool
	}{
		{"fresh", crt, key, now, true},
		{"a year later", crt, key, now.Add(365 * 24 * time.Hour), true},
		{"within a month of its end", crt, key, now.Add(clientCertValidity - clientCertRenew + time.Hour), false},
		{"signed by another CA (the cluster's CA changed its key)", byOther, byOtherKey, now, false},
		{"its key lost", crt, nil, now, false},
		{"another certificate's key", crt, byOtherKey, now, false},
		{"none", nil, nil, now, false},
	} {
		got, _, err := lookupCertificate(caCrt, caKey, tc.crt, tc.key, tc.at)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if kept := got == nil; kept != tc.kept {
			t.Errorf("%s: kept = %v, want %v", tc.name, kept, tc.kept)
		}
	}
	if _, _, err := lookupCertificate([]byte("no pem"), caKey, nil, nil, now); err == nil {
		t.Error("a CA without a PEM certificate was taken")
	}
}
