//go:build race

package access_test

// Under the race detector every heap byte touched has shadow memory, and
// the runtime starts larger: burstBound allows for both (measured here:
// 236 MiB before the burst, a peak of 1.04 to 1.16 GiB with 2 checks at once).
const (
	burstHeapFactor = 4
	burstBase       = 512 * mib
)
