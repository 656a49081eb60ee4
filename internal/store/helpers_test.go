package store_test

import (
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
)

const testProject = "0123456789abcdef0123456789abcdef"

func project() *model.Project {
	return &model.Project{ID: testProject, Name: "p", CreatedAt: time.Now()}
}

func storetestDatastore() *model.Datastore {
	now := time.Now()
	return &model.Datastore{
		Base: model.Base{ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", ProjectID: testProject, CreatedAt: now, UpdatedAt: now},
		Name: "ds", TypeID: "t", NodeCount: 1, Status: model.StatusActive,
		RedisPassword: "very-secret-redis", AdminPassword: "very-secret-admin",
	}
}
