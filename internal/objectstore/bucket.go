// Package objectstore keeps files in an S3-compatible object storage (a
// bucket and a key prefix): the storage of backups that leave the machine
// (backup.Storage). It knows nothing else of dbaasd. Its configuration and
// errors never show the credentials.
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrRefused is what errors of the object storage wrap when the server
// refused its configuration: the credentials, or a bucket that does not
// exist (retrying does not help; a server out of reach is another error).
var ErrRefused = errors.New("the object storage refused the configuration")

// refused is an error that is ErrRefused with a message of its own.
type refused struct{ msg string }

func (e *refused) Error() string        { return e.msg }
func (e *refused) Is(target error) bool { return target == ErrRefused }

// Bucket is a backup.Storage in an S3-compatible object storage: Put
// uploads (the local file stays for the caller to remove or keep), Open
// downloads, and a restore downloads what it needs (LocalPath is always "").
type Bucket struct {
	cfg    Config
	prefix string
	client *minio.Client
}

// New returns the storage of cfg. It does not contact the server: Check
// does.
func New(cfg Config) (*Bucket, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("object storage: no bucket")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("object storage %s: no credentials", cfg)
	}
	host, secure := "s3.amazonaws.com", true
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("object storage %s: the endpoint must be an http(s) URL of a host, without a path or credentials", cfg)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	c, err := minio.New(host, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: secure, Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("object storage %s: %w", cfg, scrub(err, cfg))
	}
	return &Bucket{cfg: cfg, prefix: strings.Trim(cfg.Prefix, "/"), client: c}, nil
}

// String is the storage's location, without the credentials.
func (s *Bucket) String() string { return s.cfg.String() }

// Check lists the storage's prefix in the bucket: it fails when the
// bucket does not exist or the server refuses the credentials.
func (s *Bucket) Check(ctx context.Context) error {
	prefix := ""
	if s.prefix != "" {
		prefix = s.prefix + "/"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o, ok := <-s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, MaxKeys: 1})
	if ok && o.Err != nil {
		return s.fail("list", prefix, o.Err)
	}
	return nil
}

// object is the object name of a key.
func (s *Bucket) object(key string) (string, error) {
	clean := path.Clean(key)
	if key == "" || strings.HasPrefix(key, "/") || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("object storage: invalid key %q", key)
	}
	if s.prefix == "" {
		return clean, nil
	}
	return s.prefix + "/" + clean, nil
}

// Put implements backup.Storage: an upload of the file (an object appears
// whole or not at all; files above 16 MiB go in parts) with its MD5
// (Content-MD5) for the server to check; the local file is left in place.
// Restores check the SHA-256 recorded when the file was taken.
func (s *Bucket) Put(ctx context.Context, key, localPath string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	_, err = s.client.FPutObject(ctx, s.cfg.Bucket, obj, localPath, minio.PutObjectOptions{
		ContentType: "application/octet-stream", SendContentMd5: true,
	})
	if err != nil {
		return s.fail("upload", obj, err)
	}
	return nil
}

// Open implements backup.Storage: a missing object is an error wrapping
// fs.ErrNotExist.
func (s *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, err
	}
	o, err := s.client.GetObject(ctx, s.cfg.Bucket, obj, minio.GetObjectOptions{})
	if err == nil {
		_, err = o.Stat()
		if err != nil {
			_ = o.Close()
		}
	}
	if err != nil {
		err = s.fail("download", obj, err)
		if errors.Is(err, fs.ErrNotExist) {
			// Some servers answer a request with unknown credentials as
			// one for a missing object (versitygw): a listing tells.
			if cerr := s.Check(ctx); cerr != nil {
				return nil, cerr
			}
		}
		return nil, err
	}
	return o, nil
}

// LocalPath implements backup.Storage: objects are never on this machine.
func (s *Bucket) LocalPath(string) string { return "" }

// DeletePrefix implements backup.Storage.
func (s *Bucket) DeletePrefix(ctx context.Context, prefix string) error {
	obj, err := s.object(prefix)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := make(chan minio.ObjectInfo)
	var listErr error
	go func() {
		defer close(objects)
		for o := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: obj, Recursive: true}) {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			if o.Key != obj && !strings.HasPrefix(o.Key, obj+"/") {
				continue // another key that merely starts alike (a/b1 for a/b)
			}
			select {
			case objects <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	var first error
	for r := range s.client.RemoveObjects(ctx, s.cfg.Bucket, objects, minio.RemoveObjectsOptions{}) {
		if first == nil && r.Err != nil {
			first = s.fail("delete", r.ObjectName, r.Err)
		}
	}
	if first != nil {
		return first
	}
	if listErr != nil {
		return s.fail("list", obj+"/", listErr)
	}
	return nil
}

// fail describes an error of the server: what was done to which object,
// what the server said, and what to do where the answer says the
// configuration is wrong. It never holds the credentials.
func (s *Bucket) fail(op, obj string, err error) error {
	where := "s3://" + s.cfg.Bucket
	if obj != "" {
		where += "/" + obj
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey":
		return fmt.Errorf("object storage: %s %s: %w", op, where, fs.ErrNotExist)
	case "NoSuchBucket":
		return &refused{fmt.Sprintf("object storage %s: %s %s: bucket %q does not exist", s.cfg, op, where, s.cfg.Bucket)}
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken",
		"XAdminUserNotFound": // versitygw's answer to an unknown access key
		return &refused{fmt.Sprintf("object storage %s: %s %s: the server refused the credentials (%s: %s); check --backup-store-access-key-file and --backup-store-secret-key-file",
			s.cfg, op, where, resp.Code, scrub(err, s.cfg))}
	}
	return fmt.Errorf("object storage %s: %s %s: %w", s.cfg, op, where, scrub(err, s.cfg))
}

// scrubbed is an error whose message has the credentials cut out.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub cuts the credentials out of an error's message (a server or a
// library could repeat them).
func scrub(err error, cfg Config) error {
	msg := err.Error()
	for _, secret := range []string{cfg.SecretKey, cfg.AccessKey} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}
