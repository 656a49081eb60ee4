package apitest

import (
	_ "embed"
	"encoding/json"
	"sync"
	"testing"

	"github.com/dbaasd/dbaasd/internal/catalog"
)

// recordedJSON is the catalog of the engines a dbaasd discovered on a
// machine with every engine installed (TestRecordedCatalogIsCurrent
// compares it with the engines of this machine and rewrites it with
// -update-catalog). With -short, a dbaasd without a reconciler offers it
// instead of asking the engines and starts no engine process at all.
//
//go:embed testdata/catalog.json
var recordedJSON []byte

var (
	recordedOnce sync.Once
	recorded     []catalog.Discovered
	recordedErr  error
)

// Recorded returns the recorded catalog.
func Recorded(t testing.TB) []catalog.Discovered {
	t.Helper()
	recordedOnce.Do(func() { recordedErr = json.Unmarshal(recordedJSON, &recorded) })
	if recordedErr != nil {
		t.Fatalf("recorded catalog: %v", recordedErr)
	}
	return recorded
}

// EncodeRecorded encodes a discovered catalog as testdata/catalog.json
// holds it.
func EncodeRecorded(found []catalog.Discovered) ([]byte, error) {
	b, err := json.MarshalIndent(found, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
