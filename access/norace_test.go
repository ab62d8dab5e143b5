//go:build !race

package access_test

// Without the race detector a 64 MiB check costs 64 MiB (see burstBound).
const (
	burstHeapFactor = 1
	burstBase       = 192 * mib
)
