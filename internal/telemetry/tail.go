package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

const (
	// tailChunk is how much of a log file is read at a time, from its end.
	tailChunk = 64 << 10
	// maxEntryBytes bounds one entry kept across chunks; a longer run of
	// lines without an entry start is dropped.
	maxEntryBytes = 1 << 20
)

// scanBackward reads a log file from its end, a chunk at a time, and
// calls visit with the entries of each chunk in file order, the newest
// chunk first, until visit returns false or the start of the file. An
// entry is never split between two calls: lines before a chunk's first
// entry start are carried to the chunk before it. Only what is needed is
// read, so the newest lines of a huge file cost little. A missing file is
// no error.
func scanBackward(path string, f *logFormat, visit func([]entry) bool) error {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer func() { _ = file.Close() }()
	st, err := file.Stat()
	if err != nil {
		return fmt.Errorf("stat log: %w", err)
	}
	ref := st.ModTime().UTC()
	pos := st.Size()
	var carry []byte // the start of the text after pos, up to its first entry start
	buf := make([]byte, tailChunk)
	for pos > 0 {
		n := int64(tailChunk)
		if pos < n {
			n = pos
		}
		pos -= n
		if _, err := file.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log: %w", err)
		}
		text := append(append(make([]byte, 0, int(n)+len(carry)), buf[:n]...), carry...)
		if pos > 0 {
			// The first line may have begun in the chunk before.
			i := bytes.IndexByte(text, '\n')
			if i < 0 {
				carry = text
				if len(carry) > maxEntryBytes {
					carry = nil
				}
				continue
			}
			head, rest := text[:i+1], text[i+1:]
			text = rest
			carry = head
		} else {
			carry = nil
		}
		lines := splitLines(text)
		p := newParser(f, ref)
		first := 0
		if pos > 0 {
			// Lines before the first entry start continue an entry that
			// began earlier: keep them for the next (earlier) chunk.
			for first < len(lines) && !p.isStart(string(lines[first])) {
				first++
			}
			var lead []byte
			for _, l := range lines[:first] {
				lead = append(append(lead, l...), '\n')
			}
			carry = append(carry, lead...)
			if len(carry) > maxEntryBytes {
				carry = nil
			}
		}
		for _, l := range lines[first:] {
			p.line(string(l))
		}
		if es := p.entries(); len(es) > 0 && !visit(es) {
			return nil
		}
	}
	return nil
}

// splitLines splits text into lines without their newlines.
func splitLines(text []byte) [][]byte {
	text = bytes.TrimSuffix(text, []byte("\n"))
	if len(text) == 0 {
		return nil
	}
	return bytes.Split(text, []byte("\n"))
}

// readForward parses the complete lines of a file between offset and at
// most limit bytes further. It returns the entries and the offset after the
// last complete line (a line still being written is left for later,
// unless it alone fills limit). now stamps entries whose time is unknown.
func readForward(path string, f *logFormat, offset, limit int64, now time.Time) ([]entry, int64, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, offset, fmt.Errorf("open log: %w", err)
	}
	defer func() { _ = file.Close() }()
	buf := make([]byte, limit)
	n, err := file.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, offset, fmt.Errorf("read log: %w", err)
	}
	text := buf[:n]
	end := bytes.LastIndexByte(text, '\n')
	switch {
	case end >= 0:
		text = text[:end+1]
	case int64(n) < limit:
		return nil, offset, nil
	}
	p := newParser(f, now)
	// Lines before the first entry start continue one shipped before:
	// they are shipped as an entry of their own, stamped now.
	lines := splitLines(text)
	first := 0
	for first < len(lines) && !p.isStart(string(lines[first])) {
		first++
	}
	var out []entry
	if first > 0 {
		var b bytes.Buffer
		for _, l := range lines[:first] {
			if (p.f.skip == nil || !p.f.skip(string(l))) && len(bytes.TrimSpace(l)) > 0 {
				b.Write(l)
				b.WriteByte('\n')
			}
		}
		if v := bytes.TrimSpace(b.Bytes()); len(v) > 0 {
			out = append(out, entry{ts: now, labels: map[string]string{}, value: string(v)})
		}
	}
	for _, l := range lines[first:] {
		p.line(string(l))
	}
	return append(out, p.entries()...), offset + int64(len(text)), nil
}
