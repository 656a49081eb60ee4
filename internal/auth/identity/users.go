package identity

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbaasd/dbaasd/internal/auth"
)

// DefaultDomain is the domain of users declared without one (Keystone's
// default domain, whose ID is "default").
const DefaultDomain = "Default"

// User is an identity user: a name in a domain, a password kept only as a
// bcrypt hash, and the projects it may scope tokens to.
type User struct {
	Name         string
	Domain       string
	PasswordHash []byte
	// Projects are 32-hex project IDs; the first is the default project
	// (the scope of a login that names none).
	Projects []string
}

// ID is the user's stable Keystone ID, derived from its domain and name.
func (u *User) ID() string { return hexID("user", u.Domain, u.Name) }

// key identifies the user in token records and in the user table.
func (u *User) key() string { return userKey(u.Domain, u.Name) }

// CanScope reports whether the user may get tokens for the project.
func (u *User) CanScope(project string) bool {
	for _, p := range u.Projects {
		if p == project {
			return true
		}
	}
	return false
}

// DomainID returns the Keystone ID of a domain name: "default" for the
// default domain (as in Keystone), a stable hex ID otherwise.
func DomainID(name string) string {
	if name == DefaultDomain {
		return "default"
	}
	return hexID("domain", name)
}

func hexID(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte("dbaasd-" + kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// userKey is "name@domain"; domains never contain '@', so it is unambiguous.
func userKey(domain, name string) string { return name + "@" + domain }

// ParseUser parses one user declaration:
//
//	NAME:PASSWORD:PROJECT_ID[+PROJECT_ID…][@DOMAIN]
//
// NAME ends at the first colon and the project list starts after the last
// one, so a password may contain colons (and '@'). A PASSWORD that is a
// bcrypt hash ($2a$, $2b$ or $2y$) is taken as the hash of the password.
// Plain passwords are hashed with bcrypt at the given cost
// (bcrypt.DefaultCost when 0) and never kept.
func ParseUser(spec string, cost int) (User, error) {
	spec = strings.TrimSpace(spec)
	name, rest, ok := strings.Cut(spec, ":")
	last := strings.LastIndex(rest, ":")
	if !ok || last < 0 {
		return User{}, fmt.Errorf("user %q: want NAME:PASSWORD:PROJECT_ID[+PROJECT_ID…][@DOMAIN]", name)
	}
	password, tail := rest[:last], rest[last+1:]
	projects, domain, hasDomain := strings.Cut(tail, "@")
	if !hasDomain {
		domain = DefaultDomain
	}
	u := User{Name: name, Domain: domain}
	if name == "" || strings.ContainsAny(name, " \t") {
		return User{}, fmt.Errorf("user %q: the name must be non-empty, without spaces", name)
	}
	if domain == "" || strings.ContainsAny(domain, "@") {
		return User{}, fmt.Errorf("user %s: the domain must be non-empty, without '@'", name)
	}
	if password == "" {
		return User{}, fmt.Errorf("user %s: empty password", name)
	}
	seen := map[string]bool{}
	for _, p := range strings.Split(projects, "+") {
		id, err := auth.NormalizeProjectID(p)
		if err != nil {
			return User{}, fmt.Errorf("user %s: %w", name, err)
		}
		if !seen[id] {
			seen[id] = true
			u.Projects = append(u.Projects, id)
		}
	}
	hash, err := hashPassword(password, cost)
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	u.PasswordHash = hash
	return u, nil
}

// isBcrypt reports whether s is a bcrypt hash.
func isBcrypt(s string) bool {
	if len(s) != 60 {
		return false
	}
	if prefix := s[:4]; prefix != "$2a$" && prefix != "$2b$" && prefix != "$2y$" {
		return false
	}
	_, err := bcrypt.Cost([]byte(s))
	return err == nil
}

func hashPassword(password string, cost int) ([]byte, error) {
	if isBcrypt(password) {
		return []byte(password), nil
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// LoadUsersFile reads user declarations, one per line, in ParseUser's
// syntax; blank lines and lines starting with '#' are skipped.
func LoadUsersFile(path string, cost int) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer func() { _ = f.Close() }()
	var users []User
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := ParseUser(line, cost)
		if err != nil {
			return nil, fmt.Errorf("users file %s line %d: %w", path, n, err)
		}
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return users, nil
}

// errDuplicateUser is returned when two declarations name the same user.
var errDuplicateUser = errors.New("user declared twice")

// userTable indexes users by key and by ID.
type userTable struct {
	byKey map[string]*User
	byID  map[string]*User
}

func newUserTable(users []User) (*userTable, error) {
	t := &userTable{byKey: map[string]*User{}, byID: map[string]*User{}}
	for i := range users {
		u := &users[i]
		if _, dup := t.byKey[u.key()]; dup {
			return nil, fmt.Errorf("%s in domain %s: %w", u.Name, u.Domain, errDuplicateUser)
		}
		t.byKey[u.key()] = u
		t.byID[u.ID()] = u
	}
	return t, nil
}
