// Command etcd is the real etcd server, built from go.etcd.io/etcd/server/v3 through the Go
// module proxy (the etcd repository's own main.go does exactly this).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
