package cgroups

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	systemdDest  = "org.freedesktop.systemd1"
	systemdPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface = "org.freedesktop.systemd1.Manager"
	// systemdPrivate is systemd's own socket, for root only (systemctl's
	// fallback when there is no bus daemon).
	systemdPrivate = "unix:path=/run/systemd/private"
	// jobTimeout bounds the wait for a unit's start or stop job, and
	// callTimeout each call: a busy or stuck systemd is an error, not a
	// runtime that hangs its engine.
	jobTimeout  = 30 * time.Second
	callTimeout = 30 * time.Second
)

// systemdConn is a D-Bus connection to systemd's manager.
type systemdConn struct {
	conn *dbus.Conn
	obj  dbus.BusObject
	sigs chan *dbus.Signal
}

// dialSystemd connects to systemd through the system bus, as runc,
// Podman and containerd do, or, with no bus daemon running, on systemd's
// private socket. (The private socket first was tried: in the systemd VM
// lane, calls on it went unanswered now and then after a daemon-reload.)
func dialSystemd() (systemdBus, error) {
	bus := true
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		var perr error
		if conn, perr = dialPrivate(); perr != nil {
			return nil, fmt.Errorf("connecting to systemd over D-Bus: %w", errors.Join(err, perr))
		}
		bus = false
	}
	c := &systemdConn{conn: conn, obj: conn.Object(systemdDest, systemdPath), sigs: make(chan *dbus.Signal, 64)}
	conn.Signal(c.sigs)
	// systemd sends JobRemoved to every direct connection; on the bus only
	// to subscribers whose match lets it through.
	if bus {
		if err := conn.AddMatchSignal(dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("JobRemoved")); err != nil {
			conn.Close()
			return nil, fmt.Errorf("subscribing to systemd's job signals: %w", err)
		}
	}
	if err := c.call("Subscribe").Err; err != nil {
		conn.Close()
		return nil, fmt.Errorf("subscribing to systemd's job signals: %w", err)
	}
	return c, nil
}

func dialPrivate() (*dbus.Conn, error) {
	conn, err := dbus.Dial(systemdPrivate)
	if err != nil {
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (c *systemdConn) Close() error { return c.conn.Close() }

// call calls a method of systemd's manager, within callTimeout.
func (c *systemdConn) call(method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return c.obj.CallWithContext(ctx, managerIface+"."+method, 0, args...)
}

// dbusProps converts properties to D-Bus's a(sv).
func dbusProps(props []property) []struct {
	Name  string
	Value dbus.Variant
} {
	out := make([]struct {
		Name  string
		Value dbus.Variant
	}, len(props))
	for i, p := range props {
		out[i].Name, out[i].Value = p.Name, dbus.MakeVariant(p.Value)
	}
	return out
}

func (c *systemdConn) StartTransientUnit(name string, props []property) error {
	aux := []struct {
		Name  string
		Props []struct {
			Name  string
			Value dbus.Variant
		}
	}{}
	var job dbus.ObjectPath
	if err := c.call("StartTransientUnit", name, "replace", dbusProps(props), aux).Store(&job); err != nil {
		return err
	}
	return c.wait(job)
}

func (c *systemdConn) SetUnitProperties(name string, props []property) error {
	return c.call("SetUnitProperties", name, true, dbusProps(props)).Err
}

func (c *systemdConn) StopUnit(name string) error {
	var job dbus.ObjectPath
	err := c.call("StopUnit", name, "replace").Store(&job)
	var derr dbus.Error
	if errors.As(err, &derr) && derr.Name == "org.freedesktop.systemd1.NoSuchUnit" {
		return nil
	}
	if err != nil {
		return err
	}
	return c.wait(job)
}

func (c *systemdConn) ResetFailedUnit(name string) {
	c.call("ResetFailedUnit", name)
}

// wait waits for JobRemoved(id, job, unit, result) of job. The signal may
// have come before the call that made the job returned: it waits in sigs.
func (c *systemdConn) wait(job dbus.ObjectPath) error {
	timeout := time.NewTimer(jobTimeout)
	defer timeout.Stop()
	for {
		select {
		case s, ok := <-c.sigs:
			if !ok {
				return errors.New("connection to systemd closed while waiting for a job")
			}
			if s.Name != managerIface+".JobRemoved" || len(s.Body) != 4 {
				continue
			}
			path, _ := s.Body[1].(dbus.ObjectPath)
			if path != job {
				continue
			}
			unit, _ := s.Body[2].(string)
			if result, _ := s.Body[3].(string); result != "done" {
				return fmt.Errorf("systemd job for %s: %s", unit, result)
			}
			return nil
		case <-timeout.C:
			return fmt.Errorf("systemd job %s: no result after %s", job, jobTimeout)
		}
	}
}
