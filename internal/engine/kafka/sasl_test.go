package kafka

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestResetSuperuserKeepsOtherUsers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must(t, resetSuperuser(dir, SuperUser, "pw")) // no sasl.json yet: nothing to do
	if _, err := os.Stat(filepath.Join(dir, "sasl.json")); !os.IsNotExist(err) {
		t.Fatalf("resetSuperuser created sasl.json on an empty data dir: %v", err)
	}
	other, err := newScramCredential(mechScram512, "other-pw")
	must(t, err)
	old, err := newScramCredential(mechScram512, "old-pw")
	must(t, err)
	doc := map[string]any{
		"version":  saslStateVersion,
		"plain":    map[string]string{"p": "x"},
		"scram512": map[string]persistedScram{"alice": other, SuperUser: old},
	}
	data, _ := json.Marshal(doc)
	must(t, os.WriteFile(filepath.Join(dir, "sasl.json"), data, 0o600))

	must(t, resetSuperuser(dir, SuperUser, "new-pw"))

	var got struct {
		Version  int                       `json:"version"`
		Plain    map[string]string         `json:"plain"`
		Scram256 map[string]persistedScram `json:"scram256"`
		Scram512 map[string]persistedScram `json:"scram512"`
	}
	data, err = os.ReadFile(filepath.Join(dir, "sasl.json"))
	must(t, err)
	must(t, json.Unmarshal(data, &got))
	if got.Version != saslStateVersion || got.Plain["p"] != "x" {
		t.Fatalf("other fields changed: %+v", got)
	}
	if string(got.Scram512["alice"].SaltedPass) != string(other.SaltedPass) {
		t.Fatal("another user's credential changed")
	}
	if string(got.Scram512[SuperUser].SaltedPass) == string(old.SaltedPass) {
		t.Fatal("superuser credential not replaced")
	}
	if got.Scram256[SuperUser].Mechanism != mechScram256 || got.Scram256[SuperUser].Iterations != scramIterations {
		t.Fatalf("superuser SCRAM-SHA-256 credential = %+v", got.Scram256[SuperUser])
	}

	data, _ = json.Marshal(map[string]any{"version": 99})
	must(t, os.WriteFile(filepath.Join(dir, "sasl.json"), data, 0o600))
	if err := resetSuperuser(dir, SuperUser, "pw"); err == nil {
		t.Fatal("resetSuperuser edited a sasl.json of an unknown format version")
	}
}
