package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nook-containers/nook/internal/image"
)

// applyChanges reads import's --change Dockerfile instructions.
func applyChanges(o *image.ImportOptions, changes []string) error {
	for _, c := range changes {
		instr, arg, _ := strings.Cut(strings.TrimSpace(c), " ")
		arg = strings.TrimSpace(arg)
		list := func() ([]string, error) {
			if strings.HasPrefix(arg, "[") {
				var l []string
				if err := json.Unmarshal([]byte(arg), &l); err != nil {
					return nil, fmt.Errorf("invalid --change %q: %w", c, err)
				}
				return l, nil
			}
			return []string{"/bin/sh", "-c", arg}, nil
		}
		var err error
		switch strings.ToUpper(instr) {
		case "CMD":
			o.Cmd, err = list()
		case "ENTRYPOINT":
			o.Entrypoint, err = list()
		case "ENV":
			k, v, ok := strings.Cut(arg, "=")
			if !ok {
				k, v, _ = strings.Cut(arg, " ")
			}
			o.Env = append(o.Env, k+"="+strings.TrimSpace(v))
		case "WORKDIR":
			o.WorkingDir = arg
		default:
			return fmt.Errorf("invalid --change %q: nook knows CMD, ENTRYPOINT, ENV and WORKDIR", c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
