package pki

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"
	"time"
)

func newCA(t *testing.T, now time.Time) *CA {
	t.Helper()
	ca, err := NewCA("test CA", now, 50*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// A CA's file reads back; a certificate it issues verifies against it for
// the usages asked, names its address, and is valid only with its own key,
// its own name and usages, before its end, from the CA that signed it.
func TestIssueAndValid(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := newCA(t, now)
	file, err := ca.PEM()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseCA(file)
	if err != nil || !again.Key.Equal(ca.Key) || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("the CA's file does not read back: %v", err)
	}
	other := newCA(t, now)
	leaf := Leaf{CommonName: "node-a", IPs: []net.IP{net.ParseIP("127.0.0.7")},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, Lifetime: 365 * 24 * time.Hour}
	crt, key, err := again.Issue(leaf, now)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(crt)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: leaf.Usages}); err != nil {
		t.Errorf("does not verify: %v", err)
	}
	if err := c.VerifyHostname("127.0.0.7"); err != nil {
		t.Errorf("does not name its address: %v", err)
	}
	_, otherKey, err := ca.Issue(leaf, now)
	if err != nil {
		t.Fatal(err)
	}
	byOther, byOtherKey, err := other.Issue(leaf, now)
	if err != nil {
		t.Fatal(err)
	}
	renamed := leaf
	renamed.CommonName = "node-b"
	clientOnly := leaf
	clientOnly.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	clientCrt, clientKey, err := ca.Issue(clientOnly, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		crt, key []byte
		leaf     Leaf
		until    time.Time
		want     bool
	}{
		{"fresh", crt, key, leaf, now, true},
		{"until a day before its end", crt, key, leaf, now.Add(364 * 24 * time.Hour), true},
		{"until after its end", crt, key, leaf, now.Add(366 * 24 * time.Hour), false},
		{"another key", crt, otherKey, leaf, now, false},
		{"no key", crt, nil, leaf, now, false},
		{"another CA's", byOther, byOtherKey, leaf, now, false},
		{"another name", crt, key, renamed, now, false},
		{"lacks a usage", clientCrt, clientKey, leaf, now, false},
		{"a client certificate as one", clientCrt, clientKey, clientOnly, now, true},
		{"none", nil, nil, leaf, now, false},
		{"garbage", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), key, leaf, now, false},
	} {
		if got := ca.Valid(tc.crt, tc.key, tc.leaf, tc.until); got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A CA whose key is SEC 1 (as CloudNativePG keeps it) reads too; a file
// without a key, or with another CA's key, does not.
func TestParseCA(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca, other := newCA(t, now), newCA(t, now)
	der, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if _, err := ParseCA(ca.CertPEM, sec1); err != nil {
		t.Errorf("SEC 1 key: %v", err)
	}
	otherFile, err := other.PEM()
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][][]byte{
		"certificate only": {ca.CertPEM},
		"another CA's key": {ca.CertPEM, otherFile[len(other.CertPEM):]},
		"not PEM":          {[]byte("no pem")},
		"key only":         {sec1},
	} {
		if _, err := ParseCA(in...); err == nil {
			t.Errorf("%s: taken", name)
		}
	}
}
