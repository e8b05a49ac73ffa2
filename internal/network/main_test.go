package network

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/nook-containers/nook/internal/network/dns"
)

// TestMain doubles as the DNS server the Manager starts in tests, the way
// the engine re-executes itself as `nook dns-server`.
func TestMain(m *testing.M) {
	if os.Getenv("NOOK_TEST_DNS") != "" {
		os.Exit(runDNSServer())
	}
	os.Exit(m.Run())
}

func runDNSServer() int {
	cfg, err := dns.LoadConfig(os.Getenv(dns.ConfigEnv))
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		err = dns.Serve(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
