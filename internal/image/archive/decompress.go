package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// ErrUnsupportedCompression is returned by Decompress for a stream that is
// compressed with an algorithm nook cannot read (zstd, xz).
var ErrUnsupportedCompression = errors.New("unsupported layer compression")

// Magic numbers at the start of compressed streams.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// Decompress returns the plain tar stream inside r, detecting the
// compression from the first bytes: gzip (the usual
// "application/vnd.oci.image.layer.v1.tar+gzip") and bzip2 are undone with
// the standard library; anything else is passed through as an uncompressed
// tar. zstd and xz need libraries nook does not carry, so they are reported
// as ErrUnsupportedCompression rather than misread as tar.
//
// Closing the result releases the decompressor; it does not close r.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(len(magicXz))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading layer header: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip layer: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, magicBzip2):
		return io.NopCloser(bzip2.NewReader(br)), nil
	case bytes.HasPrefix(magic, magicZstd):
		return nil, fmt.Errorf("zstd: %w", ErrUnsupportedCompression)
	case bytes.HasPrefix(magic, magicXz):
		return nil, fmt.Errorf("xz: %w", ErrUnsupportedCompression)
	}
	return io.NopCloser(br), nil
}
