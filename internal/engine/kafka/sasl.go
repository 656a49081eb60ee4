package kafka

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
)

// SASL mechanisms, as Kafka names them.
const (
	mechScram256 = "SCRAM-SHA-256"
	mechScram512 = "SCRAM-SHA-512"
	// scramIterations is the PBKDF2 iteration count of the credentials we
	// create (Kafka's minimum, and kfake's default).
	scramIterations = 4096
)

// persistedScram mirrors one SCRAM credential in kfake's sasl.json.
type persistedScram struct {
	Mechanism  string `json:"mechanism"`
	Salt       []byte `json:"salt"`
	SaltedPass []byte `json:"salted_pass"`
	Iterations int    `json:"iterations"`
}

// saslStateVersion is the sasl.json format version we know how to edit.
const saslStateVersion = 1

// resetSuperuser makes the superuser's SCRAM credentials in kfake's
// persisted sasl.json match password, before kfake loads it.
//
// kfake seeds the superuser from its options only when it starts on an empty
// data directory; afterwards the persisted credentials win. Rewriting them
// here keeps the configured password authoritative (dbaasd may rotate it)
// while every other user's credentials stay as persisted. Unknown fields of
// the file are kept as they are.
func resetSuperuser(dataDir, user, password string) error {
	path := filepath.Join(dataDir, "sasl.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	var version int
	if v, ok := doc["version"]; ok {
		if err := json.Unmarshal(v, &version); err != nil {
			return fmt.Errorf("parse %s version: %w", path, err)
		}
	}
	if version != saslStateVersion {
		return fmt.Errorf("%s has format version %d; this broker edits version %d only", path, version, saslStateVersion)
	}
	for key, mech := range map[string]string{"scram256": mechScram256, "scram512": mechScram512} {
		creds := map[string]persistedScram{}
		if raw, ok := doc[key]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &creds); err != nil {
				return fmt.Errorf("parse %s %s: %w", path, key, err)
			}
		}
		cred, err := newScramCredential(mech, password)
		if err != nil {
			return err
		}
		creds[user] = cred
		raw, err := json.Marshal(creds)
		if err != nil {
			return err
		}
		doc[key] = raw
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, out, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// newScramCredential derives a stored SCRAM credential (RFC 5802) for a
// password with a fresh random salt.
func newScramCredential(mechanism, password string) (persistedScram, error) {
	var h func() hash.Hash
	var size int
	switch mechanism {
	case mechScram256:
		h, size = sha256.New, sha256.Size
	case mechScram512:
		h, size = sha512.New, sha512.Size
	default:
		return persistedScram{}, fmt.Errorf("unknown SCRAM mechanism %s", mechanism)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return persistedScram{}, err
	}
	salted, err := pbkdf2.Key(h, password, salt, scramIterations, size)
	if err != nil {
		return persistedScram{}, fmt.Errorf("derive %s credential: %w", mechanism, err)
	}
	return persistedScram{Mechanism: mechanism, Salt: salt, SaltedPass: salted, Iterations: scramIterations}, nil
}
