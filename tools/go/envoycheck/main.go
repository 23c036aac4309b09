// Command envoycheck loads envoy.yaml files the way Envoy loads its bootstrap and reports every
// problem Envoy would reject them for at load time, without an Envoy binary: the YAML (anchors
// and aliases resolved) becomes JSON, the JSON becomes the v3 Bootstrap proto with unknown fields
// rejected (Envoy's MessageUtil::loadFromYaml), every google.protobuf.Any (typed_config,
// configuration) is resolved and decoded the same strict way, and the protoc-gen-validate rules
// are run on the bootstrap and on each decoded Any (Envoy's MessageUtil::validate and
// anyConvertAndValidate). Fields marked deprecated in the API are reported as warnings, as Envoy
// logs them.
//
// Usage: envoycheck FILE... ("-" reads stdin). Prints "FILE: ok" or one line per problem.
// Exit codes: 0 every file is valid, 1 a file is invalid, 2 bad usage or an unreadable file.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: envoycheck FILE... (\"-\" reads stdin)")
		os.Exit(2)
	}
	exit := 0
	for _, name := range os.Args[1:] {
		text, err := readInput(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			exit = 2
			continue
		}
		report := CheckBootstrapYAML(text)
		for _, w := range report.Warnings {
			fmt.Printf("%s: warning: %s\n", name, w)
		}
		if len(report.Errors) == 0 {
			fmt.Printf("%s: ok\n", name)
			continue
		}
		for _, e := range report.Errors {
			fmt.Printf("%s: %s\n", name, e)
		}
		if exit == 0 {
			exit = 1
		}
	}
	os.Exit(exit)
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}
