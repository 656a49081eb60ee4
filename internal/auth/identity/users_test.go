package identity

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

const (
	projA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	projB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParseUser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, name, domain, password string
		projects                     []string
	}{
		{"alice:s3cret:" + projA, "alice", "Default", "s3cret", []string{projA}},
		{"bob:pa:ss@w:rd:" + projA + "+" + projB + "@Team", "bob", "Team", "pa:ss@w:rd", []string{projA, projB}},
		{"carol:carol-pw-x:AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA+" + projA, "carol", "Default", "carol-pw-x", []string{projA}},
	}
	for _, tc := range tests {
		u, err := ParseUser(tc.spec, bcrypt.MinCost)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		if u.Name != tc.name || u.Domain != tc.domain || !slices.Equal(u.Projects, tc.projects) {
			t.Errorf("%q: got %s@%s %v", tc.spec, u.Name, u.Domain, u.Projects)
		}
		if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(tc.password)) != nil {
			t.Errorf("%q: the hash does not match the password", tc.spec)
		}
		if strings.Contains(string(u.PasswordHash), tc.password) {
			t.Errorf("%q: the password is kept in clear", tc.spec)
		}
	}
}

func TestParseUserTakesBcryptHashes(t *testing.T) {
	t.Parallel()
	h, _ := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	u, err := ParseUser("dave:"+string(h)+":"+projA, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if string(u.PasswordHash) != string(h) || bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("hunter2")) != nil {
		t.Fatal("a bcrypt hash given as the password must be used as the hash")
	}
}

func TestParseUserRejects(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"", "alice", "alice:pw", ":pw:" + projA, "alice::" + projA, "alice:pw:notaproject",
		"alice:pw:" + projA + "@", "alice:pw:" + projA + "+", "al ice:pw:" + projA,
	} {
		if _, err := ParseUser(spec, bcrypt.MinCost); err == nil {
			t.Errorf("%q: accepted", spec)
		} else if strings.Contains(err.Error(), ":pw:") {
			t.Errorf("%q: the error shows the password: %v", spec, err)
		}
	}
}

func TestLoadUsersFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users")
	content := "# users of dbaasd\n\nalice:pw1:" + projA + "\n  bob:pw2:" + projB + "@Team  \n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := LoadUsersFile(path, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Name != "alice" || users[1].Domain != "Team" {
		t.Fatalf("got %+v", users)
	}
	if err := os.WriteFile(path, []byte("alice:pw1:"+projA+"\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadUsersFile(path, bcrypt.MinCost); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}

func TestDuplicateUsersAreRejected(t *testing.T) {
	t.Parallel()
	a, _ := ParseUser("alice:pw:"+projA, bcrypt.MinCost)
	b, _ := ParseUser("alice:other:"+projB, bcrypt.MinCost)
	if _, err := newUserTable([]User{a, b}); !errors.Is(err, errDuplicateUser) {
		t.Fatalf("want errDuplicateUser, got %v", err)
	}
	c, _ := ParseUser("alice:other:"+projB+"@Team", bcrypt.MinCost)
	if _, err := newUserTable([]User{a, c}); err != nil {
		t.Fatalf("the same name in two domains: %v", err)
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	if DomainID("Default") != "default" {
		t.Error("the default domain's ID must be \"default\"")
	}
	a := User{Name: "alice", Domain: "Default"}
	b := User{Name: "alice", Domain: "Team"}
	if a.ID() == b.ID() || len(a.ID()) != 32 || DomainID("Team") == DomainID("Other") {
		t.Error("IDs must be distinct per domain and name")
	}
}
