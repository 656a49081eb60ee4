package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
)

// checksumBuffers are the read buffers of checksum: archived files are
// WAL segments of 16 MB, read in 1 MB reads instead of io.Copy's 32 KB.
var checksumBuffers = sync.Pool{New: func() any { return new([1 << 20]byte) }}

// checksum returns the size and SHA-256 (hex) of a file.
func checksum(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	buf := checksumBuffers.Get().(*[1 << 20]byte)
	defer checksumBuffers.Put(buf)
	n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf[:])
	if err != nil {
		return 0, "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// errDamaged reports a file that does not match its recorded size and
// checksum. Its message keeps the word "catalogue" that users and tests
// already match on.
type errDamaged struct {
	what, file     string
	size, wantSize int64
	sum, wantSum   string
}

func (e *errDamaged) Error() string {
	return fmt.Sprintf("%s is damaged: %s does not match the catalogue (%d bytes with SHA-256 %.12s…, recorded %d bytes with SHA-256 %.12s…)",
		e.what, e.file, e.size, e.sum, e.wantSize, e.wantSum)
}

// verify checks a file against its recorded size and SHA-256.
func verify(what, path string, wantSize int64, wantSum string) error {
	size, sum, err := checksum(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if size != wantSize || sum != wantSum {
		return &errDamaged{what: what, file: path, size: size, wantSize: wantSize, sum: sum, wantSum: wantSum}
	}
	return nil
}
