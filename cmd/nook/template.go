package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

// templateFuncs are the functions Docker's --format templates use.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"println": fmt.Sprintln,
}

// printTemplate prints each item through the Go template format, one per
// line, as Docker's --format.
func printTemplate[T any](format string, items []T) error {
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return fmt.Errorf("invalid --format template: %w", err)
	}
	for _, it := range items {
		if err := tmpl.Execute(os.Stdout, it); err != nil {
			return fmt.Errorf("executing --format template: %w", err)
		}
		fmt.Println()
	}
	return nil
}
