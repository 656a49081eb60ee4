package daemon

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// ParseBackupStore reads the --backup-store URL,
// s3://BUCKET[/PREFIX]?endpoint=URL[&region=R], and the files of its
// credentials (never taken from the URL), for either runtime. Its errors
// never repeat what the URL or the files hold beyond its location.
func ParseBackupStore(raw, accessKeyFile, secretKeyFile string) (*objectstore.Config, error) {
	const want = "want s3://BUCKET[/PREFIX]?endpoint=URL[&region=R], with the credentials in files, not in the URL"
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.Fragment != "" {
		// The URL is not repeated: it may hold a secret.
		return nil, fmt.Errorf("--backup-store: %s", want)
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return nil, fmt.Errorf("--backup-store: unknown parameter %q; %s", k, want)
		}
	}
	c := &objectstore.Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	if c.Endpoint != "" {
		e, err := url.Parse(c.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil {
			return nil, fmt.Errorf("--backup-store: the endpoint must be an http(s) URL (such as http://10.0.0.2:9000), without credentials")
		}
	}
	read := func(flagName, path string) (string, error) {
		if path == "" {
			return "", fmt.Errorf("--backup-store needs --%s", flagName)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flagName, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("--%s: %s is empty", flagName, path)
		}
		return v, nil
	}
	if c.AccessKey, err = read("backup-store-access-key-file", accessKeyFile); err != nil {
		return nil, err
	}
	if c.SecretKey, err = read("backup-store-secret-key-file", secretKeyFile); err != nil {
		return nil, err
	}
	return c, nil
}
