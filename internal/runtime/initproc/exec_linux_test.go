package initproc

import (
	"testing"

	"golang.org/x/sys/unix"
)

// resetSignals turns ignored signals back to SIG_DFL and leaves caught ones
// alone (execve resets those). The test process's own dispositions are put
// back afterwards.
func TestResetSignals(t *testing.T) {
	ignored, caught := int(unix.SIGUSR2), int(unix.SIGUSR1)
	var saveIgnored, saveCaught kernelSigaction
	if err := rtSigaction(ignored, nil, &saveIgnored); err != nil {
		t.Fatal(err)
	}
	if err := rtSigaction(caught, nil, &saveCaught); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rtSigaction(ignored, &saveIgnored, nil)
		rtSigaction(caught, &saveCaught, nil)
	})
	if saveCaught.handler == 0 || saveCaught.handler == sigIgn {
		t.Fatalf("SIGUSR1 is not caught by the Go runtime (handler %#x)", saveCaught.handler)
	}
	if err := rtSigaction(ignored, &kernelSigaction{handler: sigIgn}, nil); err != nil {
		t.Fatal(err)
	}

	resetSignals()

	var got kernelSigaction
	if err := rtSigaction(ignored, nil, &got); err != nil {
		t.Fatal(err)
	}
	if got.handler != 0 {
		t.Errorf("ignored SIGUSR2: handler %#x after resetSignals, want SIG_DFL", got.handler)
	}
	if err := rtSigaction(caught, nil, &got); err != nil {
		t.Fatal(err)
	}
	if got.handler != saveCaught.handler {
		t.Errorf("caught SIGUSR1: handler %#x after resetSignals, want %#x unchanged", got.handler, saveCaught.handler)
	}
}
