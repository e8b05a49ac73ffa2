package archive

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// gnuSparse returns a tar stream with one old-GNU sparse file "big" whose
// real size is size and whose only data is "data" at offset dataOff.
func gnuSparse(size, dataOff int64) []byte {
	h := make([]byte, 512)
	copy(h, "big")
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", 4)) // stored bytes
	copy(h[136:], "00000000000\x00")
	h[156] = 'S'
	copy(h[257:], "ustar  \x00")
	base256 := func(b []byte, v int64) {
		b[0] = 0x80
		for i := len(b) - 1; i > 0; i-- {
			b[i] = byte(v)
			v >>= 8
		}
	}
	base256(h[386:398], dataOff)               // sparse[0].offset
	copy(h[398:], fmt.Sprintf("%011o\x00", 4)) // sparse[0].numbytes
	base256(h[483:495], size)                  // realsize
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	sum := 0
	for _, b := range h {
		sum += int(b)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	data := make([]byte, 512)
	copy(data, "data")
	return append(append(h, data...), make([]byte, 1024)...)
}

func TestApplySparse(t *testing.T) {
	t.Run("holes stay holes", func(t *testing.T) {
		_, root := sandbox(t)
		const size = 8 << 30
		start := time.Now()
		n, err := Apply(root, bytes.NewReader(gnuSparse(size, 4<<30)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		st := lstat(t, filepath.Join(root, "big"))
		if n != size || st.Size != size {
			t.Errorf("wrote %d bytes, size %d; want %d", n, st.Size, size)
		}
		if st.Blocks*512 > 1<<20 {
			t.Errorf("file uses %d bytes on disk; the holes were written", st.Blocks*512)
		}
		f, err := os.Open(filepath.Join(root, "big"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 4)
		if _, err := f.ReadAt(b, 4<<30); err != nil || string(b) != "data" {
			t.Errorf("data at 4GiB = %q, %v", b, err)
		}
		t.Logf("8 GiB sparse file in %v", time.Since(start))
	})
	t.Run("expansion is bounded", func(t *testing.T) {
		_, root := sandbox(t)
		_, err := Apply(root, bytes.NewReader(gnuSparse(1<<60, 0)), Options{})
		if err == nil {
			t.Fatal("an exabyte sparse file was accepted")
		}
		t.Log(err)
	})
}
