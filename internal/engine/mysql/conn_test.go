package mysql

import (
	"reflect"
	"strings"
	"testing"
)

func TestNativeHash(t *testing.T) {
	// SELECT PASSWORD('secret') on MariaDB.
	if got := nativeHash("secret"); got != "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7" {
		t.Errorf("nativeHash(secret) = %s", got)
	}
	first, again := derivedSecret("a", "replication"), derivedSecret("a", "replication")
	other := derivedSecret("b", "replication")
	if first == other || first != again {
		t.Error("derivedSecret is not a deterministic function of the password")
	}
}

func TestQuoting(t *testing.T) {
	cases := map[string]string{
		`plain`:         `'plain'`,
		`it's`:          `'it\'s'`,
		`back\slash`:    `'back\\slash'`,
		"new\nline\x00": `'new\nline\0'`,
	}
	for in, want := range cases {
		if got := quoteString(in); got != want {
			t.Errorf("quoteString(%q) = %s, want %s", in, got, want)
		}
	}
	if got := quoteIdent("a`b"); got != "`a``b`" {
		t.Errorf("quoteIdent = %s", got)
	}
	if got := grantDB("my_db%"); got != `my\_db\%` {
		t.Errorf("grantDB = %s", got)
	}
}

func TestLocaleCollation(t *testing.T) {
	cases := []struct {
		in     string
		want   []string
		locale bool
		err    bool
	}{
		{"C", []string{"utf8mb4_bin"}, true, false},
		{"POSIX", []string{"utf8mb4_bin"}, true, false},
		{"C.UTF-8", []string{"utf8mb4_bin"}, true, false},
		{"sv_SE.UTF-8", []string{"utf8mb4_swedish_ci", "utf8mb4_unicode_520_ci"}, true, false},
		{"en_US.utf8", []string{"utf8mb4_unicode_520_ci"}, true, false},
		{"de_DE.ISO-8859-1", nil, true, true},
		{"utf8mb4_unicode_ci", nil, false, false},
		{"latin1_swedish_ci", nil, false, false},
	}
	for _, tc := range cases {
		got, locale, err := localeCollation(tc.in)
		if !reflect.DeepEqual(got, tc.want) || locale != tc.locale || (err != nil) != tc.err {
			t.Errorf("localeCollation(%q) = %v, %v, %v", tc.in, got, locale, err)
		}
	}
}

// TestRemoteClientDefaults: a password with the characters an options
// file gives meaning to stays one value, on one line.
func TestRemoteClientDefaults(t *testing.T) {
	t.Parallel()
	got := string(RemoteClientDefaults("root", "pa\"ss\nword\\x", "10.0.0.1", 3306))
	for _, want := range []string{"[client]\n", "user=\"root\"\n", `password="pa\"ss\nword\\x"` + "\n", "host=\"10.0.0.1\"\n", "port=3306\n", "protocol=TCP\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("options file lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n") != 7 {
		t.Errorf("a value broke the file's lines:\n%s", got)
	}
}
