package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
)

// maxSparse bounds the total expanded size of the sparse files of one layer.
// A sparse entry stores only its data; archive/tar reads the holes back as
// zeros, so a few hundred bytes of header can describe an exabyte file. Holes
// are kept as holes on disk (copySparse), which protects the disk, but the
// zeros still cost CPU to produce: this bound keeps that finite. A variable
// so that the fuzz test can lower it.
var maxSparse int64 = 64 << 30

// isSparse reports a GNU sparse entry, old GNU format or PAX.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// copySparse copies r to f, seeking over blocks of zeros instead of writing
// them, and returns the number of bytes of content (holes included).
func copySparse(f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	zero := make([]byte, len(buf))
	var off int64
	for {
		n, err := fill(r, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zero[:n]) {
				if _, err := f.Seek(int64(n), io.SeekCurrent); err != nil {
					return off, err
				}
			} else if _, err := f.Write(buf[:n]); err != nil {
				return off, err
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			// A trailing hole needs the size set explicitly.
			return off, f.Truncate(off)
		}
		if err != nil {
			return off, err
		}
	}
}

// fill reads into buf until it is full or r returns an error; unlike
// io.ReadFull it passes io.EOF through unchanged, so the end of the entry is
// not confused with a truncated layer (io.ErrUnexpectedEOF from archive/tar).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
