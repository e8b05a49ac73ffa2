// The Go runtime (1.25+) keeps the cgroup's CPU limit files open to adjust
// GOMAXPROCS; they would show up in the report as the container's open files.
// With cgroup-aware GOMAXPROCS off it reads them once at start and closes them.

//go:debug containermaxprocs=0

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const usage = `usage: probe [command]

  report                  print what this process sees as JSON (the default)
  forkbomb N SECONDS      start up to N sleeping children, hold them, kill them;
                          print {"started","failed","firstError"}
  memhog MIB              allocate and touch MIB MiB, 1 MiB at a time (progress
                          on stderr); print {"allocatedMiB"}
  spin SECONDS            busy-loop one thread; print {"spun","cpuSeconds"}
  sleep SECONDS           sleep; print {"slept"}
  exit CODE               exit with CODE
  cat FILE                print FILE
  write FILE TEXT         write TEXT to FILE (created 0644 or truncated)
  ls DIR                  print DIR's entries, one a line, sorted
  dial ADDR SECONDS       connect to ADDR (host:port) over TCP, half-close, read
                          the reply; print {"connected","local","remote","reply","error"}
  serve ADDR              listen on ADDR over TCP, answer each connection with
                          "peer=CLIENT"; print {"listening"}, then {"peer"} each
  resolve NAME            look NAME up (A) with /etc/resolv.conf's servers;
                          print {"addrs","notFound","error"}
  lookup NAME SERVER      the same, asking SERVER (an IPv4 address) port 53 only
  lookupall NAMES SERVER  lookup for each of NAMES (comma-separated); print
                          {NAME: {"addrs","notFound","error"}, ...}
  sched                   print the scheduler policy and parameters, I/O priority,
                          personality and uname machine: {"policy","nice",...}
`

// usageError is a mistake in how probe was called (exit status 2, and the
// usage is printed).
type usageError string

func (e usageError) Error() string { return string(e) }

func usagef(format string, a ...any) error { return usageError(fmt.Sprintf(format, a...)) }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		if _, ok := errors.AsType[usageError](err); ok {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "report"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	want := map[string]int{
		"report": 0, "forkbomb": 2, "memhog": 1, "spin": 1, "sleep": 1,
		"exit": 1, "cat": 1, "write": 2, "ls": 1, "help": 0,
		"dial": 2, "serve": 1, "resolve": 1, "lookup": 2, "lookupall": 2, "sched": 0,
	}
	n, ok := want[cmd]
	if !ok {
		return usagef("unknown command %q", cmd)
	}
	if len(args) != n {
		return usagef("%s takes %d argument(s), got %d", cmd, n, len(args))
	}

	switch cmd {
	case "report":
		return printJSON(collect())
	case "forkbomb":
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 {
			return usagef("forkbomb: bad count %q", args[0])
		}
		d, err := seconds(args[1])
		if err != nil {
			return err
		}
		return printJSON(forkbomb(n, d))
	case "memhog":
		mib, err := strconv.Atoi(args[0])
		if err != nil || mib < 0 {
			return usagef("memhog: bad size %q (MiB)", args[0])
		}
		return printJSON(memhog(mib))
	case "spin":
		d, err := seconds(args[0])
		if err != nil {
			return err
		}
		return printJSON(spin(d))
	case "sleep":
		d, err := seconds(args[0])
		if err != nil {
			return err
		}
		time.Sleep(d)
		return printJSON(map[string]float64{"slept": d.Seconds()})
	case "exit":
		code, err := strconv.Atoi(args[0])
		if err != nil {
			return usagef("exit: bad code %q", args[0])
		}
		os.Exit(code)
	case "cat":
		return cat(args[0])
	case "write":
		return os.WriteFile(args[0], []byte(args[1]), 0o644)
	case "ls":
		return ls(args[0])
	case "dial":
		d, err := seconds(args[1])
		if err != nil {
			return err
		}
		return printJSON(dial(args[0], d))
	case "serve":
		return serve(args[0])
	case "resolve":
		return printJSON(lookup(args[0], ""))
	case "lookup":
		return printJSON(lookup(args[0], args[1]))
	case "lookupall":
		out := map[string]lookupResult{}
		for _, name := range strings.Split(args[0], ",") {
			out[name] = lookup(name, args[1])
		}
		return printJSON(out)
	case "sched":
		return printJSON(schedInfo())
	case "help":
		fmt.Print(usage)
	}
	return nil
}

// seconds parses a duration given in (possibly fractional) seconds.
func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, usagef("bad SECONDS %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", b)
	return err
}
