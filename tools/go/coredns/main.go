// Command coredns is the real CoreDNS server, built from github.com/coredns/coredns through the Go
// module proxy with only the plugins the DNS comparison test and bench use (bind, ready, errors, kubernetes, forward) (CoreDNS documents this
// way of building: set dnsserver.Directives and call coremain.Run, as its own coredns.go does
// with the full plugin list).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

// directives in CoreDNS's own plugin.cfg order.
var directives = []string{"bind", "ready", "errors", "kubernetes", "forward"}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
