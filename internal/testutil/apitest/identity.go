package apitest

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbaasd/dbaasd/internal/auth/identity"
)

// identityUsers parses identity user declarations with the cheapest
// bcrypt cost, so that logins stay fast under -race.
func identityUsers(t testing.TB, specs []string) []identity.User {
	t.Helper()
	var users []identity.User
	for _, spec := range specs {
		u, err := identity.ParseUser(spec, bcrypt.MinCost)
		if err != nil {
			t.Fatalf("identity user: %v", err)
		}
		users = append(users, u)
	}
	return users
}
