package objectstore

import (
	"log/slog"
	"strings"
)

// Config locates an S3-compatible object storage and holds its
// credentials. Its String and LogValue leave the credentials out, so that
// printing or logging it never shows them.
type Config struct {
	// Endpoint is the http(s) URL of the server ("" = AWS S3).
	Endpoint string
	// Region of the bucket ("" = the server's answer, or us-east-1).
	Region string
	// Bucket and Prefix: an object of key K is Bucket/Prefix/K.
	Bucket string
	Prefix string
	// AccessKey and SecretKey are the credentials (read from files).
	AccessKey string
	SecretKey string
}

// String is the storage's location as --backup-store takes it, without
// the credentials.
func (c Config) String() string {
	s := "s3://" + c.Bucket
	if p := strings.Trim(c.Prefix, "/"); p != "" {
		s += "/" + p
	}
	sep := "?"
	if c.Endpoint != "" {
		s += sep + "endpoint=" + c.Endpoint
		sep = "&"
	}
	if c.Region != "" {
		s += sep + "region=" + c.Region
	}
	return s
}

// GoString keeps %#v from printing the credentials.
func (c Config) GoString() string { return "objectstore.Config(" + c.String() + ")" }

// LogValue keeps slog from printing the credentials.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
