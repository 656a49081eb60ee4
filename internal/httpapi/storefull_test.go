package httpapi_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestFullStoreAnswers507: when the store's disk is full, a change answers
// 507 with the cause in the API's error body (not 500 "internal error"),
// nothing is half-recorded, and once space is freed changes are accepted
// again. The store lives on a small tmpfs, so it runs only as root.
func TestFullStoreAnswers507(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	t.Parallel()
	dir, err := os.MkdirTemp("", "dbaasd-fullstore-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m,mode=0700"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	e := at.Start(t, at.Options{StoreURL: "sqlite://" + filepath.Join(dir, "dbaasd.db"),
		Quotas: map[string]int64{"datastores": 100000, "cores": 1 << 30, "ram": 1 << 40, "disk_local": 1 << 40}})

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	_ = f.Close()

	var full *at.Response
	for i := 0; i < 2000 && full == nil; i++ {
		r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", e.DatastoreBody("postgresql", fmt.Sprintf("fill-%d", i), 1))
		switch r.Status {
		case http.StatusCreated:
		case http.StatusInsufficientStorage:
			full = r
		default:
			t.Fatalf("create %d on a full store: %d %s", i, r.Status, r.Body)
		}
	}
	if full == nil {
		t.Fatal("the store never filled up")
	}
	if msg := full.Str("error.message"); !strings.Contains(msg, "database or disk is full") || !strings.Contains(msg, "store is full") {
		t.Errorf("507 message does not carry the cause: %q", msg)
	}
	before := len(e.Do(at.TokenA, http.MethodGet, "/v1/datastores", nil).Get("datastores").([]any))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", e.DatastoreBody("postgresql", "after-space-freed", 1))
	if r.Status != http.StatusCreated {
		t.Fatalf("create once space is freed: %d %s", r.Status, r.Body)
	}
	if after := len(e.Do(at.TokenA, http.MethodGet, "/v1/datastores", nil).Get("datastores").([]any)); after != before+1 {
		t.Errorf("%d datastores after one more create, want %d (the refused one must not be recorded)", after, before+1)
	}
}
