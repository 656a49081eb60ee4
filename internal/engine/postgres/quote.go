package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// maxNameLen is PostgreSQL's NAMEDATALEN - 1: longer names are silently
// truncated by the server, so we refuse them.
const maxNameLen = 63

// ident quotes an identifier for SQL.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// checkName validates the name of a role, database, extension or slot.
func checkName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty %s name", engine.ErrInvalid, kind)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: %s name %q is longer than %d bytes", engine.ErrInvalid, kind, name, maxNameLen)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%w: %s name contains a NUL byte", engine.ErrInvalid, kind)
	}
	return nil
}

// literal quotes a string literal for SQL whatever standard_conforming_strings says.
func literal(s string) string {
	if strings.Contains(s, `\`) {
		return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// scramSecret computes the SCRAM-SHA-256 secret PostgreSQL stores for a
// password, so that the password itself never reaches the server (nor its
// logs or pg_stat_statements). It reports false for passwords that
// PostgreSQL would normalise with SASLprep (anything but printable ASCII);
// those are sent as they are and hashed by the server.
func scramSecret(password string) (string, bool) {
	for _, r := range password {
		if r < 0x20 || r > 0x7e {
			return "", false
		}
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", false
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", false
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(stored[:]), b64(server)), true
}
