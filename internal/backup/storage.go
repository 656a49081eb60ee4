package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Storage keeps backup files under slash-separated keys. Local is the
// implementation on this machine; objectstore.Bucket (S3-compatible object
// storage) uploads on Put and has restores download what they need
// (LocalPath "").
type Storage interface {
	// Put stores the local file at localPath under key, atomically; the
	// local file may be gone afterwards (Local) or stay (object storage).
	Put(ctx context.Context, key, localPath string) error
	// Open reads an object.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// LocalPath is a path on this machine where the object (or, for a key
	// prefix, the directory of objects) can be read directly, or "" when
	// the storage is elsewhere.
	LocalPath(key string) string
	// DeletePrefix removes every object whose key is prefix or starts with
	// prefix + "/"; removing what does not exist is no error.
	DeletePrefix(ctx context.Context, prefix string) error
}

// Local is a Storage in a directory of this machine.
type Local struct{ Dir string }

var _ Storage = Local{}

func (l Local) path(key string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(key))
	if key == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("backup storage: invalid key %q", key)
	}
	return filepath.Join(l.Dir, clean), nil
}

// Put implements Storage: a rename within the file system (a copy, synced,
// across file systems). A file already in place is left as it is. What is
// stored is dbaasd's alone (0600 in 0700 directories), whoever wrote it: a
// datastore's OS account can neither change its backups nor, once the
// datastore is gone, hand them to the next account given its uid.
func (l Local) Put(_ context.Context, key, localPath string) error {
	dst, err := l.path(key)
	if err != nil {
		return err
	}
	if filepath.Clean(localPath) == dst {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("backup storage: %w", err)
	}
	if st, err := os.Lstat(localPath); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("backup storage: %s is not a regular file", localPath)
	}
	if err := os.Rename(localPath, dst); err != nil {
		if !errors.Is(err, syscallEXDEV) {
			return fmt.Errorf("backup storage: %w", err)
		}
		if err := copyFile(localPath, dst); err != nil {
			return fmt.Errorf("backup storage: %w", err)
		}
		if err := os.Remove(localPath); err != nil {
			return fmt.Errorf("backup storage: %w", err)
		}
	}
	if err := os.Lchown(dst, os.Geteuid(), os.Getegid()); err != nil {
		return fmt.Errorf("backup storage: %w", err)
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return fmt.Errorf("backup storage: %w", err)
	}
	return nil
}

// Open implements Storage.
func (l Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// LocalPath implements Storage.
func (l Local) LocalPath(key string) string {
	p, err := l.path(key)
	if err != nil {
		return ""
	}
	return p
}

// DeletePrefix implements Storage.
func (l Local) DeletePrefix(_ context.Context, prefix string) error {
	p, err := l.path(prefix)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("backup storage: %w", err)
	}
	return nil
}

// copyFile copies src to dst through a temporary file, synced, renamed;
// the copy keeps src's mode, owner (when permitted) and modification time.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close() // the copy's error is the one to report
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	keepOwner(st, tmp)
	if err := os.Chtimes(tmp, st.ModTime(), st.ModTime()); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
