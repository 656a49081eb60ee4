package redis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// persisted is where a stopped server's data stands: the replication
// history and offset its RDB file records (Redis writes them as the aux
// fields repl-id and repl-offset when the server had replicas or a
// master). A server started from the file resumes from there.
type persisted struct {
	exists bool   // there is an RDB file
	replid string // "" when the file records no replication position
	offset int64
}

// readPersisted reads the replication position in node p's RDB file, as
// the cluster's OS account (the file is its): only the header is read.
func readPersisted(r *proc.Runner, p paths) persisted {
	var ps persisted
	_ = r.As(func() error {
		f, err := os.OpenFile(p.data+"/"+snapshotFile, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return errors.New("not a regular file")
		}
		ps.exists = true
		aux, err := rdbAux(io.LimitReader(f, 1<<16))
		if err != nil {
			return err
		}
		if off, err := strconv.ParseInt(aux["repl-offset"], 10, 64); err == nil && aux["repl-id"] != "" {
			ps.replid, ps.offset = aux["repl-id"], off
		}
		return nil
	})
	return ps
}

// RDB opcodes and string encodings (rdb.h).
const (
	rdbOpAux       = 0xFA
	rdbEncInt8     = 0
	rdbEncInt16    = 1
	rdbEncInt32    = 2
	rdbEncLZF      = 3
	rdbLen32       = 0x80
	rdbLen64       = 0x81
	rdbMaxAuxValue = 1 << 12
)

// rdbAux reads the aux fields at the head of an RDB file (they come before
// the first database).
func rdbAux(in io.Reader) (map[string]string, error) {
	var head [9]byte
	if _, err := io.ReadFull(in, head[:]); err != nil {
		return nil, fmt.Errorf("rdb header: %w", err)
	}
	if string(head[:5]) != "REDIS" {
		return nil, errors.New("not an RDB file")
	}
	aux := map[string]string{}
	var op [1]byte
	for {
		if _, err := io.ReadFull(in, op[:]); err != nil {
			return aux, nil
		}
		if op[0] != rdbOpAux {
			return aux, nil
		}
		k, err := rdbString(in)
		if err != nil {
			return aux, err
		}
		v, err := rdbString(in)
		if err != nil {
			return aux, err
		}
		aux[k] = v
	}
}

// rdbLength reads a length; encoded reports a special string encoding
// (the returned value is then the encoding).
func rdbLength(in io.Reader) (n uint64, encoded bool, err error) {
	var b [1]byte
	if _, err := io.ReadFull(in, b[:]); err != nil {
		return 0, false, err
	}
	switch b[0] >> 6 {
	case 0:
		return uint64(b[0] & 0x3F), false, nil
	case 1:
		var c [1]byte
		if _, err := io.ReadFull(in, c[:]); err != nil {
			return 0, false, err
		}
		return uint64(b[0]&0x3F)<<8 | uint64(c[0]), false, nil
	case 2:
		switch b[0] {
		case rdbLen32:
			var v [4]byte
			if _, err := io.ReadFull(in, v[:]); err != nil {
				return 0, false, err
			}
			return uint64(binary.BigEndian.Uint32(v[:])), false, nil
		case rdbLen64:
			var v [8]byte
			if _, err := io.ReadFull(in, v[:]); err != nil {
				return 0, false, err
			}
			return binary.BigEndian.Uint64(v[:]), false, nil
		}
		return 0, false, fmt.Errorf("rdb: unknown length encoding %#x", b[0])
	}
	return uint64(b[0] & 0x3F), true, nil
}

// rdbString reads a string object as RDB writes it.
func rdbString(in io.Reader) (string, error) {
	n, encoded, err := rdbLength(in)
	if err != nil {
		return "", err
	}
	if !encoded {
		if n > rdbMaxAuxValue {
			return "", fmt.Errorf("rdb: aux field of %d bytes", n)
		}
		b := make([]byte, n)
		_, err := io.ReadFull(in, b)
		return string(b), err
	}
	switch n {
	case rdbEncInt8:
		var v [1]byte
		_, err := io.ReadFull(in, v[:])
		return strconv.Itoa(int(int8(v[0]))), err
	case rdbEncInt16:
		var v [2]byte
		_, err := io.ReadFull(in, v[:])
		return strconv.Itoa(int(int16(binary.LittleEndian.Uint16(v[:])))), err
	case rdbEncInt32:
		var v [4]byte
		_, err := io.ReadFull(in, v[:])
		return strconv.Itoa(int(int32(binary.LittleEndian.Uint32(v[:])))), err
	case rdbEncLZF:
		clen, _, err := rdbLength(in)
		if err != nil {
			return "", err
		}
		ulen, _, err := rdbLength(in)
		if err != nil {
			return "", err
		}
		if clen > rdbMaxAuxValue || ulen > rdbMaxAuxValue {
			return "", errors.New("rdb: compressed aux field too long")
		}
		comp := make([]byte, clen)
		if _, err := io.ReadFull(in, comp); err != nil {
			return "", err
		}
		out, err := lzfDecompress(comp, int(ulen))
		return string(out), err
	}
	return "", fmt.Errorf("rdb: unknown string encoding %d", n)
}

// lzfDecompress expands LZF data (the compression RDB uses for strings).
func lzfDecompress(in []byte, size int) ([]byte, error) {
	out := make([]byte, 0, size)
	for i := 0; i < len(in); {
		ctrl := int(in[i])
		i++
		if ctrl < 32 { // a literal run of ctrl+1 bytes
			n := ctrl + 1
			if i+n > len(in) {
				return nil, errors.New("lzf: truncated literal")
			}
			out = append(out, in[i:i+n]...)
			i += n
			continue
		}
		n := ctrl >> 5 // a back reference
		if n == 7 {
			if i >= len(in) {
				return nil, errors.New("lzf: truncated length")
			}
			n += int(in[i])
			i++
		}
		if i >= len(in) {
			return nil, errors.New("lzf: truncated reference")
		}
		ref := len(out) - ((ctrl & 0x1F) << 8) - int(in[i]) - 1
		i++
		if ref < 0 {
			return nil, errors.New("lzf: reference before the start")
		}
		for j := 0; j < n+2; j++ {
			out = append(out, out[ref+j])
		}
	}
	if len(out) != size {
		return nil, fmt.Errorf("lzf: %d bytes, want %d", len(out), size)
	}
	return out, nil
}
