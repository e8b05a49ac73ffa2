package archive

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

func TestDecompress(t *testing.T) {
	plain := []byte("plain tar bytes, or anything else")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	// "BZh9" + empty-stream trailer: a valid bzip2 stream holding nothing.
	emptyBzip2 := []byte{0x42, 0x5a, 0x68, 0x39, 0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0x00, 0x00, 0x00, 0x00}

	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr error
	}{
		{"gzip", gz.Bytes(), plain, nil},
		{"plain", plain, plain, nil},
		{"empty", nil, nil, nil},
		{"short", []byte{0x1f}, []byte{0x1f}, nil},
		{"bzip2", emptyBzip2, nil, nil},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0}, nil, ErrUnsupportedCompression},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1}, nil, ErrUnsupportedCompression},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := Decompress(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecompressBadGzip(t *testing.T) {
	if _, err := Decompress(bytes.NewReader([]byte{0x1f, 0x8b, 0xff})); err == nil {
		t.Error("want an error for a broken gzip header")
	}
}
