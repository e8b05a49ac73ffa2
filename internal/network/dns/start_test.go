package dns

import (
	"os"
	"strconv"
	"testing"
)

// AwaitStart returns once the starter writes its byte, and fails when the
// starter's end closes first (it was killed before recording the server).
func TestAwaitStart(t *testing.T) {
	for _, goAhead := range []bool{true, false} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(StartFDEnv, strconv.Itoa(int(r.Fd())))
		if goAhead {
			w.Write([]byte{1})
		}
		w.Close()
		err = AwaitStart() // closes r
		if goAhead && err != nil {
			t.Errorf("with the go-ahead: %v", err)
		}
		if !goAhead && err == nil {
			t.Error("starter gone: no error")
		}
	}
	t.Setenv(StartFDEnv, "")
	if err := AwaitStart(); err != nil {
		t.Errorf("without %s: %v", StartFDEnv, err)
	}
}
