package main

import (
	"fmt"

	"github.com/dbaasd/dbaasd/internal/auth/identity"
)

// parseUsers reads the identity users of --user and --users-file. Errors
// name the user, never the declaration (which holds the password).
func parseUsers(specs []string, file string) ([]identity.User, error) {
	var users []identity.User
	for i, spec := range specs {
		u, err := identity.ParseUser(spec, 0)
		if err != nil {
			return nil, fmt.Errorf("--user #%d: %w", i+1, err)
		}
		users = append(users, u)
	}
	if file != "" {
		more, err := identity.LoadUsersFile(file, 0)
		if err != nil {
			return nil, fmt.Errorf("--users-file: %w", err)
		}
		users = append(users, more...)
	}
	return users, nil
}
