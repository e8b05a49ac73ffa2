package network

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
)

// setSysctl writes value to /proc/sys/<key> unless it already holds it.
// nook only ever writes net.ipv4.ip_forward and the route_localnet of its
// own bridges (see doc.go).
func setSysctl(log *slog.Logger, key, value string) error {
	path := "/proc/sys/" + key
	cur, err := os.ReadFile(path)
	if err == nil && string(bytes.TrimSpace(cur)) == value {
		return nil
	}
	log.Debug("sysctl", "key", key, "value", value)
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("setting sysctl %s=%s: %w", key, value, err)
	}
	return nil
}
