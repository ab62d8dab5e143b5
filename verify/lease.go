package verify

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"remoteidv/models"
)

// Leases of the work the periodic jobs share with the same jobs of other
// processes on the database (issue 20): a unit of work is done by whoever
// holds its named lease (models.JobLeaseRepo). A process that dies
// mid-task leaves its lease to run out; then another process takes it
// over and does the work.
const (
	sealLease   = 2 * time.Minute // one case's seal: a manifest upload and a transaction
	expiryLease = time.Minute     // one item's deletion and its record
)

// leaseOwner names this service in lease rows: host, process and random
// bits, so that two processes (or two services in one test) never share a
// lease.
func leaseOwner(random io.Reader) (string, error) {
	var b [6]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("lease owner: %w", err)
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b), nil
}

// claim takes the lease name for d; held is false when another process
// holds it, or another goroutine of this one (the owner is the node's, so
// the database would renew it for both).
func (s *Service) claim(ctx context.Context, name string, d time.Duration) (held bool, err error) {
	if _, busy := s.leases.LoadOrStore(name, struct{}{}); busy {
		return false, nil
	}
	now := s.now().UTC()
	err = s.store.Transact(ctx, func(tx models.Tx) (err error) {
		held, err = tx.ClaimJobLease(ctx, name, s.owner, now, now.Add(d))
		return err
	})
	if err != nil || !held {
		s.leases.Delete(name)
	}
	return held, err
}

// release gives the lease name back; a failure is only logged (the
// lease runs out by itself).
func (s *Service) release(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	defer s.leases.Delete(name)
	if err := s.store.Transact(ctx, func(tx models.Tx) error { return tx.ReleaseJobLease(ctx, name, s.owner) }); err != nil {
		s.log.WarnContext(ctx, "release job lease", "lease", name, "err", err)
	}
}
