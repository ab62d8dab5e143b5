// Command vulncanary is the known-vulnerable program that scripts/vulncheck.sh
// scans first: it calls golang.org/x/text/language.Parse at v0.3.6
// (GO-2021-0113, fixed in v0.3.7). If govulncheck with the offline database
// does not report it, the database copy is empty or broken, and a clean scan
// of remoteidv would mean nothing.
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse(os.Args[len(os.Args)-1])
	fmt.Println(tag, err)
}
